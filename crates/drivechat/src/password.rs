//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), run on the
//! blocking pool because each hash deliberately takes tens of milliseconds of CPU.

use std::sync::{Arc, LazyLock};

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

/// The server-wide cap on password checks running at once (see
/// `Config::password_checks`). A check holds a [`Permit`] until its hash is done, even when
/// the request that asked was dropped meanwhile.
pub(crate) struct Gate {
    permits: Arc<tokio::sync::Semaphore>,
}

/// One password check's place under the [`Gate`].
pub(crate) struct Permit(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

impl Gate {
    pub(crate) fn new(size: usize) -> Gate {
        Gate {
            permits: Arc::new(tokio::sync::Semaphore::new(size.max(1))),
        }
    }

    /// A place for one check, or `None` at once when every place is taken: the caller
    /// answers 429 rather than queueing, so waiting sign-ins hold no memory or connections.
    pub(crate) fn try_enter(&self) -> Option<Permit> {
        self.permits.clone().try_acquire_owned().ok().map(Permit)
    }
}

/// Whether `password` matches `stored` (a PHC string). `None` for `stored` burns the same
/// time and answers false. `permit` is released when the hash is done.
pub(crate) async fn verify(
    permit: Permit,
    password: &SecretString,
    stored: Option<String>,
) -> bool {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
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
        let gate = Gate::new(1);
        let p = || gate.try_enter().expect("a free place");
        assert!(verify(p(), &SecretString::from("correct horse"), Some(h.clone())).await);
        assert!(!verify(p(), &SecretString::from("correct horsf"), Some(h)).await);
        assert!(!verify(p(), &SecretString::from("not a password"), None).await);
        assert!(!verify(p(), &SecretString::from("x"), Some("garbage".into())).await);
    }

    #[test]
    fn the_gate_holds_its_size() {
        let gate = Gate::new(2);
        let a = gate.try_enter();
        let b = gate.try_enter();
        assert!(a.is_some() && b.is_some());
        assert!(
            gate.try_enter().is_none(),
            "a third check waits for a place"
        );
        drop(a);
        assert!(gate.try_enter().is_some());
    }
}
