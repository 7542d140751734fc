//! `drivesync verify`: the local store compared with HighLevel record by record — contacts,
//! tasks, notes, appointments and appointment notes — reading HighLevel the way the reconcile
//! does and writing nothing.
//!
//! A record is **missing** when HighLevel has it and the store has no live row; **extra** when
//! the store has it live and HighLevel answers 404 (every live row the walk did not meet is
//! read by id first, so an appointment whose contact was deleted is still compared);
//! **differing** when both have it and the canonical data differ, with the field names.
//! `dateUpdated` is not compared: it is the version, and task and note webhooks do not
//! carry it, so a record stored from its webhook has none until HighLevel is next read.
//!
//! **Changes in flight are told apart.** On a live location a record can differ only because
//! its change has not been applied yet (its webhook is queued, or a settle read is waiting). So
//! every difference found is checked once more after [`VerifyOptions::recheck_after`]: HighLevel
//! read again and the store read again. One that is gone by then, or where either side moved
//! meanwhile, is reported under `in_flight`, not as a difference; one that stays the same on
//! both sides is real. `verify` on a live location whose mirror is right therefore says 0.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;
use store::{Record, RecordKind, Store};
use tokio::sync::watch;

use crate::error::SyncError;
use crate::fetch::{self, walk, Fetched};

/// One record, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRef {
    pub kind: String,
    pub id: String,
}

/// A record both sides have, with the fields that differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub kind: String,
    pub id: String,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub location_id: String,
    /// Records HighLevel has that were compared.
    pub checked: u64,
    pub missing: Vec<RecordRef>,
    pub extra: Vec<RecordRef>,
    pub differing: Vec<Difference>,
    /// Differences that settled, or whose sides were still changing, when checked again.
    pub in_flight: Vec<RecordRef>,
}

/// How `verify` runs.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Contacts read at once.
    pub concurrency: usize,
    /// How long to wait before checking each difference again: longer than the sync's lag
    /// (webhook to store is well under a second when the engine keeps up; a settle read waits
    /// its turn on the rate limit).
    pub recheck_after: std::time::Duration,
    /// Which appointments are listed through the calendars (others held locally are read by
    /// id).
    pub appointment_window: crate::fetch::listing::AppointmentWindow,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            concurrency: 4,
            recheck_after: std::time::Duration::from_secs(5),
            appointment_window: Default::default(),
        }
    }
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.differing.is_empty()
    }

    /// One line per difference, for people.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.missing {
            out.push(format!("missing locally: {} {}", m.kind, m.id));
        }
        for e in &self.extra {
            out.push(format!(
                "deleted in HighLevel, live locally: {} {}",
                e.kind, e.id
            ));
        }
        for d in &self.differing {
            out.push(format!(
                "differs: {} {} ({})",
                d.kind,
                d.id,
                d.fields.join(", ")
            ));
        }
        out
    }
}

/// Fields of the canonical data that are not compared (see the module documentation).
const NOT_COMPARED: [&str; 1] = ["dateUpdated"];

/// The names of the fields in which two canonical records differ (their contact included).
pub fn differing_fields(local: &Record, remote: &Record) -> Vec<String> {
    let mut out = Vec::new();
    if remote.contact_id.is_some() && local.contact_id != remote.contact_id {
        out.push("contactId".to_string());
    }
    let empty = serde_json::Map::new();
    let a = local.data.as_object().unwrap_or(&empty);
    let b = remote.data.as_object().unwrap_or(&empty);
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        if NOT_COMPARED.contains(&k.as_str()) || (k == "contactId" && out.iter().any(|f| f == k)) {
            continue;
        }
        if a.get(k).unwrap_or(&Value::Null) != b.get(k).unwrap_or(&Value::Null) {
            out.push(k.clone());
        }
    }
    out
}

/// Compares the store's copy of `location` with HighLevel.
pub async fn verify(
    store: &Store,
    location: &ghl::api::Location,
) -> Result<VerifyReport, SyncError> {
    verify_with(store, location, VerifyOptions::default()).await
}

/// A difference found by the walk, to be checked again.
struct Suspect {
    kind: RecordKind,
    id: String,
    contact: Option<String>,
    parent: Option<String>,
    /// HighLevel's canonical data when first read (`None`: gone).
    remote: Option<Value>,
    /// The store's version and deletion when first read (`None`: no row).
    local: Option<(i64, bool)>,
}

