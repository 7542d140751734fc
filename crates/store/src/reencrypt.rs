//! Key rotation support: moving every ciphertext to the keyring's current key, and counting
//! which keys the stored values use (so an old key is removed only once nothing needs it).
//!
//! Other processes may be running meanwhile, possibly committing a refresh to the very row
//! being moved. So each row is re-sealed from what was read and written back with a
//! compare-and-set on the old ciphertexts: one statement, its own transaction, and a row
//! that changed in between is read again instead of being overwritten with stale tokens.

use std::collections::BTreeMap;

use crate::db::with_pool;
use crate::vault::{access_aad, key_id_of, refresh_aad, secret_aad};
use crate::{Store, StoreError};

/// How often one row is re-read when concurrent writes keep beating the re-encryption.
const MAX_ATTEMPTS: usize = 8;

/// A location's sealed tokens.
#[derive(sqlx::FromRow)]
struct SealedTokens {
    location_id: String,
    access_token_enc: String,
    refresh_token_enc: Option<String>,
}

/// A named secret, sealed.
#[derive(sqlx::FromRow)]
struct SealedSecret {
    name: String,
    value_enc: String,
}

impl Store {
    /// Re-encrypts every stored token and secret that is not under the keyring's current key,
    /// each row in its own transaction (safe while other processes run: values are opened
    /// with whichever key id they record). Returns how many values were re-encrypted. On
    /// SQLite the replaced ciphertexts are overwritten on disk too (secure_delete and a WAL
    /// checkpoint), so they do not outlive the old key's removal.
    pub async fn reencrypt_all(&self) -> Result<usize, StoreError> {
        let mut moved = 0;
        let location_ids: Vec<String> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT location_id FROM locations ORDER BY location_id"
        )
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("listing locations to re-encrypt"))?;
        for location_id in &location_ids {
            moved += self.reencrypt_location(location_id).await?;
        }
        let names: Vec<String> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT name FROM secrets ORDER BY name"
        )
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("listing secrets to re-encrypt"))?;
        for name in &names {
            moved += self.reencrypt_secret(name).await?;
        }
        self.db.checkpoint().await?;
        tracing::info!(
            moved,
            key_id = self.keyring().current_id(),
            "re-encrypted stored values under the current key"
        );
        Ok(moved)
    }

    /// How many stored values are sealed under each key id. A key whose id is absent here
    /// (after [`Store::reencrypt_all`]) can be removed from the keyring safely.
    pub async fn key_usage(&self) -> Result<BTreeMap<String, usize>, StoreError> {
        let rows: Vec<SealedTokens> = with_pool!(&self.db, |pool| {
            sqlx::query_as("SELECT location_id, access_token_enc, refresh_token_enc FROM locations")
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("reading locations"))?;
        let secrets: Vec<SealedSecret> = with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT name, value_enc FROM secrets"
        )
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("reading secrets"))?;
        let mut usage = BTreeMap::new();
        let mut count = |sealed: &str, aad: String| -> Result<(), StoreError> {
            *usage
                .entry(key_id_of(sealed, &aad)?.to_string())
                .or_insert(0) += 1;
            Ok(())
        };
        for row in &rows {
            count(&row.access_token_enc, access_aad(&row.location_id))?;
            if let Some(refresh) = &row.refresh_token_enc {
                count(refresh, refresh_aad(&row.location_id))?;
            }
        }
        for secret in &secrets {
            count(&secret.value_enc, secret_aad(&secret.name))?;
        }
        Ok(usage)
    }

    async fn reencrypt_location(&self, location_id: &str) -> Result<usize, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let row: Option<SealedTokens> = with_pool!(&self.db, |pool| {
                sqlx::query_as(
                    "SELECT location_id, access_token_enc, refresh_token_enc FROM locations \
                     WHERE location_id = $1",
                )
                .bind(location_id)
                .fetch_optional(pool)
                .await
            })
            .map_err(StoreError::db("reading a location to re-encrypt"))?;
            let Some(SealedTokens {
                access_token_enc: access,
                refresh_token_enc: refresh,
                ..
            }) = row
            else {
                return Ok(0); // removed meanwhile
            };
            let new_access = self.keyring().reseal(&access, &access_aad(location_id))?;
            let new_refresh = match &refresh {
                Some(sealed) => self.keyring().reseal(sealed, &refresh_aad(location_id))?,
                None => None,
            };
            let moved = usize::from(new_access.is_some()) + usize::from(new_refresh.is_some());
            if moved == 0 {
                return Ok(0);
            }
            let done = with_pool!(&self.db, |pool| sqlx::query(
                "UPDATE locations SET access_token_enc = $2, refresh_token_enc = $3 \
                 WHERE location_id = $1 AND access_token_enc = $4 \
                   AND COALESCE(refresh_token_enc, '') = COALESCE($5, '')"
            )
            .bind(location_id)
            .bind(new_access.as_ref().unwrap_or(&access))
            .bind(new_refresh.as_ref().or(refresh.as_ref()))
            .bind(&access)
            .bind(&refresh)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
            .map_err(StoreError::db("re-encrypting a location"))?;
            if done == 1 {
                return Ok(moved);
            }
        }
        Err(StoreError::Contended {
            what: format!("location {location_id}"),
        })
    }

    async fn reencrypt_secret(&self, name: &str) -> Result<usize, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let sealed: Option<String> = with_pool!(&self.db, |pool| sqlx::query_scalar(
                "SELECT value_enc FROM secrets WHERE name = $1"
            )
            .bind(name)
            .fetch_optional(pool)
            .await)
            .map_err(StoreError::db("reading a secret to re-encrypt"))?;
            let Some(sealed) = sealed else {
                return Ok(0);
            };
            let Some(resealed) = self.keyring().reseal(&sealed, &secret_aad(name))? else {
                return Ok(0);
            };
            let done = with_pool!(&self.db, |pool| sqlx::query(
                "UPDATE secrets SET value_enc = $2 WHERE name = $1 AND value_enc = $3"
            )
            .bind(name)
            .bind(&resealed)
            .bind(&sealed)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
            .map_err(StoreError::db("re-encrypting a secret"))?;
            if done == 1 {
                return Ok(1);
            }
        }
        Err(StoreError::Contended {
            what: format!("secret {name}"),
        })
    }
}
