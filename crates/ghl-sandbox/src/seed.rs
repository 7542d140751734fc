//! Deterministic seeded data: the same seed gives the same locations, contacts, tasks, notes,
//! appointments and ids on every run. Dates are offsets from an anchor day (by default the UTC
//! day the sandbox starts), so due dates stay both past and future whenever it runs.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

use crate::context::{CustomFieldDef, DataType, Profile, User};
use crate::ids::new_id;
use crate::model::{
    Appointment, AppointmentNote, Contact, CustomField, DndSetting, FieldValue, Note, Str, Task,
    DND_CHANNELS,
};
use crate::time::Millis;
use crate::world::{Calendar, LocationData, World};

const FIRST: &[&str] = &[
    "Ana", "Ben", "Chloe", "Diego", "Elena", "Farah", "Gabriel", "Hana", "Ivan", "Jade", "Kofi",
    "Lena", "Marco", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zoe", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofia", "Lucas",
    "Mia", "Aiden", "Isla", "Ethan", "Amara", "Leo", "Freya",
];
const LAST: &[&str] = &[
    "Silva", "Okafor", "Nguyen", "Garcia", "Kowalski", "Haddad", "Murphy", "Tanaka", "Petrov",
    "Johnson", "Mensah", "Rossi", "Schmidt", "Khan", "Dubois", "Larsen", "Costa", "Ahmed", "Brown",
    "Ivanova", "Moreau", "Santos", "Fischer", "Patel", "Novak", "Walsh", "Kim", "Lopez", "Ali",
    "Berg",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "mail.test",
    "acme.test",
    "northwind.test",
    "contoso.test",
];
const COMPANIES: &[&str] = &[
    "Bright Dental",
    "Summit Roofing",
    "Harbor Law",
    "Peak Fitness",
    "Lumen Realty",
    "Blue Fern Spa",
    "Cedar HVAC",
    "Nova Auto",
    "Orchid Salon",
    "Atlas Movers",
];
const CITIES: &[(&str, &str)] = &[
    ("Austin", "TX"),
    ("Denver", "CO"),
    ("Miami", "FL"),
    ("Seattle", "WA"),
    ("Boston", "MA"),
    ("Phoenix", "AZ"),
    ("Chicago", "IL"),
    ("Portland", "OR"),
];
const TAGS: &[&str] = &[
    "lead",
    "customer",
    "vip",
    "newsletter",
    "webinar",
    "referral",
    "cold",
    "follow-up",
    "facebook-ad",
    "google-ad",
];
const SOURCES: &[&str] = &[
    "website form",
    "facebook",
    "referral",
    "walk-in",
    "google ads",
];
const TASKS: &[&str] = &[
    "Send proposal",
    "Call back",
    "Schedule demo",
    "Follow up on quote",
    "Collect documents",
    "Send invoice",
    "Check in after visit",
    "Confirm appointment",
];
const NOTES: &[&str] = &[
    "Prefers email over phone.",
    "Asked about pricing for the premium plan.",
    "Interested in a demo next week.",
    "Spoke with their assistant; call after 3pm.",
    "Referred by an existing customer.",
];
/// Where seeded locations are: city, state, country, postal code, IANA time zone, phone prefix.
/// Location `i` takes entry `i % 8`, so the first three are in three different zones.
const LOCALES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "New York",
        "NY",
        "US",
        "10001",
        "America/New_York",
        "+1212555",
    ),
    (
        "London",
        "England",
        "GB",
        "EC1A 1BB",
        "Europe/London",
        "+4420794",
    ),
    (
        "Sydney",
        "NSW",
        "AU",
        "2000",
        "Australia/Sydney",
        "+6129555",
    ),
    (
        "Chicago",
        "IL",
        "US",
        "60601",
        "America/Chicago",
        "+1312555",
    ),
    (
        "Los Angeles",
        "CA",
        "US",
        "90012",
        "America/Los_Angeles",
        "+1213555",
    ),
    (
        "Berlin",
        "Berlin",
        "DE",
        "10115",
        "Europe/Berlin",
        "+4930555",
    ),
    (
        "Toronto",
        "ON",
        "CA",
        "M5H 2N2",
        "America/Toronto",
        "+1416555",
    ),
    ("Denver", "CO", "US", "80202", "America/Denver", "+1303555"),
];
const STREETS: &[&str] = &[
    "Main St",
    "High Street",
    "George St",
    "Market St",
    "King St",
];
const USER_FIRST: &[&str] = &[
    "Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Drew", "Harper",
];
const USER_LAST: &[&str] = &[
    "Reyes",
    "Chen",
    "Okoye",
    "Lindqvist",
    "Marsh",
    "Duarte",
    "Novak",
    "Farouk",
    "Byrne",
    "Sato",
];
const PLANS: &[&str] = &["Basic", "Pro", "Premium"];
const INTERESTS: &[&str] = &["Whitening", "Implants", "Braces", "Cleaning"];
const CONSENTS: &[&str] = &["Email updates", "SMS reminders"];
/// The custom fields every location defines, in position order: name, field key, type,
/// placeholder, options. The first three take the ids drawn from the main stream (which the
/// seed has always drawn), the rest ids from the location's context stream.
const FIELDS: &[(&str, &str, DataType, &str, &[&str])] = &[
    (
        "Plan",
        "contact.plan",
        DataType::SingleOptions,
        "Choose a plan",
        PLANS,
    ),
    (
        "Lifetime value",
        "contact.lifetime_value",
        DataType::Numerical,
        "0",
        &[],
    ),
    (
        "Referral code",
        "contact.referral_code",
        DataType::Text,
        "REF-0000",
        &[],
    ),
    (
        "Renewal date",
        "contact.renewal_date",
        DataType::Date,
        "YYYY-MM-DD",
        &[],
    ),
    (
        "Interests",
        "contact.interests",
        DataType::MultipleOptions,
        "Pick any",
        INTERESTS,
    ),
    (
        "Consents",
        "contact.consents",
        DataType::Checkbox,
        "",
        CONSENTS,
    ),
];

