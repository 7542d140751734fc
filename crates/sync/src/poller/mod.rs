//! Polling and reconciliation: what finds the changes webhooks never delivered.
//!
//! - **Poll** (incremental, every few minutes): contacts whose `dateUpdated` is after the
//!   location's cursor minus an overlap, oldest first, page by page; each contact converged
//!   with its tasks, notes and appointments re-read, and what the store holds under it but
//!   HighLevel no longer lists confirmed gone by a direct read (404) and tombstoned. The
//!   cursor then moves to the newest `dateUpdated` seen (never back).
//! - **Reconcile** (full walk, daily by default): every contact, its tasks, notes,
//!   appointments and their notes converged; every live record of the store the walk did not
//!   meet is read by id, and a 404 tombstones it — deletions whose webhook was dropped are
//!   found here. A task or note stored without its contact is placed when the walk meets it
//!   under its contact.
//!
//! Both run as jobs under one ordering key per location ([`store::jobs::poll_key`]), queued by
//! [`schedule`] only when none of their kind is waiting, so any number of drivesync processes
//! on one database make one poll between them. HighLevel does not bump a contact's
//! `dateUpdated` when its tasks or notes change, so the poll finds those changes only for
//! contacts that changed themselves; the reconcile finds the rest.

pub mod job;
pub mod schedule;

use std::collections::HashSet;
use std::time::Duration;

use store::{Record, RecordKind, RecordQuery, Store};
use tokio::sync::watch;

use crate::converge;
use crate::describe::Origin;
use crate::error::SyncError;
use crate::fetch::{self, listing, walk, Fetched};
use crate::gate::LocationGate;
use crate::millis;

/// What a poll or reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkReport {
    pub contacts: u64,
    pub records: u64,
    /// Records written (created, changed or placed).
    pub written: u64,
    /// Records found deleted in HighLevel.
    pub deleted: u64,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Converges one walked contact and everything under it; returns the ids met.
