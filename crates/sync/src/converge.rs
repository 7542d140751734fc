//! Bringing one record of the Drive Chat store to a state seen in HighLevel, whatever order
//! states arrive in and however often: the one write path of webhooks, polls, reconciles,
//! backfills and write-backs.
//!
//! - A state older than the stored one (by version: `dateUpdated`, or the webhook
//!   timestamp) is dropped, so a late or re-sent webhook never undoes a newer change.
//! - A state equal to the stored one writes nothing and tells nobody: this is how the
//!   webhook echo of drivesync's own write-back is recognised (the write-back already stored
//!   HighLevel's answer), so it is neither applied twice nor announced twice.
//! - A deletion leaves a tombstone, final: HighLevel never reuses or restores an id, so a
//!   state of a deleted record that arrives late is dropped.
//! - Every write is guarded by the version read just before it; a concurrent writer makes
//!   it read again and decide again, so two workers can never interleave a stale state.

use store::{Expect, Record, RecordKind, RecordQuery, Store, StoreError, Written};

use crate::describe::{self, Origin};

/// What applying a state did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// First sight of the record: stored.
    Created,
    /// Stored, replacing an older state.
    Changed,
    /// The stored state is the same: nothing written.
    Unchanged,
    /// The stored state is newer: nothing written.
    Stale,
    /// The record is deleted (a tombstone): nothing written.
    Gone,
    /// A tombstone was written.
    Deleted,
}

/// Guarded writes retry this often before giving up (each retry means another writer won).
const MAX_RACES: usize = 16;

/// Applies `new`. `announce` says whether a first sight is news for the feed (a backfill's
/// is not).
pub async fn apply_state(
    store: &Store,
    new: Record,
    origin: Origin,
    announce: bool,
) -> Result<Outcome, StoreError> {
    apply_state_as(store, new, origin, announce, None).await
}

/// [`apply_state`], with the feed lines credited to `actor` (the Drive Chat member whose
/// write-back this is), so the feed says who did it rather than only that HighLevel changed.
pub async fn apply_state_as(
    store: &Store,
    new: Record,
    origin: Origin,
    announce: bool,
    actor: Option<&str>,
) -> Result<Outcome, StoreError> {
    converge(store, new, origin, announce, actor, None, None).await
}

/// [`apply_state`] starting from `seen`, the stored state the caller has just read to build
/// `new` (a webhook laid over it): saves reading it again on the hot path. A state changed
/// meanwhile only costs the guarded write's conflict and a fresh read.
pub async fn apply_state_over(
    store: &Store,
    new: Record,
    seen: Option<Record>,
    origin: Origin,
    announce: bool,
) -> Result<Outcome, StoreError> {
    converge(store, new, origin, announce, None, None, Some(seen)).await
}

/// Applies a state read from HighLevel by a request sent at `read_at_ms` (this host's clock).
///
/// Task and note webhooks carry no `dateUpdated`, so their states are versioned by the
/// webhook's `timestamp` — stamped when HighLevel *sent* the webhook, which may be well after
/// the change, and after the `dateUpdated` of a later change whose own webhook was lost. By
/// version alone, the read of that later state would then look older than what is stored and
/// be dropped for good. But a read sent after the stored state was written sees at least that
/// state (the webhook was built after its change, and stored after it was built): so such a
/// read replaces a differing stored state whatever the versions say, keeping the higher
/// version so that late webhooks older than the read stay stale. Tombstones stay final.
pub async fn apply_read(
    store: &Store,
    new: Record,
    origin: Origin,
    announce: bool,
    read_at_ms: i64,
) -> Result<Outcome, StoreError> {
    converge(store, new, origin, announce, None, Some(read_at_ms), None).await
}

