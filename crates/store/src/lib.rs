//! drivesync's storage, on SQLite (a file; the default) or PostgreSQL: the encrypted token
//! vault for connected HighLevel locations, named secrets such as the OAuth client secret,
//! the cross-process lease that makes sure only one process refreshes a location's
//! single-use refresh token at a time, and the sync engine's event log ([`inbox`]: webhooks
//! stored durably, once each, before they are acknowledged) and job queue ([`queue`]: leased,
//! one job at a time per ordering key, retried with backoff, dead-lettered).
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

pub mod alerts;
pub mod audit;
pub mod chat;
mod clock;
pub mod command;
pub mod context;
mod db;
mod error;
mod ghl_tokens;
mod health;
pub mod inbox;
pub mod jobs;
mod lease;
mod locations;
pub mod members;
pub mod mirror;
mod model;
pub mod outbox;
pub mod private_fs;
pub mod queue;
mod rate_usage;
mod reencrypt;
pub mod refusals;
mod retry;
pub mod samples;
mod secrets;
pub mod sessions;
mod sqlite_busy;
mod sync_state;
pub mod team;
mod upkeep;
pub mod vault;

use std::sync::Arc;

pub use alerts::OpenAlert;
pub use audit::{
    Actor, ActorKind, AuditEntry, AuditQuery, AuditRecord, AuditScope, HighLevelAnswer, Outcome,
};
pub use chat::{Channel, ContactBrief, Message, NewMessage};
pub use command::{CommandError, HighLevelCommand};
pub use context::{CustomFieldDef, HlUser, LocationContext, LocationProfile};
pub use error::StoreError;
pub use ghl::UserType;
pub use ghl_tokens::GhlTokens;
pub use health::SchemaState;
pub use inbox::{Accepted, InboxEvent, StoredEvent};
pub use jobs::JobKind;
pub use members::{ChatUser, Member, Membership, Role, Workspace};
pub use mirror::{
    Change, ChangeFilter, Expect, NewChange, Record, RecordKind, RecordOrder, RecordPage,
    RecordQuery, Written,
};
pub use model::{AuthKind, LocationRecord, LocationState, NewLocation, RefreshedTokens};
pub use outbox::{Command, CommandQuery, CommandState, NewCommand};
pub use queue::{FailOutcome, Job, JobState, NewJob, QueueDepth, RetryPolicy};
pub use rate_usage::RateUsage;
pub use refusals::RefusalCount;
pub use samples::MetricSample;
pub use secrecy::{ExposeSecret, SecretString};
pub use sessions::{ApiTokenInfo, ApiTokenOwner, LoginAttempts, SessionInfo};
pub use sync_state::{BackfillCheckpoint, SyncState};
pub use team::{Invite, InviteState, Joined, Joiner, MemberChange};
pub use upkeep::Upkeep;
pub use vault::Keyring;

use db::Db;

/// The store: an open database pool plus the keyring that seals and opens its secrets.
/// Cloning is cheap and shares both.
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// The same database, for writes that need not wait for the disk ([`Db::relaxed`]).
    relaxed: Db,
    keys: Arc<Keys>,
}

/// The keyring in use, reloaded when its key file changes: `drivesync keys rotate` in another
/// process takes effect here without a restart, so nothing is sealed with a key about to be
/// removed, and values re-encrypted under the new key stay readable.
struct Keys {
    ring: std::sync::RwLock<Arc<Keyring>>,
    file: Option<std::path::PathBuf>,
    seen: std::sync::Mutex<Option<std::time::SystemTime>>,
}

impl Keys {
    fn new(keyring: Keyring) -> Keys {
        let file = match keyring.origin() {
            vault::KeyOrigin::File(p) => Some(p.clone()),
            _ => None,
        };
        let seen = file.as_ref().and_then(|f| mtime(f));
        Keys {
            ring: std::sync::RwLock::new(Arc::new(keyring)),
            file,
            seen: std::sync::Mutex::new(seen),
        }
    }

    fn current(&self) -> Arc<Keyring> {
        if let Some(file) = &self.file {
            let now = mtime(file);
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if now.is_some() && now != *seen {
                match keyfile_reload(file) {
                    Ok(k) => {
                        tracing::info!(
                            key_id = k.current_id(),
                            "master key file changed; keyring reloaded"
                        );
                        *self.ring.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(k);
                        *seen = now;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "master key file changed but could not be read; keeping the keys in use")
                    }
                }
            }
        }
        self.ring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn mtime(p: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn keyfile_reload(file: &std::path::Path) -> Result<Keyring, StoreError> {
    let dir = file.parent().unwrap_or_else(|| std::path::Path::new("."));
    Keyring::load_or_create_file(dir)
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("keyring", &self.keyring())
            .finish()
    }
}

impl Store {
    /// Opens `sqlite://path/to/file.db` (created, with its directory, if missing; WAL,
    /// synchronous=FULL, busy timeout 5 s) or `postgres://...`, and applies the embedded
    /// migrations for that backend before returning.
    pub async fn connect(url: &str, keyring: Keyring) -> Result<Store, StoreError> {
        Store::open(url, keyring, true).await
    }

    /// [`Store::connect`] without applying migrations: for a look that must change nothing
    /// (`drivesync doctor`, after [`Store::schema_state`] found the schema current).
    pub async fn connect_as_is(url: &str, keyring: Keyring) -> Result<Store, StoreError> {
        Store::open(url, keyring, false).await
    }

    async fn open(url: &str, keyring: Keyring, migrate: bool) -> Result<Store, StoreError> {
        let db = Db::open(url, migrate).await?;
        let relaxed = db.relaxed();
        tracing::info!(
            backend = db.backend(),
            key_id = keyring.current_id(),
            "store ready"
        );
        Ok(Store {
            db,
            relaxed,
            keys: Arc::new(Keys::new(keyring)),
        })
    }

    /// The keyring values are sealed and opened with (re-read when its key file changed).
    pub fn keyring(&self) -> Arc<Keyring> {
        self.keys.current()
    }

    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        self.db.backend()
    }

    /// Closes the pool, waiting for connections in use to be returned. Other clones of this
    /// store are closed too.
    pub async fn close(&self) {
        self.relaxed.close().await;
        self.db.close().await;
    }
}
