//! A webhook job: the stored body, read, brought into the Drive Chat store through
//! [`crate::converge`].
//!
//! **The payload is applied as it is when it says enough.** HighLevel allows 100 requests per
//! 10 s per location; at hundreds of events a second, fetching every record a webhook names
//! cannot keep up, and the payloads carry the record's fields. So a webhook is applied
//! directly, and HighLevel is asked only for what a payload lacks:
//!
//! - Keys a payload does not carry at all (a contact webhook has no `timezone` or `type`; a
//!   task webhook no `completed`) keep what the store knows: the payload is laid over the
//!   stored state, never replacing a known field with "absent".
//! - `TaskComplete` means `completed: true`; `TaskCreate` means `completed: false` unless the
//!   payload says otherwise.
//! - The version is the payload's `dateUpdated`, else the webhook's `timestamp`, else when it
//!   was received.
//! - A contact or appointment payload without `dateUpdated` (HighLevel's older events) is only
//!   a hint: the record is fetched, and a 404 means it was deleted.
//! - A task or note without `contactId`: the stored record's contact if known; otherwise it
//!   is stored with its contact unknown (HighLevel cannot fetch a task without its contact)
//!   and placed by the next read that knows it — a `TaskComplete`/`TaskDelete` carrying the
//!   contact, a poll of that contact, or the reconcile's full walk.
//! - A contact event does not re-read the contact's tasks, notes and appointments: the
//!   poller does, within its budget.
//! - **A late first sight is checked.** A webhook for a record the store has never seen that
//!   arrives more than [`LATE_FIRST_SIGHT_MS`] after HighLevel stamped it (a delivery HighLevel
//!   re-sent after a 429, a job re-run after its worker died) may announce a record deleted
//!   since, whose deletion the store already passed over or will never hear of (its webhook
//!   dropped). Applied as it is, it would bring the record back until the next reconcile; so it
//!   is read from HighLevel instead, and a 404 leaves a tombstone. Prompt webhooks, and any
//!   event for a record already known (a tombstone is final), are applied without a read.
//!
//! Unknown event types are counted (`unknown_events` of the location's sync state) and the
//! job completes; INSTALL and UNINSTALL go to [`crate::installs`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ghl::models::{WebhookEnvelope, WebhookEvent};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use store::{Job, JobKind, Record, RecordKind, Store, StoredEvent};
use tracing::Instrument as _;

use crate::config::EngineConfig;
use crate::converge::{self, Outcome};
use crate::describe::Origin;
use crate::error::SyncError;
use crate::gate::LocationGate;
use crate::millis;
use crate::records;
use crate::settle;
use crate::worker::{JobContext, JobError, JobHandler};

/// A webhook for an unknown record older than this (from its `timestamp` to its apply) is
/// confirmed by a read (see the module documentation). Prompt deliveries are applied within a
/// second or two even under load, so only re-sent or re-run ones pay the request.
pub const LATE_FIRST_SIGHT_MS: i64 = 10_000;

/// What applying one webhook did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub location_id: String,
    /// From the webhook's `timestamp` to now, when it had one.
    pub lag_ms: Option<i64>,
    /// The event type is not one drivesync knows.
    pub unknown: bool,
    /// What converging the record did (`None` for app and unknown events).
    pub outcome: Option<Outcome>,
}

impl Applied {
    fn with_outcome(self, outcome: Outcome) -> Applied {
        Applied {
            outcome: Some(outcome),
            ..self
        }
    }
}

