//! HighLevel JSON → [`store::Record`]: the indexed columns each kind is filtered and sorted
//! on, pulled out of the record as HighLevel sent it (which is kept whole in `data`).
//!
//! The same functions read API answers and webhook bodies: HighLevel's webhooks carry the
//! record's fields at the top level next to `type`, `locationId`, `timestamp` and
//! `webhookId`, which are removed here so a webhook and a fetch of the same state compare
//! equal.

use serde_json::{Map, Value};
use store::{Record, RecordKind};

/// Envelope fields of a webhook body: not part of the record.
const ENVELOPE_KEYS: [&str; 5] = ["type", "locationId", "timestamp", "webhookId", "version"];

fn text(data: &Value, key: &str) -> Option<String> {
    match data.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Unix milliseconds of a date field (RFC 3339, HighLevel's other forms, or epoch ms).
pub fn time_ms(data: &Value, key: &str) -> Option<i64> {
    match data.get(key)? {
        Value::String(s) => ghl::models::de::parse_datetime(s).map(|t| t.timestamp_millis()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// The record part of a webhook body (or a copy of an API answer): envelope keys removed.
pub fn strip_envelope(body: &Value) -> Value {
    match body {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if !ENVELOPE_KEYS.contains(&k.as_str()) {
                    out.insert(k.clone(), v.clone());
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The fields drivesync keeps of each kind. HighLevel sends a record in several shapes (a
/// webhook, `GET` of one, a search hit, a list entry) that differ in extra keys and in how
/// dates are written; keeping these fields, absent ones as `null`, dates as RFC 3339 with
/// milliseconds and tags sorted, makes one state compare equal whichever way it came, so
/// a re-delivery or an echo is recognised and `verify` compares like with like.
fn fields(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Contact => &[
            "id",
            "firstName",
            "lastName",
            "name",
            "email",
            "phone",
            "companyName",
            "address1",
            "city",
            "state",
            "country",
            "postalCode",
            "website",
            "timezone",
            "source",
            "type",
            "assignedTo",
            "dateOfBirth",
            "dnd",
            "dndSettings",
            "customFields",
            "tags",
            "dateAdded",
            "dateUpdated",
        ],
        RecordKind::Task => &[
            "id",
            "title",
            "body",
            "assignedTo",
            "dueDate",
            "completed",
            "contactId",
            "dateAdded",
            "dateUpdated",
        ],
        RecordKind::Note => &["id", "body", "userId", "contactId", "dateAdded"],
        RecordKind::Appointment => &[
            "id",
            "title",
            "calendarId",
            "contactId",
            "appointmentStatus",
            "assignedUserId",
            "address",
            "notes",
            "startTime",
            "endTime",
            "dateAdded",
            "dateUpdated",
        ],
        RecordKind::AppointmentNote => &["id", "body", "userId", "dateAdded"],
    }
}

const DATE_FIELDS: [&str; 6] = [
    "dateAdded",
    "dateUpdated",
    "dueDate",
    "startTime",
    "endTime",
    "dateOfBirth",
];

/// `data` reduced to the kept fields of `kind`, in canonical form (see [`fields`]).
pub fn canonical(kind: RecordKind, data: &Value) -> Value {
    let mut out = Map::new();
    for &k in fields(kind) {
        let v = data.get(k).cloned().unwrap_or(Value::Null);
        let v = match (k, v) {
            (_, Value::String(s)) if s.is_empty() => Value::Null,
            ("tags", Value::Array(a)) => {
                let mut t: Vec<String> = a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                t.sort();
                t.dedup();
                Value::from(t)
            }
            ("tags", _) => Value::Array(Vec::new()),
            ("customFields", Value::Array(a)) => custom_fields(&a),
            ("customFields", _) => Value::Array(Vec::new()),
            ("dndSettings", Value::Object(m)) if m.is_empty() => Value::Null,
            ("completed" | "dnd", Value::Null) => Value::Bool(false),
            (k, v) if DATE_FIELDS.contains(&k) && k != "dateOfBirth" => match time_ms(data, k) {
                Some(ms) => chrono::DateTime::from_timestamp_millis(ms)
                    .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
                    .unwrap_or(v),
                None => v,
            },
            (_, v) => v,
        };
        out.insert(k.to_string(), v);
    }
    Value::Object(out)
}

/// Custom field values as `{id, value}` sorted by id, without empty values: HighLevel lists
/// them in no fixed order and leaves out (or sends empty) fields without a value, depending on
/// the route.
fn custom_fields(list: &[Value]) -> Value {
    let mut out: Vec<(String, Value)> = list
        .iter()
        .filter_map(|f| {
            let id = f.get("id").and_then(Value::as_str)?.to_string();
            let value = f
                .get("value")
                .or_else(|| f.get("field_value"))
                .or_else(|| f.get("fieldValue"))
                .cloned()
                .unwrap_or(Value::Null);
            let empty = match &value {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                _ => false,
            };
            (!empty).then_some((id, value))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    Value::Array(
        out.into_iter()
            .map(|(id, value)| serde_json::json!({"id": id, "value": value}))
            .collect(),
    )
}

fn base(location_id: &str, kind: RecordKind, id: String, data: Value, version: i64) -> Record {
    let data = canonical(kind, &data);
    Record {
        location_id: location_id.to_string(),
        kind,
        record_id: id,
        contact_id: None,
        parent_id: None,
        title: None,
        body: None,
        assignee: None,
        status: None,
        due_ms: None,
        search: String::new(),
        added_ms: time_ms(&data, "dateAdded"),
        data,
        version_ms: version,
        deleted_at_ms: None,
        synced_at_ms: 0,
        tags: Vec::new(),
    }
}

/// The version of a state: HighLevel's `dateUpdated`, else the webhook's timestamp
/// (`fallback_ms`).
fn version(data: &Value, fallback_ms: i64) -> i64 {
    time_ms(data, "dateUpdated").unwrap_or(fallback_ms)
}

/// A contact's display name: `name`, else first and last name, else email or phone.
pub fn contact_name(data: &Value) -> Option<String> {
    if let Some(n) = text(data, "name").or_else(|| text(data, "contactName")) {
        return Some(n);
    }
    let joined = [text(data, "firstName"), text(data, "lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !joined.is_empty() {
        return Some(joined);
    }
    text(data, "email").or_else(|| text(data, "phone"))
}

pub fn contact(location_id: &str, data: Value, fallback_version_ms: i64) -> Option<Record> {
    let id = text(&data, "id")?;
    let v = version(&data, fallback_version_ms);
    let mut r = base(location_id, RecordKind::Contact, id.clone(), data, v);
    r.contact_id = Some(id);
    r.title = contact_name(&r.data);
    r.assignee = text(&r.data, "assignedTo");
    r.tags = store::mirror::tags_of(&r.data);
    r.search = [
        "name",
        "firstName",
        "lastName",
        "email",
        "phone",
        "companyName",
    ]
    .iter()
    .filter_map(|k| text(&r.data, k))
    .chain(r.title.clone())
    .collect::<Vec<_>>()
    .join(" ")
    .to_lowercase();
    Some(r)
}

/// A task; `contact_id` is the contact it was listed under when the JSON lacks one.
pub fn task(
    location_id: &str,
    contact_id: Option<&str>,
    data: Value,
    fallback_version_ms: i64,
) -> Option<Record> {
    let id = text(&data, "id")?;
    let v = version(&data, fallback_version_ms);
    let mut r = base(location_id, RecordKind::Task, id, data, v);
    r.contact_id = text(&r.data, "contactId").or(contact_id.map(str::to_string));
    r.title = text(&r.data, "title");
    r.body = text(&r.data, "body");
    r.assignee = text(&r.data, "assignedTo");
    let done = r.data.get("completed").and_then(Value::as_bool) == Some(true);
    r.status = Some(if done { "done" } else { "open" }.into());
    r.due_ms = time_ms(&r.data, "dueDate");
    r.search = [r.title.clone(), r.body.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    Some(r)
}

pub fn note(
    location_id: &str,
    contact_id: Option<&str>,
    data: Value,
    fallback_version_ms: i64,
) -> Option<Record> {
    let id = text(&data, "id")?;
    let v = version(&data, fallback_version_ms);
    let mut r = base(location_id, RecordKind::Note, id, data, v);
    r.contact_id = text(&r.data, "contactId").or(contact_id.map(str::to_string));
    r.body = text(&r.data, "body");
    r.assignee = text(&r.data, "userId");
    r.due_ms = r.added_ms;
    r.search = r.body.clone().unwrap_or_default().to_lowercase();
    Some(r)
}

/// An appointment (the `appointment` object of a webhook, or an API event).
pub fn appointment(location_id: &str, data: Value, fallback_version_ms: i64) -> Option<Record> {
    let id = text(&data, "id")?;
    let v = version(&data, fallback_version_ms);
    let mut r = base(location_id, RecordKind::Appointment, id, data, v);
    r.contact_id = text(&r.data, "contactId");
    r.title = text(&r.data, "title");
    r.body = text(&r.data, "notes");
    r.assignee = text(&r.data, "assignedUserId");
    r.status = text(&r.data, "appointmentStatus");
    r.due_ms = time_ms(&r.data, "startTime");
    r.search = r.title.clone().unwrap_or_default().to_lowercase();
    Some(r)
}

pub fn appointment_note(
    location_id: &str,
    appointment_id: &str,
    contact_id: Option<&str>,
    data: Value,
    fallback_version_ms: i64,
) -> Option<Record> {
    let id = text(&data, "id")?;
    let v = version(&data, fallback_version_ms);
    let mut r = base(location_id, RecordKind::AppointmentNote, id, data, v);
    r.parent_id = Some(appointment_id.to_string());
    r.contact_id = text(&r.data, "contactId").or(contact_id.map(str::to_string));
    r.body = text(&r.data, "body");
    r.assignee = text(&r.data, "userId");
    r.due_ms = r.added_ms;
    r.search = r.body.clone().unwrap_or_default().to_lowercase();
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_webhook_and_a_fetch_of_one_state_compare_equal() {
        let api = json!({"id": "t1", "title": "Call", "completed": false, "contactId": "c1",
                         "dueDate": "2026-01-02T10:00:00.000Z"});
        let mut hook = api.clone();
        hook["type"] = json!("TaskCreate");
        hook["locationId"] = json!("L");
        hook["webhookId"] = json!("w");
        hook["timestamp"] = json!("2026-01-01T00:00:00Z");
        let a = task("L", None, api, 5).unwrap();
        let b = task("L", None, strip_envelope(&hook), 5).unwrap();
        assert_eq!(a.data, b.data);
        assert_eq!(a.status.as_deref(), Some("open"));
        assert_eq!(a.due_ms, Some(1_767_348_000_000));
    }

    #[test]
    fn contact_names_fall_back_in_order() {
        let c = contact(
            "L",
            json!({"id": "c", "firstName": "Ana", "lastName": "Ruiz"}),
            1,
        )
        .unwrap();
        assert_eq!(c.title.as_deref(), Some("Ana Ruiz"));
        let c = contact("L", json!({"id": "c", "email": "a@x.io"}), 1).unwrap();
        assert_eq!(c.title.as_deref(), Some("a@x.io"));
        assert!(contact("L", json!({"email": "no id"}), 1).is_none());
    }

    #[test]
    fn version_is_date_updated_else_the_fallback() {
        let c = contact(
            "L",
            json!({"id": "c", "dateUpdated": "1970-01-01T00:00:01Z"}),
            9,
        )
        .unwrap();
        assert_eq!(c.version_ms, 1000);
        let c = contact("L", json!({"id": "c"}), 9).unwrap();
        assert_eq!(c.version_ms, 9);
    }
}
