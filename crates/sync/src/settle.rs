//! Reads that settle what a webhook cannot.
//!
//! HighLevel's webhook bodies are exactly their official schemas (`shared/ghl/webhooks/`):
//! contact events carry no `dateUpdated`, and cannot carry the contact's own `type` (lead,
//! customer) because the top-level `type` is the event's name; they carry no `dndSettings`
//! (except `ContactDndUpdate`) and no `timezone`. Note events carry no `userId` (who wrote
//! it). The apply lays a payload over the stored state at once — the change is visible without
//! waiting for HighLevel — and asks for a read here when the payload cannot settle the record:
//!
//! - a contact seen for the first time (its `type`, `dndSettings`, `timezone` are unknown);
//! - a contact event whose payload changes nothing the store knows (so what changed is a
//!   field the payload does not carry: `type`, most likely);
//! - a note seen for the first time (its author).
//!
//! **Coalesced, and never in the webhooks' way.** A read is a job under an ordering key of its
//! own per contact (`settle:contact:<id>`, not the webhooks' `contact:<id>`: a read waiting on
//! the rate limit or a slow HighLevel must not hold up the contact's next webhooks), queued
//! only when none of its kind is already waiting or running for that contact
//! ([`store::Store::enqueue_if_idle`]), so a burst of events for one contact costs one request,
//! and run [`SETTLE_DELAY`] after it was asked for, once the burst's events are applied.
//! What it reads goes through [`converge::apply_read`], so it never undoes a newer state a
//! webhook applied meanwhile; a webhook applied after it lays its payload over the state read.
//! A change whose event arrives while that contact's read is already in flight may wait for
//! the next poll (the read may have been answered before the change). Its request waits on
//! the location's limiter at the `Sync` priority: after a person's clicks, before imports and
//! reconciles. A spent budget retries the job with backoff (the payload state stays
//! meanwhile).

use serde_json::{json, Value};
use store::{jobs, Job, JobKind, NewJob, RecordKind, Store};

use crate::converge::{self, Outcome};
use crate::describe::Origin;
use crate::error::SyncError;
use crate::fetch;
use crate::gate::LocationGate;
use crate::millis;
use crate::worker::{JobContext, JobError, JobHandler};

/// How long a read waits after the event that asked for it. The events HighLevel sends for
/// one change arrive within milliseconds of each other and are applied in a few more: reading
/// after them means no event queued before the read is applied over (and, being versioned by
/// its send time, could win against) the newer state read; and the read then covers them all.
pub const SETTLE_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

/// Queues a read of `kind` ([`JobKind::ReadContact`] or [`JobKind::ReadNotes`]) for the
/// contact unless one is already waiting.
pub(crate) async fn request(
    store: &Store,
    location: &str,
    kind: JobKind,
    contact_id: &str,
) -> Result<(), SyncError> {
    let mut job = NewJob::new(
        kind,
        location,
        jobs::settle_key(contact_id),
        json!({ "contactId": contact_id }),
    );
    job.run_at_ms = Some(chrono::Utc::now().timestamp_millis() + millis(SETTLE_DELAY));
    store.enqueue_if_idle(&job).await?;
    Ok(())
}

/// Reads one record from HighLevel now and converges it as `origin` (a webhook, or a settle
/// read, caused the read); a 404 records the deletion at `deleted_at_ms`. The apply calls it
/// for what a payload cannot settle and must not wait for: a late first sight, an appointment
/// event without `dateUpdated`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn refetch(
    store: &Store,
    gate: &LocationGate,
    location: &str,
    kind: RecordKind,
    id: &str,
    contact: Option<&str>,
    deleted_at_ms: i64,
    origin: Origin,
) -> Result<Outcome, SyncError> {
    let handle = gate.location(location).await?;
    let read_at = chrono::Utc::now().timestamp_millis();
    match fetch::record(&handle, kind, id, contact, None).await? {
        Some(rec) => Ok(converge::apply_read(store, rec, origin, true, read_at).await?),
        None => Ok(converge::apply_delete(store, location, kind, id, deleted_at_ms, origin).await?),
    }
}

/// The contact a read job is for.
fn contact_of(job: &Job) -> Result<&str, SyncError> {
    job.payload
        .get("contactId")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| SyncError::Malformed {
            webhook_id: format!("job {}", job.id),
            event_type: job.kind.clone(),
            reason: "no contactId in the read job".into(),
        })
}

/// Runs [`JobKind::ReadContact`] jobs: the contact read and converged.
pub struct ReadContactJob;

#[async_trait::async_trait]
impl JobHandler for ReadContactJob {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError> {
        let contact = contact_of(job)?;
        let now = chrono::Utc::now().timestamp_millis();
        refetch(
            &ctx.store,
            &ctx.gate,
            &job.location_id,
            RecordKind::Contact,
            contact,
            None,
            now,
            Origin::Settle,
        )
        .await?;
        Ok(())
    }
}

/// Runs [`JobKind::ReadNotes`] jobs: the contact's notes read and converged.
pub struct ReadNotesJob;

#[async_trait::async_trait]
impl JobHandler for ReadNotesJob {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError> {
        let contact = contact_of(job)?;
        Ok(read_notes(&ctx.store, &ctx.gate, &job.location_id, contact).await?)
    }
}

async fn read_notes(
    store: &Store,
    gate: &LocationGate,
    location: &str,
    contact: &str,
) -> Result<(), SyncError> {
    let handle = gate.location(location).await?;
    let read_at = chrono::Utc::now().timestamp_millis();
    let notes = match handle.notes(contact).await {
        Ok(n) => n,
        // The contact is gone; its deletion is its own webhook's (or the reconcile's).
        Err(ghl::GhlError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for n in &notes {
        if let Some(rec) = fetch::note_record(location, contact, n) {
            converge::apply_read(store, rec, Origin::Settle, true, read_at).await?;
        }
    }
    Ok(())
}
