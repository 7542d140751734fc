//! The location itself and what the Locations and Users APIs say about it: its profile
//! (`GET /locations/{locationId}`), its custom field definitions
//! (`GET /locations/{locationId}/customFields`), its users (`GET /users/?locationId=`) and its
//! calendars (`GET /calendars/?locationId=`). Schemas: `GetLocationByIdSchema`,
//! `CustomFieldSchema` (apps/locations.json), `UserSchema` (apps/users.json), `CalendarDTO`
//! (apps/calendars.json). Every field but the id is optional: the specs require none of them.

use serde::{Deserialize, Serialize};

use super::de;

/// A location's profile: what Drive Chat shows as its name, local time and address.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LocationDetails {
    #[serde(default, deserialize_with = "de::string")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    /// An IANA zone name, e.g. `America/Chicago`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub city: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub state: Option<String>,
    /// An ISO 3166 alpha-2 code in the spec's example (`IN`).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub postal_code: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub website: Option<String>,
}

/// A custom field definition: what the ids in a contact's `customFields` mean.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CustomFieldDef {
    #[serde(default, deserialize_with = "de::string")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    /// E.g. `contact.pincode`: the merge-field name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub field_key: Option<String>,
    /// E.g. `TEXT`, `SINGLE_OPTIONS`, `DATE`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub data_type: Option<String>,
    /// The choices of an option field; empty for the others.
    #[serde(default, deserialize_with = "de::strings")]
    pub picklist_options: Vec<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub placeholder: Option<String>,
    /// Display order within the location's form.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub position: Option<u64>,
    /// `contact` or `opportunity`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub model: Option<String>,
}

/// A user of the location: what `assignedTo`, `assignedUserId` and a note's `userId` point at.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    #[serde(default, deserialize_with = "de::string")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub phone: Option<String>,
}

impl User {
    /// What to show for the user: the name, else first and last name, else the email, else
    /// the id — HighLevel leaves any of them empty.
    pub fn display_name(&self) -> String {
        let joined = [&self.first_name, &self.last_name]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let shown = [self.name.as_deref().map(str::trim), Some(joined.as_str())]
            .into_iter()
            .flatten()
            .chain(self.email.as_deref().map(str::trim))
            .find(|s| !s.is_empty())
            .unwrap_or(&self.id)
            .to_string();
        shown
    }
}

/// A calendar of the location: the unit the location-wide event listing is read by.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Calendar {
    #[serde(default, deserialize_with = "de::string")]
    pub id: String,
    #[serde(default, deserialize_with = "de::string")]
    pub name: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub location_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub group_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub description: Option<String>,
    /// `round_robin`, `event`, `class_booking`, `collective`, `service_booking`, `personal`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub calendar_type: Option<String>,
    /// Absent means active: the spec's default is `true` (a draft calendar is `false`).
    #[serde(default = "active", deserialize_with = "de::bool_or_true")]
    pub is_active: bool,
}

fn active() -> bool {
    true
}