/// Applies the stored webhook `event`. `app` is needed for INSTALL (minting a location token
/// from an agency connection); without it app events are logged and skipped.
pub async fn apply_webhook(
    store: &Store,
    gate: &LocationGate,
    app: Option<&ghl::OAuthApp>,
    event: &StoredEvent,
) -> Result<Applied, SyncError> {
    let malformed = |reason: String| SyncError::Malformed {
        webhook_id: event.webhook_id.clone(),
        event_type: event.event_type.clone(),
        reason,
    };
    let raw: Value =
        serde_json::from_slice(&event.body).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let env = WebhookEnvelope::parse(&raw).map_err(|e| malformed(e.to_string()))?;
    let location = env
        .location_id
        .clone()
        .unwrap_or_else(|| event.location_id.clone());
    let ts_ms = env.timestamp.map(|t| t.timestamp_millis());
    let version = ts_ms.unwrap_or(event.received_at_ms);
    let lag_ms = ts_ms.map(|t| (now_ms() - t).max(0));
    let mut applied = Applied {
        location_id: location.clone(),
        lag_ms,
        unknown: false,
        outcome: None,
    };
    let body = records::strip_envelope(&raw);
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if let Some(id) = id {
        tracing::Span::current().record("record_id", id);
    }
    let need_id = || id.ok_or_else(|| malformed("no `id`".into()));
    let webhook = Origin::Webhook;
    let l = location.as_str();
    let payload_contact = body
        .get("contactId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let reads = Reads {
        store,
        gate,
        location: l,
        late: lag_ms.is_some_and(|lag| lag > LATE_FIRST_SIGHT_MS),
        version,
    };
    let outcome = match &env.event {
        WebhookEvent::ContactCreate(_)
        | WebhookEvent::ContactUpdate(_)
        | WebhookEvent::ContactTagUpdate(_)
        | WebhookEvent::ContactDndUpdate(_) => {
            let id = need_id()?;
            let old = match reads.base(RecordKind::Contact, id, None).await? {
                Base::Stored(old) => old,
                Base::Confirmed(o) => return Ok(applied.with_outcome(o)),
            };
            let first_sight = old.as_ref().is_none_or(Record::is_deleted);
            let data = overlay(old.as_ref(), &body);
            let rec =
                records::contact(l, data, version).ok_or_else(|| malformed("no `id`".into()))?;
            let outcome = converge::apply_state_over(store, rec, old, webhook, true).await?;
            // A payload with `dateUpdated` (HighLevel's older events, the sandbox's extras)
            // is a whole state; one without cannot say the contact's type, and one that
            // changed nothing changed a field it does not carry.
            let settled = body.get("dateUpdated").is_some()
                || !(first_sight || outcome == Outcome::Unchanged);
            if !settled && outcome != Outcome::Gone {
                settle::request(store, l, JobKind::ReadContact, id).await?;
            }
            outcome
        }
        WebhookEvent::ContactDelete(_) => {
            converge::apply_delete(store, l, RecordKind::Contact, need_id()?, version, webhook)
                .await?
        }
        WebhookEvent::TaskCreate(_) | WebhookEvent::TaskComplete(_) => {
            let id = need_id()?;
            let old = match reads.base(RecordKind::Task, id, payload_contact).await? {
                Base::Stored(old) => old,
                Base::Confirmed(o) => return Ok(applied.with_outcome(o)),
            };
            let mut body = body.clone();
            if let Some(o) = body.as_object_mut() {
                match &env.event {
                    WebhookEvent::TaskComplete(_) => {
                        o.insert("completed".into(), Value::Bool(true));
                    }
                    _ => {
                        o.entry("completed").or_insert(Value::Bool(false));
                    }
                }
            }
            let data = overlay(old.as_ref(), &body);
            let contact = old.as_ref().and_then(|o| o.contact_id.clone());
            let rec = records::task(l, contact.as_deref(), data, version)
                .ok_or_else(|| malformed("no `id`".into()))?;
            if rec.contact_id.is_none() {
                tracing::info!(
                    location = l,
                    task = id,
                    "task stored without its contact; the next read that knows it places it"
                );
            }
            converge::apply_state_over(store, rec, old, webhook, true).await?
        }
        WebhookEvent::TaskDelete(_) => {
            converge::apply_delete(store, l, RecordKind::Task, need_id()?, version, webhook).await?
        }
        WebhookEvent::NoteCreate(_) | WebhookEvent::NoteUpdate(_) => {
            let id = need_id()?;
            let old = match reads.base(RecordKind::Note, id, payload_contact).await? {
                Base::Stored(old) => old,
                Base::Confirmed(o) => return Ok(applied.with_outcome(o)),
            };
            // Note webhooks do not say who wrote the note: a first sight reads it.
            let unknown_author = old
                .as_ref()
                .is_none_or(|o| o.is_deleted() || o.assignee.is_none());
            let data = overlay(old.as_ref(), &body);
            let contact = old.as_ref().and_then(|o| o.contact_id.clone());
            let rec = records::note(l, contact.as_deref(), data, version)
                .ok_or_else(|| malformed("no `id`".into()))?;
            let placed = rec.contact_id.clone();
            let outcome = converge::apply_state_over(store, rec, old, webhook, true).await?;
            if let (true, Some(c), Outcome::Created | Outcome::Changed) =
                (unknown_author, placed.as_deref(), outcome)
            {
                settle::request(store, l, JobKind::ReadNotes, c).await?;
            }
            outcome
        }
        WebhookEvent::NoteDelete(_) => {
            converge::apply_delete(store, l, RecordKind::Note, need_id()?, version, webhook).await?
        }
        WebhookEvent::AppointmentCreate(_) | WebhookEvent::AppointmentUpdate(_) => {
            let appt = body.get("appointment").cloned().unwrap_or(Value::Null);
            let id = appt
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| malformed("no `appointment.id`".into()))?;
            if appt.get("dateUpdated").is_none() {
                settle::refetch(
                    store,
                    gate,
                    l,
                    RecordKind::Appointment,
                    id,
                    None,
                    version,
                    webhook,
                )
                .await?
            } else {
                let old = match reads.base(RecordKind::Appointment, id, None).await? {
                    Base::Stored(old) => old,
                    Base::Confirmed(o) => return Ok(applied.with_outcome(o)),
                };
                let data = overlay(old.as_ref(), &appt);
                let rec = records::appointment(l, data, version)
                    .ok_or_else(|| malformed("no `appointment.id`".into()))?;
                converge::apply_state_over(store, rec, old, webhook, true).await?
            }
        }
        WebhookEvent::AppointmentDelete(_) => {
            let id = body
                .pointer("/appointment/id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| malformed("no `appointment.id`".into()))?;
            converge::apply_delete(store, l, RecordKind::Appointment, id, version, webhook).await?
        }
        WebhookEvent::Install(_) | WebhookEvent::Uninstall(_) => {
            match app {
                Some(app) => {
                    let store = Arc::new(store.clone());
                    let done = crate::installs::apply_app_event(&store, app, &env).await?;
                    tracing::info!(?done, "app event applied");
                }
                None => tracing::warn!(
                    event_type = %env.event_type,
                    "app event not applied: the engine was started without the OAuth app; \
                     start it with the app's client id and secret"
                ),
            }
            return Ok(applied);
        }
        WebhookEvent::Unknown { event_type, .. } => {
            tracing::info!(
                event_type,
                location = l,
                "webhook of an unknown type: stored and counted, not applied"
            );
            applied.unknown = true;
            return Ok(applied);
        }
        // A type the models learned after this was written: as unknown.
        #[allow(unreachable_patterns)]
        _ => {
            applied.unknown = true;
            return Ok(applied);
        }
    };
    applied.outcome = Some(outcome);
    Ok(applied)
}

