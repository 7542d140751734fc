//! The records the sandbox holds, and their JSON as HighLevel writes it.
//!
//! Records are plain structs kept compact (a million contacts must fit in well under 2 GB);
//! JSON is built on the way out so every route and webhook shares one shape per record.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use crate::time::{format, Millis};

/// Strings of records: up to 24 bytes are kept inline (ids, names, phones), which keeps a
/// million contacts well inside the memory budget.
pub type Str = compact_str::CompactString;

#[derive(Debug, Clone, PartialEq)]
pub struct DndSetting {
    pub status: Str,
    pub message: Option<Str>,
    pub code: Option<Str>,
}

/// A custom field's value on a contact, typed by the field's `dataType`: text (TEXT, DATE,
/// SINGLE_OPTIONS, …), a number (NUMERICAL, MONETORY) or a list (MULTIPLE_OPTIONS, CHECKBOX).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(Str),
    Number(f64),
    List(Vec<Str>),
}

impl FieldValue {
    /// Reads a value as a client sent it: a string, a number or a list of strings; anything
    /// else is kept as its JSON text.
    pub fn from_json(v: &Value) -> FieldValue {
        match v {
            Value::String(s) => FieldValue::Text(s.as_str().into()),
            Value::Null => FieldValue::Text(Str::default()),
            Value::Number(n) => match n.as_f64() {
                Some(f) => FieldValue::Number(f),
                None => FieldValue::Text(n.to_string().into()),
            },
            Value::Array(items) if items.iter().all(Value::is_string) => FieldValue::List(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(Str::from)
                    .collect(),
            ),
            other => FieldValue::Text(other.to_string().into()),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Text(s) => json!(s),
            // Whole numbers are written as integers, as HighLevel writes them.
            FieldValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => json!(*n as i64),
            FieldValue::Number(n) => json!(n),
            FieldValue::List(items) => json!(items),
        }
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> FieldValue {
        FieldValue::Text(s.into())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    pub id: Str,
    pub value: FieldValue,
}

impl CustomField {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "value": self.value.to_json()})
    }
}

#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub id: Str,
    pub location_id: Str,
    pub first_name: Option<Str>,
    pub last_name: Option<Str>,
    pub email: Option<Str>,
    pub phone: Option<Str>,
    pub company_name: Option<Str>,
    pub address1: Option<Str>,
    pub city: Option<Str>,
    pub state: Option<Str>,
    pub country: Option<Str>,
    pub postal_code: Option<Str>,
    pub website: Option<Str>,
    pub timezone: Option<Str>,
    pub source: Option<Str>,
    pub contact_type: Str,
    pub assigned_to: Option<Str>,
    pub date_of_birth: Option<Str>,
    pub dnd: bool,
    /// Channel name (`Call`, `Email`, `SMS`, `WhatsApp`, `GMB`, `FB`) to its setting.
    pub dnd_settings: BTreeMap<Str, DndSetting>,
    pub tags: Vec<Str>,
    pub custom_fields: Vec<CustomField>,
    pub business_id: Option<Str>,
    pub followers: Vec<Str>,
    pub campaigns: Vec<Str>,
    pub workflows: Vec<Str>,
    pub tasks: Vec<Task>,
    pub notes: Vec<Note>,
    pub date_added: Millis,
    pub date_updated: Millis,
}

pub const DND_CHANNELS: [&str; 6] = ["Call", "Email", "SMS", "WhatsApp", "GMB", "FB"];