const MEETINGS: &[&str] = &["Consultation", "Discovery call", "Site visit", "Onboarding"];
const APPT_STATUS: &[&str] = &[
    "new",
    "confirmed",
    "confirmed",
    "showed",
    "noshow",
    "cancelled",
];

const DAY: Millis = 86_400_000;

pub struct SeedSpec {
    pub seed: u64,
    pub locations: usize,
    pub contacts_per_location: usize,
    /// Midnight UTC of the day the seeded dates are offsets from.
    pub anchor: Millis,
}

pub fn seed_world(spec: &SeedSpec) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let company_id = new_id(&mut rng);
    let mut world = World::new(company_id.clone(), "Sandbox Agency".into(), spec.seed);
    for i in 0..spec.locations {
        let loc = seed_location(&mut rng, spec, i, &company_id);
        world.locations.insert(loc.id.clone(), loc);
    }
    world
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

fn seed_location(
    rng: &mut ChaCha8Rng,
    spec: &SeedSpec,
    index: usize,
    company: &str,
) -> LocationData {
    let (city, state, country, postal, tz, phone) = LOCALES[index % LOCALES.len()];
    let company_name = COMPANIES[index % COMPANIES.len()];
    let id = new_id(rng);
    let user_ids: Vec<Str> = (0..5).map(|_| new_id(rng)).collect();
    let field_ids: Vec<Str> = (0..3).map(|_| new_id(rng)).collect();
    // The context (names, emails, extra fields and their values) comes from a stream of its
    // own, so adding it left every id and value of the main stream as it was.
    let mut ctx = ChaCha8Rng::seed_from_u64(spec.seed ^ 0xc0_47e7 ^ ((index as u64) << 20));
    let slug: String = company_name
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("");
    let domain = format!("{slug}-{}.example.com", index + 1);
    let mut loc = LocationData {
        id,
        name: format!("{company_name} {city}"),
        company_id: company.into(),
        profile: Profile {
            address: format!("{} {}", 100 + index, STREETS[index % STREETS.len()]),
            city: city.into(),
            state: state.into(),
            country: country.into(),
            postal_code: postal.into(),
            timezone: tz.into(),
            email: format!("hello@{domain}"),
            phone: format!("{phone}{:04}", 100 + index % 9000),
            website: format!("https://{domain}"),
        },
        user_profiles: seed_users(&mut ctx, &user_ids, &domain, phone),
        users: user_ids,
        ..LocationData::default()
    };
    let extra_ids: Vec<Str> = (3..FIELDS.len()).map(|_| new_id(&mut ctx)).collect();
    loc.custom_fields = FIELDS
        .iter()
        .zip(field_ids.into_iter().chain(extra_ids))
        .enumerate()
        .map(
            |(i, (&(name, key, data_type, placeholder, options), id))| CustomFieldDef {
                id,
                name,
                field_key: key,
                data_type,
                placeholder,
                position: i as u32 * 50,
                options,
            },
        )
        .collect();
    for name in ["Consultations", "Discovery calls"] {
        loc.calendars.push(Calendar {
            id: new_id(rng),
            group_id: new_id(rng),
            name: name.into(),
            slot_minutes: 30,
        });
    }
    let businesses: Vec<Str> = (0..5).map(|_| new_id(rng)).collect();
    for n in 0..spec.contacts_per_location {
        let c = seed_contact(rng, &mut ctx, spec, index, n, &loc, &businesses);
        if rng.gen_bool(0.2) {
            seed_appointments(rng, spec, &mut loc, &c);
        }
        loc.insert_contact(c);
    }
    loc
}

