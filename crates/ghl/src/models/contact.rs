use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::de;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DndSetting {
    #[serde(default, deserialize_with = "de::string")]
    pub status: String,
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CustomFieldValue {
    #[serde(default, deserialize_with = "de::string")]
    pub id: String,
    /// A string, number, list or object, as HighLevel sends it.
    #[serde(default)]
    pub value: Value,
}

/// A contact as `GET /contacts/{id}`, search and contact webhooks describe it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Contact {
    #[serde(default, deserialize_with = "de::string")]
    pub id: String,
    #[serde(default, deserialize_with = "de::string")]
    pub location_id: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub company_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub address1: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub city: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub postal_code: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub website: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub source: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "de::opt_string")]
    pub contact_type: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub assigned_to: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub date_of_birth: Option<String>,
    #[serde(default, deserialize_with = "de::bool")]
    pub dnd: bool,
    #[serde(default)]
    pub dnd_settings: Option<BTreeMap<String, DndSetting>>,
    #[serde(default, deserialize_with = "de::strings")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub custom_fields: Option<Vec<CustomFieldValue>>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub business_id: Option<String>,
    #[serde(default, deserialize_with = "de::strings")]
    pub followers: Vec<String>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub date_added: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub date_updated: Option<DateTime<Utc>>,
    /// The search cursor of this contact (its sort values and id), when it came from a search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_after: Option<Vec<Value>>,
}

impl Contact {
    /// "First Last", or `name`, or the email: what a person would call the contact.
    pub fn display_name(&self) -> String {
        match (&self.first_name, &self.last_name, &self.name) {
            (Some(f), Some(l), _) => format!("{f} {l}"),
            (Some(f), None, _) => f.clone(),
            (None, Some(l), _) => l.clone(),
            (None, None, Some(n)) => n.clone(),
            _ => self.email.clone().unwrap_or_default(),
        }
    }
}

/// A custom field value to write: `id` (or `key`) and `field_value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomFieldInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub field_value: Value,
}

/// The fields of a create, update or upsert; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnd: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnd_settings: Option<BTreeMap<String, DndSetting>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}
