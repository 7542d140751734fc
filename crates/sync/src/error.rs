//! The engine's one error type. Each message says what happened and what to do; none holds a
//! token or a webhook body (bodies may carry personal data; the inbox keeps them).

use store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error(transparent)]
    Ghl(#[from] ghl::GhlError),

    #[error(
        "the stored webhook {webhook_id} ({event_type}) cannot be read: {reason}; it stays in \
         the inbox — look at it with `drivesync dlq show`, then replay or drop it"
    )]
    Malformed {
        webhook_id: String,
        event_type: String,
        reason: String,
    },

    #[error(
        "job {job_id} points at stored webhook {event_id}, which is no longer in the inbox; \
         there is nothing to apply — drop the dead letter (`drivesync dlq drop {job_id}`)"
    )]
    EventMissing { job_id: i64, event_id: i64 },

    #[error(
        "location {location} is not being called: {reason}; its jobs wait and are retried \
         with backoff"
    )]
    LocationUnavailable {
        location: String,
        reason: &'static str,
    },

    #[error(transparent)]
    AppEvent(#[from] crate::installs::AppEventError),

    #[error("the engine is stopping; the job was given back to the queue")]
    Interrupted,
}

impl SyncError {
    /// Whether trying again later can succeed: store hiccups, HighLevel outages, rate limits,
    /// budgets and tokens a person can fix. Payloads that cannot be read never will be.
    pub fn is_transient(&self) -> bool {
        use ghl::GhlError as G;
        match self {
            SyncError::Store(e) => matches!(
                e,
                StoreError::Database { .. } | StoreError::Contended { .. }
            ),
            SyncError::Ghl(e) => !matches!(
                e,
                G::Validation { .. }
                    | G::Decode { .. }
                    | G::InvalidInput(_)
                    | G::Forbidden { .. }
                    | G::StateMismatch
            ),
            SyncError::AppEvent(crate::installs::AppEventError::Store(e)) => {
                matches!(e, StoreError::Database { .. })
            }
            SyncError::AppEvent(crate::installs::AppEventError::Ghl(_)) => true,
            SyncError::LocationUnavailable { .. } | SyncError::Interrupted => true,
            SyncError::Malformed { .. } | SyncError::EventMissing { .. } => false,
        }
    }

    /// HighLevel answered 404: the record is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, SyncError::Ghl(ghl::GhlError::NotFound { .. }))
    }
}
