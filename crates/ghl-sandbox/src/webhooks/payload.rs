//! Builds a webhook body: the event's fields plus `type`, `timestamp` and `webhookId`, cut to
//! exactly the properties of HighLevel's schema for the event
//! (`shared/ghl/webhooks/<Event>.schema.json`).

use rand::Rng;
use serde_json::{json, Map, Value};

use crate::time::{format, now_ms};
use crate::world::Event;

pub fn new_webhook_id() -> String {
    let mut r = rand::thread_rng();
    let b: [u8; 16] = r.gen();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The properties of `Contact{Create,Update,Delete,TagUpdate}.schema.json`. The contact's own
/// `type` (lead/customer) cannot be sent: the body's `type` is the event name.
const CONTACT: &[&str] = &[
    "type",
    "locationId",
    "id",
    "address1",
    "city",
    "state",
    "companyName",
    "country",
    "source",
    "dateAdded",
    "dateOfBirth",
    "dnd",
    "email",
    "name",
    "firstName",
    "lastName",
    "phone",
    "postalCode",
    "tags",
    "website",
    "attachments",
    "assignedTo",
    "customFields",
];

/// `ContactDndUpdate.schema.json`: the contact's properties and `dndSettings`.
const CONTACT_DND: &[&str] = &[
    "type",
    "locationId",
    "id",
    "address1",
    "city",
    "state",
    "companyName",
    "country",
    "source",
    "dateAdded",
    "dateOfBirth",
    "dnd",
    "dndSettings",
    "email",
    "name",
    "firstName",
    "lastName",
    "phone",
    "postalCode",
    "tags",
    "website",
    "attachments",
    "assignedTo",
    "customFields",
];

/// `Task{Create,Complete,Delete}.schema.json`.
const TASK: &[&str] = &[
    "type",
    "locationId",
    "id",
    "assignedTo",
    "body",
    "contactId",
    "title",
    "dateAdded",
    "dueDate",
];

/// `Note{Create,Update,Delete}.schema.json`.
const NOTE: &[&str] = &["type", "locationId", "id", "body", "contactId", "dateAdded"];

/// `Appointment{Create,Update,Delete}.schema.json`; the nested `appointment` object is built
/// with exactly its schema's keys by `Appointment::webhook_json`.
const APPOINTMENT: &[&str] = &["type", "locationId", "appointment"];

/// `AppInstall.schema.json`.
const INSTALL: &[&str] = &[
    "type",
    "appId",
    "companyId",
    "companyName",
    "isWhitelabelCompany",
    "locationId",
    "planId",
    "trial",
    "userId",
    "whitelabelDetails",
];

/// `AppUninstall.schema.json`.
const UNINSTALL: &[&str] = &["type", "appId", "companyId", "locationId"];

/// The properties HighLevel's schema gives the event `kind`; `None` for a kind the sandbox
/// has no schema for (nothing is cut from it).
pub fn schema_properties(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "ContactCreate" | "ContactUpdate" | "ContactDelete" | "ContactTagUpdate" => CONTACT,
        "ContactDndUpdate" => CONTACT_DND,
        "TaskCreate" | "TaskComplete" | "TaskDelete" => TASK,
        "NoteCreate" | "NoteUpdate" | "NoteDelete" => NOTE,
        "AppointmentCreate" | "AppointmentUpdate" | "AppointmentDelete" => APPOINTMENT,
        "INSTALL" => INSTALL,
        "UNINSTALL" => UNINSTALL,
        _ => return None,
    })
}

/// The JSON body HighLevel would POST for `event`. `drop_contact_id` reproduces the
/// TaskCreate-without-contactId payloads seen from HighLevel; `extras` keeps the fields the
/// event carries beyond its schema (e.g. a contact's `dateUpdated`).
pub fn build(event: &Event, drop_contact_id: bool, extras: bool) -> Value {
    let allowed = schema_properties(event.kind);
    let mut m = Map::new();
    m.insert("type".into(), json!(event.kind));
    for (k, v) in &event.fields {
        if drop_contact_id && k == "contactId" {
            continue;
        }
        let in_schema = allowed.is_none_or(|a| a.contains(&k.as_str()));
        if in_schema || extras {
            m.insert(k.clone(), v.clone());
        }
    }
    m.insert("timestamp".into(), json!(format(now_ms())));
    m.insert("webhookId".into(), json!(new_webhook_id()));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &'static str, fields: Value) -> Event {
        Event {
            kind,
            location_id: "loc".into(),
            fields: fields.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn cuts_a_body_to_its_schema_unless_extras_are_asked_for() {
        let ev = event(
            "ContactUpdate",
            json!({"id": "c1", "locationId": "loc", "dateUpdated": "2026-12-01T00:00:00.000Z"}),
        );
        let plain = build(&ev, false, false);
        let keys: std::collections::BTreeSet<&str> = plain
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let want = ["type", "id", "locationId", "timestamp", "webhookId"];
        assert_eq!(keys, want.into_iter().collect(), "{plain}");
        let rich = build(&ev, false, true);
        assert_eq!(rich["dateUpdated"], "2026-12-01T00:00:00.000Z");
    }

    #[test]
    fn drops_contact_id_when_asked() {
        let ev = event("TaskCreate", json!({"id": "t1", "contactId": "c1"}));
        assert!(build(&ev, true, false).get("contactId").is_none());
        assert_eq!(build(&ev, false, false)["contactId"], "c1");
    }
}
