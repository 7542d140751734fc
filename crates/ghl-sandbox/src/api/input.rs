//! Reads contact fields from a request body (create, update, upsert), with HighLevel's
//! validation messages.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::body::{Body, Patch};
use crate::model::{CustomField, DndSetting, FieldValue, Str, DND_CHANNELS};
use crate::world::ContactInput;

pub fn contact_input(b: &mut Body) -> ContactInput {
    let mut input = ContactInput {
        first_name: b.str_patch("firstName"),
        last_name: b.str_patch("lastName"),
        email: b.str_patch("email"),
        phone: b.str_patch("phone"),
        company_name: b.str_patch("companyName"),
        address1: b.str_patch("address1"),
        city: b.str_patch("city"),
        state: b.str_patch("state"),
        country: b.str_patch("country"),
        postal_code: b.str_patch("postalCode"),
        website: b.str_patch("website"),
        timezone: b.str_patch("timezone"),
        source: b.str_patch("source"),
        assigned_to: b.str_patch("assignedTo"),
        date_of_birth: date_of_birth(b),
        dnd: b.bool_opt("dnd"),
        dnd_settings: dnd_settings(b),
        tags: b.strings_opt("tags"),
        custom_fields: custom_fields(b),
    };
    // `name` alone fills first and last name, as HighLevel splits it.
    if let Patch::Set(name) = b.str_patch("name") {
        let mut parts = name.trim().splitn(2, ' ');
        if input.first_name == Patch::Absent {
            if let Some(f) = parts.next().filter(|s| !s.is_empty()) {
                input.first_name = Patch::Set(f.into());
            }
        }
        if input.last_name == Patch::Absent {
            if let Some(l) = parts.next().filter(|s| !s.is_empty()) {
                input.last_name = Patch::Set(l.trim().into());
            }
        }
    }
    if let Patch::Set(e) = &input.email {
        if !looks_like_email(e) {
            b.error("email must be an email".into());
        }
    }
    if let Patch::Set(p) = &input.phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits) || p.chars().any(|c| c.is_ascii_alphabetic()) {
            b.error("phone must be a valid phone number".into());
        }
    }
    input
}

pub fn looks_like_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn date_of_birth(b: &mut Body) -> Patch<Str> {
    match b.raw("dateOfBirth").cloned() {
        None => Patch::Absent,
        Some(Value::Null) => Patch::Null,
        Some(Value::String(s)) => match crate::time::parse(&s) {
            Some(t) => Patch::Set(crate::time::format(t).into()),
            None => {
                b.error("dateOfBirth must be a valid date".into());
                Patch::Absent
            }
        },
        Some(_) => {
            b.error("dateOfBirth must be a valid date".into());
            Patch::Absent
        }
    }
}

fn dnd_settings(b: &mut Body) -> Option<BTreeMap<Str, DndSetting>> {
    let raw = b.raw("dndSettings").cloned()?;
    let Value::Object(map) = raw else {
        if !raw.is_null() {
            b.error("dndSettings must be an object".into());
        }
        return None;
    };
    let mut out = BTreeMap::new();
    for (channel, v) in map {
        if !DND_CHANNELS.contains(&channel.as_str()) {
            b.error(format!(
                "dndSettings.{channel} is not a channel; use one of {}",
                DND_CHANNELS.join(", ")
            ));
            continue;
        }
        let status = v.get("status").and_then(Value::as_str).unwrap_or_default();
        if !["active", "inactive", "permanent"].contains(&status) {
            b.error(format!(
                "dndSettings.{channel}.status must be one of the following values: active, inactive, permanent"
            ));
            continue;
        }
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(Str::from);
        out.insert(
            channel.into(),
            DndSetting {
                status: status.into(),
                message: text("message"),
                code: text("code"),
            },
        );
    }
    Some(out)
}

fn custom_fields(b: &mut Body) -> Option<Vec<CustomField>> {
    let raw = b.raw("customFields").cloned()?;
    let Value::Array(items) = raw else {
        if !raw.is_null() {
            b.error("customFields must be an array".into());
        }
        return None;
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let id = item
            .get("id")
            .or_else(|| item.get("key"))
            .and_then(Value::as_str);
        let Some(id) = id else {
            b.error(format!("customFields.{i}.id must be a string"));
            continue;
        };
        let value = item
            .get("field_value")
            .or_else(|| item.get("value"))
            .cloned()
            .unwrap_or(Value::Null);
        out.push(CustomField {
            id: id.into(),
            value: FieldValue::from_json(&value),
        });
    }
    Some(out)
}