async fn converge(
    store: &Store,
    mut new: Record,
    origin: Origin,
    announce: bool,
    actor: Option<&str>,
    read_at_ms: Option<i64>,
    mut seen: Option<Option<Record>>,
) -> Result<Outcome, StoreError> {
    for _ in 0..MAX_RACES {
        let old = match seen.take() {
            Some(state) => state,
            None => {
                store
                    .record(&new.location_id, new.kind, &new.record_id)
                    .await?
            }
        };
        if let Some(old) = &old {
            if old.is_deleted() {
                return Ok(Outcome::Gone);
            }
            let read_after_write = read_at_ms.is_some_and(|r| old.synced_at_ms < r);
            if old.version_ms > new.version_ms && read_after_write && !same_state(old, &new) {
                new.version_ms = old.version_ms;
            }
            if old.version_ms > new.version_ms {
                // An older state can still say where an orphan belongs: a task or note first
                // seen without its contact (TaskCreate without `contactId`) is placed by any
                // later read that knows it, without taking that read's older fields.
                if old.contact_id.is_none() && new.contact_id.is_some() {
                    let mut placed = old.clone();
                    placed.contact_id.clone_from(&new.contact_id);
                    if let (Some(c), Some(slot)) =
                        (&placed.contact_id, placed.data.get_mut("contactId"))
                    {
                        *slot = serde_json::Value::String(c.clone());
                    }
                    match store
                        .write_record(&placed, Expect::of(Some(old)), &[])
                        .await?
                    {
                        Written::Written => return Ok(Outcome::Changed),
                        Written::Conflict => continue,
                    }
                }
                return Ok(Outcome::Stale);
            }
            // A payload without the contact (TaskCreate, seen from HighLevel) keeps the one
            // already known.
            if new.contact_id.is_none() {
                new.contact_id.clone_from(&old.contact_id);
                if let (Some(c), Some(slot)) = (&old.contact_id, new.data.get_mut("contactId")) {
                    if slot.is_null() {
                        *slot = serde_json::Value::String(c.clone());
                    }
                }
            }
        }
        // The same state again: said nothing new, but a newer version is still recorded, so
        // that a state between the two, arriving late, is recognised as stale.
        let same = old.as_ref().is_some_and(|o| same_state(o, &new));
        if same && old.as_ref().is_some_and(|o| o.version_ms >= new.version_ms) {
            return Ok(Outcome::Unchanged);
        }
        let mut changes = match (&old, announce) {
            _ if same => Vec::new(),
            (None, false) => Vec::new(),
            _ => describe::changes(old.as_ref(), &new, origin),
        };
        for c in &mut changes {
            c.actor = actor.map(str::to_string);
        }
        match store
            .write_record(&new, Expect::of(old.as_ref()), &changes)
            .await?
        {
            Written::Written => {
                return Ok(match old {
                    _ if same => Outcome::Unchanged,
                    Some(_) => Outcome::Changed,
                    None => Outcome::Created,
                })
            }
            Written::Conflict => continue,
        }
    }
    Err(contended(&new.record_id))
}

/// Records that HighLevel deleted a record (at `at_ms`). A contact's deletion also deletes
/// its tasks and notes, and an appointment's its notes, as HighLevel does, without a feed
/// line each.
pub async fn apply_delete(
    store: &Store,
    location_id: &str,
    kind: RecordKind,
    record_id: &str,
    at_ms: i64,
    origin: Origin,
) -> Result<Outcome, StoreError> {
    let outcome = tombstone(store, location_id, kind, record_id, at_ms, Some(origin)).await?;
    let children: &[RecordKind] = match kind {
        RecordKind::Contact => &[RecordKind::Task, RecordKind::Note],
        RecordKind::Appointment => &[RecordKind::AppointmentNote],
        _ => &[],
    };
    if outcome == Outcome::Deleted {
        for &child in children {
            let mut q = RecordQuery {
                location_id: location_id.into(),
                kind: Some(child),
                limit: 500,
                ..RecordQuery::default()
            };
            if kind == RecordKind::Contact {
                q.contact_id = Some(record_id.into());
            } else {
                q.parent_id = Some(record_id.into());
            }
            loop {
                let page = store.list_records(&q).await?;
                for r in &page.records {
                    tombstone(store, location_id, child, &r.record_id, at_ms, None).await?;
                }
                match page.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
        }
    }
    Ok(outcome)
}

async fn tombstone(
    store: &Store,
    location_id: &str,
    kind: RecordKind,
    record_id: &str,
    at_ms: i64,
    announce: Option<Origin>,
) -> Result<Outcome, StoreError> {
    for _ in 0..MAX_RACES {
        let old = store.record(location_id, kind, record_id).await?;
        if old.as_ref().is_some_and(Record::is_deleted) {
            return Ok(Outcome::Gone);
        }
        let mut dead = old.clone().unwrap_or_else(|| Record {
            location_id: location_id.into(),
            kind,
            record_id: record_id.into(),
            contact_id: None,
            parent_id: None,
            title: None,
            body: None,
            assignee: None,
            status: None,
            due_ms: None,
            search: String::new(),
            data: serde_json::json!({ "id": record_id }),
            added_ms: None,
            version_ms: at_ms,
            deleted_at_ms: None,
            synced_at_ms: 0,
            tags: Vec::new(),
        });
        dead.deleted_at_ms = Some(at_ms);
        dead.version_ms = dead.version_ms.max(at_ms);
        let changes: Vec<_> = announce
            .filter(|_| old.is_some())
            .map(|o| describe::deleted(old.as_ref(), kind, record_id, o))
            .into_iter()
            .collect();
        match store
            .write_record(&dead, Expect::of(old.as_ref()), &changes)
            .await?
        {
            Written::Written => return Ok(Outcome::Deleted),
            Written::Conflict => continue,
        }
    }
    Err(contended(record_id))
}

/// Whether two states of a record hold the same thing (versions and bookkeeping aside).
fn same_state(a: &Record, b: &Record) -> bool {
    a.contact_id == b.contact_id && a.parent_id == b.parent_id && same_data(&a.data, &b.data)
}

/// JSON equality ignoring `dateUpdated`, which moves without the record changing when a
/// write HighLevel treats as a no-op still stamps it.
fn same_data(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(x), Some(y)) => {
            let strip = |m: &serde_json::Map<String, serde_json::Value>| {
                m.iter()
                    .filter(|(k, _)| k.as_str() != "dateUpdated")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<std::collections::BTreeMap<_, _>>()
            };
            strip(x) == strip(y)
        }
        _ => a == b,
    }
}

fn contended(id: &str) -> StoreError {
    StoreError::Contended {
        what: format!("record {id}"),
    }
}
