//! The job queue of the sync engine: webhooks to apply (queued by [`Store::accept_webhook`])
//! and every other unit of work (queued by [`Store::enqueue`]).
//!
//! A job is `pending` until a worker claims it; it is then `running` under a lease the worker
//! renews with [`Store::heartbeat`], and is deleted when the worker completes it. A failure
//! puts it back to `pending` with exponential backoff, or after [`RetryPolicy::max_attempts`]
//! makes it `dead` (a dead letter, kept until replayed or dropped). A job whose lease expires
//! — its worker died — is put back by [`Store::requeue_expired`].
//!
//! Jobs sharing an ordering key run strictly one at a time, in the order they were queued: a
//! job is claimable only when no other job of its key is running and none queued before it is
//! still pending (even one waiting out a backoff). Dead letters do not hold their key up; a
//! replayed one goes to the back of its key's line. Each job runs at least once; it runs again
//! only if its lease expired, so handlers must tolerate that (HighLevel state is re-read, not
//! assumed).
//!
//! Claiming is one statement. On SQLite the writer lock makes it atomic across connections and
//! processes. On PostgreSQL it locks the chosen rows `FOR UPDATE SKIP LOCKED`, and every
//! statement that puts a job in line takes its key's advisory lock before drawing the job's
//! place (`seq`), so within a key places become visible in order: two claimers can then never
//! both see a different job of one key as first in line and free to run.
//!
//! Every queue operation lives under this module, one submodule per step of a job's life:
//! `enqueue` puts jobs in line, `claim` takes them and holds their leases, `complete` ends a
//! run (done, retry or dead), `dead_letters` replays or drops the dead, and `status` reads the
//! queue.

use std::time::Duration;

#[cfg(doc)]
use crate::Store;
use crate::StoreError;

/// Errors longer than this are cut (at a character boundary) before they are stored.
const MAX_ERROR_BYTES: usize = 8 * 1024;

/// A job to queue with [`Store::enqueue`].
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    /// What to do, e.g. `poll`, `reconcile`, `backfill_page`, `write_back`.
    pub kind: String,
    pub location_id: String,
    /// Jobs sharing an ordering key run one at a time, in the order queued.
    pub ordering_key: String,
    pub payload: serde_json::Value,
    /// Not claimed before this (Unix milliseconds); `None`: now. A job waiting for its time
    /// still holds up the later jobs of its key.
    pub run_at_ms: Option<i64>,
}

impl NewJob {
    /// A job to run as soon as its key is free.
    pub fn new(
        kind: impl Into<String>,
        location_id: impl Into<String>,
        ordering_key: impl Into<String>,
        payload: serde_json::Value,
    ) -> NewJob {
        NewJob {
            kind: kind.into(),
            location_id: location_id.into(),
            ordering_key: ordering_key.into(),
            payload,
            run_at_ms: None,
        }
    }
}

/// Where a job is in its life. Completed jobs are deleted, so there is no `done`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    Pending,
    Running,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Dead => "dead",
        }
    }

    fn parse(value: &str, id: i64) -> Result<JobState, StoreError> {
        match value {
            "pending" => Ok(JobState::Pending),
            "running" => Ok(JobState::Running),
            "dead" => Ok(JobState::Dead),
            other => Err(corrupt(id, format!("unknown state {other:?}"))),
        }
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A queued, running or dead job.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub location_id: String,
    pub ordering_key: String,
    /// The stored webhook ([`Store::inbox_event`]) for a webhook job.
    pub event_id: Option<i64>,
    pub payload: serde_json::Value,
    /// Failed attempts so far (including leases that expired).
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub state: JobState,
    /// Not claimed before this (Unix milliseconds).
    pub run_at_ms: i64,
    /// The worker holding it, while running.
    pub lease_owner: Option<String>,
    pub lease_until_ms: Option<i64>,
    /// The last change of state, lease or error (for a dead job: when it died).
    pub updated_at_ms: i64,
}

