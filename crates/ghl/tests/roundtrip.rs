//! Every `Location` method against a real sandbox, checked against the sandbox's own data.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{start, Env};
use futures::TryStreamExt;
use ghl::api::{BulkTagAction, EventsQuery, SearchRequest, TaskSearchRequest};
use ghl::models::{AppointmentInput, ContactInput, NewTask, NoteInput, TaskUpdate};
use ghl::operations::operation;
use ghl::GhlError;
use serde_json::json;
use std::collections::BTreeSet;

fn ms(t: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t).unwrap()
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A sandbox contact of `loc` chosen by `pick` over (id, contact).
fn find_contact(
    env: &Env,
    loc: &str,
    pick: impl Fn(&ghl_sandbox::model::Contact) -> bool,
) -> String {
    env.sandbox()
        .read(|w| {
            let l = w.location(loc).unwrap();
            l.by_added
                .iter()
                .map(|(_, id)| &l.contacts[id])
                .find(|c| pick(c))
                .map(|c| c.id.clone())
                .expect("a seeded contact fits")
        })
        .to_string()
}

fn sandbox_contact(env: &Env, loc: &str, id: &str) -> Option<ghl_sandbox::model::Contact> {
    env.sandbox().read(|w| {
        w.location(loc)
            .unwrap()
            .contacts
            .get(id)
            .map(|c| (**c).clone())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_create_get_update_upsert_duplicate_delete() {
    let env = start().await;
    let loc_id = env.locations[0].clone();
    let loc = env.fast_client().location(&loc_id);

    let input = ContactInput {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email: Some("ada.lovelace@example.org".into()),
        phone: Some("+1 555 010 9999".into()),
        city: Some("London".into()),
        tags: Some(strings(&["Math", "vip"])),
        ..Default::default()
    };
    let created = loc.create_contact(&input).await.unwrap();
    assert!(!created.id.is_empty());
    assert_eq!(created.location_id, loc_id);
    assert_eq!(created.first_name.as_deref(), Some("Ada"));
    assert_eq!(created.email.as_deref(), Some("ada.lovelace@example.org"));
    assert_eq!(created.tags, strings(&["math", "vip"]));
    let stored = sandbox_contact(&env, &loc_id, &created.id).expect("the sandbox holds it");
    assert_eq!(stored.first_name.as_deref(), Some("Ada"));
    assert_eq!(stored.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(stored.city.as_deref(), Some("London"));
    assert_eq!(stored.tags, created.tags);
    assert_eq!(
        created.date_added.map(|t| t.timestamp_millis()),
        Some(stored.date_added)
    );

    let got = loc.get_contact(&created.id).await.unwrap();
    assert_eq!(got, created);

    let updated = loc
        .update_contact(
            &created.id,
            &ContactInput {
                city: Some("Paris".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.city.as_deref(), Some("Paris"));
    assert_eq!(
        updated.first_name.as_deref(),
        Some("Ada"),
        "fields not given stay"
    );
    assert_eq!(
        sandbox_contact(&env, &loc_id, &created.id)
            .unwrap()
            .city
            .as_deref(),
        Some("Paris")
    );

    // Upsert by the same email (any case) updates that contact.
    let (is_new, same) = loc
        .upsert_contact(&ContactInput {
            email: Some("Ada.Lovelace@example.org".into()),
            last_name: Some("Byron".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!is_new);
    assert_eq!(same.id, created.id);
    assert_eq!(same.last_name.as_deref(), Some("Byron"));
    assert_eq!(
        sandbox_contact(&env, &loc_id, &created.id)
            .unwrap()
            .last_name
            .as_deref(),
        Some("Byron")
    );
    // A new email makes a new contact.
    let (is_new, grace) = loc
        .upsert_contact(&ContactInput {
            email: Some("grace.hopper@example.org".into()),
            first_name: Some("Grace".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(is_new);
    assert_ne!(grace.id, created.id);
    assert_eq!(
        sandbox_contact(&env, &loc_id, &grace.id)
            .unwrap()
            .first_name
            .as_deref(),
        Some("Grace")
    );

    let dup = loc
        .find_duplicate(Some("ADA.LOVELACE@example.org"), None)
        .await
        .unwrap();
    assert_eq!(dup.map(|c| c.id), Some(created.id.clone()));
    let dup = loc
        .find_duplicate(None, Some("+15550109999"))
        .await
        .unwrap();
    assert_eq!(dup.map(|c| c.id), Some(created.id.clone()));
    assert_eq!(
        loc.find_duplicate(Some("nobody@example.org"), None)
            .await
            .unwrap(),
        None
    );

    assert!(loc.delete_contact(&created.id).await.unwrap());
    assert!(sandbox_contact(&env, &loc_id, &created.id).is_none());
    let err = loc.get_contact(&created.id).await.unwrap_err();
    assert!(matches!(err, GhlError::NotFound { .. }), "{err:?}");
    assert_eq!(
        loc.find_duplicate(Some("ada.lovelace@example.org"), None)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_by_business_bulk_business_and_contact_appointments() {
    let env = start().await;
    let loc_id = env.locations[1].clone();
    let loc = env.fast_client().location(&loc_id);

    // The business with the most seeded contacts, and its contacts oldest first.
    let (business, members, outsiders) = env.sandbox().read(|w| {
        let l = w.location(&loc_id).unwrap();
        let ordered: Vec<&ghl_sandbox::model::Contact> =
            l.by_added.iter().map(|(_, id)| &*l.contacts[id]).collect();
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for c in &ordered {
            if let Some(b) = &c.business_id {
                *counts.entry(b.to_string()).or_default() += 1;
            }
        }
        let (b, _) = counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .expect("seeded businesses");
        let members: Vec<String> = ordered
            .iter()
            .filter(|c| c.business_id.as_deref() == Some(&b))
            .map(|c| c.id.to_string())
            .collect();
        let outsiders: Vec<String> = ordered
            .iter()
            .filter(|c| c.business_id.is_none())
            .take(2)
            .map(|c| c.id.to_string())
            .collect();
        (b, members, outsiders)
    });
    assert!(members.len() >= 2, "{members:?}");
    assert_eq!(outsiders.len(), 2);

    let (contacts, count) = loc
        .contacts_by_business(&business, 0, 100, None)
        .await
        .unwrap();
    assert_eq!(
        contacts.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        members
    );
    assert_eq!(count, members.len() as u64);
    assert!(contacts
        .iter()
        .all(|c| c.business_id.as_deref() == Some(business.as_str())));
    let (page, count) = loc
        .contacts_by_business(&business, 1, 1, None)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        members[1..2].to_vec()
    );
    assert_eq!(count, members.len() as u64);

    let changed = loc
        .bulk_business(&outsiders, Some(&business))
        .await
        .unwrap();
    assert_eq!(changed, outsiders);
    for id in &outsiders {
        assert_eq!(
            sandbox_contact(&env, &loc_id, id)
                .unwrap()
                .business_id
                .as_deref(),
            Some(business.as_str())
        );
    }
    let (_, count) = loc
        .contacts_by_business(&business, 0, 100, None)
        .await
        .unwrap();
    assert_eq!(count, members.len() as u64 + 2);
    let changed = loc.bulk_business(&outsiders, None).await.unwrap();
    assert_eq!(changed, outsiders);
    for id in &outsiders {
        assert_eq!(
            sandbox_contact(&env, &loc_id, id).unwrap().business_id,
            None
        );
    }

    // A contact's appointments, in the sandbox's order (start time, then id).
    let (contact, want) = env.sandbox().read(|w| {
        let l = w.location(&loc_id).unwrap();
        let mut by_contact = std::collections::BTreeMap::<String, Vec<(i64, String)>>::new();
        for a in l.appointments.values() {
            by_contact
                .entry(a.contact_id.to_string())
                .or_default()
                .push((a.start_time, a.id.to_string()));
        }
        let (c, mut v) = by_contact.into_iter().next().expect("seeded appointments");
        v.sort();
        (c, v.into_iter().map(|(_, id)| id).collect::<Vec<_>>())
    });
    let got = loc.contact_appointments(&contact).await.unwrap();
    assert_eq!(got.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), want);
    assert!(got
        .iter()
        .all(|a| a.contact_id.as_deref() == Some(contact.as_str())));
    let none = find_contact(&env, &loc_id, |c| {
        env.sandbox().read(|w| {
            w.location(&loc_id)
                .unwrap()
                .appointments
                .values()
                .all(|a| a.contact_id != c.id)
        })
    });
    assert!(loc.contact_appointments(&none).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_and_notes_crud() {
    let env = start().await;
    let loc_id = env.locations[0].clone();
    let loc = env.fast_client().location(&loc_id);
    let cid = find_contact(&env, &loc_id, |c| {
        !c.tasks.is_empty() && !c.notes.is_empty()
    });
    let seeded = sandbox_contact(&env, &loc_id, &cid).unwrap();

    let tasks = loc.tasks(&cid).await.unwrap();
    assert_eq!(
        tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        seeded
            .tasks
            .iter()
            .map(|t| t.id.clone())
            .collect::<Vec<_>>()
    );
    for (t, s) in tasks.iter().zip(&seeded.tasks) {
        assert_eq!(t.title, s.title);
        assert_eq!(t.completed, s.completed);
        assert_eq!(t.due_date.map(|d| d.timestamp_millis()), Some(s.due_date));
        assert_eq!(t.contact_id.as_deref(), Some(cid.as_str()));
    }

    let due = ms((now_ms() / 1000) * 1000 + 86_400_000);
    let new = NewTask {
        title: "Call back".into(),
        body: Some("about the invoice".into()),
        due_date: due,
        completed: false,
        assigned_to: None,
    };
    let t = loc.create_task(&cid, &new).await.unwrap();
    assert_eq!(t.title, "Call back");
    assert_eq!(t.body.as_deref(), Some("about the invoice"));
    assert_eq!(t.due_date, Some(due));
    assert!(!t.completed);
    assert_eq!(t.contact_id.as_deref(), Some(cid.as_str()));
    let in_sandbox = |env: &Env, tid: &str| {
        sandbox_contact(env, &loc_id, &cid)
            .unwrap()
            .tasks
            .into_iter()
            .find(|x| x.id == tid)
    };
    let s = in_sandbox(&env, &t.id).expect("task stored");
    assert_eq!(
        (s.title.as_str(), s.due_date, s.completed),
        ("Call back", due.timestamp_millis(), false)
    );

    let read = loc.task(&cid, &t.id).await.unwrap();
    assert_eq!(
        (read.id.as_str(), read.title.as_str(), read.due_date),
        (t.id.as_str(), "Call back", Some(due))
    );

    let upd = loc
        .update_task(
            &cid,
            &t.id,
            &TaskUpdate {
                title: Some("Call back today".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(upd.title, "Call back today");
    assert_eq!(upd.body.as_deref(), Some("about the invoice"));
    assert_eq!(in_sandbox(&env, &t.id).unwrap().title, "Call back today");

    let done = loc.set_task_completed(&cid, &t.id, true).await.unwrap();
    assert!(done.completed);
    assert!(in_sandbox(&env, &t.id).unwrap().completed);
    let reopened = loc.set_task_completed(&cid, &t.id, false).await.unwrap();
    assert!(!reopened.completed);
    assert!(!in_sandbox(&env, &t.id).unwrap().completed);

    assert!(loc.delete_task(&cid, &t.id).await.unwrap());
    assert!(in_sandbox(&env, &t.id).is_none());
    let err = loc.task(&cid, &t.id).await.unwrap_err();
    assert!(matches!(err, GhlError::NotFound { .. }), "{err:?}");

    // Notes.
    let notes = loc.notes(&cid).await.unwrap();
    assert_eq!(
        notes
            .iter()
            .map(|n| (n.id.to_string(), n.body.to_string()))
            .collect::<Vec<_>>(),
        seeded
            .notes
            .iter()
            .map(|n| (n.id.to_string(), n.body.to_string()))
            .collect::<Vec<_>>()
    );
    let n = loc
        .create_note(
            &cid,
            &NoteInput {
                body: "Met at the fair".into(),
                user_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(n.body, "Met at the fair");
    assert_eq!(n.contact_id.as_deref(), Some(cid.as_str()));
    let note_in_sandbox = |env: &Env, nid: &str| {
        sandbox_contact(env, &loc_id, &cid)
            .unwrap()
            .notes
            .into_iter()
            .find(|x| x.id == nid)
    };
    assert_eq!(
        note_in_sandbox(&env, &n.id).unwrap().body,
        "Met at the fair"
    );
    assert_eq!(loc.note(&cid, &n.id).await.unwrap().body, "Met at the fair");
    let u = loc
        .update_note(
            &cid,
            &n.id,
            &NoteInput {
                body: "Met at the spring fair".into(),
                user_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.id.as_str(), u.body.as_str()),
        (n.id.as_str(), "Met at the spring fair")
    );
    assert_eq!(
        note_in_sandbox(&env, &n.id).unwrap().body,
        "Met at the spring fair"
    );
    assert_eq!(loc.notes(&cid).await.unwrap().len(), seeded.notes.len() + 1);
    assert!(loc.delete_note(&cid, &n.id).await.unwrap());
    assert!(note_in_sandbox(&env, &n.id).is_none());
    let err = loc.note(&cid, &n.id).await.unwrap_err();
    assert!(matches!(err, GhlError::NotFound { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_bulk_tags_followers_campaigns_workflows() {
    let env = start().await;
    let loc_id = env.locations[2].clone();
    let loc = env.fast_client().location(&loc_id);
    let ids = env.contact_ids(&loc_id);
    let (c, c2) = (ids[0].clone(), ids[1].clone());
    let tags_of = |env: &Env, id: &str| plain(&sandbox_contact(env, &loc_id, id).unwrap().tags);

    let after = loc
        .add_tags(&c, &strings(&["  Gold ", "VIP", "vip"]))
        .await
        .unwrap();
    assert!(
        after.contains(&"gold".to_string()) && after.contains(&"vip".to_string()),
        "{after:?}"
    );
    assert_eq!(after.iter().filter(|t| *t == "vip").count(), 1);
    assert_eq!(after, tags_of(&env, &c));
    let after = loc.remove_tags(&c, &strings(&["gold"])).await.unwrap();
    assert!(!after.contains(&"gold".to_string()), "{after:?}");
    assert_eq!(after, tags_of(&env, &c));

    let targets = vec![c.clone(), c2.clone(), "notacontact0000000000".to_string()];
    let r = loc
        .bulk_tags(BulkTagAction::Add, &targets, &strings(&["Bulk-A"]), false)
        .await
        .unwrap();
    assert!(!r.succeeded, "one of three contacts does not exist");
    assert_eq!(r.error_count, Some(1));
    assert_eq!(r.responses.len(), 3, "{:?}", r.responses);
    assert_eq!(r.responses[0]["contactId"], json!(c));
    assert_eq!(r.responses[0]["type"], json!("success"));
    assert_eq!(r.responses[2]["type"], json!("error"));
    assert!(tags_of(&env, &c).contains(&"bulk-a".to_string()));
    assert!(tags_of(&env, &c2).contains(&"bulk-a".to_string()));
    let r = loc
        .bulk_tags(
            BulkTagAction::Remove,
            &targets[..2],
            &strings(&["bulk-a"]),
            false,
        )
        .await
        .unwrap();
    assert!(r.succeeded);
    assert_eq!(r.error_count, Some(0));
    assert!(!tags_of(&env, &c).contains(&"bulk-a".to_string()));
    assert!(!tags_of(&env, &c2).contains(&"bulk-a".to_string()));

    // Followers: users of the location.
    let users: Vec<String> = env
        .sandbox()
        .read(|w| plain(&w.location(&loc_id).unwrap().users));
    let before = plain(&sandbox_contact(&env, &loc_id, &c).unwrap().followers);
    let new: Vec<String> = users
        .iter()
        .filter(|u| !before.contains(u))
        .take(2)
        .cloned()
        .collect();
    assert_eq!(new.len(), 2);
    let followers = loc.add_followers(&c, &new).await.unwrap();
    assert!(new.iter().all(|u| followers.contains(u)), "{followers:?}");
    assert_eq!(
        followers,
        plain(&sandbox_contact(&env, &loc_id, &c).unwrap().followers)
    );
    let followers = loc.remove_followers(&c, &new[..1]).await.unwrap();
    assert!(
        !followers.contains(&new[0]) && followers.contains(&new[1]),
        "{followers:?}"
    );
    assert_eq!(
        followers,
        plain(&sandbox_contact(&env, &loc_id, &c).unwrap().followers)
    );

    // Campaigns.
    let campaigns = |env: &Env| plain(&sandbox_contact(env, &loc_id, &c).unwrap().campaigns);
    assert!(loc.add_to_campaign(&c, "campaign-one").await.unwrap());
    assert!(loc.add_to_campaign(&c, "campaign-two").await.unwrap());
    assert!(campaigns(&env).contains(&"campaign-one".to_string()));
    assert!(loc.remove_from_campaign(&c, "campaign-one").await.unwrap());
    assert!(!campaigns(&env).contains(&"campaign-one".to_string()));
    assert!(campaigns(&env).contains(&"campaign-two".to_string()));
    assert!(loc.remove_from_all_campaigns(&c).await.unwrap());
    assert!(campaigns(&env).is_empty());

    // Workflows.
    let workflows = |env: &Env| plain(&sandbox_contact(env, &loc_id, &c).unwrap().workflows);
    assert!(loc
        .add_to_workflow(&c, "workflow-one", Some(Utc::now()))
        .await
        .unwrap());
    assert!(loc.add_to_workflow(&c, "workflow-two", None).await.unwrap());
    assert!(workflows(&env).contains(&"workflow-one".to_string()));
    assert!(loc.remove_from_workflow(&c, "workflow-one").await.unwrap());
    assert_eq!(workflows(&env), strings(&["workflow-two"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appointments_events_and_appointment_notes() {
    let env = start().await;
    let loc_id = env.locations[0].clone();
    let loc = env.fast_client().location(&loc_id);
    let calendar = env.calendars(&loc_id)[0].clone();
    let contact = env.contact_ids(&loc_id)[3].clone();

    let t0 = ms(((now_ms() / 60_000) + 7 * 24 * 60) * 60_000);
    let minutes = chrono::Duration::minutes;
    let a = loc
        .create_appointment(&AppointmentInput {
            calendar_id: Some(calendar.clone()),
            contact_id: Some(contact.clone()),
            start_time: Some(t0),
            end_time: Some(t0 + minutes(30)),
            title: Some("Consultation".into()),
            appointment_status: Some("confirmed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!a.id.is_empty());
    assert_eq!(a.calendar_id.as_deref(), Some(calendar.as_str()));
    assert_eq!(a.contact_id.as_deref(), Some(contact.as_str()));
    assert_eq!(a.location_id.as_deref(), Some(loc_id.as_str()));
    assert_eq!(
        (a.start_time, a.end_time),
        (Some(t0), Some(t0 + minutes(30)))
    );
    assert_eq!(a.appointment_status.as_deref(), Some("confirmed"));
    let stored = |env: &Env, id: &str| {
        env.sandbox()
            .read(|w| w.location(&loc_id).unwrap().appointments.get(id).cloned())
    };
    let s = stored(&env, &a.id).expect("appointment stored");
    assert_eq!(
        (s.title.as_str(), s.start_time),
        ("Consultation", t0.timestamp_millis())
    );

    let got = loc.appointment(&a.id).await.unwrap();
    assert_eq!(
        (got.id.as_str(), got.title.as_deref()),
        (a.id.as_str(), Some("Consultation"))
    );
    assert_eq!(
        (got.start_time, got.end_time),
        (Some(t0), Some(t0 + minutes(30)))
    );

    let t1 = t0 + minutes(90);
    let edited = loc
        .edit_appointment(
            &a.id,
            &AppointmentInput {
                title: Some("Consultation (moved)".into()),
                start_time: Some(t1),
                end_time: Some(t1 + minutes(45)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.id, a.id);
    assert_eq!(edited.title.as_deref(), Some("Consultation (moved)"));
    assert_eq!(
        (edited.start_time, edited.end_time),
        (Some(t1), Some(t1 + minutes(45)))
    );
    let s = stored(&env, &a.id).unwrap();
    assert_eq!(
        (s.title.as_str(), s.start_time, s.end_time),
        (
            "Consultation (moved)",
            t1.timestamp_millis(),
            (t1 + minutes(45)).timestamp_millis()
        )
    );

    // Events of the calendar in a range, against the sandbox's own overlap rule.
    let (start, end) = (t1 - minutes(24 * 60), t1 + minutes(24 * 60));
    let events = loc
        .calendar_events(&EventsQuery {
            start: Some(start),
            end: Some(end),
            calendar_id: Some(calendar.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let want: BTreeSet<String> = env.sandbox().read(|w| {
        w.location(&loc_id)
            .unwrap()
            .appointments
            .values()
            .filter(|x| x.calendar_id == calendar)
            .filter(|x| {
                x.end_time >= start.timestamp_millis() && x.start_time <= end.timestamp_millis()
            })
            .map(|x| x.id.to_string())
            .collect()
    });
    let got: BTreeSet<String> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(got, want);
    assert!(got.contains(&a.id));
    assert!(loc
        .contact_appointments(&contact)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == a.id));
    let err = loc
        .calendar_events(&EventsQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(err, GhlError::InvalidInput(_)), "{err:?}");

    // Notes of the new appointment: none, then three, paged.
    assert!(loc.all_appointment_notes(&a.id).await.unwrap().is_empty());
    let mut created = Vec::new();
    for body in ["first", "second", "third"] {
        let n = loc
            .create_appointment_note(
                &a.id,
                &NoteInput {
                    body: body.into(),
                    user_id: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(n.body, body);
        assert_eq!(n.contact_id.as_deref(), Some(contact.as_str()));
        created.push(n.id);
    }
    let (page, more) = loc.appointment_notes(&a.id, 2, 0).await.unwrap();
    assert_eq!(
        page.iter().map(|n| n.id.clone()).collect::<Vec<_>>(),
        created[..2].to_vec()
    );
    assert!(more);
    let (page, more) = loc.appointment_notes(&a.id, 2, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|n| n.id.clone()).collect::<Vec<_>>(),
        created[2..].to_vec()
    );
    assert!(!more);
    let u = loc
        .update_appointment_note(
            &a.id,
            &created[1],
            &NoteInput {
                body: "second, edited".into(),
                user_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.id.as_str(), u.body.as_str()),
        (created[1].as_str(), "second, edited")
    );
    assert!(loc
        .delete_appointment_note(&a.id, &created[0])
        .await
        .unwrap());
    let all = loc.all_appointment_notes(&a.id).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|n| (n.id.clone(), n.body.clone()))
            .collect::<Vec<_>>(),
        vec![
            (created[1].clone(), "second, edited".to_string()),
            (created[2].clone(), "third".to_string())
        ]
    );
    let in_sandbox: Vec<(String, String)> = env.sandbox().read(|w| {
        w.location(&loc_id).unwrap().appointment_notes[a.id.as_str()]
            .iter()
            .map(|n| (n.id.to_string(), n.body.to_string()))
            .collect()
    });
    assert_eq!(
        in_sandbox,
        all.iter()
            .map(|n| (n.id.clone(), n.body.clone()))
            .collect::<Vec<_>>()
    );

    // A seeded appointment's notes match the sandbox's.
    let (seeded, want) = env.sandbox().read(|w| {
        let l = w.location(&loc_id).unwrap();
        let (id, notes) = l
            .appointment_notes
            .iter()
            .find(|(id, _)| **id != a.id)
            .expect("seeded notes");
        (
            id.clone(),
            notes.iter().map(|n| n.id.clone()).collect::<Vec<_>>(),
        )
    });
    let got: Vec<String> = loc
        .all_appointment_notes(&seeded)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(got, want);

    assert!(loc.delete_event(&a.id).await.unwrap());
    assert!(stored(&env, &a.id).is_none());
    let err = loc.appointment(&a.id).await.unwrap_err();
    assert!(matches!(err, GhlError::NotFound { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_pages_and_streams() {
    let env = start().await;
    let loc_id = env.locations[1].clone();
    let loc = env.fast_client().location(&loc_id);
    let by_added = env.contact_ids(&loc_id);
    assert_eq!(by_added.len(), 30);
    let all: BTreeSet<String> = by_added.iter().cloned().collect();

    // One page, default order: newest first.
    let page = loc
        .search_contacts(&SearchRequest::new().page_limit(5))
        .await
        .unwrap();
    assert_eq!(page.total, Some(30));
    let newest: Vec<String> = by_added.iter().rev().take(5).cloned().collect();
    assert_eq!(
        page.contacts
            .iter()
            .map(|c| c.id.clone())
            .collect::<Vec<_>>(),
        newest
    );
    assert!(page.contacts.iter().all(|c| c.search_after.is_some()));

    // Free text finds a contact by its email.
    let (target, email) = env.sandbox().read(|w| {
        let l = w.location(&loc_id).unwrap();
        let c = l.contacts.values().find(|c| c.email.is_some()).unwrap();
        (c.id.clone(), c.email.clone().unwrap())
    });
    let found = loc
        .search_contacts(&SearchRequest::new().query(email.clone()))
        .await
        .unwrap();
    assert_eq!(
        found
            .contacts
            .iter()
            .map(|c| c.id.clone())
            .collect::<Vec<_>>(),
        vec![target]
    );

    // The stream follows the cursor: every contact exactly once, five requests of seven.
    let before = search_requests(&env, &loc_id).await;
    let streamed: Vec<ghl::models::Contact> = loc
        .search_stream(SearchRequest::new().page_limit(7))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<String> = streamed.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids.len(), 30);
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), all);
    assert_eq!(
        ids,
        by_added.iter().rev().cloned().collect::<Vec<_>>(),
        "newest first, no repeats"
    );
    assert_eq!(search_requests(&env, &loc_id).await - before, 5);

    // Changed since: the contacts the sandbox has with dateUpdated >= since, oldest change first.
    let mut updated: Vec<(i64, String)> = env.sandbox().read(|w| {
        w.location(&loc_id)
            .unwrap()
            .by_updated
            .iter()
            .map(|(t, id)| (*t, id.to_string()))
            .collect()
    });
    let since = updated[updated.len() / 2].0;
    updated.retain(|(t, _)| *t >= since);
    let streamed: Vec<ghl::models::Contact> = loc
        .search_stream(SearchRequest::new().page_limit(7).updated_since(ms(since)))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        streamed.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        updated.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>()
    );
    // A change made now comes last.
    let touched = by_added[0].clone();
    loc.update_contact(
        &touched,
        &ContactInput {
            city: Some("Lisbon".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let streamed: Vec<String> = loc
        .search_stream(SearchRequest::new().page_limit(7).updated_since(ms(since)))
        .map_ok(|c| c.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.last(), Some(&touched));
    assert_eq!(streamed.iter().filter(|id| **id == touched).count(), 1);

    // A filter and a sort of our own, paged by cursor: the sandbox's contacts with the most
    // common tag, by email then id.
    let (tag, mut want) = env.sandbox().read(|w| {
        let l = w.location(&loc_id).unwrap();
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for c in l.contacts.values() {
            for t in c.tags.iter() {
                *counts.entry(t.to_string()).or_default() += 1;
            }
        }
        let (tag, _) = counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .expect("seeded tags");
        let want: Vec<(String, String)> = l
            .contacts
            .values()
            .filter(|c| c.tags.iter().any(|t| *t == tag))
            .map(|c| {
                let email = c.email.as_ref().map(|e| e.to_string()).unwrap_or_default();
                (email.to_lowercase(), c.id.to_string())
            })
            .collect();
        (tag, want)
    });
    want.sort();
    assert!(want.len() > 4, "{tag} is on {} contacts", want.len());
    let sorted: Vec<String> = loc
        .search_stream(
            SearchRequest::new()
                .page_limit(4)
                .filter("tags", "contains", json!([tag]))
                .sort_by("email", false),
        )
        .map_ok(|c| c.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        sorted,
        want.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );

    // The deprecated listing: oldest first, every contact once.
    let first = loc.list_contacts(7, None, None).await.unwrap();
    assert_eq!(first.total, Some(30));
    assert_eq!(first.contacts.len(), 7);
    assert_eq!(
        first.next.as_ref().map(|(_, id)| id.clone()),
        Some(by_added[6].clone())
    );
    let listed: Vec<String> = loc
        .list_stream(7)
        .map_ok(|c| c.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, by_added);
}

async fn search_requests(env: &Env, loc: &str) -> usize {
    env.requests(loc)
        .await
        .iter()
        .filter(|r| r["route"] == "/contacts/search" && r["method"] == "POST")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_runs_any_operation_of_the_table() {
    let env = start().await;
    let loc_id = env.locations[2].clone();
    let loc = env.fast_client().location(&loc_id);
    let ids = env.contact_ids(&loc_id);
    let p = |k: &str, v: &str| (k.to_string(), v.to_string());

    let v = loc
        .call(
            operation("get-contact").unwrap(),
            &[p("contactId", &ids[0])],
            None,
        )
        .await
        .unwrap();
    assert_eq!(v["contact"]["id"], json!(ids[0]));

    // Parameters that are not in the path go to the query string.
    let v = loc
        .call(
            operation("get-contacts").unwrap(),
            &[p("locationId", &loc_id), p("limit", "3")],
            None,
        )
        .await
        .unwrap();
    let listed: Vec<&str> = v["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ids[..3].iter().map(String::as_str).collect::<Vec<_>>()
    );

    let v = loc
        .call(
            operation("add-tags").unwrap(),
            &[p("contactId", &ids[1])],
            Some(&json!({"tags": ["Via-Call"]})),
        )
        .await
        .unwrap();
    assert!(
        v["tags"].as_array().unwrap().contains(&json!("via-call")),
        "{v}"
    );
    assert!(sandbox_contact(&env, &loc_id, &ids[1])
        .unwrap()
        .tags
        .iter()
        .any(|t| t == "via-call"));

    let err = loc
        .call(
            operation("get-task").unwrap(),
            &[p("contactId", &ids[0])],
            None,
        )
        .await
        .unwrap_err();
    match err {
        GhlError::InvalidInput(m) => assert!(m.contains("taskId"), "{m}"),
        e => panic!("expected InvalidInput, got {e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn location_profile_custom_fields_users_and_calendars() {
    let env = start().await;
    let loc_id = env.locations[1].clone();
    let loc = env.fast_client().location(&loc_id);
    let (name, profile, fields, users) = env.sandbox().read(|w| {
        let l = w.location(&loc_id).unwrap();
        (
            l.name.clone(),
            l.profile.clone(),
            l.custom_fields.clone(),
            l.user_profiles.clone(),
        )
    });

    let d = loc.location_details().await.unwrap();
    assert_eq!(d.id, loc_id);
    assert_eq!(d.name.as_deref(), Some(name.as_str()));
    for (got, want) in [
        (&d.timezone, &profile.timezone),
        (&d.address, &profile.address),
        (&d.city, &profile.city),
        (&d.state, &profile.state),
        (&d.country, &profile.country),
        (&d.postal_code, &profile.postal_code),
        (&d.email, &profile.email),
        (&d.phone, &profile.phone),
        (&d.website, &profile.website),
    ] {
        assert_eq!(got.as_deref(), Some(want.as_str()));
    }

    let defs = loc.custom_fields().await.unwrap();
    assert!(!fields.is_empty(), "the sandbox seeds custom fields");
    assert_eq!(defs.len(), fields.len());
    for (got, want) in defs.iter().zip(&fields) {
        assert_eq!(got.id, want.id.as_str());
        assert_eq!(got.name.as_deref(), Some(want.name));
        assert_eq!(got.field_key.as_deref(), Some(want.field_key));
        assert_eq!(got.data_type.as_deref(), Some(want.data_type.as_str()));
        assert_eq!(got.position, Some(u64::from(want.position)));
        let options: Vec<&str> = got.picklist_options.iter().map(String::as_str).collect();
        if want.data_type.has_options() {
            assert_eq!(options, want.options);
        } else {
            assert!(options.is_empty(), "{options:?}");
        }
    }

    let got = loc.users().await.unwrap();
    assert!(!users.is_empty(), "the sandbox seeds users");
    assert_eq!(
        got.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>()
    );
    for (u, want) in got.iter().zip(&users) {
        assert_eq!(u.email.as_deref(), Some(want.email.as_str()));
        assert_eq!(u.first_name.as_deref(), Some(want.first_name.as_str()));
        assert_eq!(u.last_name.as_deref(), Some(want.last_name.as_str()));
        assert_eq!(u.display_name(), want.name());
    }

    let calendars = loc.calendars().await.unwrap();
    assert_eq!(
        calendars.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        env.calendars(&loc_id)
    );
    assert!(calendars
        .iter()
        .all(|c| c.location_id.as_deref() == Some(loc_id.as_str()) && !c.name.is_empty()));

    // A calendar's events come back through the location-wide listing by its id.
    let (cal, start, end) = env.sandbox().read(|w| {
        let l = w.location(&loc_id).unwrap();
        let a = l.appointments.values().next().expect("seeded appointments");
        (a.calendar_id.to_string(), a.start_time, a.end_time)
    });
    let events = loc
        .calendar_events(&EventsQuery {
            start: Some(ms(start - 1)),
            end: Some(ms(end + 1)),
            calendar_id: Some(cal.clone()),
            ..EventsQuery::default()
        })
        .await
        .unwrap();
    assert!(!events.is_empty());
    assert!(events
        .iter()
        .all(|e| e.calendar_id.as_deref() == Some(cal.as_str())));
}

/// The sandbox's tasks of a location in the order task search pages through them.
fn sandbox_tasks(env: &Env, loc: &str) -> Vec<ghl_sandbox::model::Task> {
    env.sandbox().read(|w| {
        let l = w.location(loc).unwrap();
        let mut all: Vec<_> = l
            .contacts
            .values()
            .flat_map(|c| c.tasks.iter().cloned())
            .collect();
        all.sort_by(|a, b| (a.date_added, &a.id).cmp(&(b.date_added, &b.id)));
        all
    })
}

async fn task_search_requests(env: &Env, loc: &str) -> usize {
    env.requests(loc)
        .await
        .iter()
        .filter(|r| {
            r["method"] == "POST"
                && r["route"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/tasks/search"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_search_pages_streams_and_filters() {
    let env = start().await;
    let loc_id = env.locations[0].clone();
    let loc = env.fast_client().location(&loc_id);
    let all = sandbox_tasks(&env, &loc_id);
    assert!(all.len() > 14, "the seed has tasks to page through");

    let page = loc
        .search_tasks(&TaskSearchRequest::new().skip(3).limit(5))
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        all[3..8]
            .iter()
            .map(|t| t.id.to_string())
            .collect::<Vec<_>>()
    );

    let before = task_search_requests(&env, &loc_id).await;
    let streamed: Vec<ghl::models::Task> = loc
        .task_search_stream(TaskSearchRequest::new().limit(7))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), all.len());
    for (t, s) in streamed.iter().zip(&all) {
        assert_eq!(t.id, s.id.as_str());
        assert_eq!(t.title, s.title.as_str());
        assert_eq!(t.completed, s.completed);
        assert_eq!(t.contact_id.as_deref(), Some(s.contact_id.as_str()));
        assert_eq!(t.assigned_to.as_deref(), s.assigned_to.as_deref());
        assert_eq!(t.due_date.map(|d| d.timestamp_millis()), Some(s.due_date));
    }
    // Pages of 7 until the first short one (an empty one when the count divides by 7).
    assert_eq!(
        task_search_requests(&env, &loc_id).await - before,
        all.len() / 7 + 1
    );

    // Starting further on reads only the rest.
    let rest: Vec<ghl::models::Task> = loc
        .task_search_stream(TaskSearchRequest::new().skip(10).limit(4))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        all[10..]
            .iter()
            .map(|t| t.id.to_string())
            .collect::<Vec<_>>()
    );

    let open: Vec<ghl::models::Task> = loc
        .task_search_stream(TaskSearchRequest::new().completed(false).limit(100))
        .try_collect()
        .await
        .unwrap();
    let want_open: Vec<String> = all
        .iter()
        .filter(|t| !t.completed)
        .map(|t| t.id.to_string())
        .collect();
    assert!(!want_open.is_empty() && want_open.len() < all.len());
    assert_eq!(
        open.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        want_open
    );

    let one = all[0].contact_id.to_string();
    let assignee = all
        .iter()
        .find_map(|t| t.assigned_to.clone())
        .expect("an assigned task")
        .to_string();
    let of_contact = loc
        .search_tasks(
            &TaskSearchRequest::new()
                .contact_ids([one.as_str()])
                .limit(100),
        )
        .await
        .unwrap();
    assert_eq!(
        of_contact.len(),
        all.iter().filter(|t| t.contact_id == one.as_str()).count()
    );
    assert!(of_contact
        .iter()
        .all(|t| t.contact_id.as_deref() == Some(one.as_str())));
    let assigned = loc
        .search_tasks(
            &TaskSearchRequest::new()
                .assigned_to([assignee.clone()])
                .limit(100),
        )
        .await
        .unwrap();
    assert!(!assigned.is_empty());
    assert!(assigned
        .iter()
        .all(|t| t.assigned_to.as_deref() == Some(assignee.as_str())));
    let title = all[0].title.to_string();
    let found = loc
        .search_tasks(&TaskSearchRequest::new().query(title.clone()).limit(100))
        .await
        .unwrap();
    assert!(found.iter().any(|t| t.id == all[0].id.as_str()));
    assert!(found.iter().all(|t| {
        let q = title.to_lowercase();
        t.title.to_lowercase().contains(&q)
            || t.body
                .as_deref()
                .is_some_and(|b| b.to_lowercase().contains(&q))
    }));

    // A limit of 0 would page forever: refused before any request.
    let before = task_search_requests(&env, &loc_id).await;
    assert!(matches!(
        loc.search_tasks(&TaskSearchRequest::new().limit(0)).await,
        Err(GhlError::InvalidInput(_))
    ));
    assert_eq!(task_search_requests(&env, &loc_id).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_the_new_scopes_names_the_scope_to_add() {
    let env = start().await;
    let loc_id = env.locations[0].clone();
    let old = ["contacts.readonly", "contacts.write"];
    let pit = env.mint_pit(&loc_id, &old);

    // Scopes known: refused before any request, naming the scope.
    let known = ghl::StaticTokens::default();
    known.insert(&loc_id, pit.clone().into(), Some(common::scopes(&old)));
    let client =
        ghl::GhlClient::new(common::fast_config(&env.base), std::sync::Arc::new(known)).unwrap();
    let loc = client.location(&loc_id);
    let before = env.requests(&loc_id).await.len();
    let scope_of = |e: GhlError| match e {
        GhlError::ScopeMissing { scope, .. } => scope,
        e => panic!("expected ScopeMissing, got {e:?}"),
    };
    assert_eq!(
        scope_of(loc.location_details().await.unwrap_err()),
        "locations.readonly"
    );
    assert_eq!(
        scope_of(loc.custom_fields().await.unwrap_err()),
        "locations/customFields.readonly"
    );
    assert_eq!(scope_of(loc.users().await.unwrap_err()), "users.readonly");
    assert_eq!(
        scope_of(loc.calendars().await.unwrap_err()),
        "calendars.readonly"
    );
    let err = loc
        .search_tasks(&TaskSearchRequest::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("`locations/tasks.readonly`"),
        "{err}"
    );
    assert_eq!(scope_of(err), "locations/tasks.readonly");
    assert_eq!(
        env.requests(&loc_id).await.len(),
        before,
        "nothing was sent"
    );

    // Scopes unknown (a Private Integration Token): HighLevel's own refusal says the same.
    let unknown = ghl::StaticTokens::default();
    unknown.insert(&loc_id, pit.into(), None);
    let client =
        ghl::GhlClient::new(common::fast_config(&env.base), std::sync::Arc::new(unknown)).unwrap();
    let loc = client.location(&loc_id);
    assert_eq!(scope_of(loc.users().await.unwrap_err()), "users.readonly");
    assert_eq!(
        scope_of(
            loc.search_tasks(&TaskSearchRequest::new())
                .await
                .unwrap_err()
        ),
        "locations/tasks.readonly"
    );
    assert!(env.requests(&loc_id).await.len() > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_fills_in_the_location_for_the_new_operations() {
    let env = start().await;
    let loc_id = env.locations[2].clone();
    let loc = env.fast_client().location(&loc_id);
    let v = loc
        .call(operation("get-location").unwrap(), &[], None)
        .await
        .unwrap();
    assert_eq!(v["location"]["id"], json!(loc_id));
    let v = loc
        .call(operation("get-user-by-location").unwrap(), &[], None)
        .await
        .unwrap();
    assert!(!v["users"].as_array().unwrap().is_empty(), "{v}");
    let v = loc
        .call(operation("get-calendars").unwrap(), &[], None)
        .await
        .unwrap();
    assert_eq!(
        v["calendars"].as_array().unwrap().len(),
        env.calendars(&loc_id).len()
    );
    let v = loc
        .call(operation("get-custom-fields").unwrap(), &[], None)
        .await
        .unwrap();
    assert!(!v["customFields"].as_array().unwrap().is_empty(), "{v}");
    let v = loc
        .call(
            operation("task-search").unwrap(),
            &[],
            Some(&json!({"skip": 0, "limit": 2})),
        )
        .await
        .unwrap();
    assert_eq!(v["tasks"].as_array().unwrap().len(), 2, "{v}");
}

/// The sandbox keeps short strings inline; the client speaks `String`.
fn plain(v: &[ghl_sandbox::model::Str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
