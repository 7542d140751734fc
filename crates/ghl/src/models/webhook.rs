//! HighLevel webhook events: a typed arm per event of `shared/ghl/webhooks/`, and `Unknown`
//! keeping the raw JSON of any other type so nothing is lost.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::de;
use super::{Appointment, Contact};

/// The body of a `Task*` event.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskEvent {
    #[serde(default, deserialize_with = "de::string")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub assigned_to: Option<String>,
    /// Missing in some TaskCreate deliveries seen from HighLevel: fetch the task to learn it.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub contact_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub due_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub date_added: Option<DateTime<Utc>>,
}

/// The body of a `Note*` event.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NoteEvent {
    #[serde(default, deserialize_with = "de::string")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub contact_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub date_added: Option<DateTime<Utc>>,
}

pub type ContactEvent = Contact;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AppointmentEvent {
    #[serde(default)]
    pub appointment: Appointment,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InstallEvent {
    #[serde(default, deserialize_with = "de::opt_string")]
    pub app_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub company_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub company_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub plan_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UninstallEvent {
    #[serde(default, deserialize_with = "de::opt_string")]
    pub app_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub company_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookEvent {
    ContactCreate(ContactEvent),
    ContactUpdate(ContactEvent),
    ContactDelete(ContactEvent),
    ContactTagUpdate(ContactEvent),
    ContactDndUpdate(ContactEvent),
    TaskCreate(TaskEvent),
    TaskComplete(TaskEvent),
    TaskDelete(TaskEvent),
    NoteCreate(NoteEvent),
    NoteUpdate(NoteEvent),
    NoteDelete(NoteEvent),
    AppointmentCreate(AppointmentEvent),
    AppointmentUpdate(AppointmentEvent),
    AppointmentDelete(AppointmentEvent),
    Install(InstallEvent),
    Uninstall(UninstallEvent),
    /// A type this version does not know: kept whole, to be stored and counted.
    Unknown {
        event_type: String,
        raw: Value,
    },
}

/// A webhook body: its envelope fields and the typed event.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEnvelope {
    pub event_type: String,
    pub location_id: Option<String>,
    pub webhook_id: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub event: WebhookEvent,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WebhookParseError {
    #[error("the webhook body is not a JSON object")]
    NotAnObject,
    #[error("the webhook body has no `type`")]
    MissingType,
    #[error("the {event_type} webhook could not be read at `{path}`: {reason}")]
    Malformed {
        event_type: String,
        path: String,
        reason: String,
    },
}

fn typed<T: serde::de::DeserializeOwned>(
    event_type: &str,
    raw: &Value,
) -> Result<T, WebhookParseError> {
    serde_path_to_error::deserialize(raw).map_err(|e| WebhookParseError::Malformed {
        event_type: event_type.to_string(),
        path: e.path().to_string(),
        reason: e.inner().to_string(),
    })
}

impl WebhookEnvelope {
    pub fn parse(raw: &Value) -> Result<WebhookEnvelope, WebhookParseError> {
        let obj = raw.as_object().ok_or(WebhookParseError::NotAnObject)?;
        let event_type = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or(WebhookParseError::MissingType)?
            .to_string();
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let t = event_type.as_str();
        use WebhookEvent as E;
        let event = match t {
            "ContactCreate" => E::ContactCreate(typed(t, raw)?),
            "ContactUpdate" => E::ContactUpdate(typed(t, raw)?),
            "ContactDelete" => E::ContactDelete(typed(t, raw)?),
            "ContactTagUpdate" => E::ContactTagUpdate(typed(t, raw)?),
            "ContactDndUpdate" => E::ContactDndUpdate(typed(t, raw)?),
            "TaskCreate" => E::TaskCreate(typed(t, raw)?),
            "TaskComplete" => E::TaskComplete(typed(t, raw)?),
            "TaskDelete" => E::TaskDelete(typed(t, raw)?),
            "NoteCreate" => E::NoteCreate(typed(t, raw)?),
            "NoteUpdate" => E::NoteUpdate(typed(t, raw)?),
            "NoteDelete" => E::NoteDelete(typed(t, raw)?),
            "AppointmentCreate" => E::AppointmentCreate(typed(t, raw)?),
            "AppointmentUpdate" => E::AppointmentUpdate(typed(t, raw)?),
            "AppointmentDelete" => E::AppointmentDelete(typed(t, raw)?),
            "INSTALL" => E::Install(typed(t, raw)?),
            "UNINSTALL" => E::Uninstall(typed(t, raw)?),
            _ => E::Unknown {
                event_type: event_type.clone(),
                raw: raw.clone(),
            },
        };
        Ok(WebhookEnvelope {
            location_id: text("locationId"),
            webhook_id: text("webhookId"),
            timestamp: obj
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(de::parse_datetime),
            event_type,
            event,
        })
    }
}
