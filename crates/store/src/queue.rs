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

use std::time::Duration;

use crate::clock::{duration_ms, now_ms};
use crate::db::{id_list, ids_in, is_transient, ordering_lock_ids, with_pool, Db, KeyLocks as _};
use crate::{Store, StoreError};

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

/// The columns [`JobRow`] is read from, in order.
const JOB_COLUMNS: &str = "id, seq, kind, location_id, ordering_key, event_id, payload, state, \
     run_at_ms, attempts, last_error, lease_owner, lease_until_ms, created_at_ms, updated_at_ms";

type JobRow = (
    i64,
    i64,
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    i64,
    i32,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
);

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

/// Binds: kind, location_id, ordering_key, event_id, payload, run_at_ms, now. Returns the id.
macro_rules! job_insert {
    ($seq:expr) => {
        concat!(
            "INSERT INTO jobs (seq, kind, location_id, ordering_key, event_id, payload, state, \
                 run_at_ms, attempts, created_at_ms, updated_at_ms) \
             VALUES (",
            $seq,
            ", $1, $2, $3, $4, $5, 'pending', $6, 0, $7, $7) RETURNING id"
        )
    };
}

/// Binds: id, now. Back to pending at the back of its key's line, attempts reset.
macro_rules! replay {
    ($seq:expr) => {
        concat!(
            "UPDATE jobs SET state = 'pending', seq = ",
            $seq,
            ", attempts = 0, run_at_ms = $2, lease_owner = NULL, lease_until_ms = NULL, \
                 updated_at_ms = $2 \
             WHERE id = $1 AND state = 'dead'"
        )
    };
}

/// The jobs that may start now: pending, due, and first in their key's line with nothing of
/// their key running. Binds: ..., now ($3), how many ($4).
macro_rules! claimable {
    ($id:literal) => {
        concat!(
            "SELECT j.id",
            $id,
            " FROM jobs AS j \
             WHERE j.state = 'pending' AND j.run_at_ms <= $3 \
               AND NOT EXISTS ( \
                   SELECT 1 FROM jobs AS o \
                   WHERE o.ordering_key = j.ordering_key \
                     AND (o.state = 'running' OR (o.state = 'pending' AND o.seq < j.seq))) \
             ORDER BY j.seq LIMIT $4"
        )
    };
}

/// Binds: worker, lease until, now, how many. The UPDATE takes the write lock before reading,
/// so the choice and the claim are one atomic step.
const SQLITE_CLAIM: &str = concat!(
    "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until_ms = $2, \
         updated_at_ms = $3 \
     WHERE id IN (",
    claimable!(""),
    ") RETURNING id, seq, kind, location_id, ordering_key, event_id, payload, state, \
         run_at_ms, attempts, last_error, lease_owner, lease_until_ms, created_at_ms, \
         updated_at_ms"
);

/// Binds: worker, lease until, now, how many. Rows another claimer has locked are skipped;
/// a row claimed and committed meanwhile is re-checked and fails `state = 'pending'`.
const POSTGRES_CLAIM: &str = concat!(
    "WITH picked AS (",
    claimable!(" AS picked_id"),
    " FOR UPDATE OF j SKIP LOCKED) \
     UPDATE jobs SET state = 'running', lease_owner = $1, lease_until_ms = $2, \
         updated_at_ms = $3 \
     FROM picked WHERE jobs.id = picked.picked_id \
     RETURNING id, seq, kind, location_id, ordering_key, event_id, payload, state, \
         run_at_ms, attempts, last_error, lease_owner, lease_until_ms, created_at_ms, \
         updated_at_ms"
);

/// The INSERT of a job for the open backend (see `job_insert!`).
pub(crate) fn job_insert_sql(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => job_insert!(sqlite_next_seq!()),
        Db::Postgres(_) => job_insert!(postgres_next_seq!()),
    }
}