/// What a create or update webhook is laid over.
// The large variant is the common one; boxing it would allocate on every webhook.
#[allow(clippy::large_enum_variant)]
enum Base {
    /// The stored state (`None`: never seen).
    Stored(Option<Record>),
    /// A late first sight, read from HighLevel and applied instead (see the module docs).
    Confirmed(Outcome),
}

/// What the reads of one webhook's apply share.
struct Reads<'a> {
    store: &'a Store,
    gate: &'a LocationGate,
    location: &'a str,
    /// The webhook is older than [`LATE_FIRST_SIGHT_MS`].
    late: bool,
    /// The webhook's version, and the deletion time should a read find the record gone.
    version: i64,
}

impl Reads<'_> {
    /// The stored state of the record the webhook names; a late first sight of it is
    /// confirmed by a read from HighLevel instead, when one can be made (a task or note is
    /// read through its contact, so only when the payload names it).
    async fn base(
        &self,
        kind: RecordKind,
        id: &str,
        contact: Option<&str>,
    ) -> Result<Base, SyncError> {
        let (store, location) = (self.store, self.location);
        let old = store.record(location, kind, id).await?;
        let readable = contact.is_some() || !matches!(kind, RecordKind::Task | RecordKind::Note);
        if old.is_none() && self.late && readable {
            let o = settle::refetch(
                store,
                self.gate,
                location,
                kind,
                id,
                contact,
                self.version,
                Origin::Webhook,
            );
            return Ok(Base::Confirmed(o.await?));
        }
        Ok(Base::Stored(old))
    }
}

