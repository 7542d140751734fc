//! A location's context as the sync engine saves it (store::context): its profile with a time
//! zone, its HighLevel users, its custom field definitions; and a contact that uses them
//! (assignee, custom fields of every kind plus one whose definition is unknown, its own time
//! zone, do-not-disturb per channel).

use serde_json::json;
use store::{CustomFieldDef, HlUser, LocationProfile, Record};

use super::{contact, Env, ALICE};

/// The location's zone in [`seed_context`].
pub const LOCATION_ZONE: &str = "America/New_York";
/// Alice's HighLevel user (same email as her Drive Chat account, in other case).
pub const HL_ALICE: &str = "u-alice";
pub const HL_ALICE_NAME: &str = "Alice from HighLevel";
pub const HL_BO: &str = "u-bo";
pub const HL_BO_NAME: &str = "Bo Builder";
pub const HL_CY: &str = "u-cy";
pub const HL_CY_NAME: &str = "Cy Carpenter";
/// The contact's zone in [`contact_with_fields`].
pub const CONTACT_ZONE: &str = "Asia/Kolkata";

fn user(id: &str, name: &str, email: Option<&str>) -> HlUser {
    let mut parts = name.split(' ');
    HlUser {
        id: id.into(),
        name: name.into(),
        first_name: parts.next().map(str::to_string),
        last_name: parts.next().map(str::to_string),
        email: email.map(str::to_string),
    }
}

fn def(id: &str, name: &str, data_type: &str, options: &[&str]) -> CustomFieldDef {
    CustomFieldDef {
        id: id.into(),
        name: name.into(),
        field_key: Some(format!("contact.{}", name.to_lowercase().replace(' ', "_"))),
        data_type: data_type.into(),
        options: options.iter().map(|o| o.to_string()).collect(),
    }
}

/// Saves `loc`'s profile (zone [`LOCATION_ZONE`]), users and custom field definitions, with
/// no scope missing. Names carry the location id so a test can tell locations apart.
pub async fn seed_context(env: &Env, loc: &str) {
    let s = &env.store;
    s.save_location_profile(
        loc,
        &LocationProfile {
            name: Some(format!("Profile of {loc}")),
            timezone: Some(LOCATION_ZONE.into()),
            address: Some("1 Main St, Springfield".into()),
        },
    )
    .await
    .expect("save profile");
    let suffix = |name: &str| {
        if loc == super::A {
            name.to_string()
        } else {
            format!("{name} of {loc}")
        }
    };
    s.replace_location_users(
        loc,
        &[
            user(HL_CY, &suffix(HL_CY_NAME), None),
            user(
                HL_ALICE,
                &suffix(HL_ALICE_NAME),
                Some(&ALICE.to_uppercase()),
            ),
            user(HL_BO, &suffix(HL_BO_NAME), Some("bo@example.com")),
        ],
    )
    .await
    .expect("save users");
    s.replace_custom_field_defs(
        loc,
        &[
            def("f-plan", "Plan", "SINGLE_OPTIONS", &["Gold", "Silver"]),
            def("f-ltv", "Lifetime value", "MONETORY", &[]),
            def("f-visits", "Visits", "NUMERICAL", &[]),
            def("f-renew", "Renewal date", "DATE", &[]),
            def("f-consent", "Consents", "CHECKBOX", &["Email", "SMS"]),
        ],
    )
    .await
    .expect("save custom field definitions");
    s.set_context_missing_scopes(loc, &[])
        .await
        .expect("save missing scopes");
}

/// A contact assigned to [`HL_BO`], in zone [`CONTACT_ZONE`], with a value for every field of
/// [`seed_context`] plus `f-gone` (no definition), and do-not-disturb on SMS only.
pub fn contact_with_fields(loc: &str, id: &str, first: &str, last: &str) -> Record {
    let mut r = contact(loc, id, first, last, &["vip"]);
    r.assignee = Some(HL_BO.into());
    let data = r.data.as_object_mut().expect("contact data is an object");
    data.insert("assignedTo".into(), json!(HL_BO));
    data.insert("timezone".into(), json!(CONTACT_ZONE));
    data.insert("dnd".into(), json!(false));
    data.insert(
        "dndSettings".into(),
        json!({
            "SMS": { "status": "active", "message": "Asked us to stop texting", "code": "" },
            "Email": { "status": "inactive" }
        }),
    );
    data.insert(
        "customFields".into(),
        json!([
            { "id": "f-gone", "value": "left over" },
            { "id": "f-consent", "value": ["sms", "Email"] },
            { "id": "f-renew", "value": "2026-03-10" },
            { "id": "f-visits", "value": 12 },
            { "id": "f-ltv", "value": "1234.5" },
            { "id": "f-plan", "value": "gold" },
        ]),
    );
    r
}
