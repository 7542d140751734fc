//! Reading HighLevel as [`store::Record`]s, in the same canonical form the webhooks are stored
//! in: one record by id (to confirm a deletion, or to settle what a webhook could not say), a
//! contact and everything under it, and — in [`listing`] and [`walk`] — a whole location.
//! Shared by the webhook apply, the settle reads, the poll, the reconcile, the backfill and
//! `verify`, so all of them see HighLevel the same way. Nothing here writes to the store: what
//! is read is handed back, and the caller converges it.

pub mod listing;
pub mod walk;

use serde::Serialize;
use serde_json::Value;
use store::{Record, RecordKind};

use crate::error::SyncError;
use crate::records;

/// A contact as HighLevel has it, with its tasks, notes and appointments (and, when asked
/// for, each appointment's notes).
#[derive(Debug, Clone)]
pub struct WalkedContact {
    pub contact: Record,
    /// `None`: the contact was deleted between the search and the reads under it.
    pub children: Option<Vec<Record>>,
    /// When the reads of the children were sent (this host's clock, Unix ms).
    pub read_at_ms: i64,
}

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The version of an API state without `dateUpdated` (appointment notes have none): its
/// `dateAdded`, so a later state of it is never older.
fn fallback(v: &Value) -> i64 {
    records::time_ms(v, "dateAdded").unwrap_or(0)
}

pub(crate) fn contact_record(location: &str, c: &ghl::models::Contact) -> Option<Record> {
    let v = json(c);
    let f = fallback(&v);
    records::contact(location, v, f)
}

fn task_record(location: &str, contact: &str, t: &ghl::models::Task) -> Option<Record> {
    let v = json(t);
    let f = fallback(&v);
    records::task(location, Some(contact), v, f)
}

pub(crate) fn note_record(location: &str, contact: &str, n: &ghl::models::Note) -> Option<Record> {
    let v = json(n);
    let f = fallback(&v);
    records::note(location, Some(contact), v, f)
}

fn appointment_record(location: &str, a: &ghl::models::Appointment) -> Option<Record> {
    let v = json(a);
    let f = fallback(&v);
    records::appointment(location, v, f)
}

fn appointment_note_record(
    location: &str,
    appointment: &str,
    contact: Option<&str>,
    n: &ghl::models::AppointmentNote,
) -> Option<Record> {
    let v = json(n);
    let f = fallback(&v);
    records::appointment_note(location, appointment, contact, v, f)
}

/// What to read under a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub tasks: bool,
    pub notes: bool,
    pub appointments: bool,
    /// Each appointment's notes (with `appointments`).
    pub appointment_notes: bool,
}

impl Parts {
    /// Everything under the contact but appointment notes (a poll: the contact changed).
    pub const ALL: Parts = Parts {
        tasks: true,
        notes: true,
        appointments: true,
        appointment_notes: false,
    };
}

