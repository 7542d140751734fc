//! The activity generator: changes random records at a steady rate, as a busy HighLevel
//! location would, through the same code paths as the API so every change sends its webhook.

use rand::seq::SliceRandom;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

use crate::body::Patch;
use crate::model::{DndSetting, Str};
use crate::state::Sandbox;
use crate::world::{AppointmentInput, ContactInput, NoteInput, TaskInput, World};

const TICK: Duration = Duration::from_millis(20);

pub async fn run(sandbox: Arc<Sandbox>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut owed = 0.0f64;
    loop {
        tick.tick().await;
        let rate = sandbox.activity_rate();
        if rate <= 0.0 {
            owed = 0.0;
            continue;
        }
        owed += rate * TICK.as_secs_f64();
        while owed >= 1.0 {
            owed -= 1.0;
            sandbox.write(random_change);
        }
    }
}

/// A random contact of a random location, drawn through the dateUpdated index.
fn random_contact(w: &mut World) -> Option<(Str, Str)> {
    let locs: Vec<Str> = w.locations.keys().cloned().collect();
    let loc_id = locs.choose(w.rng())?.clone();
    let loc = w.locations.get(loc_id.as_str())?;
    let (lo, hi) = (loc.by_updated.first()?.0, loc.by_updated.last()?.0);
    let at = if hi > lo {
        w.rng().gen_range(lo..=hi)
    } else {
        lo
    };
    let loc = w.locations.get(loc_id.as_str())?;
    let id = loc
        .by_updated
        .range((at, Str::default())..)
        .next()
        .or_else(|| loc.by_updated.last())?
        .1
        .clone();
    Some((loc_id, id))
}

/// Makes one change; errors (a record deleted meanwhile) are simply skipped.
pub fn random_change(w: &mut World) {
    let Some((loc, cid)) = random_contact(w) else {
        return;
    };
    let roll: u32 = w.rng().gen_range(0..1000);
    let n: u32 = w.rng().gen();
    let _ = match roll {
        0..=99 => {
            let input = ContactInput {
                first_name: Patch::Set(
                    ["Avery", "Jordan", "Riley", "Casey"][n as usize % 4].into(),
                ),
                last_name: Patch::Set(
                    ["Reed", "Lane", "Hart", "Stone"][(n / 4) as usize % 4].into(),
                ),
                email: Patch::Set(format!("new.lead{n}@example.com").into()),
                source: Patch::Set("activity generator".into()),
                tags: Some(vec!["new".into()]),
                ..ContactInput::default()
            };
            w.create_contact(&loc, input).map(drop)
        }
        100..=349 => {
            let input = ContactInput {
                city: Patch::Set(["Austin", "Denver", "Miami", "Boston"][n as usize % 4].into()),
                postal_code: Patch::Set(format!("{:05}", n % 100_000).into()),
                ..ContactInput::default()
            };
            w.update_contact(&loc, &cid, input).map(drop)
        }
        350..=449 => {
            let tag = ["vip", "hot", "follow-up", "newsletter"][n as usize % 4].to_string();
            if n.is_multiple_of(2) {
                w.change_tags(&loc, &cid, &[tag.into()], &[], false)
                    .map(drop)
            } else {
                w.change_tags(&loc, &cid, &[], &[tag.into()], false)
                    .map(drop)
            }
        }
        450..=479 => {
            let on = n.is_multiple_of(2);
            let mut settings = std::collections::BTreeMap::new();
            settings.insert(
                "SMS".into(),
                DndSetting {
                    status: if on { "active" } else { "inactive" }.into(),
                    message: Some("Changed by contact".into()),
                    code: None,
                },
            );
            let input = ContactInput {
                dnd: Some(on),
                dnd_settings: Some(settings),
                ..ContactInput::default()
            };
            w.update_contact(&loc, &cid, input).map(drop)
        }
        480..=629 => {
            let due = w.now() + (n % 14) as i64 * 86_400_000 - 3 * 86_400_000;
            let t = TaskInput {
                title: Some(
                    ["Call back", "Send proposal", "Book follow-up"][n as usize % 3].into(),
                ),
                body: Patch::Set("Created by the activity generator".into()),
                due_date: Some(due),
                completed: Some(false),
                ..TaskInput::default()
            };
            w.create_task(&loc, &cid, t).map(drop)
        }
        630..=729 => first_task(w, &loc, &cid, |t| !t.completed).map_or(Ok(()), |tid| {
            let t = TaskInput {
                completed: Some(true),
                ..TaskInput::default()
            };
            w.update_task(&loc, &cid, &tid, t).map(drop)
        }),
        730..=759 => first_task(w, &loc, &cid, |_| true)
            .map_or(Ok(()), |tid| w.delete_task(&loc, &cid, &tid)),
        760..=839 => {
            let note = NoteInput {
                body: Some(format!("Call summary #{n}: interested, wants a quote.").into()),
                ..NoteInput::default()
            };
            w.create_note(&loc, &cid, note).map(drop)
        }
        840..=889 => first_note(w, &loc, &cid).map_or(Ok(()), |nid| {
            let note = NoteInput {
                body: Some(format!("Updated summary #{n}").into()),
                ..NoteInput::default()
            };
            w.update_note(&loc, &cid, &nid, note).map(drop)
        }),
        890..=909 => {
            first_note(w, &loc, &cid).map_or(Ok(()), |nid| w.delete_note(&loc, &cid, &nid))
        }
        910..=959 => {
            let cal = w
                .location(&loc)
                .ok()
                .and_then(|l| l.calendars.first().map(|c| c.id.clone()));
            let start = w.now() + (n % 10) as i64 * 86_400_000;
            let a = AppointmentInput {
                calendar_id: cal,
                contact_id: Some(cid.clone()),
                start_time: Some(start),
                ..AppointmentInput::default()
            };
            w.create_appointment(&loc, a).map(drop)
        }
        960..=989 => first_appointment(w, &loc).map_or(Ok(()), |aid| {
            let a = AppointmentInput {
                status: Some(["confirmed", "showed", "noshow", "cancelled"][n as usize % 4].into()),
                ..AppointmentInput::default()
            };
            w.update_appointment(&loc, &aid, a).map(drop)
        }),
        990..=996 => {
            first_appointment(w, &loc).map_or(Ok(()), |aid| w.delete_appointment(&loc, &aid))
        }
        _ => w.delete_contact(&loc, &cid),
    };
}

fn first_task(
    w: &World,
    loc: &str,
    cid: &str,
    f: impl Fn(&crate::model::Task) -> bool,
) -> Option<Str> {
    let c = w.location(loc).ok()?.contact(cid).ok()?;
    c.tasks.iter().find(|t| f(t)).map(|t| t.id.clone())
}

fn first_note(w: &World, loc: &str, cid: &str) -> Option<Str> {
    let c = w.location(loc).ok()?.contact(cid).ok()?;
    c.notes.first().map(|n| n.id.clone())
}

fn first_appointment(w: &mut World, loc: &str) -> Option<Str> {
    let ids: Vec<Str> = w.location(loc).ok()?.appointments.keys().cloned().collect();
    ids.choose(w.rng()).cloned()
}
