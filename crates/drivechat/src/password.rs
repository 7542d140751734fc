//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), run on the
//! blocking pool because each hash deliberately takes tens of milliseconds of CPU.

use std::sync::LazyLock;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

use crate::Error;

/// Passwords shorter than this are refused when a user is added.
pub const MIN_PASSWORD_LEN: usize = 8;

/// A hash of no one's password, verified against when the email is unknown, so a wrong email
/// takes as long to refuse as a wrong password and response times do not reveal who exists.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| hash_now("not a password").ok());

/// The PHC string (`$argon2id$v=19$...`) of a new password with a fresh salt.
pub(crate) async fn hash(password: &SecretString) -> Result<String, Error> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || hash_now(password.expose_secret()))
        .await
        .map_err(|e| Error::Internal(format!("password hashing stopped: {e}")))?
}

fn hash_now(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches `stored` (a PHC string). `None` for `stored` burns the same
/// time and answers false.
pub(crate) async fn verify(password: &SecretString, stored: Option<String>) -> bool {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let (stored, real) = match stored {
            Some(s) => (s, true),
            None => match DUMMY_HASH.as_ref() {
                Some(d) => (d.clone(), false),
                None => return false,
            },
        };
        let Ok(parsed) = PasswordHash::new(&stored) else {
            tracing::warn!("a stored password hash is not a PHC string; that user cannot sign in");
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        ok && real
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let h = hash(&SecretString::from("correct horse")).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("correct horse"));
        assert!(verify(&SecretString::from("correct horse"), Some(h.clone())).await);
        assert!(!verify(&SecretString::from("correct horsf"), Some(h)).await);
        assert!(!verify(&SecretString::from("not a password"), None).await);
        assert!(!verify(&SecretString::from("x"), Some("garbage".into())).await);
    }
}