/// When a failed job is tried again, and when it is given up on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The failure that makes a job dead: with 5, a job is tried 5 times in all.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles with each further one ...
    pub base: Duration,
    /// ... up to this.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 12 tries over about two hours: 5 s, 10 s, 20 s, ... doubling up to 30 minutes.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 12,
            base: Duration::from_secs(5),
            cap: Duration::from_secs(30 * 60),
        }
    }
}

impl RetryPolicy {
    /// The wait before the next try after `attempts` failures (1 for the first).
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(31);
        self.base.saturating_mul(1u32 << doublings).min(self.cap)
    }
}

/// What [`Store::fail_job`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// Back to pending, not claimed before `run_at_ms`.
    Retry { attempts: i32, run_at_ms: i64 },
    /// That was the last allowed attempt: the job is a dead letter.
    Dead { attempts: i32 },
    /// The worker no longer holds the job's lease (it expired and the job was requeued, or
    /// the job is gone); nothing was written.
    LostLease,
}

/// How many jobs are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Waiting: runnable, held up behind an earlier job of their key, or backing off.
    pub pending: u64,
    pub running: u64,
    pub dead: u64,
    /// When the oldest pending job was queued (Unix milliseconds): the sync lag.
    pub oldest_pending_created_at_ms: Option<i64>,
}

/// The columns a [`JobRow`] is read from (a macro, so `concat!` can build statements with it).
macro_rules! job_columns {
    () => {
        "id, seq, kind, location_id, ordering_key, event_id, payload, state, run_at_ms, \
         attempts, last_error, lease_owner, lease_until_ms, created_at_ms, updated_at_ms"
    };
}
const JOB_COLUMNS: &str = job_columns!();

/// One `jobs` row as stored; [`JobRow::into_job`] checks and decodes it.
#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    /// Its place in line (see the module docs); not part of [`Job`].
    seq: i64,
    kind: String,
    location_id: String,
    ordering_key: String,
    event_id: Option<i64>,
    payload: String,
    state: String,
    run_at_ms: i64,
    attempts: i32,
    last_error: Option<String>,
    lease_owner: Option<String>,
    lease_until_ms: Option<i64>,
    created_at_ms: i64,
    updated_at_ms: i64,
}

/// The next place in line, on SQLite: one writer at a time, so the current maximum plus one
/// is after every job queued so far.
macro_rules! sqlite_next_seq {
    () => {
        "(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs)"
    };
}
/// The next place in line, on PostgreSQL (drawn under the key's advisory lock).
macro_rules! postgres_next_seq {
    () => {
        "nextval('job_seq')"
    };
}

mod claim;
mod complete;
mod dead_letters;
mod enqueue;
mod status;

pub(crate) use enqueue::job_insert_sql;

impl JobRow {
    fn into_job(self) -> Result<Job, StoreError> {
        let id = self.id;
        let payload = serde_json::from_str(&self.payload)
            .map_err(|e| corrupt(id, format!("payload is not JSON: {e}")))?;
        Ok(Job {
            state: JobState::parse(&self.state, id)?,
            id,
            kind: self.kind,
            location_id: self.location_id,
            ordering_key: self.ordering_key,
            event_id: self.event_id,
            payload,
            attempts: self.attempts,
            last_error: self.last_error,
            created_at_ms: self.created_at_ms,
            run_at_ms: self.run_at_ms,
            lease_owner: self.lease_owner,
            lease_until_ms: self.lease_until_ms,
            updated_at_ms: self.updated_at_ms,
        })
    }
}

fn corrupt(id: i64, reason: String) -> StoreError {
    StoreError::Corrupt {
        what: format!("job {id}"),
        reason,
    }
}

/// Rejects an empty webhook id, ordering key, job kind or worker id.
pub(crate) fn validate_key(what: &str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::InvalidArgument(format!(
            "the {what} must be a non-empty string"
        )));
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
