//! What changed between two states of a record, in the plain words the Drive Chat feed shows:
//! "Task 'Send proposal' completed", "Tagged vip", "Appointment 'Demo' confirmed for
//! Tue 25 Nov 10:00 UTC".

use serde_json::{json, Value};
use store::{NewChange, Record, RecordKind};

use crate::records::time_ms;

/// Where a state came from, recorded with each change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Webhook,
    /// A read that settles what a webhook could not say ([`crate::settle`]): fields it fills
    /// in for the first time (a new contact's `type`) are not news; changed ones are.
    Settle,
    Poll,
    Reconcile,
    Backfill,
    WriteBack,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            // Caused by a webhook, and shown as one.
            Origin::Webhook | Origin::Settle => "webhook",
            Origin::Poll => "poll",
            Origin::Reconcile => "reconcile",
            Origin::Backfill => "backfill",
            Origin::WriteBack => "writeback",
        }
    }
}

/// Fields that say nothing a person would want told (derived or bookkeeping).
const QUIET: [&str; 9] = [
    "dateUpdated",
    "dateAdded",
    "fullNameLowerCase",
    "firstNameLowerCase",
    "lastNameLowerCase",
    "emailLowerCase",
    "searchAfter",
    "tags",
    "completed",
];

fn change(action: &str, summary: String, detail: Value, origin: Origin) -> NewChange {
    NewChange {
        action: action.into(),
        summary,
        detail,
        origin: origin.as_str().into(),
        actor: None,
    }
}

fn quoted(r: &Record) -> String {
    match r.title.as_deref().or(r.body.as_deref()) {
        Some(t) => format!("'{}'", clip(t, 60)),
        None => r.record_id.to_string(),
    }
}

fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// "Tue 25 Nov 10:00 UTC"
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%a %d %b %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The changes from `old` (None: new to drivesync) to `new`. A backfill's first sight of a
/// record is not news, so it is described only when `announce_new`.
pub fn changes(old: Option<&Record>, new: &Record, origin: Origin) -> Vec<NewChange> {
    let Some(old) = old else {
        return vec![created(new, origin)];
    };
    let described = match new.kind {
        RecordKind::Contact => contact_changes(old, new, origin),
        RecordKind::Task => task_changes(old, new, origin),
        RecordKind::Appointment => appointment_changes(old, new, origin),
        RecordKind::Note | RecordKind::AppointmentNote => {
            if old.body != new.body {
                let what = if new.kind == RecordKind::Note {
                    "Note edited"
                } else {
                    "Meeting note edited"
                };
                vec![change(
                    "updated",
                    format!("{what}: {}", clip(new.body.as_deref().unwrap_or(""), 80)),
                    json!({}),
                    origin,
                )]
            } else {
                Vec::new()
            }
        }
    };
    described.into_iter().map(|c| with_time(c, new)).collect()
}

/// Marks the time a summary names (a due date, an appointment's start), written in UTC, with
/// its instant (`detail.time: {text, ms}`), so that a page can show it in its reader's zone.
fn with_time(mut c: NewChange, new: &Record) -> NewChange {
    if let Some(ms) = new.due_ms {
        let text = when(ms);
        if c.summary.contains(&text) {
            if let Some(d) = c.detail.as_object_mut() {
                d.insert("time".into(), json!({ "text": text, "ms": ms }));
            }
        }
    }
    c
}

pub fn created(new: &Record, origin: Origin) -> NewChange {
    let summary = match new.kind {
        RecordKind::Contact => format!(
            "New contact {}",
            new.title.as_deref().unwrap_or(&new.record_id)
        ),
        RecordKind::Task => match new.due_ms {
            Some(due) => format!("Task {} created, due {}", quoted(new), when(due)),
            None => format!("Task {} created", quoted(new)),
        },
        RecordKind::Note => match new.assignee.as_deref() {
            Some(by) => format!(
                "Note added by {by}: {}",
                clip(new.body.as_deref().unwrap_or(""), 80)
            ),
            None => format!(
                "Note added: {}",
                clip(new.body.as_deref().unwrap_or(""), 80)
            ),
        },
        RecordKind::Appointment => format!(
            "Appointment {} booked for {}",
            quoted(new),
            new.due_ms.map(when).unwrap_or_default()
        ),
        RecordKind::AppointmentNote => format!(
            "Meeting note added: {}",
            clip(new.body.as_deref().unwrap_or(""), 80)
        ),
    };
    with_time(change("created", summary, json!({}), origin), new)
}

