//! Backfill: importing a location's contacts, tasks, notes, appointments and appointment
//! notes from HighLevel into the store, once, when a location is connected (and again on
//! request).
//!
//! - **Streaming.** Contacts come a page at a time from `POST /contacts/search`, sorted by
//!   `dateAdded` ascending and followed by their `searchAfter` cursor (page numbers stop at
//!   10,000 records; the cursor does not, and a contact added during the backfill sorts after
//!   the cursor, so it is still reached). Each contact's tasks, notes and appointments (and
//!   each appointment's notes) are fetched with it. At most one page is held, plus the next
//!   one being fetched, so memory stays flat however large the location.
//! - **Checkpoints.** After every page the phase's checkpoint is saved: the cursor after the
//!   page's last contact and the running counts. A backfill stopped anywhere (crash, kill,
//!   error) resumes after the last whole page; the page it was in is fetched again, which is
//!   harmless because every record goes through [`converge`] (an equal state writes nothing).
//!   `restart` forgets the checkpoint and starts over.
//! - **Rate limit.** Several contacts are imported at once (`concurrency`), each with its
//!   sub-requests in flight together, so there are always requests waiting on the location's
//!   limiter and the budget is spent as fast as it allows; the limiter (shared with every other
//!   task on the location) keeps every window under HighLevel's limit, so no 429 comes back.
//! - **Quiet.** A record seen for the first time is not news for the feed (`announce=false`);
//!   a record already stored whose state differs is described as any change would be.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use ghl::api::{Location, SearchRequest};
use ghl::models::Contact;
use ghl::GhlError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{BackfillCheckpoint, Store, StoreError};

use crate::converge;
use crate::describe::Origin;
use crate::records;

/// The phase name in `backfill_state`: contacts with everything hanging from them.
pub const PHASE_CONTACTS: &str = "contacts";

/// What the location has spent of its rate limit, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Requests this backfill has sent (retries included).
    pub requests: u64,
    /// 429s this backfill has received.
    pub rate_limited: u64,
    /// The location's burst limit as HighLevel last reported it: `max` per `interval`.
    pub max: u32,
    pub interval: Duration,
    /// Requests left today, as HighLevel last reported.
    pub daily_remaining: Option<u64>,
}

/// Where a backfill is, for a progress bar (the binary implements it with `indicatif`). Every
/// method has a default that does nothing. Called from the backfill's task: keep them quick.
pub trait Progress: Send + Sync {
    /// A phase began: its name, the number of items if HighLevel said (the search's
    /// `total`), and how many were done by earlier runs (a resumed backfill).
    fn phase_started(&self, _phase: &str, _total: Option<u64>, _done_before: u64) {}
    /// `items` more contacts are imported (with their tasks, notes and appointments).
    fn advanced(&self, _items: u64) {}
    /// The rate-limit budget after a page.
    fn budget(&self, _budget: Budget) {}
    /// The backfill ended successfully.
    fn finished(&self, _report: &BackfillReport) {}
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {}

#[derive(Clone, Debug)]
pub struct BackfillOptions {
    /// Forget the checkpoint and import everything again.
    pub restart: bool,
    /// Contacts per search page (HighLevel allows up to 500; each page is one checkpoint).
    pub page_size: u32,
    /// Contacts imported at once.
    pub concurrency: usize,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        BackfillOptions {
            restart: false,
            page_size: 100,
            concurrency: 8,
        }
    }
}

/// Records imported per kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub contacts: u64,
    pub tasks: u64,
    pub notes: u64,
    pub appointments: u64,
    pub appointment_notes: u64,
    /// Contacts deleted in HighLevel between being listed and being read: skipped.
    #[serde(default)]
    pub vanished: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.contacts += o.contacts;
        self.tasks += o.tasks;
        self.notes += o.notes;
        self.appointments += o.appointments;
        self.appointment_notes += o.appointment_notes;
        self.vanished += o.vanished;
    }
}

/// What a backfill run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BackfillReport {
    pub location_id: String,
    /// Imported by this run.
    pub imported: Counts,
    /// Imported by earlier, interrupted runs this one resumed.
    pub before: Counts,
    /// Search pages this run read.
    pub pages: u64,
    /// Requests this run sent (retries included) and 429s it received.
    pub requests: u64,
    pub rate_limited: u64,
    pub wall: Duration,
    /// The last backfill had finished: nothing was done (use `restart` to import again).
    pub already_complete: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("backfill of location {location} stopped while {during}: {source}; run the backfill again to resume from its last checkpoint")]
    HighLevel {
        location: String,
        during: String,
        #[source]
        source: GhlError,
    },
    #[error("backfill of location {location} stopped: the store failed ({source}); run the backfill again to resume from its last checkpoint")]
    Store {
        location: String,
        #[source]
        source: StoreError,
    },
    #[error("the backfill checkpoint of location {location} cannot be read ({reason}); start over with --restart")]
    BadCheckpoint { location: String, reason: String },
}

