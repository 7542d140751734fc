//! A location's context, as HighLevel's Locations, Users and Calendars APIs describe it: the
//! location's profile (`GetLocationByIdSchema` of `shared/ghl/apps/locations.json`), its users
//! (`UserSchema` of `users.json`: what `assignedTo`, `assignedUserId` and a note's `userId`
//! point at), its custom field definitions (`CustomFieldSchema`: what the ids of a contact's
//! `customFields` mean) and its calendars (`CalendarDTO` of `calendars.json`).

use serde_json::{json, Map, Value};

use crate::model::Str;

/// A user of a location.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Str,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    /// `admin` or `user`, HighLevel's location roles.
    pub role: &'static str,
}

impl User {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// `UserSchema`, as `GET /users/?locationId=` lists it.
    pub fn to_json(&self, location_id: &str) -> Value {
        json!({
            "id": self.id,
            "name": self.name(),
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "phone": self.phone,
            "extension": "",
            "roles": {
                "type": "account",
                "role": self.role,
                "locationIds": [location_id],
                "restrictSubAccount": false,
            },
            "deleted": false,
        })
    }
}

/// A custom field's `dataType`, as HighLevel names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Text,
    Numerical,
    Date,
    SingleOptions,
    MultipleOptions,
    Checkbox,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Text => "TEXT",
            DataType::Numerical => "NUMERICAL",
            DataType::Date => "DATE",
            DataType::SingleOptions => "SINGLE_OPTIONS",
            DataType::MultipleOptions => "MULTIPLE_OPTIONS",
            DataType::Checkbox => "CHECKBOX",
        }
    }

    /// Whether values are picked from `picklistOptions`.
    pub fn has_options(self) -> bool {
        matches!(
            self,
            DataType::SingleOptions | DataType::MultipleOptions | DataType::Checkbox
        )
    }
}

/// A custom field definition of a location (all of the sandbox's are contact fields).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFieldDef {
    pub id: Str,
    pub name: &'static str,
    /// `contact.<key>`, the merge key HighLevel derives from the name.
    pub field_key: &'static str,
    pub data_type: DataType,
    pub placeholder: &'static str,
    pub position: u32,
    pub options: &'static [&'static str],
}

impl CustomFieldDef {
    /// `CustomFieldSchema`, as `GET /locations/{locationId}/customFields` lists it.
    pub fn to_json(&self, location_id: &str) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("name".into(), json!(self.name));
        m.insert("fieldKey".into(), json!(self.field_key));
        m.insert("placeholder".into(), json!(self.placeholder));
        m.insert("dataType".into(), json!(self.data_type.as_str()));
        m.insert("position".into(), json!(self.position));
        if self.data_type.has_options() {
            m.insert("picklistOptions".into(), json!(self.options));
            m.insert("isAllowedCustomOption".into(), json!(false));
        }
        m.insert("locationId".into(), json!(location_id));
        m.insert("model".into(), json!("contact"));
        Value::Object(m)
    }
}

/// Where a location is and how to reach it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Street address; the city, state, country and postal code are separate, as in the spec.
    pub address: String,
    pub city: String,
    pub state: String,
    pub country: String,
    pub postal_code: String,
    /// An IANA time zone name.
    pub timezone: String,
    pub email: String,
    pub phone: String,
    pub website: String,
}