pub fn deleted(old: Option<&Record>, kind: RecordKind, id: &str, origin: Origin) -> NewChange {
    let name = old
        .map(|r| match kind {
            RecordKind::Contact => r.title.clone().unwrap_or_else(|| id.to_string()),
            _ => quoted(r),
        })
        .unwrap_or_else(|| id.to_string());
    let what = match kind {
        RecordKind::Contact => "Contact",
        RecordKind::Task => "Task",
        RecordKind::Note => "Note",
        RecordKind::Appointment => "Appointment",
        RecordKind::AppointmentNote => "Meeting note",
    };
    change(
        "deleted",
        format!("{what} {name} deleted"),
        json!({}),
        origin,
    )
}

fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !QUIET.contains(&k.as_str()))
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| k.to_string())
        .collect()
}

fn contact_changes(old: &Record, new: &Record, origin: Origin) -> Vec<NewChange> {
    let mut out = Vec::new();
    let added: Vec<&String> = new.tags.iter().filter(|t| !old.tags.contains(t)).collect();
    let removed: Vec<&String> = old.tags.iter().filter(|t| !new.tags.contains(t)).collect();
    let list = |t: &[&String]| t.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    if !added.is_empty() {
        out.push(change(
            "tagged",
            format!("Tagged {}", list(&added)),
            json!({ "tags": added }),
            origin,
        ));
    }
    if !removed.is_empty() {
        out.push(change(
            "untagged",
            format!("Untagged {}", list(&removed)),
            json!({ "tags": removed }),
            origin,
        ));
    }
    let name = new.title.as_deref().unwrap_or(&new.record_id);
    let mut fields = changed_fields(&old.data, &new.data);
    if origin == Origin::Settle {
        fields.retain(|f| old.data.get(f).is_some_and(|v| !v.is_null()));
    }
    if fields.iter().any(|f| f == "dnd") {
        let on = new.data.get("dnd").and_then(Value::as_bool) == Some(true);
        out.push(change(
            "dnd",
            if on {
                format!("{name} set to Do Not Disturb")
            } else {
                format!("{name} no longer on Do Not Disturb")
            },
            json!({ "dnd": on }),
            origin,
        ));
        fields.retain(|f| f != "dnd" && f != "dndSettings");
    }
    if !fields.is_empty() {
        out.push(change(
            "updated",
            format!("{name} updated: {}", fields.join(", ")),
            json!({ "fields": fields }),
            origin,
        ));
    }
    out
}

fn task_changes(old: &Record, new: &Record, origin: Origin) -> Vec<NewChange> {
    let mut out = Vec::new();
    if old.status != new.status {
        let (action, word) = if new.status.as_deref() == Some("done") {
            ("completed", "completed")
        } else {
            ("reopened", "reopened")
        };
        out.push(change(
            action,
            format!("Task {} {word}", quoted(new)),
            json!({}),
            origin,
        ));
    }
    let fields: Vec<String> = changed_fields(&old.data, &new.data)
        .into_iter()
        .filter(|f| f != "contactId" || old.contact_id.is_some())
        .collect();
    if !fields.is_empty() {
        let summary = if fields == ["dueDate"] {
            format!(
                "Task {} now due {}",
                quoted(new),
                new.due_ms.map(when).unwrap_or_else(|| "—".into())
            )
        } else {
            format!("Task {} updated: {}", quoted(new), fields.join(", "))
        };
        out.push(change(
            "updated",
            summary,
            json!({ "fields": fields }),
            origin,
        ));
    }
    out
}