/// [`verify`] with these options.
pub async fn verify_with(
    store: &Store,
    location: &ghl::api::Location,
    opts: VerifyOptions,
) -> Result<VerifyReport, SyncError> {
    let loc = location.id().to_string();
    let report = parking_lot::Mutex::new(VerifyReport {
        location_id: loc.clone(),
        ..VerifyReport::default()
    });
    let suspects = parking_lot::Mutex::new(Vec::<Suspect>::new());
    let met = parking_lot::Mutex::new(HashSet::<(RecordKind, String)>::new());
    let (_keep, stop) = watch::channel(false);
    let started = chrono::Utc::now().timestamp_millis();
    walk::everything(
        location,
        opts.concurrency,
        opts.appointment_window,
        started,
        &stop,
        |visit| {
            let (report, met, suspects) = (&report, &met, &suspects);
            async move {
                // A contact deleted while we walked is not compared; it is a change in flight.
                let walk::Visit::Records { records, .. } = visit else {
                    return Ok(());
                };
                for remote in records {
                    met.lock().insert((remote.kind, remote.record_id.clone()));
                    if let Some(s) = compare(store, &remote, report).await? {
                        suspects.lock().push(s);
                    }
                }
                Ok(())
            }
        },
    )
    .await?;
    let met = met.into_inner();
    for kind in RecordKind::ALL {
        for id in store.record_ids(&loc, kind).await? {
            if met.contains(&(kind, id.clone())) {
                continue;
            }
            let Some(local) = store.record(&loc, kind, &id).await? else {
                continue;
            };
            let (contact, parent) = (local.contact_id.clone(), local.parent_id.clone());
            match fetch::fetch_one(location, kind, &id, contact.as_deref(), parent.as_deref())
                .await?
            {
                Fetched::Found(remote) => {
                    if let Some(s) = compare(store, &remote, &report).await? {
                        suspects.lock().push(s);
                    }
                }
                Fetched::Gone | Fetched::Unreadable => suspects.lock().push(Suspect {
                    kind,
                    id,
                    contact,
                    parent,
                    remote: None,
                    local: Some((local.version_ms, local.is_deleted())),
                }),
            }
        }
    }
    let mut r = report.into_inner();
    let suspects = suspects.into_inner();
    if !suspects.is_empty() && !opts.recheck_after.is_zero() {
        tokio::time::sleep(opts.recheck_after).await;
    }
    for s in suspects {
        recheck(store, location, s, &mut r).await?;
    }
    for list in [&mut r.missing, &mut r.extra, &mut r.in_flight] {
        list.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    }
    r.differing
        .sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    Ok(r)
}

/// Reads both sides of a suspect again and files it: real (missing, extra, differing) when
/// neither side moved and they still disagree, in flight otherwise.
async fn recheck(
    store: &Store,
    location: &ghl::api::Location,
    s: Suspect,
    r: &mut VerifyReport,
) -> Result<(), SyncError> {
    let remote = match fetch::fetch_one(
        location,
        s.kind,
        &s.id,
        s.contact.as_deref(),
        s.parent.as_deref(),
    )
    .await?
    {
        Fetched::Found(rec) => Some(*rec),
        Fetched::Gone | Fetched::Unreadable => None,
    };
    let local = store.record(location.id(), s.kind, &s.id).await?;
    let local_now = local.as_ref().map(|l| (l.version_ms, l.is_deleted()));
    let live_local = local.filter(|l| !l.is_deleted());
    let name = RecordRef {
        kind: s.kind.to_string(),
        id: s.id.clone(),
    };
    let moved = remote.as_ref().map(|x| &x.data) != s.remote.as_ref() || local_now != s.local;
    let agree = match (&live_local, &remote) {
        (None, None) => true,
        (Some(l), Some(x)) => differing_fields(l, x).is_empty(),
        _ => false,
    };
    if agree || moved {
        r.in_flight.push(name);
        return Ok(());
    }
    match (live_local, remote) {
        (None, Some(_)) => r.missing.push(name),
        (Some(_), None) => r.extra.push(name),
        (Some(l), Some(x)) => r.differing.push(Difference {
            kind: name.kind,
            id: name.id,
            fields: differing_fields(&l, &x),
        }),
        (None, None) => {}
    }
    Ok(())
}

/// Counts `remote` as checked; a suspect when the store disagrees with it.
async fn compare(
    store: &Store,
    remote: &Record,
    report: &parking_lot::Mutex<VerifyReport>,
) -> Result<Option<Suspect>, SyncError> {
    let local = store
        .record(&remote.location_id, remote.kind, &remote.record_id)
        .await?;
    report.lock().checked += 1;
    let local_state = local.as_ref().map(|l| (l.version_ms, l.is_deleted()));
    let agree = local
        .filter(|l| !l.is_deleted())
        .is_some_and(|l| differing_fields(&l, remote).is_empty());
    Ok((!agree).then(|| Suspect {
        kind: remote.kind,
        id: remote.record_id.clone(),
        contact: remote.contact_id.clone(),
        parent: remote.parent_id.clone(),
        remote: Some(remote.data.clone()),
        local: local_state,
    }))
}