/// A location's users, one per id, with distinct names; the first is its admin.
fn seed_users(ctx: &mut ChaCha8Rng, ids: &[Str], domain: &str, phone: &str) -> Vec<User> {
    let mut first = USER_FIRST.to_vec();
    let mut last = USER_LAST.to_vec();
    first.shuffle(ctx);
    last.shuffle(ctx);
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            let (f, l) = (first[i % first.len()], last[i % last.len()]);
            User {
                id: id.clone(),
                first_name: f.into(),
                last_name: l.into(),
                email: format!("{}.{}@{domain}", f.to_lowercase(), l.to_lowercase()),
                phone: format!("{phone}{:04}", 2000 + i),
                role: if i == 0 { "admin" } else { "user" },
            }
        })
        .collect()
}

/// A contact's values for the location's custom fields, typed by each field's `dataType`.
/// The first two draw from the main stream exactly as the seed always has.
fn seed_field_values(
    rng: &mut ChaCha8Rng,
    ctx: &mut ChaCha8Rng,
    spec: &SeedSpec,
    defs: &[CustomFieldDef],
) -> Vec<CustomField> {
    let mut out = vec![
        CustomField {
            id: defs[0].id.clone(),
            value: pick(rng, PLANS).into(),
        },
        CustomField {
            id: defs[1].id.clone(),
            value: FieldValue::Number(rng.gen_range(100..10_000) as f64),
        },
    ];
    for def in &defs[2..] {
        if !ctx.gen_bool(0.5) {
            continue;
        }
        let value = match def.data_type {
            DataType::Text => {
                FieldValue::Text(format!("REF-{:04}", ctx.gen_range(0..10_000)).into())
            }
            DataType::Numerical => FieldValue::Number(ctx.gen_range(0..1000) as f64),
            DataType::Date => {
                let day = spec.anchor + ctx.gen_range(1..400) * DAY;
                FieldValue::Text(crate::time::format(day)[..10].into())
            }
            DataType::SingleOptions => pick(ctx, def.options).into(),
            DataType::MultipleOptions | DataType::Checkbox => {
                let mut chosen: Vec<Str> = def
                    .options
                    .iter()
                    .filter(|_| ctx.gen_bool(0.5))
                    .map(|o| Str::from(*o))
                    .collect();
                if chosen.is_empty() {
                    chosen.push(pick(ctx, def.options).into());
                }
                FieldValue::List(chosen)
            }
        };
        out.push(CustomField {
            id: def.id.clone(),
            value,
        });
    }
    out
}