/// A poll's contact: converged with everything under it; a record the store holds under the
/// contact that HighLevel no longer lists is confirmed gone by a read.
async fn converge_walked(
    store: &Store,
    handle: &ghl::api::Location,
    w: fetch::WalkedContact,
    origin: Origin,
    announce: bool,
    started_ms: i64,
    report: &parking_lot::Mutex<WalkReport>,
) -> Result<Vec<(RecordKind, String)>, SyncError> {
    let location = handle.id();
    let contact_id = w.contact.record_id.clone();
    let Some(children) = w.children else {
        // Deleted between the search and the reads under it.
        converge::apply_delete(
            store,
            location,
            RecordKind::Contact,
            &contact_id,
            now_ms(),
            origin,
        )
        .await?;
        report.lock().deleted += 1;
        return Ok(Vec::new());
    };
    let mut met = Vec::with_capacity(children.len() + 1);
    let mut written = 0;
    met.push((RecordKind::Contact, contact_id.clone()));
    // The contact came from a search page requested after the walk started.
    if is_written(converge::apply_read(store, w.contact, origin, announce, started_ms).await?) {
        written += 1;
    }
    for rec in children {
        met.push((rec.kind, rec.record_id.clone()));
        if is_written(converge::apply_read(store, rec, origin, announce, w.read_at_ms).await?) {
            written += 1;
        }
    }
    {
        let mut r = report.lock();
        r.contacts += 1;
        r.records += met.len() as u64;
        r.written += written;
    }
    // What the store holds under this contact that HighLevel did not list.
    let listed: HashSet<&str> = met.iter().map(|(_, id)| id.as_str()).collect();
    for kind in [RecordKind::Task, RecordKind::Note, RecordKind::Appointment] {
        let mut q = RecordQuery {
            location_id: location.to_string(),
            kind: Some(kind),
            contact_id: Some(contact_id.clone()),
            limit: 1000,
            ..RecordQuery::default()
        };
        loop {
            let page = store.list_records(&q).await?;
            for r in &page.records {
                if !listed.contains(r.record_id.as_str()) {
                    confirm(store, handle, r, origin, started_ms, report).await?;
                }
            }
            match page.next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
    }
    Ok(met)
}

fn is_written(o: converge::Outcome) -> bool {
    matches!(
        o,
        converge::Outcome::Created | converge::Outcome::Changed | converge::Outcome::Deleted
    )
}

/// A stored live record a walk did not meet: read by id; gone → tombstone, found →
/// converged. Records written since the walk started are left alone (they are newer than
/// what the walk read).
async fn confirm(
    store: &Store,
    handle: &ghl::api::Location,
    stored: &Record,
    origin: Origin,
    started_ms: i64,
    report: &parking_lot::Mutex<WalkReport>,
) -> Result<(), SyncError> {
    // A record written while this walk ran is read too: a webhook applied meanwhile may
    // have announced a record deleted since (a late create whose delete was dropped), and
    // only HighLevel can say which. A record created since is simply found.
    if stored.is_deleted() {
        return Ok(());
    }
    // Except an orphan (a task or note stored without its contact) that arrived after the
    // walk began: it cannot be read, and the listings the walk read may predate it, so not
    // meeting it proves nothing; the next walk places it.
    let written_during_walk = stored.synced_at_ms >= started_ms;
    if written_during_walk && stored.contact_id.is_none() {
        return Ok(());
    }
    let read_at = now_ms();
    let fetched = fetch::fetch_one(
        handle,
        stored.kind,
        &stored.record_id,
        stored.contact_id.as_deref(),
        stored.parent_id.as_deref(),
    )
    .await?;
    match fetched {
        Fetched::Found(rec) => {
            let appointment = (rec.kind == RecordKind::Appointment).then(|| (*rec).clone());
            if is_written(converge::apply_read(store, *rec, origin, true, read_at).await?) {
                report.lock().written += 1;
            }
            // An appointment no contact lists (its contact was deleted): its notes too.
            if let Some(a) = appointment {
                let read_at = now_ms();
                if let Some(notes) = fetch::notes_of(handle, &a).await? {
                    for n in notes {
                        converge::apply_read(store, n, origin, true, read_at).await?;
                    }
                }
            }
        }
        // A task or note whose contact is unknown and that no contact's listing holds: it
        // is in none of them, so it no longer exists.
        Fetched::Gone | Fetched::Unreadable => {
            let o = converge::apply_delete(
                store,
                &stored.location_id,
                stored.kind,
                &stored.record_id,
                now_ms(),
                origin,
            )
            .await?;
            if is_written(o) {
                report.lock().deleted += 1;
            }
        }
    }
    Ok(())
}

/// The reconcile's walk ([`walk::everything`]), each record converged as read; `met` gets
/// the ids.
#[allow(clippy::too_many_arguments)]
async fn walk_everything(
    store: &Store,
    handle: &ghl::api::Location,
    announce: bool,
    started: i64,
    concurrency: usize,
    window: listing::AppointmentWindow,
    stop: &watch::Receiver<bool>,
    report: &parking_lot::Mutex<WalkReport>,
    met: &parking_lot::Mutex<HashSet<(RecordKind, String)>>,
) -> Result<(), SyncError> {
    let origin = Origin::Reconcile;
    let location = handle.id();
    walk::everything(
        handle,
        concurrency,
        window,
        started,
        stop,
        |visit| async move {
            match visit {
                walk::Visit::Records {
                    records,
                    read_at_ms,
                } => {
                    for rec in records {
                        met.lock().insert((rec.kind, rec.record_id.clone()));
                        let o = converge::apply_read(store, rec, origin, announce, read_at_ms);
                        let written = is_written(o.await?);
                        let mut r = report.lock();
                        r.records += 1;
                        r.written += u64::from(written);
                    }
                }
                walk::Visit::ContactGone { contact_id } => {
                    let o = converge::apply_delete(
                        store,
                        location,
                        RecordKind::Contact,
                        &contact_id,
                        now_ms(),
                        origin,
                    );
                    if is_written(o.await?) {
                        report.lock().deleted += 1;
                    }
                }
            }
            Ok(())
        },
    )
    .await
}

/// One search of the location's open tasks: HighLevel sends no webhook when a task's title,
/// due date or assignee is edited, or when it is reopened, so without this such edits would
/// wait for the daily reconcile. Every open task is converged (a reopened one shows up open
/// while the store has it done); a task the store has open that the search did not list was
/// completed or deleted behind a lost webhook, and is read by id. One request per 100 open
/// tasks, plus one per such task.
pub async fn poll_open_tasks(
    store: &Store,
    gate: &LocationGate,
    location: &str,
) -> Result<WalkReport, SyncError> {
    let handle = gate.location(location).await?;
    let started = now_ms();
    let report = parking_lot::Mutex::new(WalkReport::default());
    let mut met = HashSet::new();
    let listed = listing::for_each_task_page(&handle, Some(false), 0, |page| {
        for r in &page.records {
            met.insert(r.record_id.clone());
        }
        let report = &report;
        async move {
            for rec in page.records {
                let o = converge::apply_read(store, rec, Origin::Poll, true, page.read_at_ms);
                let written = is_written(o.await?);
                let mut r = report.lock();
                r.records += 1;
                r.written += u64::from(written);
            }
            Ok(())
        }
    })
    .await;
    match listed {
        Ok(_) => {}
        // A connection made without task search: its tasks are read under each contact by
        // polls and reconciles; retrying would only hold up the location's other jobs.
        Err(SyncError::Ghl(ghl::GhlError::ScopeMissing { scope, .. })) => {
            tracing::info!(
                location,
                scope,
                "open tasks not searched: reconnect the location granting the scope"
            );
            store.record_task_poll(location).await?;
            return Ok(report.into_inner());
        }
        Err(e) => return Err(e),
    }
    let mut q = RecordQuery {
        location_id: location.to_string(),
        kind: Some(RecordKind::Task),
        status: Some("open".into()),
        limit: 1000,
        ..RecordQuery::default()
    };
    loop {
        let page = store.list_records(&q).await?;
        for r in &page.records {
            // Written since the search began: newer than what it listed. A task stored without
            // its contact cannot be read by id, and not being open says nothing of whether it
            // still exists (it may be completed behind a dropped webhook): the reconcile, which
            // lists every task, places or buries it.
            let readable = r.contact_id.is_some();
            if readable && !met.contains(&r.record_id) && r.synced_at_ms < started {
                confirm(store, &handle, r, Origin::Poll, started, &report).await?;
            }
        }
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    store.record_task_poll(location).await?;
    Ok(report.into_inner())
}

/// One incremental poll of `location` (see the module documentation).
pub async fn poll(
    store: &Store,
    gate: &LocationGate,
    location: &str,
    overlap: Duration,
    concurrency: usize,
    stop: &watch::Receiver<bool>,
) -> Result<WalkReport, SyncError> {
    let handle = gate.location(location).await?;
    let started = now_ms();
    let cursor = store
        .sync_state(location)
        .await?
        .and_then(|s| s.poll_cursor_ms);
    // A location never polled starts from now: its past is the backfill's and the
    // reconcile's business, not a poll's.
    let since = cursor.unwrap_or(started).saturating_sub(millis(overlap));
    let since_t = chrono::DateTime::from_timestamp_millis(since).unwrap_or_default();
    let req = ghl::api::SearchRequest::new()
        .page_limit(100)
        .updated_since(since_t);
    let report = parking_lot::Mutex::new(WalkReport::default());
    let newest = parking_lot::Mutex::new(cursor.unwrap_or(started));
    let stream = futures::TryStreamExt::map_err(handle.search_stream(req), SyncError::from);
    let result = walk::for_each_contact(&handle, stream, concurrency, stop, |h, c| {
        let (report, newest) = (&report, &newest);
        async move {
            let updated = c.date_updated.map(|t| t.timestamp_millis());
            if let Some(w) = fetch::walk_contact(&h, &c, fetch::Parts::ALL).await? {
                converge_walked(store, &h, w, Origin::Poll, true, started, report).await?;
            }
            if let Some(u) = updated {
                let mut n = newest.lock();
                *n = (*n).max(u);
            }
            Ok(())
        }
    })
    .await;
    match result {
        Ok(()) => {
            let cursor = *newest.lock();
            store.record_poll(location, Some(cursor), None).await?;
            let r = report.into_inner();
            tracing::debug!(
                location,
                contacts = r.contacts,
                written = r.written,
                deleted = r.deleted,
                "poll done"
            );
            Ok(r)
        }
        Err(e) => {
            // The cursor stays: contacts are processed several at once, so the newest seen
            // does not prove the older ones were all done.
            if !matches!(e, SyncError::Interrupted) {
                store
                    .record_poll(location, None, Some(&e.to_string()))
                    .await?;
            }
            Err(e)
        }
    }
}

/// One full reconcile of `location` (see the module documentation).
pub async fn reconcile(
    store: &Store,
    gate: &LocationGate,
    location: &str,
    concurrency: usize,
    window: listing::AppointmentWindow,
    stop: &watch::Receiver<bool>,
) -> Result<WalkReport, SyncError> {
    // A full walk waits behind clicks, settle reads and polls for the location's budget.
    let handle = gate
        .location(location)
        .await?
        .with_priority(ghl::api::Priority::Bulk);
    let started = now_ms();
    let spent_before = handle.limiter().usage();
    // The first reconcile of a location imports it: its records are not news for the feed.
    let announce = store
        .sync_state(location)
        .await?
        .and_then(|s| s.last_reconcile_ms)
        .is_some();
    // Users, custom fields and the time zone change without a webhook: a walk refreshes
    // them first (three requests). Failing that is not worth failing the walk over.
    if let Err(e) = crate::context::refresh(store, &handle).await {
        tracing::warn!(location, error = %e, "the location's context was not refreshed");
    }
    let report = parking_lot::Mutex::new(WalkReport::default());
    let met = parking_lot::Mutex::new(HashSet::<(RecordKind, String)>::new());
    let result = walk_everything(
        store,
        &handle,
        announce,
        started,
        concurrency,
        window,
        stop,
        &report,
        &met,
    )
    .await;
    if let Err(e) = result {
        if !matches!(e, SyncError::Interrupted) {
            store
                .record_reconcile(location, Some(&e.to_string()), None)
                .await?;
        }
        return Err(e);
    }
    let met = met.into_inner();
    for kind in RecordKind::ALL {
        for id in store.record_ids(location, kind).await? {
            if met.contains(&(kind, id.clone())) {
                continue;
            }
            if *stop.borrow() {
                return Err(SyncError::Interrupted);
            }
            if let Some(stored) = store.record(location, kind, &id).await? {
                confirm(store, &handle, &stored, Origin::Reconcile, started, &report).await?;
            }
        }
    }
    // Everything sent for the location while the reconcile ran: the reconcile's own
    // requests, plus whatever else ran meanwhile (an upper bound of its cost).
    let spent = handle.limiter().usage().requests - spent_before.requests;
    store.record_reconcile(location, None, Some(spent)).await?;
    let r = report.into_inner();
    tracing::info!(
        location,
        contacts = r.contacts,
        records = r.records,
        written = r.written,
        deleted = r.deleted,
        "reconcile done"
    );
    Ok(r)
}