impl Contact {
    pub fn full_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(f), None) => Some(f.to_string()),
            (None, Some(l)) => Some(l.to_string()),
            (None, None) => None,
        }
    }

    /// The contact as `GET /contacts/{id}` returns it; a superset of the create, upsert and
    /// search shapes, so one function serves every route and every contact webhook.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("locationId".into(), json!(self.location_id));
        if let Some(n) = self.full_name() {
            m.insert("fullNameLowerCase".into(), json!(n.to_lowercase()));
            m.insert("name".into(), json!(n));
        }
        put(&mut m, "firstName", &self.first_name);
        put(&mut m, "lastName", &self.last_name);
        if let Some(f) = &self.first_name {
            m.insert("firstNameLowerCase".into(), json!(f.to_lowercase()));
        }
        if let Some(l) = &self.last_name {
            m.insert("lastNameLowerCase".into(), json!(l.to_lowercase()));
        }
        if let Some(e) = &self.email {
            m.insert("email".into(), json!(e));
            m.insert("emailLowerCase".into(), json!(e.to_lowercase()));
        }
        put(&mut m, "phone", &self.phone);
        put(&mut m, "companyName", &self.company_name);
        put(&mut m, "address1", &self.address1);
        put(&mut m, "city", &self.city);
        put(&mut m, "state", &self.state);
        put(&mut m, "country", &self.country);
        put(&mut m, "postalCode", &self.postal_code);
        put(&mut m, "website", &self.website);
        put(&mut m, "timezone", &self.timezone);
        put(&mut m, "source", &self.source);
        put(&mut m, "assignedTo", &self.assigned_to);
        put(&mut m, "dateOfBirth", &self.date_of_birth);
        put(&mut m, "businessId", &self.business_id);
        m.insert("type".into(), json!(self.contact_type));
        m.insert("dnd".into(), json!(self.dnd));
        if !self.dnd_settings.is_empty() {
            m.insert("dndSettings".into(), self.dnd_settings_json());
        }
        m.insert("tags".into(), json!(self.tags));
        m.insert("followers".into(), json!(self.followers));
        m.insert("customFields".into(), self.custom_fields_json());
        m.insert("dateAdded".into(), json!(format(self.date_added)));
        m.insert("dateUpdated".into(), json!(format(self.date_updated)));
        Value::Object(m)
    }

    pub fn custom_fields_json(&self) -> Value {
        Value::Array(
            self.custom_fields
                .iter()
                .map(CustomField::to_json)
                .collect(),
        )
    }

    pub fn dnd_settings_json(&self) -> Value {
        let mut m = Map::new();
        for (channel, s) in &self.dnd_settings {
            let mut o = Map::new();
            o.insert("status".into(), json!(s.status));
            put(&mut o, "message", &s.message);
            put(&mut o, "code", &s.code);
            m.insert(channel.to_string(), Value::Object(o));
        }
        Value::Object(m)
    }

    /// The body of a contact webhook (`ContactCreate`, `ContactUpdate`, …), keyed as in
    /// `shared/ghl/webhooks/Contact*.schema.json`: a field the contact has no value for is
    /// left out. `dndSettings` only for `ContactDndUpdate`; `dateUpdated` is beyond the schema
    /// and only sent with `webhooks.extras` (the payload builder cuts it otherwise).
    pub fn webhook_fields(&self, with_dnd_settings: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("locationId".into(), json!(self.location_id));
        m.insert("id".into(), json!(self.id));
        put(&mut m, "address1", &self.address1);
        put(&mut m, "city", &self.city);
        put(&mut m, "state", &self.state);
        put(&mut m, "companyName", &self.company_name);
        put(&mut m, "country", &self.country);
        put(&mut m, "source", &self.source);
        m.insert("dateAdded".into(), json!(format(self.date_added)));
        put(&mut m, "dateOfBirth", &self.date_of_birth);
        m.insert("dnd".into(), json!(self.dnd));
        if with_dnd_settings {
            m.insert("dndSettings".into(), self.dnd_settings_json());
        }
        put(&mut m, "email", &self.email);
        if let Some(n) = self.full_name() {
            m.insert("name".into(), json!(n));
        }
        put(&mut m, "firstName", &self.first_name);
        put(&mut m, "lastName", &self.last_name);
        put(&mut m, "phone", &self.phone);
        put(&mut m, "postalCode", &self.postal_code);
        m.insert("tags".into(), json!(self.tags));
        put(&mut m, "website", &self.website);
        m.insert("attachments".into(), json!([]));
        put(&mut m, "assignedTo", &self.assigned_to);
        m.insert("customFields".into(), self.custom_fields_json());
        m.insert("dateUpdated".into(), json!(format(self.date_updated)));
        m
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: Str,
    pub contact_id: Str,
    pub title: Str,
    pub body: Option<Str>,
    pub assigned_to: Option<Str>,
    pub due_date: Millis,
    pub completed: bool,
    pub date_added: Millis,
    pub date_updated: Millis,
}

impl Task {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("title".into(), json!(self.title));
        put(&mut m, "body", &self.body);
        put(&mut m, "assignedTo", &self.assigned_to);
        m.insert("dueDate".into(), json!(format(self.due_date)));
        m.insert("completed".into(), json!(self.completed));
        m.insert("contactId".into(), json!(self.contact_id));
        m.insert("dateAdded".into(), json!(format(self.date_added)));
        m.insert("dateUpdated".into(), json!(format(self.date_updated)));
        Value::Object(m)
    }

    pub fn webhook_fields(&self, location_id: &str, with_contact: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("locationId".into(), json!(location_id));
        m.insert("id".into(), json!(self.id));
        put(&mut m, "assignedTo", &self.assigned_to);
        put(&mut m, "body", &self.body);
        if with_contact {
            m.insert("contactId".into(), json!(self.contact_id));
        }
        m.insert("title".into(), json!(self.title));
        m.insert("dateAdded".into(), json!(format(self.date_added)));
        m.insert("dueDate".into(), json!(format(self.due_date)));
        m
    }
}

