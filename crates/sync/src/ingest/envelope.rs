//! What the ingest reads from a verified body: the fields every webhook must carry, the
//! timestamp, and the ordering key that decides which queued events a worker must apply in
//! order. The body itself is stored as received; the typed parse is the workers' business,
//! so a signed event whose fields surprise `ghl::models` is kept, not refused.

use serde_json::{Map, Value};
use store::jobs;

use super::refusal::Refusal;

/// The event types of `shared/ghl/webhooks/`. Others are stored too, and counted.
pub const KNOWN_TYPES: [&str; 16] = [
    "ContactCreate",
    "ContactUpdate",
    "ContactDelete",
    "ContactTagUpdate",
    "ContactDndUpdate",
    "TaskCreate",
    "TaskComplete",
    "TaskDelete",
    "NoteCreate",
    "NoteUpdate",
    "NoteDelete",
    "AppointmentCreate",
    "AppointmentUpdate",
    "AppointmentDelete",
    "INSTALL",
    "UNINSTALL",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub event_type: String,
    /// The `locationId`; for an agency-level INSTALL/UNINSTALL carrying only `companyId`, the
    /// company id.
    pub location_id: String,
    pub webhook_id: String,
    pub ordering_key: String,
    /// `None` when the body has no `timestamp` (HighLevel's older events).
    pub timestamp_ms: Option<i64>,
    pub known_type: bool,
}

/// Longest id (and type) accepted. HighLevel's ids are 20-36 characters; the cap keeps an
/// id within what a database index entry can hold (PostgreSQL's B-tree refuses entries over
/// ~2.7 kB), so no signed body can make every later write fail and be answered 429 forever.
pub const MAX_ID_LEN: usize = 256;

/// Reads the envelope of a body whose signature has already been verified.
pub fn read(body: &[u8]) -> Result<Envelope, Refusal> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Refusal::InvalidJson)?;
    let obj = value.as_object().ok_or(Refusal::NotAnObject)?;
    let event_type = match field(obj, "type") {
        Field::Absent => return Err(Refusal::MissingType),
        // A type is a name: a number there is not one.
        Field::Invalid | Field::Number(_) => return Err(Refusal::InvalidField),
        Field::Text(t) => t,
    };
    let install = event_type == "INSTALL" || event_type == "UNINSTALL";
    let (location_id, company_only) = match (field(obj, "locationId"), field(obj, "companyId")) {
        (Field::Invalid, _) => return Err(Refusal::InvalidField),
        (Field::Text(l) | Field::Number(l), _) => (l, false),
        // An agency-level (Company) install names no location.
        (Field::Absent, Field::Text(c) | Field::Number(c)) if install => (c, true),
        (Field::Absent, Field::Invalid) if install => return Err(Refusal::InvalidField),
        (Field::Absent, _) => return Err(Refusal::MissingLocationId),
    };
    let webhook_id = match field(obj, "webhookId") {
        Field::Absent => return Err(Refusal::MissingWebhookId),
        Field::Invalid => return Err(Refusal::InvalidField),
        Field::Text(w) | Field::Number(w) => w,
    };
    let timestamp_ms = match obj.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(v) => Some(timestamp(v).ok_or(Refusal::InvalidTimestamp)?),
    };
    let ordering_key = if company_only {
        jobs::company_key(&location_id)
    } else {
        ordering_key(&event_type, obj, &location_id)
    };
    Ok(Envelope {
        known_type: KNOWN_TYPES.contains(&event_type.as_str()),
        event_type,
        location_id,
        webhook_id,
        ordering_key,
        timestamp_ms,
    })
}

/// An id-like field as found in the body.
enum Field {
    /// Not there, `null`, or an empty string.
    Absent,
    /// Something that cannot be an id: an object, a list, a boolean, a string too long or
    /// holding control characters (PostgreSQL text cannot hold NUL).
    Invalid,
    Text(String),
    /// A number, read as its decimal text (as `ghl::models` reads ids leniently).
    Number(String),
}

fn field(obj: &Map<String, Value>, key: &str) -> Field {
    match obj.get(key) {
        None | Some(Value::Null) => Field::Absent,
        Some(Value::String(s)) if s.trim().is_empty() => Field::Absent,
        Some(Value::String(s)) if s.len() <= MAX_ID_LEN && !s.chars().any(char::is_control) => {
            Field::Text(s.clone())
        }
        Some(Value::Number(n)) => Field::Number(n.to_string()),
        Some(_) => Field::Invalid,
    }
}

/// An optional id: present and acceptable, or `None`.
fn id(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match field(obj, key) {
        Field::Text(s) | Field::Number(s) => Some(s),
        Field::Absent | Field::Invalid => None,
    }
}

