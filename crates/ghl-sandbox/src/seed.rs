//! Deterministic seeded data: the same seed gives the same locations, contacts, tasks, notes,
//! appointments and ids on every run. Dates are offsets from an anchor day (by default the UTC
//! day the sandbox starts), so due dates stay both past and future whenever it runs.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

use crate::ids::new_id;
use crate::model::{
    Appointment, AppointmentNote, Contact, CustomField, DndSetting, Note, Str, Task, DND_CHANNELS,
};
use crate::time::Millis;
use crate::world::{Calendar, Location, World};

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

fn seed_location(rng: &mut ChaCha8Rng, spec: &SeedSpec, index: usize, company: &str) -> Location {
    let (city, state) = CITIES[index % CITIES.len()];
    let mut loc = Location {
        id: new_id(rng),
        name: format!("{} {}", COMPANIES[index % COMPANIES.len()], city),
        address: format!("{} Main St, {city}, {state}", 100 + index),
        company_id: company.into(),
        users: (0..5).map(|_| new_id(rng)).collect(),
        custom_field_ids: (0..3).map(|_| new_id(rng)).collect(),
        ..Location::default()
    };
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
        let c = seed_contact(rng, spec, index, n, &loc, &businesses);
        if rng.gen_bool(0.2) {
            seed_appointments(rng, spec, &mut loc, &c);
        }
        loc.insert_contact(c);
    }
    loc
}

fn seed_contact(
    rng: &mut ChaCha8Rng,
    spec: &SeedSpec,
    loc_index: usize,
    n: usize,
    loc: &Location,
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
    let custom_fields = vec![
        CustomField {
            id: loc.custom_field_ids[0].clone(),
            value: pick(rng, &["Basic", "Pro", "Premium"]).into(),
        },
        CustomField {
            id: loc.custom_field_ids[1].clone(),
            value: rng.gen_range(100..10_000).to_string().into(),
        },
    ];
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
        timezone: Some("America/Chicago".into()),
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

fn seed_appointments(rng: &mut ChaCha8Rng, spec: &SeedSpec, loc: &mut Location, c: &Contact) {
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
