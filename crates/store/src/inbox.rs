//! The event log: every webhook drivesync accepted, stored — with a pending job to apply it —
//! before the HTTP answer goes out. HighLevel re-sends a webhook only when the receiver
//! answers 429, so a webhook acknowledged but not stored would be lost for good; and since a
//! webhook may still arrive twice, `webhook_id` is unique and the second copy is recognised
//! as a [`Accepted::Duplicate`] and writes nothing.
//!
//! ```no_run
//! # async fn run(store: store::Store, webhook_id: String, body: Vec<u8>) -> Result<(), store::StoreError> {
//! use store::inbox::{Accepted, InboxEvent};
//! let event = InboxEvent {
//!     webhook_id,
//!     location_id: "loc-1".into(),
//!     event_type: "ContactUpdate".into(),
//!     ordering_key: store::jobs::contact_key("abc"),
//!     body,
//!     received_at_ms: 1_750_000_000_000,
//! };
//! match store.accept_webhook(&event).await? {
//!     Accepted::Stored { event_id } => println!("stored as {event_id}"), // now answer 200
//!     Accepted::Duplicate => println!("seen before"),                    // answer 200 too
//! }
//! # Ok(()) }
//! ```

use crate::clock::now_ms;
use crate::db::{ordering_lock_ids, with_pool, KeyLocks as _};
use crate::jobs::JobKind;
use crate::queue::{job_insert_sql, validate_key, NewJob};
use crate::retry::retry_transient;
use crate::{Store, StoreError};

/// Inbox rows deleted per statement by [`Store::prune_inbox`], so a large prune does not hold
/// SQLite's write lock (and stall ingest) for long.
const PRUNE_BATCH: i64 = 5_000;

/// A webhook as received, to be stored before it is acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxEvent {
    /// HighLevel's `webhookId`: unique per delivery, the same when a delivery is re-sent.
    pub webhook_id: String,
    pub location_id: String,
    pub event_type: String,
    /// Events sharing an ordering key are applied one at a time, in the order accepted
    /// (e.g. `contact:<id>`, or `location:<id>` for location-wide events).
    pub ordering_key: String,
    /// The raw request body, byte for byte.
    pub body: Vec<u8>,
    /// When it was received, in Unix milliseconds.
    pub received_at_ms: i64,
}

/// What [`Store::accept_webhook`] did with a webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Stored, with a pending job of kind [`JobKind::Webhook`] whose `event_id` is this.
    Stored { event_id: i64 },
    /// A webhook with this id is already in the inbox; nothing was written.
    Duplicate,
}

/// A stored webhook.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvent {
    pub event_id: i64,
    pub webhook_id: String,
    pub location_id: String,
    pub event_type: String,
    pub ordering_key: String,
    pub body: Vec<u8>,
    pub received_at_ms: i64,
    /// When it was committed, in Unix milliseconds.
    pub stored_at_ms: i64,
}

const INSERT_EVENT: &str = "INSERT INTO inbox (webhook_id, location_id, event_type, \
         ordering_key, body, received_at_ms, stored_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (webhook_id) DO NOTHING RETURNING event_id";

impl Store {
    /// Stores a webhook and a pending job to apply it, in one transaction; `Duplicate`, and
    /// nothing written, when a webhook with its id is already in the inbox. When this returns
    /// `Ok` the write is durable (fsynced on SQLite, committed on PostgreSQL), so the webhook
    /// may be acknowledged; on `Err` answer 429 so HighLevel sends it again.
    pub async fn accept_webhook(&self, e: &InboxEvent) -> Result<Accepted, StoreError> {
        let mut accepted = self.accept_webhooks(std::slice::from_ref(e)).await?;
        Ok(accepted.pop().expect("one result per webhook"))
    }