impl Store {
    /// Claims up to `n` jobs for `worker`, leased for `lease`: pending jobs that are due and
    /// first in their key's line with no job of their key running, earliest queued first.
    /// `worker` must be unique to the claiming worker (e.g. host, pid and a random suffix):
    /// completing, failing and renewing are guarded by it. Renew the lease with
    /// [`Store::heartbeat`] well before it ends; an expired lease holds its key up until
    /// [`Store::requeue_expired`] (which every engine should run periodically) puts it back.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        validate_key("worker id", worker)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let until = now.saturating_add(duration_ms(lease));
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let sql = match &self.db {
            Db::Sqlite(_) => SQLITE_CLAIM,
            Db::Postgres(_) => POSTGRES_CLAIM,
        };
        let mut rows: Vec<JobRow> = with_pool!(&self.db, |pool| sqlx::query_as(sql)
            .bind(worker)
            .bind(until)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("claiming jobs"))?;
        rows.sort_unstable_by_key(|row| row.1);
        let jobs = rows
            .into_iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if !jobs.is_empty() {
            tracing::debug!(worker, claimed = jobs.len(), "claimed jobs");
        }
        Ok(jobs)
    }

    /// Extends the lease of those of `job_ids` that `worker` still holds to `lease` from now;
    /// returns how many. A job missing from the count was lost (requeued after its lease
    /// expired, or gone): stop working on it.
    pub async fn heartbeat(
        &self,
        worker: &str,
        job_ids: &[i64],
        lease: Duration,
    ) -> Result<u64, StoreError> {
        if job_ids.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        let until = now.saturating_add(duration_ms(lease));
        let sql = format!(
            "UPDATE jobs SET lease_until_ms = $1, updated_at_ms = $2 \
             WHERE state = 'running' AND lease_owner = $3 AND id IN ({})",
            ids_in(&self.db, 4)
        );
        let done = with_pool!(&self.db, |pool| sqlx::query(&sql)
            .bind(until)
            .bind(now)
            .bind(worker)
            .bind(id_list(job_ids))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::db("renewing job leases"))?;
        if done < job_ids.len() as u64 {
            tracing::warn!(
                worker,
                renewed = done,
                asked = job_ids.len(),
                "some job leases were lost"
            );
        }
        Ok(done)
    }

    /// Marks a job done (it is deleted; its webhook stays in the inbox until pruned, still
    /// recognised as a duplicate) if `worker` holds it; false, changing nothing, if it does not
    /// (its lease expired and it was requeued, perhaps to run elsewhere).
    pub async fn complete_job(&self, job_id: i64, worker: &str) -> Result<bool, StoreError> {
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM jobs WHERE id = $1 AND state = 'running' AND lease_owner = $2"
        )
        .bind(job_id)
        .bind(worker)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("completing a job"))?;
        if done == 0 {
            tracing::warn!(
                job_id,
                worker,
                "job not completed: the worker lost its lease"
            );
        }
        Ok(done == 1)
    }

    /// Records a failed attempt of a job `worker` holds: back to pending after
    /// [`RetryPolicy::backoff`] (still first in its key's line, so later jobs of the key wait),
    /// or, at `policy.max_attempts`, dead with `error` as its last error.
    pub async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        policy: &RetryPolicy,
    ) -> Result<FailOutcome, StoreError> {
        let error = truncate(error, MAX_ERROR_BYTES);
        let attempts: Option<i32> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT attempts FROM jobs \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2"
        )
        .bind(job_id)
        .bind(worker)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("reading a failed job"))?;
        let Some(before) = attempts else {
            tracing::warn!(job_id, worker, "job failure not recorded: lease lost");
            return Ok(FailOutcome::LostLease);
        };
        let attempts = before.saturating_add(1);
        let now = now_ms();
        let dead = i64::from(attempts) >= i64::from(policy.max_attempts);
        let (state, run_at) = if dead {
            (JobState::Dead, now)
        } else {
            (
                JobState::Pending,
                now.saturating_add(duration_ms(policy.backoff(attempts))),
            )
        };
        // Compare-and-set on the attempts read: a requeue in between bumps them.
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE jobs SET state = $4, attempts = $5, last_error = $6, run_at_ms = $7, \
                 lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $8 \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2 AND attempts = $3"
        )
        .bind(job_id)
        .bind(worker)
        .bind(before)
        .bind(state.as_str())
        .bind(attempts)
        .bind(error)
        .bind(run_at)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("recording a job failure"))?;
        if done == 0 {
            tracing::warn!(job_id, worker, "job failure not recorded: lease lost");
            return Ok(FailOutcome::LostLease);
        }
        if dead {
            tracing::warn!(job_id, attempts, error, "job dead-lettered");
            Ok(FailOutcome::Dead { attempts })
        } else {
            tracing::debug!(
                job_id,
                attempts,
                run_at_ms = run_at,
                error,
                "job will retry"
            );
            Ok(FailOutcome::Retry {
                attempts,
                run_at_ms: run_at,
            })
        }
    }

    /// Puts back every running job whose lease has expired (its worker died or hung), each
    /// counted as a failed attempt, to run again at once — or dead-letters it if that was its
    /// last attempt under the default [`RetryPolicy`]. Returns how many were put back or
    /// dead-lettered. Run it periodically (e.g. every few seconds): until then an expired job
    /// holds its key up.
    pub async fn requeue_expired(&self) -> Result<u64, StoreError> {
        self.requeue_expired_with(&RetryPolicy::default()).await
    }

    /// [`Store::requeue_expired`] with the given retry policy's `max_attempts`.
    pub async fn requeue_expired_with(&self, policy: &RetryPolicy) -> Result<u64, StoreError> {
        let now = now_ms();
        let max = i32::try_from(policy.max_attempts).unwrap_or(i32::MAX);
        let states: Vec<String> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "UPDATE jobs SET \
                 state = CASE WHEN attempts + 1 >= $2 THEN 'dead' ELSE 'pending' END, \
                 attempts = attempts + 1, \
                 last_error = 'the lease of worker ' || lease_owner || ' expired: it stopped, \
                     or did not renew the lease (heartbeat) in time', \
                 run_at_ms = $1, lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $1 \
             WHERE state = 'running' AND lease_until_ms <= $1 \
             RETURNING state"
        )
        .bind(now)
        .bind(max)
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("requeueing jobs whose lease expired"))?;
        let dead = states.iter().filter(|s| *s == "dead").count();
        if !states.is_empty() {
            tracing::warn!(requeued = states.len() - dead, dead, "jobs' leases expired");
        }
        Ok(states.len() as u64)
    }

    /// How many jobs are pending, running and dead, for one location or all.
    pub async fn queue_depth(&self, location_id: Option<&str>) -> Result<QueueDepth, StoreError> {
        const ALL: &str = "SELECT state, COUNT(*), MIN(created_at_ms) FROM jobs GROUP BY state";
        const ONE: &str = "SELECT state, COUNT(*), MIN(created_at_ms) FROM jobs \
             WHERE location_id = $1 GROUP BY state";
        let rows: Vec<(String, i64, Option<i64>)> =
            with_pool!(&self.db, |pool| match location_id {
                None => sqlx::query_as(ALL).fetch_all(pool).await,
                Some(id) => sqlx::query_as(ONE).bind(id).fetch_all(pool).await,
            })
            .map_err(StoreError::db("counting jobs"))?;
        let mut depth = QueueDepth::default();
        for (state, count, oldest) in rows {
            let count = u64::try_from(count).unwrap_or(0);
            match state.as_str() {
                "pending" => {
                    depth.pending = count;
                    depth.oldest_pending_created_at_ms = oldest;
                }
                "running" => depth.running = count,
                "dead" => depth.dead = count,
                other => {
                    return Err(StoreError::Corrupt {
                        what: "the job queue".into(),
                        reason: format!("unknown job state {other:?}"),
                    })
                }
            }
        }
        Ok(depth)
    }

    /// A job in any state, or `None` (never queued, or completed, or dropped).
    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a job"))?;
        row.map(job_from_row).transpose()
    }

    /// Dead letters, for one location or all, oldest first, at most `limit`.
    pub async fn dead_jobs(
        &self,
        location_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = match location_id {
            None => {
                format!("SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'dead' ORDER BY id LIMIT $1")
            }
            Some(_) => format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'dead' AND location_id = $2 \
                 ORDER BY id LIMIT $1"
            ),
        };
        let rows: Vec<JobRow> = with_pool!(&self.db, |pool| {
            let query = sqlx::query_as(&sql).bind(limit);
            match location_id {
                None => query.fetch_all(pool).await,
                Some(id) => query.bind(id).fetch_all(pool).await,
            }
        })
        .map_err(StoreError::db("listing dead jobs"))?;
        rows.into_iter().map(job_from_row).collect()
    }

    /// A dead letter, or `None` if there is no dead job with this id.
    pub async fn dead_job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        Ok(self.job(id).await?.filter(|j| j.state == JobState::Dead))
    }

    /// Puts a dead letter back in the queue, at the back of its key's line, with its attempts
    /// reset (its last error is kept until the next attempt); false if there is no dead job
    /// with this id.
    pub async fn replay_dead(&self, id: i64) -> Result<bool, StoreError> {
        let sql = match &self.db {
            Db::Sqlite(_) => replay!(sqlite_next_seq!()),
            Db::Postgres(_) => replay!(postgres_next_seq!()),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = with_pool!(&self.db, |pool| async {
                let mut tx = pool.begin().await?;
                let key: Option<String> = sqlx::query_scalar(
                    "SELECT ordering_key FROM jobs WHERE id = $1 AND state = 'dead'",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(key) = key else {
                    return Ok(false);
                };
                tx.lock_ordering_keys(&ordering_lock_ids([key.as_str()]))
                    .await?;
                let done = sqlx::query(sql)
                    .bind(id)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok::<_, sqlx::Error>(done == 1)
            }
            .await);
            match result {
                Ok(replayed) => {
                    if replayed {
                        tracing::info!(job_id = id, "dead job replayed");
                    }
                    return Ok(replayed);
                }
                Err(e) if attempt < 3 && is_transient(&e) => {}
                Err(source) => {
                    return Err(StoreError::Database {
                        action: "replaying a dead job",
                        source,
                    })
                }
            }
        }
    }

    /// Deletes a dead letter (its webhook, if any, stays in the inbox until pruned); false if
    /// there is no dead job with this id.
    pub async fn drop_dead(&self, id: i64) -> Result<bool, StoreError> {
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM jobs WHERE id = $1 AND state = 'dead'"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("dropping a dead job"))?;
        if done == 1 {
            tracing::info!(job_id = id, "dead job dropped");
        }
        Ok(done == 1)
    }
}

fn job_from_row(row: JobRow) -> Result<Job, StoreError> {
    let (
        id,
        _seq,
        kind,
        location_id,
        ordering_key,
        event_id,
        payload,
        state,
        run_at_ms,
        attempts,
        last_error,
        lease_owner,
        lease_until_ms,
        created_at_ms,
        updated_at_ms,
    ) = row;
    let payload = serde_json::from_str(&payload)
        .map_err(|e| corrupt(id, format!("payload is not JSON: {e}")))?;
    Ok(Job {
        state: JobState::parse(&state, id)?,
        id,
        kind,
        location_id,
        ordering_key,
        event_id,
        payload,
        attempts,
        last_error,
        created_at_ms,
        run_at_ms,
        lease_owner,
        lease_until_ms,
        updated_at_ms,
    })
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