fn appointment_changes(old: &Record, new: &Record, origin: Origin) -> Vec<NewChange> {
    let mut out = Vec::new();
    let at = new.due_ms.map(when).unwrap_or_default();
    if old.status != new.status {
        let status = new.status.as_deref().unwrap_or("updated");
        out.push(change(
            "status",
            format!("Appointment {} {status} for {at}", quoted(new)),
            json!({ "status": status }),
            origin,
        ));
    }
    if time_ms(&old.data, "startTime") != time_ms(&new.data, "startTime") {
        out.push(change(
            "rescheduled",
            format!("Appointment {} moved to {at}", quoted(new)),
            json!({}),
            origin,
        ));
    }
    let fields: Vec<String> = changed_fields(&old.data, &new.data)
        .into_iter()
        .filter(|f| !matches!(f.as_str(), "appointmentStatus" | "startTime" | "endTime"))
        .collect();
    if !fields.is_empty() {
        out.push(change(
            "updated",
            format!("Appointment {} updated: {}", quoted(new), fields.join(", ")),
            json!({ "fields": fields }),
            origin,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records;
    use serde_json::json;

    fn task(done: bool) -> Record {
        records::task(
            "L",
            Some("c"),
            json!({"id": "t", "title": "Send proposal", "completed": done}),
            1,
        )
        .unwrap()
    }

    #[test]
    fn completing_a_task_reads_as_such() {
        let c = changes(Some(&task(false)), &task(true), Origin::Webhook);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].summary, "Task 'Send proposal' completed");
        let c = changes(Some(&task(true)), &task(false), Origin::Poll);
        assert_eq!(c[0].summary, "Task 'Send proposal' reopened");
    }

    #[test]
    fn tags_read_as_tagged_and_untagged() {
        let a = records::contact("L", json!({"id": "c", "name": "Ana", "tags": ["a"]}), 1).unwrap();
        let b =
            records::contact("L", json!({"id": "c", "name": "Ana", "tags": ["vip"]}), 2).unwrap();
        let s: Vec<String> = changes(Some(&a), &b, Origin::Webhook)
            .into_iter()
            .map(|c| c.summary)
            .collect();
        assert_eq!(s, ["Tagged vip", "Untagged a"]);
    }

    #[test]
    fn an_unchanged_state_says_nothing() {
        let a =
            records::contact("L", json!({"id": "c", "name": "Ana", "dateUpdated": 5}), 1).unwrap();
        let b =
            records::contact("L", json!({"id": "c", "name": "Ana", "dateUpdated": 9}), 1).unwrap();
        assert!(changes(Some(&a), &b, Origin::Poll).is_empty());
    }

    #[test]
    fn a_named_time_is_marked_for_pages_to_show_in_their_zone() {
        let due = 1_796_300_000_000;
        let t = records::task(
            "L",
            Some("c"),
            json!({"id": "t", "title": "Call back", "dueDate": due}),
            1,
        )
        .unwrap();
        let c = created(&t, Origin::Webhook);
        assert!(c.summary.ends_with(&when(due)), "{}", c.summary);
        assert_eq!(c.detail["time"], json!({"text": when(due), "ms": due}));
    }

    #[test]
    fn a_settle_read_filling_in_unknown_fields_says_nothing() {
        let a = records::contact("L", json!({"id": "c", "name": "Ana"}), 1).unwrap();
        let b =
            records::contact("L", json!({"id": "c", "name": "Ana", "type": "lead"}), 2).unwrap();
        assert!(changes(Some(&a), &b, Origin::Settle).is_empty());
        let c = records::contact(
            "L",
            json!({"id": "c", "name": "Ana", "type": "customer"}),
            3,
        )
        .unwrap();
        let s: Vec<String> = changes(Some(&b), &c, Origin::Settle)
            .into_iter()
            .map(|c| c.summary)
            .collect();
        assert_eq!(s, ["Ana updated: type"]);
    }
}
