//! Named secrets other than tokens, such as the OAuth client secret, sealed with associated
//! data `secret:{name}` so one secret's ciphertext cannot be passed off as another's.

use secrecy::SecretString;

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::vault::secret_aad;
use crate::{Store, StoreError};

impl Store {
    /// Stores (or replaces) secret `name`, sealed.
    pub async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
            return Err(StoreError::InvalidArgument(format!(
                "secret name {name:?} must be non-empty, without ':' or control characters"
            )));
        }
        let sealed = self.keyring().encrypt_str(value, &secret_aad(name))?;
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO secrets (name, value_enc, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET \
                 value_enc = excluded.value_enc, updated_at_ms = excluded.updated_at_ms"
        )
        .bind(name)
        .bind(&sealed)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("saving a secret"))?;
        tracing::debug!(name, "saved a secret");
        Ok(())
    }

    /// Secret `name`, decrypted, or `None` if it was never stored.
    pub async fn secret(&self, name: &str) -> Result<Option<SecretString>, StoreError> {
        let sealed: Option<String> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT value_enc FROM secrets WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("reading a secret"))?;
        sealed
            .map(|sealed| self.keyring().decrypt_string(&sealed, &secret_aad(name)))
            .transpose()
    }
}