/// The contact's records as `parts` says; `None` when HighLevel says the contact is gone.
pub async fn children(
    handle: &ghl::api::Location,
    contact_id: &str,
    parts: Parts,
) -> Result<Option<Vec<Record>>, SyncError> {
    let location = handle.id();
    let found = tokio::try_join!(
        async {
            match parts.tasks {
                true => handle.tasks(contact_id).await,
                false => Ok(Vec::new()),
            }
        },
        async {
            match parts.notes {
                true => handle.notes(contact_id).await,
                false => Ok(Vec::new()),
            }
        },
        async {
            match parts.appointments {
                true => handle.contact_appointments(contact_id).await,
                false => Ok(Vec::new()),
            }
        },
    );
    let (tasks, notes, appointments) = match found {
        Ok(t) => t,
        Err(ghl::GhlError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::with_capacity(tasks.len() + notes.len() + appointments.len());
    out.extend(
        tasks
            .iter()
            .filter_map(|t| task_record(location, contact_id, t)),
    );
    out.extend(
        notes
            .iter()
            .filter_map(|n| note_record(location, contact_id, n)),
    );
    for a in &appointments {
        let Some(rec) = appointment_record(location, a) else {
            continue;
        };
        if parts.appointment_notes {
            if let Some(notes) = notes_of(handle, &rec).await? {
                out.extend(notes);
            }
        }
        out.push(rec);
    }
    Ok(Some(out))
}

/// An appointment's notes; `None` when the appointment is gone.
pub async fn notes_of(
    handle: &ghl::api::Location,
    appointment: &Record,
) -> Result<Option<Vec<Record>>, SyncError> {
    match handle.all_appointment_notes(&appointment.record_id).await {
        Ok(notes) => Ok(Some(
            notes
                .iter()
                .filter_map(|n| {
                    appointment_note_record(
                        handle.id(),
                        &appointment.record_id,
                        n.contact_id
                            .as_deref()
                            .or(appointment.contact_id.as_deref()),
                        n,
                    )
                })
                .collect(),
        )),
        Err(ghl::GhlError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A contact and what `parts` says under it.
pub async fn walk_contact(
    handle: &ghl::api::Location,
    contact: &ghl::models::Contact,
    parts: Parts,
) -> Result<Option<WalkedContact>, SyncError> {
    let Some(rec) = contact_record(handle.id(), contact) else {
        return Ok(None);
    };
    let read_at_ms = chrono::Utc::now().timestamp_millis();
    let children = children(handle, &rec.record_id, parts).await?;
    Ok(Some(WalkedContact {
        contact: rec,
        children,
        read_at_ms,
    }))
}

/// What one record is in HighLevel now.
#[derive(Debug, Clone)]
pub enum Fetched {
    Found(Box<Record>),
    /// HighLevel answered 404: deleted.
    Gone,
    /// The record cannot be read by id: a task or note whose contact is unknown (HighLevel
    /// reads them only under their contact).
    Unreadable,
}

/// Reads one record by id. Tasks and notes need their contact, appointment notes their
/// appointment.
pub async fn fetch_one(
    handle: &ghl::api::Location,
    kind: RecordKind,
    id: &str,
    contact: Option<&str>,
    parent: Option<&str>,
) -> Result<Fetched, SyncError> {
    let location = handle.id();
    let found = match kind {
        RecordKind::Contact => handle
            .get_contact(id)
            .await
            .map(|c| contact_record(location, &c)),
        RecordKind::Task => match contact {
            Some(c) => handle
                .task(c, id)
                .await
                .map(|t| task_record(location, c, &t)),
            None => return Ok(Fetched::Unreadable),
        },
        RecordKind::Note => match contact {
            Some(c) => handle
                .note(c, id)
                .await
                .map(|n| note_record(location, c, &n)),
            None => return Ok(Fetched::Unreadable),
        },
        RecordKind::Appointment => handle
            .appointment(id)
            .await
            .map(|a| appointment_record(location, &a)),
        RecordKind::AppointmentNote => {
            let Some(p) = parent else {
                return Ok(Fetched::Unreadable);
            };
            let parent = Record {
                record_id: p.to_string(),
                contact_id: contact.map(str::to_string),
                ..placeholder(location, RecordKind::Appointment)
            };
            return Ok(match notes_of(handle, &parent).await? {
                None => Fetched::Gone,
                Some(notes) => match notes.into_iter().find(|n| n.record_id == id) {
                    Some(n) => Fetched::Found(Box::new(n)),
                    None => Fetched::Gone,
                },
            });
        }
    };
    match found {
        Ok(Some(r)) => Ok(Fetched::Found(Box::new(r))),
        // An answer without an id is no record at all.
        Ok(None) => Ok(Fetched::Gone),
        Err(ghl::GhlError::NotFound { .. }) => Ok(Fetched::Gone),
        Err(e) => Err(e.into()),
    }
}

/// [`fetch_one`] for the webhook path: `None` when gone (or unreadable, which the webhook
/// path never asks for).
pub(crate) async fn record(
    handle: &ghl::api::Location,
    kind: RecordKind,
    id: &str,
    contact: Option<&str>,
    parent: Option<&str>,
) -> Result<Option<Record>, SyncError> {
    Ok(match fetch_one(handle, kind, id, contact, parent).await? {
        Fetched::Found(r) => Some(*r),
        Fetched::Gone | Fetched::Unreadable => None,
    })
}

fn placeholder(location: &str, kind: RecordKind) -> Record {
    Record {
        location_id: location.to_string(),
        kind,
        record_id: String::new(),
        contact_id: None,
        parent_id: None,
        title: None,
        body: None,
        assignee: None,
        status: None,
        due_ms: None,
        search: String::new(),
        data: Value::Null,
        added_ms: None,
        version_ms: 0,
        deleted_at_ms: None,
        synced_at_ms: 0,
        tags: Vec::new(),
    }
}
