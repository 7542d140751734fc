//! The contact page and the contacts list with the location's context: HighLevel users shown
//! by name (and by id when they are not known), custom fields labelled and typed, do-not-
//! disturb per channel, times in the member's zone with the contact's beside them, and the
//! task form read in the member's zone across daylight-saving changes.

mod common;

use common::context::*;
use common::*;
use drivechat::Config;
use serde_json::json;
use store::CommandState;

on_both_backends!(
    the_contact_page_shows_names_fields_and_local_times,
    without_context_the_page_shows_ids,
    task_due_times_are_read_in_the_members_zone,
    the_contacts_list_filters_by_assignee_name,
);

pub fn config() -> Config {
    Config::default()
}

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .timestamp_millis()
}

async fn page(c: &reqwest::Client, env: &Env, path: &str) -> String {
    let r = c.get(env.at(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.unwrap()
}

/// The text of the element whose opening tag contains `marker`, up to its closing `</tag>`
/// (elements of the same tag nested inside are not expected).
fn element<'a>(html: &'a str, marker: &str, tag: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("the page has {marker}"));
    let end = html[start..]
        .find(&format!("</{tag}>"))
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

async fn the_contact_page_shows_names_fields_and_local_times(env: Env) {
    seed_context(&env, A).await;
    env.put(contact_with_fields(A, "c1", "Ann", "Smith"), &[])
        .await;
    let now = now_ms();
    let mut t1 = task(A, "t1", "c1", "Measure the roof", now + DAY, false);
    t1.assignee = Some(HL_BO.into());
    env.put(t1, &[]).await;
    // 15:00 UTC on 15 January: 10:00 in New York (EST), 20:30 in Kolkata (IST).
    let mut n = note(A, "n1", "c1", "Wants a quote", ms("2026-01-15T15:00:00Z"));
    n.data = json!({ "id": "n1", "contactId": "c1", "userId": HL_CY });
    env.put(n, &[]).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let html = page(&alice, &env, &format!("/w/{A}/contacts/c1")).await;

    // The assignee, the task's assignee and the note's author by name.
    assert!(
        element(&html, "id=\"contact-assigned-to\"", "dd").contains(HL_BO_NAME),
        "{html}"
    );
    assert!(element(&html, "data-task-id=\"t1\"", "tr").contains(HL_BO_NAME));
    let note = element(&html, "data-note-id=\"n1\"", "div");
    assert!(note.contains("Wants a quote"));
    let note_meta = &html[html.find("data-note-id=\"n1\"").unwrap()..];
    let note_meta = &note_meta[..note_meta.find("</div></div>").unwrap_or(note_meta.len())];
    assert!(note_meta.contains(HL_CY_NAME), "{note_meta}");
    // The note's time in Alice's zone (the location's), and the contact's beside it.
    assert!(
        note_meta.contains("Thu 15 Jan 2026, 10:00 EST"),
        "{note_meta}"
    );
    assert!(
        note_meta.contains("Thu 15 Jan 2026, 20:30 IST"),
        "{note_meta}"
    );
    assert!(!html.contains(" UTC<"), "no time is shown in UTC here");
    assert!(element(&html, "id=\"contact-timezone\"", "dd").contains(CONTACT_ZONE));

    // Custom fields: labels, typed values, option labels, lists, the unknown one by id.
    let fields = element(&html, "id=\"custom-fields\"", "dl");
    for (id, label, kind, shown) in [
        ("f-plan", "Plan", "text", "Gold"),
        ("f-ltv", "Lifetime value", "number", "1234.50"),
        ("f-visits", "Visits", "number", "12"),
        ("f-renew", "Renewal date", "date", "Tue 10 Mar 2026"),
        ("f-gone", "f-gone", "raw", "left over"),
    ] {
        let dt = element(fields, &format!("<dt data-field-id=\"{id}\""), "dt");
        assert!(dt.contains(label), "{id}: {dt}");
        let dd = element(
            fields,
            &format!("<dd data-field-id=\"{id}\" data-field-type=\"{kind}\""),
            "dd",
        );
        assert!(dd.contains(shown), "{id}: {dd}");
    }
    let consents = element(
        fields,
        "<dd data-field-id=\"f-consent\" data-field-type=\"list\"",
        "ul",
    );
    assert!(
        consents.contains("<li>SMS</li><li>Email</li>"),
        "{consents}"
    );

    assert!(!html.contains("fields-scope-missing"));

    // Do not disturb: off overall, on for SMS with HighLevel's message.
    let dnd = element(&html, "id=\"contact-dnd\"", "dd");
    assert!(dnd.contains("data-dnd=\"some\""), "{dnd}");
    assert!(dnd.contains("data-channel=\"SMS\" data-status=\"active\""));
    assert!(dnd.contains("Asked us to stop texting"));
    assert!(dnd.contains("data-channel=\"Email\" data-status=\"inactive\""));

    // The task form: times in Alice's zone, Alice (a HighLevel user by email) preselected,
    // everyone by name.
    let form = element(&html, "id=\"create-task-form\"", "form");
    assert!(form.contains(&format!("Time ({LOCATION_ZONE})")), "{form}");
    assert!(
        form.contains(&format!(
            "<option value=\"{HL_ALICE}\" selected>{HL_ALICE_NAME}</option>"
        )),
        "{form}"
    );
    assert!(form.contains(&format!("<option value=\"{HL_BO}\">{HL_BO_NAME}</option>")));
    assert!(!form.contains("<option value=\"\" selected>"));

    // A note Alice adds from the page carries her HighLevel user id.
    let csrf = field_value(&html, "_csrf").unwrap();
    let r = alice
        .post(env.at(&format!("/w/{A}/contacts/c1/notes")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("_idem", "note-1"),
            ("body", "Sent the quote"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cmds = env.store.commands(A, None, None, 10).await.unwrap();
    assert_eq!(cmds[0].kind, "add_note");
    assert_eq!(
        cmds[0].command,
        json!({"contact_id": "c1", "body": "Sent the quote", "user_id": HL_ALICE})
    );
}

async fn without_context_the_page_shows_ids(env: Env) {
    // The token could read nothing of the context: pages fall back to ids and UTC.
    env.store
        .set_context_missing_scopes(
            A,
            &[
                "users.readonly".into(),
                "locations/customFields.readonly".into(),
            ],
        )
        .await
        .unwrap();
    env.put(contact_with_fields(A, "c1", "Ann", "Smith"), &[])
        .await;
    let mut n = note(A, "n1", "c1", "Wants a quote", ms("2026-01-15T15:00:00Z"));
    n.data = json!({ "id": "n1", "contactId": "c1", "userId": HL_CY });
    env.put(n, &[]).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let html = page(&alice, &env, &format!("/w/{A}/contacts/c1")).await;

    assert!(element(&html, "id=\"contact-assigned-to\"", "dd").contains(HL_BO));
    assert!(!html.contains(HL_BO_NAME));
    let note_meta = &html[html.find("data-note-id=\"n1\"").unwrap()..];
    assert!(note_meta.contains(HL_CY), "the author's id");
    assert!(note_meta.contains("Thu 15 Jan 2026, 15:00 UTC"));
    assert!(note_meta.contains("Thu 15 Jan 2026, 20:30 IST"));
    let fields = element(&html, "id=\"custom-fields\"", "dl");
    let dd = element(
        fields,
        "<dd data-field-id=\"f-plan\" data-field-type=\"raw\"",
        "dd",
    );
    assert!(dd.contains("gold"), "the value as HighLevel sent it: {dd}");
    assert!(element(fields, "<dt data-field-id=\"f-plan\"", "dt").contains("f-plan"));
    assert!(
        element(&html, "data-testid=\"fields-scope-missing\"", "p")
            .contains("locations/customFields.readonly"),
        "the page says which scope to grant"
    );
    let form = element(&html, "id=\"create-task-form\"", "form");
    assert!(form.contains("Time (UTC)"), "{form}");
    assert!(form.contains("<option value=\"\" selected>Nobody</option>"));

    // A due time is then read in UTC.
    let csrf = field_value(&html, "_csrf").unwrap();
    let r = alice
        .post(env.at(&format!("/w/{A}/contacts/c1/tasks")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("_idem", "t-utc"),
            ("title", "Call back"),
            ("due", "2026-03-08"),
            ("due_time", "17:00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cmds = env.store.commands(A, None, None, 10).await.unwrap();
    assert_eq!(cmds[0].command["due_date"], "2026-03-08T17:00:00.000Z");
    assert!(cmds[0].command.get("assigned_to").is_none());
}

async fn task_due_times_are_read_in_the_members_zone(env: Env) {
    seed_context(&env, A).await;
    env.put(contact_with_fields(A, "c1", "Ann", "Smith"), &[])
        .await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let html = page(&alice, &env, &format!("/w/{A}/contacts/c1")).await;
    let csrf = field_value(&html, "_csrf").unwrap();
    let mut n = 0;
    // Posts the task form; answers the flash's kind and text, and the new command's due date.
    let mut create = |due: &'static str, time: &'static str| {
        n += 1;
        let alice = alice.clone();
        let csrf = csrf.clone();
        let url = env.at(&format!("/w/{A}/contacts/c1/tasks"));
        let store = env.store.clone();
        let key = format!("dst-{n}");
        async move {
            let before = store.commands(A, None, None, 100).await.unwrap().len();
            let r = alice
                .post(url)
                .form(&[
                    ("_csrf", csrf.as_str()),
                    ("_idem", key.as_str()),
                    ("title", "Call back"),
                    ("due", due),
                    ("due_time", time),
                    ("assigned_to", HL_ALICE),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let html = r.text().await.unwrap();
            let cmds = store.commands(A, None, None, 100).await.unwrap();
            let due_date = (cmds.len() > before).then(|| {
                assert_eq!(cmds[0].state, CommandState::Pending);
                cmds[0].command["due_date"].as_str().unwrap().to_string()
            });
            (html, due_date)
        }
    };

    // New York springs forward at 02:00 on Sunday 8 March 2026: 17:00 is EST (UTC-5) the day
    // before and EDT (UTC-4) that day.
    let (_, due) = create("2026-03-07", "17:00").await;
    assert_eq!(due.as_deref(), Some("2026-03-07T22:00:00.000Z"));
    let (html, due) = create("2026-03-08", "17:00").await;
    assert_eq!(due.as_deref(), Some("2026-03-08T21:00:00.000Z"));
    // The pending task shows its due time back in Alice's zone.
    assert!(html.contains("Sun 8 Mar 2026, 17:00 EDT"), "{html}");
    // Just after the jump, and the default time (17:00) when none is given.
    let (_, due) = create("2026-03-08", "03:00").await;
    assert_eq!(due.as_deref(), Some("2026-03-08T07:00:00.000Z"));
    let (_, due) = create("2026-03-09", "").await;
    assert_eq!(due.as_deref(), Some("2026-03-09T21:00:00.000Z"));
    // 02:30 that night never happens: refused, saying why, and nothing queued.
    let (html, due) = create("2026-03-08", "02:30").await;
    assert_eq!(due, None);
    assert!(html.contains("data-kind=\"error\""), "{html}");
    assert!(
        html.contains("does not exist in America/New_York"),
        "{html}"
    );
    // 01:30 on 1 November happens twice (EDT, then EST): the first.
    let (_, due) = create("2026-11-01", "01:30").await;
    assert_eq!(due.as_deref(), Some("2026-11-01T05:30:00.000Z"));
    // A malformed time is refused with the format expected.
    let (html, due) = create("2026-03-09", "5pm").await;
    assert_eq!(due, None);
    assert!(html.contains("HH:MM"), "{html}");

    // Alice's own zone wins over the location's: Paris is still on CET (UTC+1) on 8 March.
    let me = env.store.chat_user_by_email(ALICE).await.unwrap().unwrap();
    env.store
        .set_chat_user_timezone(me.id, Some("Europe/Paris"))
        .await
        .unwrap();
    let (html, due) = create("2026-03-08", "17:00").await;
    assert_eq!(due.as_deref(), Some("2026-03-08T16:00:00.000Z"));
    assert!(html.contains("Time (Europe/Paris)"));
    assert!(html.contains("Sun 8 Mar 2026, 17:00 CET"), "{html}");
}

async fn the_contacts_list_filters_by_assignee_name(env: Env) {
    seed_context(&env, A).await;
    env.put(contact_with_fields(A, "c1", "Ann", "Smith"), &[])
        .await;
    let mut other = contact(A, "c2", "Ben", "Jones", &[]);
    other.assignee = Some(HL_CY.into());
    env.put(other, &[]).await;
    let mut stray = contact(A, "c3", "Cat", "Kim", &[]);
    stray.assignee = Some("u-unknown".into());
    env.put(stray, &[]).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let html = page(&alice, &env, &format!("/w/{A}/contacts")).await;
    let select = element(&html, "id=\"contact-assignee\"", "select");
    for (id, label) in [
        (HL_ALICE, HL_ALICE_NAME),
        (HL_BO, HL_BO_NAME),
        (HL_CY, HL_CY_NAME),
        ("u-unknown", "u-unknown"),
    ] {
        assert!(
            select.contains(&format!("<option value=\"{id}\">{label}</option>")),
            "{id}: {select}"
        );
    }
    let row = element(&html, "data-contact-id=\"c1\"", "tr");
    assert!(row.contains(HL_BO_NAME), "{row}");
    // Filtering by a user keeps that user's contacts, named in the select.
    let html = page(&alice, &env, &format!("/w/{A}/contacts?assignee={HL_BO}")).await;
    let ids = attr_values(&html, "data-contact-id");
    assert_eq!(ids, ["c1"]);
    assert!(html.contains(&format!(
        "<option value=\"{HL_BO}\" selected>{HL_BO_NAME}</option>"
    )));
}
