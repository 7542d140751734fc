//! drivesync's storage, on SQLite (a file; the default) or PostgreSQL: the encrypted token
//! vault for connected HighLevel locations, named secrets such as the OAuth client secret,
//! and the cross-process lease that makes sure only one process refreshes a location's
//! single-use refresh token at a time.
//!
//! ```no_run
//! # async fn run() -> Result<(), store::StoreError> {
//! let dir = std::path::Path::new("drivesync-data");
//! let keyring = store::Keyring::from_env_or_file(dir)?;
//! let store = store::Store::connect("sqlite://drivesync-data/drivesync.db", keyring).await?;
//! for location in store.locations().await? {
//!     println!("{} {}", location.location_id, location.state);
//! }
//! # Ok(()) }
//! ```

mod clock;
mod db;
mod error;
mod ghl_tokens;
mod lease;
mod locations;
mod model;
mod reencrypt;
mod secrets;
pub mod vault;

use std::sync::Arc;

pub use error::StoreError;
pub use ghl_tokens::GhlTokens;
pub use model::{AuthKind, LocationRecord, LocationState, NewLocation, RefreshedTokens};
pub use secrecy::{ExposeSecret, SecretString};
pub use vault::Keyring;

use db::Db;

/// The store: an open database pool plus the keyring that seals and opens its secrets.
/// Cloning is cheap and shares both.
#[derive(Clone)]
pub struct Store {
    db: Db,
    keyring: Arc<Keyring>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("keyring", &self.keyring)
            .finish()
    }
}

impl Store {
    /// Opens `sqlite://path/to/file.db` (created, with its directory, if missing; WAL,
    /// synchronous=FULL, busy timeout 5 s) or `postgres://...`, and applies the embedded
    /// migrations for that backend before returning.
    pub async fn connect(url: &str, keyring: Keyring) -> Result<Store, StoreError> {
        let db = Db::connect(url).await?;
        tracing::info!(
            backend = db.backend(),
            key_id = keyring.current_id(),
            "store ready"
        );
        Ok(Store {
            db,
            keyring: Arc::new(keyring),
        })
    }

    /// The keyring values are sealed and opened with.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        self.db.backend()
    }

    /// Closes the pool, waiting for connections in use to be returned. Other clones of this
    /// store are closed too.
    pub async fn close(&self) {
        self.db.close().await;
    }
}