fn seed_contact(
    rng: &mut ChaCha8Rng,
    ctx: &mut ChaCha8Rng,
    spec: &SeedSpec,
    loc_index: usize,
    n: usize,
    loc: &LocationData,
    businesses: &[Str],
) -> Contact {
    let first = pick(rng, FIRST);
    let last = pick(rng, LAST);
    let (city, state) = *CITIES.choose(rng).unwrap_or(&CITIES[0]);
    let added = spec.anchor - rng.gen_range(1..365) * DAY - rng.gen_range(0..DAY);
    let updated = added + rng.gen_range(0..spec.anchor - added);
    let id = new_id(rng);
    let mut tags: Vec<Str> = (0..rng.gen_range(0..4))
        .map(|_| pick(rng, TAGS).into())
        .collect();
    tags.sort();
    tags.dedup();
    let dnd = rng.gen_bool(0.1);
    let mut dnd_settings = BTreeMap::new();
    if dnd {
        for ch in DND_CHANNELS {
            let status = if rng.gen_bool(0.5) {
                "active"
            } else {
                "inactive"
            };
            dnd_settings.insert(
                ch.into(),
                DndSetting {
                    status: status.into(),
                    message: Some("Opted out by contact".into()),
                    code: Some("101".into()),
                },
            );
        }
    }
    let custom_fields = seed_field_values(rng, ctx, spec, &loc.custom_fields);
    let mut c = Contact {
        id: id.clone(),
        location_id: loc.id.clone(),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        email: Some(
            format!(
                "{}.{}{}@{}",
                first.to_lowercase(),
                last.to_lowercase(),
                n,
                pick(rng, DOMAINS)
            )
            .into(),
        ),
        // Unique per location: area code from the location, line number from the index.
        phone: Some(format!("+1{}{:07}", 201 + loc_index % 700, n % 10_000_000).into()),
        company_name: rng.gen_bool(0.4).then(|| pick(rng, COMPANIES).into()),
        address1: Some(format!("{} {} Ave", rng.gen_range(1..9999), pick(rng, LAST)).into()),
        city: Some(city.into()),
        state: Some(state.into()),
        country: Some("US".into()),
        postal_code: Some(format!("{:05}", rng.gen_range(10_000..99_999)).into()),
        website: None,
        timezone: Some(loc.profile.timezone.as_str().into()),
        source: Some(pick(rng, SOURCES).into()),
        contact_type: if rng.gen_bool(0.3) {
            "customer"
        } else {
            "lead"
        }
        .into(),
        assigned_to: loc.users.choose(rng).cloned(),
        date_of_birth: None,
        dnd,
        dnd_settings,
        tags,
        custom_fields,
        business_id: rng
            .gen_bool(0.3)
            .then(|| businesses.choose(rng).cloned())
            .flatten(),
        date_added: added,
        date_updated: updated,
        ..Contact::default()
    };
    for _ in 0..rng.gen_range(0..3) {
        c.tasks.push(Task {
            id: new_id(rng),
            contact_id: id.clone(),
            title: pick(rng, TASKS).into(),
            body: Some(format!("For {first} {last}").into()),
            assigned_to: loc.users.choose(rng).cloned(),
            // Due between 20 days ago and 20 days ahead: some overdue, some upcoming.
            due_date: spec.anchor + rng.gen_range(-20..20) * DAY + rng.gen_range(8..18) * 3_600_000,
            completed: rng.gen_bool(0.35),
            date_added: added,
            date_updated: updated,
        });
    }
    for _ in 0..rng.gen_range(0..2) {
        c.notes.push(Note {
            id: new_id(rng),
            contact_id: id.clone(),
            body: pick(rng, NOTES).into(),
            title: None,
            color: None,
            pinned: false,
            user_id: loc.users.choose(rng).cloned(),
            date_added: updated,
            date_updated: updated,
        });
    }
    // A vector grows to room for four: a million contacts with one or two tasks each would
    // carry hundreds of megabytes of empty slots.
    c.tasks.shrink_to_fit();
    c.notes.shrink_to_fit();
    c.tags.shrink_to_fit();
    c
}

