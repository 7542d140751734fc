//! The one error type of the crate. Every message says what happened and what to do about
//! it, and none carries a secret: no token, key or plaintext is ever put in a variant (database
//! URLs are left out too, since they may hold a password).

use std::path::PathBuf;

/// Everything that can go wrong in the store or the vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error(
        "unsupported database URL scheme {scheme:?}: use sqlite://path/to/file.db or \
         postgres://user@host/database"
    )]
    UnsupportedUrl { scheme: String },

    #[error("invalid {backend} database URL: {reason}")]
    InvalidUrl {
        backend: &'static str,
        reason: String,
    },

    #[error(
        "could not open the {backend} database: {source}; check the URL, that the server is \
         running (PostgreSQL) or that the directory is writable (SQLite)"
    )]
    Connect {
        backend: &'static str,
        #[source]
        source: sqlx::Error,
    },

    #[error(
        "could not bring the {backend} database schema up to date: {source}; the database may \
         belong to a newer drivesync, or a migration was interrupted — check the \
         _sqlx_migrations table"
    )]
    Migrate {
        backend: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    #[error("database error while {action}: {source}; retry, and check the database is healthy")]
    Database {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },

    #[error(
        "the database took no write within {within:?}: another process holds the write lock, \
         the database is read-only, or its disk is full or slow; check the database server \
         (or the SQLite file's directory)"
    )]
    WriteTimeout { within: std::time::Duration },

    #[error("{what} kept changing while it was being re-encrypted; run the re-encryption again")]
    Contended { what: String },

    #[error("location {location_id} is not stored; connect it first (drivesync connect)")]
    LocationNotFound { location_id: String },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error(
        "stored data for {what} is invalid ({reason}); the database was edited by hand or by a \
         newer drivesync"
    )]
    Corrupt { what: String, reason: String },

    #[error(
        "the value {aad} was encrypted with key id {key_id:?}, which is not in the keyring \
         (known ids: {known}); restore that key (in DRIVESYNC_MASTER_KEY or master.key), or \
         restart this process if the key was rotated while it ran"
    )]
    UnknownKey {
        key_id: String,
        aad: String,
        known: String,
    },

    #[error(
        "the value {aad} failed to decrypt: it was altered, copied from another row or field, \
         or the key with its id is not the key it was encrypted with; re-save it (reconnect \
         the location, or put the secret again)"
    )]
    Decrypt { aad: String },

    #[error("the stored value {aad} is not a vault ciphertext ({reason}); re-save it")]
    MalformedCiphertext { aad: String, reason: &'static str },

    #[error("encryption failed for {aad}; this should not happen — report it")]
    Encrypt { aad: String },

    #[error(
        "DRIVESYNC_MASTER_KEY is invalid: {reason}; it must be KEY or id1:KEY1,id2:KEY2 with \
         each KEY the base64 of 32 random bytes (e.g. `openssl rand -base64 32`)"
    )]
    InvalidMasterKey { reason: String },

    #[error("key file {}: {reason}", path.display())]
    KeyFile { path: PathBuf, reason: String },

    #[error("key file {}: {source}; check the data directory exists and is writable", path.display())]
    KeyFileIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("key id {id:?} is not in {}; known ids: {known}", path.display())]
    KeyNotFound {
        id: String,
        path: PathBuf,
        known: String,
    },

    #[error(
        "refusing to remove key {id:?}: it is the current key; rotate first, re-encrypt, then \
         remove the old key"
    )]
    RemoveCurrentKey { id: String },
}

impl StoreError {
    /// A closure for `map_err` that labels a database error with what was being done.
    pub(crate) fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Database { action, source }
    }
}