/// Events about one contact (the contact itself, its tasks, its notes) share a key, so a
/// worker applies them in order; appointments are keyed by appointment; everything else by
/// location. A Task/Note event without its `contactId` (HighLevel sends some) falls back to
/// the location key: ordered behind everything else of the location, never ahead of it.
pub fn ordering_key(event_type: &str, obj: &Map<String, Value>, location_id: &str) -> String {
    let entity = if event_type.starts_with("Contact") {
        id(obj, "id").map(|c| jobs::contact_key(&c))
    } else if event_type.starts_with("Task") || event_type.starts_with("Note") {
        id(obj, "contactId").map(|c| jobs::contact_key(&c))
    } else if event_type.starts_with("Appointment") {
        obj.get("appointment")
            .and_then(Value::as_object)
            .and_then(|a| id(a, "id"))
            .or_else(|| id(obj, "id"))
            .map(|a| jobs::appointment_key(&a))
    } else {
        None
    };
    entity.unwrap_or_else(|| jobs::location_key(location_id))
}

/// RFC 3339 (HighLevel's format) or the other date forms HighLevel writes, or epoch
/// milliseconds as a number.
fn timestamp(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => ghl::models::de::parse_datetime(s).map(|t| t.timestamp_millis()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(v: Value) -> Result<Envelope, Refusal> {
        read(&serde_json::to_vec(&v).expect("json"))
    }

    fn key(v: Value) -> String {
        env(v).expect("envelope").ordering_key
    }

    #[test]
    fn ordering_keys() {
        let base = |t: &str| json!({"type": t, "locationId": "L", "webhookId": "w"});
        let with = |mut v: Value, k: &str, x: Value| {
            v[k] = x;
            v
        };
        assert_eq!(
            key(with(base("ContactTagUpdate"), "id", json!("c1"))),
            "contact:c1"
        );
        assert_eq!(key(base("ContactDelete")), "location:L");
        assert_eq!(
            key(with(
                with(base("TaskCreate"), "contactId", json!("c2")),
                "id",
                json!("t1")
            )),
            "contact:c2"
        );
        assert_eq!(
            key(with(base("TaskCreate"), "id", json!("t1"))),
            "location:L"
        );
        assert_eq!(
            key(with(base("NoteDelete"), "contactId", json!("c3"))),
            "contact:c3"
        );
        assert_eq!(
            key(with(
                base("AppointmentUpdate"),
                "appointment",
                json!({"id": "a1", "contactId": "c4"})
            )),
            "appointment:a1"
        );
        assert_eq!(key(base("INSTALL")), "location:L");
        assert_eq!(key(base("SomethingNew")), "location:L");
        assert_eq!(
            key(json!({"type": "UNINSTALL", "companyId": "K", "webhookId": "w"})),
            "company:K"
        );
    }

    #[test]
    fn required_fields() {
        assert_eq!(read(b"nope"), Err(Refusal::InvalidJson));
        assert_eq!(read(b"[1]"), Err(Refusal::NotAnObject));
        assert_eq!(
            env(json!({"locationId": "L", "webhookId": "w"})),
            Err(Refusal::MissingType)
        );
        assert_eq!(
            env(json!({"type": "", "locationId": "L", "webhookId": "w"})),
            Err(Refusal::MissingType)
        );
        assert_eq!(
            env(json!({"type": 7, "locationId": "L", "webhookId": "w"})),
            Err(Refusal::InvalidField)
        );
        assert_eq!(
            env(json!({"type": "X", "locationId": "L\u{0}", "webhookId": "w"})),
            Err(Refusal::InvalidField)
        );
        assert_eq!(
            env(json!({"type": "X", "locationId": "L", "webhookId": "w".repeat(MAX_ID_LEN + 1)})),
            Err(Refusal::InvalidField)
        );
        assert_eq!(
            env(json!({"type": "X", "locationId": "L", "webhookId": {"a": 1}})),
            Err(Refusal::InvalidField)
        );
        let numeric =
            env(json!({"type": "X", "locationId": 12, "webhookId": 34})).expect("numbers");
        assert_eq!(
            (numeric.location_id.as_str(), numeric.webhook_id.as_str()),
            ("12", "34")
        );
        assert_eq!(
            env(json!({"type": "ContactCreate", "webhookId": "w"})),
            Err(Refusal::MissingLocationId)
        );
        // Only INSTALL/UNINSTALL may name a company instead of a location.
        assert_eq!(
            env(json!({"type": "ContactCreate", "companyId": "K", "webhookId": "w"})),
            Err(Refusal::MissingLocationId)
        );
        assert_eq!(
            env(json!({"type": "ContactCreate", "locationId": "L"})),
            Err(Refusal::MissingWebhookId)
        );
        assert_eq!(
            env(json!({"type": "X", "locationId": "L", "webhookId": "w", "timestamp": "soon"})),
            Err(Refusal::InvalidTimestamp)
        );
        let e = env(
            json!({"type": "INSTALL", "companyId": "K", "webhookId": "w",
                           "timestamp": "2025-01-28T14:35:00Z"}),
        )
        .expect("company install");
        assert_eq!(e.location_id, "K");
        assert_eq!(e.timestamp_ms, Some(1_738_074_900_000));
        assert!(e.known_type);
        let e = env(json!({"type": "Brand-New", "locationId": "L", "webhookId": "w"}))
            .expect("unknown type");
        assert_eq!((e.known_type, e.timestamp_ms), (false, None));
    }
}