#[derive(Debug, Clone)]
pub struct Note {
    pub id: Str,
    pub contact_id: Str,
    pub body: Str,
    pub title: Option<Str>,
    pub color: Option<Str>,
    pub pinned: bool,
    pub user_id: Option<Str>,
    pub date_added: Millis,
    pub date_updated: Millis,
}

impl Note {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("body".into(), json!(self.body));
        put(&mut m, "userId", &self.user_id);
        put(&mut m, "title", &self.title);
        put(&mut m, "color", &self.color);
        m.insert("pinned".into(), json!(self.pinned));
        m.insert("dateAdded".into(), json!(format(self.date_added)));
        m.insert("dateUpdated".into(), json!(format(self.date_updated)));
        m.insert("contactId".into(), json!(self.contact_id));
        Value::Object(m)
    }

    pub fn webhook_fields(&self, location_id: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("locationId".into(), json!(location_id));
        m.insert("id".into(), json!(self.id));
        m.insert("body".into(), json!(self.body));
        m.insert("contactId".into(), json!(self.contact_id));
        m.insert("dateAdded".into(), json!(format(self.date_added)));
        m
    }
}

#[derive(Debug, Clone)]
pub struct Appointment {
    pub id: Str,
    pub location_id: Str,
    pub calendar_id: Str,
    pub group_id: Str,
    pub contact_id: Str,
    pub title: Str,
    pub status: Str,
    pub assigned_user_id: Str,
    pub address: Str,
    pub meeting_location_type: Str,
    pub notes: Str,
    pub source: Str,
    pub rrule: Option<Str>,
    pub start_time: Millis,
    pub end_time: Millis,
    pub date_added: Millis,
    pub date_updated: Millis,
}

impl Appointment {
    /// `CalendarEventDTO`: what `GET /calendars/events…` returns.
    pub fn to_event_json(&self) -> Value {
        json!({
            "id": self.id,
            "address": self.address,
            "title": self.title,
            "calendarId": self.calendar_id,
            "locationId": self.location_id,
            "contactId": self.contact_id,
            "groupId": self.group_id,
            "appointmentStatus": self.status,
            "assignedUserId": self.assigned_user_id,
            "users": [self.assigned_user_id],
            "notes": self.notes,
            "isRecurring": self.rrule.is_some(),
            "startTime": format(self.start_time),
            "endTime": format(self.end_time),
            "dateAdded": format(self.date_added),
            "dateUpdated": format(self.date_updated),
            "assignedResources": [],
            "createdBy": {"source": self.source},
        })
    }

    /// `AppointmentSchemaResponse`: what create and edit return.
    pub fn to_appointment_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "calendarId": self.calendar_id,
            "locationId": self.location_id,
            "contactId": self.contact_id,
            "startTime": format(self.start_time),
            "endTime": format(self.end_time),
            "title": self.title,
            "meetingLocationType": self.meeting_location_type,
            "appointmentStatus": self.status,
            "assignedUserId": self.assigned_user_id,
            "address": self.address,
            "isRecurring": self.rrule.is_some(),
        });
        if let (Some(r), Some(o)) = (&self.rrule, v.as_object_mut()) {
            o.insert("rrule".into(), json!(r));
        }
        v
    }

    /// The `appointment` object of `Appointment*` webhooks.
    pub fn webhook_json(&self) -> Value {
        json!({
            "id": self.id,
            "address": self.address,
            "title": self.title,
            "calendarId": self.calendar_id,
            "contactId": self.contact_id,
            "groupId": self.group_id,
            "appointmentStatus": self.status,
            "assignedUserId": self.assigned_user_id,
            "users": [self.assigned_user_id],
            "notes": self.notes,
            "source": self.source,
            "startTime": format(self.start_time),
            "endTime": format(self.end_time),
            "dateAdded": format(self.date_added),
            "dateUpdated": format(self.date_updated),
        })
    }
}

#[derive(Debug, Clone)]
pub struct AppointmentNote {
    pub id: Str,
    pub appointment_id: Str,
    pub body: Str,
    pub user_id: Option<Str>,
    pub date_added: Millis,
}

impl AppointmentNote {
    pub fn to_json(&self, contact_id: &str) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("body".into(), json!(self.body));
        put(&mut m, "userId", &self.user_id);
        m.insert("dateAdded".into(), json!(format(self.date_added)));
        m.insert("contactId".into(), json!(contact_id));
        if let Some(u) = &self.user_id {
            m.insert("createdBy".into(), json!({"id": u}));
        }
        Value::Object(m)
    }
}

fn put(m: &mut Map<String, Value>, key: &str, v: &Option<Str>) {
    if let Some(v) = v {
        m.insert(key.to_string(), Value::String(v.to_string()));
    }
}