fn seed_appointments(rng: &mut ChaCha8Rng, spec: &SeedSpec, loc: &mut LocationData, c: &Contact) {
    let cal = loc.calendars[rng.gen_range(0..loc.calendars.len())].clone();
    let start = spec.anchor + rng.gen_range(-14..14) * DAY + rng.gen_range(9..17) * 3_600_000;
    let appt = Appointment {
        id: new_id(rng),
        location_id: loc.id.clone(),
        calendar_id: cal.id.clone(),
        group_id: cal.group_id.clone(),
        contact_id: c.id.clone(),
        title: format!(
            "{} with {}",
            pick(rng, MEETINGS),
            c.full_name().unwrap_or_default()
        )
        .into(),
        status: pick(rng, APPT_STATUS).into(),
        assigned_user_id: loc.users.choose(rng).cloned().unwrap_or_default(),
        address: "https://meet.example.com/room".into(),
        meeting_location_type: "custom".into(),
        notes: Str::default(),
        source: "booking_widget".into(),
        rrule: None,
        start_time: start,
        end_time: start + cal.slot_minutes * 60_000,
        date_added: c.date_added,
        date_updated: c.date_updated,
    };
    let notes: Vec<AppointmentNote> = (0..rng.gen_range(0..3))
        .map(|_| AppointmentNote {
            id: new_id(rng),
            appointment_id: appt.id.clone(),
            body: pick(rng, NOTES).into(),
            user_id: Some(appt.assigned_user_id.clone()),
            date_added: c.date_updated,
        })
        .collect();
    if !notes.is_empty() {
        loc.appointment_notes.insert(appt.id.clone(), notes);
    }
    loc.appointments.insert(appt.id.clone(), appt);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> SeedSpec {
        SeedSpec {
            seed,
            locations: 2,
            contacts_per_location: 50,
            anchor: 1_700_000_000_000 - 1_700_000_000_000 % DAY,
        }
    }

    fn fingerprint(w: &World) -> Vec<String> {
        let mut out = Vec::new();
        for loc in w.locations.values() {
            for (_, id) in &loc.by_added {
                out.push(loc.contacts[id].to_json().to_string());
            }
        }
        out
    }

    #[test]
    fn same_seed_same_data_and_other_seed_other_data() {
        let a = seed_world(&spec(42));
        let b = seed_world(&spec(42));
        let c = seed_world(&spec(43));
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
        assert_eq!(a.locations.len(), 2);
        assert!(a.locations.values().all(|l| l.contacts.len() == 50));
    }

    #[test]
    fn seeded_tasks_are_past_and_future_done_and_open() {
        let s = spec(7);
        let w = seed_world(&s);
        let tasks: Vec<&Task> = w
            .locations
            .values()
            .flat_map(|l| l.contacts.values())
            .flat_map(|c| c.tasks.iter())
            .collect();
        assert!(tasks.iter().any(|t| t.due_date < s.anchor));
        assert!(tasks.iter().any(|t| t.due_date > s.anchor));
        assert!(tasks.iter().any(|t| t.completed));
        assert!(tasks.iter().any(|t| !t.completed));
    }
}