/// Runs [`JobKind::Webhook`] jobs: the stored webhook applied; the location's sync state made
/// sure to exist (once per location in this process); the webhook's lag kept for
/// [`WebhookJob::flush_lags`].
pub struct WebhookJob {
    /// Needed to apply INSTALL events.
    app: Option<ghl::OAuthApp>,
    /// Each location's poll and reconcile intervals, for the sync states made here.
    config: EngineConfig,
    /// Locations whose sync state this process has made sure exists.
    ensured: Mutex<HashSet<String>>,
    /// The latest webhook lag per location, written to the store once a second rather than
    /// once per webhook (each write is an fsync on SQLite).
    lags: Mutex<HashMap<String, i64>>,
}

impl WebhookJob {
    pub fn new(app: Option<ghl::OAuthApp>, config: EngineConfig) -> WebhookJob {
        WebhookJob {
            app,
            config,
            ensured: Mutex::new(HashSet::new()),
            lags: Mutex::new(HashMap::new()),
        }
    }

    /// Writes the buffered webhook lags to the locations' sync states.
    pub async fn flush_lags(&self, store: &Store) {
        let lags: Vec<(String, i64)> = self.lags.lock().drain().collect();
        for (location, lag) in lags {
            if let Err(e) = store
                .record_event_applied(&location, Some(lag), false)
                .await
            {
                tracing::warn!(location, error = %e, "recording the webhook lag failed");
            }
        }
    }

    async fn apply(&self, ctx: &JobContext, job: &Job) -> Result<(), SyncError> {
        let store = &ctx.store;
        let Some(event_id) = job.event_id else {
            return Err(SyncError::EventMissing {
                job_id: job.id,
                event_id: 0,
            });
        };
        let event = store
            .inbox_event(event_id)
            .await?
            .ok_or(SyncError::EventMissing {
                job_id: job.id,
                event_id,
            })?;
        let span = crate::telemetry::apply_span(&event);
        let applied = apply_webhook(store, &ctx.gate, self.app.as_ref(), &event)
            .instrument(span.clone())
            .await?;
        span.in_scope(|| {
            crate::count_and_log!(
                &ctx.metrics.webhooks_applied,
                debug,
                webhook_id = %event.webhook_id,
                outcome = ?applied.outcome,
                lag_ms = applied.lag_ms,
                "change applied"
            )
        });
        let location = applied.location_id.clone();
        if !self.ensured.lock().contains(&location) {
            let s = self.config.schedule_of(&location);
            store
                .ensure_sync_state(
                    &location,
                    millis(s.poll_interval),
                    millis(s.reconcile_interval),
                )
                .await?;
            self.ensured.lock().insert(location.clone());
        }
        if applied.unknown {
            crate::count_and_log!(
                &ctx.metrics.unknown_events,
                debug,
                webhook_id = %event.webhook_id,
                event_type = %event.event_type,
                "webhook of an unknown type counted, not applied"
            );
            store
                .record_event_applied(&location, applied.lag_ms, true)
                .await?;
        } else if let Some(lag) = applied.lag_ms {
            self.lags.lock().insert(location, lag);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl JobHandler for WebhookJob {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError> {
        Ok(self.apply(ctx, job).await?)
    }
}

/// The payload laid over the stored state: keys the payload carries win, keys it lacks keep
/// the stored value — except `dateUpdated`, which is the version and must come from this
/// state or not at all.
fn overlay(old: Option<&Record>, payload: &Value) -> Value {
    let mut out: Map<String, Value> = old
        .filter(|o| !o.is_deleted())
        .and_then(|o| o.data.as_object().cloned())
        .unwrap_or_default();
    out.remove("dateUpdated");
    if let Some(p) = payload.as_object() {
        for (k, v) in p {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_payload_overlays_the_stored_state_but_never_its_version() {
        let old = records::contact(
            "L",
            json!({"id": "c", "timezone": "UTC", "city": "Oslo",
                   "dateUpdated": "2026-01-01T00:00:00.000Z"}),
            1,
        )
        .expect("a contact");
        let merged = overlay(Some(&old), &json!({"id": "c", "city": "Rome"}));
        assert_eq!(merged["timezone"], "UTC");
        assert_eq!(merged["city"], "Rome");
        assert!(merged.get("dateUpdated").is_none());
        let rec = records::contact("L", merged, 77).expect("a contact");
        assert_eq!(rec.version_ms, 77);
    }
}