/// The checkpoint's cursor JSON.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    /// The `searchAfter` of the last contact of the last finished page.
    search_after: Option<Vec<Value>>,
    counts: Counts,
}

/// Imports everything of `location` into `store` (see the module documentation).
pub async fn backfill(
    store: &Store,
    location: &Location,
    progress: &dyn Progress,
    opts: BackfillOptions,
) -> Result<BackfillReport, BackfillError> {
    let started = Instant::now();
    let lid = location.id().to_string();
    let limiter = location.limiter();
    let spent_before = limiter.usage();
    let store_err = |source| BackfillError::Store {
        location: lid.clone(),
        source,
    };
    if opts.restart {
        store.reset_backfill(&lid).await.map_err(store_err)?;
    }
    let checkpoint = store
        .backfill_checkpoints(&lid)
        .await
        .map_err(store_err)?
        .into_iter()
        .find(|c| c.phase == PHASE_CONTACTS);
    let mut report = BackfillReport {
        location_id: lid.clone(),
        ..BackfillReport::default()
    };
    let cursor: Cursor = match checkpoint.as_ref().and_then(|c| c.cursor.as_deref()) {
        Some(json) => serde_json::from_str(json).map_err(|e| BackfillError::BadCheckpoint {
            location: lid.clone(),
            reason: e.to_string(),
        })?,
        None => Cursor::default(),
    };
    report.before = cursor.counts;
    if checkpoint.as_ref().is_some_and(|c| c.done) {
        report.already_complete = true;
        report.wall = started.elapsed();
        progress.finished(&report);
        return Ok(report);
    }

    let page_size = opts.page_size.clamp(1, 500);
    let base = SearchRequest::new()
        .page_limit(page_size)
        .sort_by("dateAdded", false);
    let request = |after: &Option<Vec<Value>>| match after {
        Some(a) => base.clone().after(a.clone()),
        None => base.clone(),
    };
    let hl = |during: String| {
        let location = lid.clone();
        move |source| BackfillError::HighLevel {
            location,
            during,
            source,
        }
    };

    let mut totals = cursor.counts;
    let mut after = cursor.search_after;
    let mut page = location
        .search_contacts(&request(&after))
        .await
        .map_err(hl("listing contacts".into()))?;
    report.pages += 1;
    progress.phase_started(PHASE_CONTACTS, page.total, totals.contacts);
    loop {
        let contacts = std::mem::take(&mut page.contacts);
        if contacts.is_empty() {
            break;
        }
        let full = contacts.len() as u32 >= page_size;
        let last_cursor = contacts.last().and_then(|c| c.search_after.clone());
        let next = match (&last_cursor, full) {
            (Some(c), true) => Some(request(&Some(c.clone()))),
            _ => None,
        };
        let n = contacts.len() as u64;
        // The next page is fetched while this one is imported, so the limiter never idles
        // at a page boundary.
        let (imported, next_page) = tokio::join!(
            import_page(store, location, contacts, opts.concurrency.max(1)),
            async {
                match &next {
                    Some(r) => Some(location.search_contacts(r).await),
                    None => None,
                }
            }
        );
        let imported = imported?;
        totals.add(&imported);
        report.imported.add(&imported);
        after = last_cursor.or(after);
        let cp = BackfillCheckpoint {
            phase: PHASE_CONTACTS.into(),
            cursor: Some(
                serde_json::to_string(&Cursor {
                    search_after: after.clone(),
                    counts: totals,
                })
                .unwrap_or_default(),
            ),
            items: totals.contacts as i64,
            done: false,
        };
        store
            .save_backfill_checkpoint(&lid, &cp)
            .await
            .map_err(store_err)?;
        progress.advanced(n);
        progress.budget(budget(location, spent_before).await);
        match next_page {
            None => break,
            Some(p) => {
                page = p.map_err(hl(format!(
                    "listing contacts after {} imported",
                    totals.contacts
                )))?;
                report.pages += 1;
            }
        }
    }
    let cp = BackfillCheckpoint {
        phase: PHASE_CONTACTS.into(),
        cursor: Some(
            serde_json::to_string(&Cursor {
                search_after: after,
                counts: totals,
            })
            .unwrap_or_default(),
        ),
        items: totals.contacts as i64,
        done: true,
    };
    store
        .save_backfill_checkpoint(&lid, &cp)
        .await
        .map_err(store_err)?;
    let spent = limiter.usage();
    report.requests = spent.requests - spent_before.requests;
    report.rate_limited = spent.rate_limited - spent_before.rate_limited;
    report.wall = started.elapsed();
    tracing::info!(
        location = %lid,
        contacts = report.imported.contacts,
        requests = report.requests,
        rate_limited = report.rate_limited,
        wall_ms = report.wall.as_millis() as u64,
        "backfill finished"
    );
    progress.finished(&report);
    Ok(report)
}