    /// Stores many webhooks in one transaction (group commit: one fsync for a burst of
    /// concurrent deliveries), each as [`Store::accept_webhook`] would; the results are in
    /// input order. A webhook id repeated within `es` is stored once, the later copies being
    /// `Duplicate`. Jobs of one ordering key are queued in input order. All or nothing: on
    /// `Err` none of them is stored.
    pub async fn accept_webhooks(&self, es: &[InboxEvent]) -> Result<Vec<Accepted>, StoreError> {
        if es.is_empty() {
            return Ok(Vec::new());
        }
        for e in es {
            validate_event(e)?;
        }
        let jobs: Vec<NewJob> = es.iter().map(webhook_job).collect();
        let payloads: Vec<String> = jobs.iter().map(|j| j.payload.to_string()).collect();
        let locks = ordering_lock_ids(es.iter().map(|e| e.ordering_key.as_str()));
        let insert_job = job_insert_sql(&self.db);
        let (jobs, payloads, locks) = (&jobs, &payloads, &locks);
        let out = retry_transient(move || async move {
            let now = now_ms();
            with_pool!(&self.db, |pool| async {
                let mut tx = pool.begin().await?;
                tx.lock_ordering_keys(locks).await?;
                let mut out = Vec::with_capacity(es.len());
                for ((e, job), payload) in es.iter().zip(jobs).zip(payloads) {
                    let event_id: Option<i64> = sqlx::query_scalar(INSERT_EVENT)
                        .bind(&e.webhook_id)
                        .bind(&e.location_id)
                        .bind(&e.event_type)
                        .bind(&e.ordering_key)
                        .bind(&e.body[..])
                        .bind(e.received_at_ms)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(event_id) = event_id else {
                        out.push(Accepted::Duplicate);
                        continue;
                    };
                    sqlx::query_scalar::<_, i64>(insert_job)
                        .bind(&job.kind)
                        .bind(&job.location_id)
                        .bind(&job.ordering_key)
                        .bind(Some(event_id))
                        .bind(payload)
                        .bind(now)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    out.push(Accepted::Stored { event_id });
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(out)
            }
            .await)
        })
        .await
        .map_err(StoreError::db("storing webhooks"))?;
        let stored = out
            .iter()
            .filter(|a| matches!(a, Accepted::Stored { .. }))
            .count();
        tracing::debug!(
            received = es.len(),
            stored,
            duplicates = es.len() - stored,
            "accepted webhooks"
        );
        Ok(out)
    }

    /// A stored webhook by its event id, or `None` (never stored, or pruned).
    pub async fn inbox_event(&self, event_id: i64) -> Result<Option<StoredEvent>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT event_id, webhook_id, location_id, event_type, ordering_key, body, \
                 received_at_ms, stored_at_ms \
             FROM inbox WHERE event_id = $1"
        )
        .bind(event_id)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("reading a stored webhook"))
    }

    /// Whether webhooks for `location_id` have somewhere to go: the location is connected,
    /// or an INSTALL for it arrived at or after `installs_since_ms` (its connection is on the
    /// way). The ingest drops the others rather than store jobs that can never apply.
    pub async fn webhooks_wanted(
        &self,
        location_id: &str,
        installs_since_ms: i64,
    ) -> Result<bool, StoreError> {
        let n: i64 = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM locations WHERE location_id = $1) \
                  + (SELECT COUNT(*) FROM inbox WHERE location_id = $1 \
                        AND event_type = 'INSTALL' AND received_at_ms >= $2)"
        )
        .bind(location_id)
        .bind(installs_since_ms)
        .fetch_one(pool)
        .await)
        .map_err(StoreError::db("looking up a webhook's location"))?;
        Ok(n > 0)
    }

    /// Whether a webhook with this id is in the inbox (accepted and not yet pruned).
    pub async fn webhook_stored(&self, webhook_id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT event_id FROM inbox WHERE webhook_id = $1"
        )
        .bind(webhook_id)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("looking up a webhook id"))?;
        Ok(found.is_some())
    }

    /// Forgets webhooks received before `older_than_ms` (Unix milliseconds; pass now minus the
    /// retention), so their ids are no longer recognised as duplicates: keep them longer than
    /// HighLevel could re-send a webhook. Webhooks whose job is still queued, running or dead
    /// are kept. Returns how many were removed.
    pub async fn prune_inbox(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        let mut removed = 0;
        loop {
            let done = with_pool!(&self.db, |pool| sqlx::query(
                "DELETE FROM inbox WHERE event_id IN ( \
                     SELECT i.event_id FROM inbox AS i \
                     WHERE i.received_at_ms < $1 \
                       AND NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.event_id = i.event_id) \
                     LIMIT $2)"
            )
            .bind(older_than_ms)
            .bind(PRUNE_BATCH)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
            .map_err(StoreError::db("pruning the webhook inbox"))?;
            removed += done;
            if done < PRUNE_BATCH as u64 {
                break;
            }
        }
        tracing::debug!(removed, older_than_ms, "pruned the webhook inbox");
        Ok(removed)
    }
}

fn webhook_job(e: &InboxEvent) -> NewJob {
    NewJob {
        kind: JobKind::Webhook.into(),
        location_id: e.location_id.clone(),
        ordering_key: e.ordering_key.clone(),
        payload: serde_json::json!({
            "webhook_id": e.webhook_id,
            "event_type": e.event_type,
        }),
        run_at_ms: None,
    }
}

fn validate_event(e: &InboxEvent) -> Result<(), StoreError> {
    validate_key("webhook id", &e.webhook_id)?;
    validate_key("ordering key", &e.ordering_key)
}
