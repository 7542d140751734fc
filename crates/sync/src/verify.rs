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
//! Meaningful only when the location is quiet: a change in flight shows as a difference.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;
use store::{Record, RecordKind, Store};
use tokio::sync::watch;

use crate::engine::SyncError;
use crate::poller::walk::{self, Fetched};

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
    verify_with(store, location, 4).await
}

/// [`verify`] reading `concurrency` contacts at once.
pub async fn verify_with(
    store: &Store,
    location: &ghl::api::Location,
    concurrency: usize,
) -> Result<VerifyReport, SyncError> {
    let loc = location.id().to_string();
    let report = parking_lot::Mutex::new(VerifyReport {
        location_id: loc.clone(),
        ..VerifyReport::default()
    });
    let met = parking_lot::Mutex::new(HashSet::<(RecordKind, String)>::new());
    let (_keep, stop) = watch::channel(false);
    walk::for_each_contact(
        location,
        walk::all_contacts(location),
        concurrency,
        &stop,
        |h, c| {
            let (report, met) = (&report, &met);
            async move {
                let Some(w) = walk::walk_contact(&h, &c, true).await? else {
                    return Ok(());
                };
                // A contact deleted while we walked is not compared; it is a change in flight.
                let Some(children) = w.children else {
                    return Ok(());
                };
                for remote in std::iter::once(w.contact).chain(children) {
                    met.lock().insert((remote.kind, remote.record_id.clone()));
                    compare(store, &remote, report).await?;
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
            match walk::fetch_one(
                location,
                kind,
                &id,
                local.contact_id.as_deref(),
                local.parent_id.as_deref(),
            )
            .await?
            {
                Fetched::Found(remote) => compare(store, &remote, &report).await?,
                Fetched::Gone | Fetched::Unreadable => report.lock().extra.push(RecordRef {
                    kind: kind.to_string(),
                    id,
                }),
            }
        }
    }
    let mut r = report.into_inner();
    r.missing
        .sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    r.extra
        .sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    r.differing
        .sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    Ok(r)
}

async fn compare(
    store: &Store,
    remote: &Record,
    report: &parking_lot::Mutex<VerifyReport>,
) -> Result<(), SyncError> {
    let local = store
        .record(&remote.location_id, remote.kind, &remote.record_id)
        .await?;
    let mut r = report.lock();
    r.checked += 1;
    match local.filter(|l| !l.is_deleted()) {
        None => r.missing.push(RecordRef {
            kind: remote.kind.to_string(),
            id: remote.record_id.clone(),
        }),
        Some(local) => {
            let fields = differing_fields(&local, remote);
            if !fields.is_empty() {
                r.differing.push(Difference {
                    kind: remote.kind.to_string(),
                    id: remote.record_id.clone(),
                    fields,
                });
            }
        }
    }
    Ok(())
}