async fn budget(location: &Location, before: ghl::ratelimit::Usage) -> Budget {
    let limiter = location.limiter();
    let now = limiter.usage();
    let (max, interval, daily_remaining) = limiter.limits().await;
    Budget {
        requests: now.requests - before.requests,
        rate_limited: now.rate_limited - before.rate_limited,
        max,
        interval,
        daily_remaining,
    }
}

async fn import_page(
    store: &Store,
    location: &Location,
    contacts: Vec<Contact>,
    concurrency: usize,
) -> Result<Counts, BackfillError> {
    stream::iter(contacts)
        .map(|c| import_contact(store, location, c))
        .buffer_unordered(concurrency)
        .try_fold(Counts::default(), |mut acc, c| async move {
            acc.add(&c);
            Ok(acc)
        })
        .await
}

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A contact and everything hanging from it. A state's version is HighLevel's `dateUpdated`,
/// else the time it was read: what the API answers now is the newest state known.
async fn import_contact(
    store: &Store,
    location: &Location,
    contact: Contact,
) -> Result<Counts, BackfillError> {
    let lid = location.id();
    let cid = contact.id.clone();
    let store_err = |source| BackfillError::Store {
        location: lid.to_string(),
        source,
    };
    let hl = |what: &str| {
        let during = format!("reading the {what} of contact {cid}");
        let location = lid.to_string();
        move |source| BackfillError::HighLevel {
            location,
            during,
            source,
        }
    };
    let mut counts = Counts::default();
    let Some(rec) = records::contact(lid, json(&contact), now_ms()) else {
        // Search hits always carry an id; one without is not a contact that can be kept.
        tracing::warn!(location = %lid, "a search hit without an id was skipped");
        return Ok(counts);
    };
    drop(contact);
    let fetched = tokio::try_join!(
        location.tasks(&cid),
        location.notes(&cid),
        location.contact_appointments(&cid),
    );
    let (tasks, notes, appointments) = match fetched {
        Ok(all) => all,
        // Deleted since the search listed it: its deletion is the poller's to record.
        Err(GhlError::NotFound { .. }) => {
            counts.vanished += 1;
            return Ok(counts);
        }
        Err(e) => return Err(hl("tasks, notes and appointments")(e)),
    };
    converge::apply_state(store, rec, Origin::Backfill, false)
        .await
        .map_err(store_err)?;
    counts.contacts += 1;
    for t in &tasks {
        if let Some(r) = records::task(lid, Some(&cid), json(t), now_ms()) {
            converge::apply_state(store, r, Origin::Backfill, false)
                .await
                .map_err(store_err)?;
            counts.tasks += 1;
        }
    }
    for n in &notes {
        if let Some(r) = records::note(lid, Some(&cid), json(n), now_ms()) {
            converge::apply_state(store, r, Origin::Backfill, false)
                .await
                .map_err(store_err)?;
            counts.notes += 1;
        }
    }
    let appointment_notes = futures::future::try_join_all(
        appointments
            .iter()
            .map(|a| location.all_appointment_notes(&a.id)),
    )
    .await;
    let appointment_notes = match appointment_notes {
        Ok(n) => n,
        Err(GhlError::NotFound { .. }) => {
            // An appointment deleted meanwhile: take the others one by one.
            let mut out = Vec::with_capacity(appointments.len());
            for a in &appointments {
                match location.all_appointment_notes(&a.id).await {
                    Ok(n) => out.push(n),
                    Err(GhlError::NotFound { .. }) => out.push(Vec::new()),
                    Err(e) => return Err(hl("appointment notes")(e)),
                }
            }
            out
        }
        Err(e) => return Err(hl("appointment notes")(e)),
    };
    for (a, notes) in appointments.iter().zip(appointment_notes) {
        let mut data = json(a);
        // Listed under the contact: it is the contact's even if the answer leaves it out.
        if data.get("contactId").is_none_or(Value::is_null) {
            data["contactId"] = Value::String(cid.clone());
        }
        if let Some(r) = records::appointment(lid, data, now_ms()) {
            converge::apply_state(store, r, Origin::Backfill, false)
                .await
                .map_err(store_err)?;
            counts.appointments += 1;
        }
        for n in &notes {
            if let Some(r) = records::appointment_note(lid, &a.id, Some(&cid), json(n), now_ms()) {
                converge::apply_state(store, r, Origin::Backfill, false)
                    .await
                    .map_err(store_err)?;
                counts.appointment_notes += 1;
            }
        }
    }
    Ok(counts)
}
