//! The Meetings page (issue #12, item 8): statuses as words, a future meeting never shown as a
//! no-show, the appointment's own title (else "Meeting with <contact>"), its length and its
//! owner, and the contact named and linked; the API's appointments say the same.

mod common;

use common::*;
use drivechat::Config;
use serde_json::{json, Value};
use store::ExposeSecret;

on_both_backends!(meetings_read_as_words_with_title_length_and_owner);

pub fn config() -> Config {
    Config::default()
}

/// An appointment as the sync engine writes it from HighLevel's fields: `appointmentStatus`,
/// `title` (absent when `title` is empty), `startTime`, `endTime`, `assignedUserId`.
fn meeting(id: &str, title: &str, status: &str, start_ms: i64, minutes: i64) -> store::Record {
    let mut r = appointment(A, id, "c1", title, start_ms);
    let iso = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    r.status = Some(status.into());
    r.assignee = Some("u-ned".into());
    r.data = json!({
        "id": id, "calendarId": "cal-1", "contactId": "c1", "appointmentStatus": status,
        "assignedUserId": "u-ned", "startTime": iso(start_ms),
        "endTime": iso(start_ms + minutes * 60_000),
    });
    if title.is_empty() {
        r.title = None;
    } else {
        r.data["title"] = json!(title);
    }
    r
}

/// The `div.meeting` of appointment `id` in a page.
fn meeting_html<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("data-appointment-id=\"{id}\""))
        .unwrap_or_else(|| panic!("meeting {id} is on the page"));
    let end = html[start + 1..]
        .find("data-appointment-id=")
        .map_or(html.len(), |e| start + 1 + e);
    &html[start..end]
}

async fn meetings_read_as_words_with_title_length_and_owner(env: Env) {
    seed_users(&env, A).await;
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    let now = now_ms();
    env.put(
        meeting("past-ns", "Roof survey", "NOSHOW", now - DAY, 30),
        &[],
    )
    .await;
    env.put(
        meeting("past-ok", "", "showed", now - DAY + 3_600_000, 75),
        &[],
    )
    .await;
    env.put(
        meeting("soon-ns", "Quote review", "noshow", now + DAY, 60),
        &[],
    )
    .await;
    env.put(
        meeting("soon-ok", "Follow-up", "confirmed", now + 2 * DAY, 45),
        &[],
    )
    .await;
    env.put(
        meeting(
            "odd",
            "Odd one",
            "PENDING_review",
            now - DAY + 7_200_000,
            20,
        ),
        &[],
    )
    .await;

    let (alice, _) = sign_in(&env, ALICE).await;
    let from = chrono::DateTime::from_timestamp_millis(now - 2 * DAY)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let r = alice
        .get(env.at(&format!("/w/{A}/meetings?from={from}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        !html.contains(">NOSHOW<") && !html.contains(">noshow<"),
        "no raw status"
    );

    let past = meeting_html(&html, "past-ns");
    assert!(past.contains(">No-show<"), "{past}");
    assert!(past.contains("Roof survey"), "its own title: {past}");
    assert!(past.contains(">30 min<"), "its length: {past}");
    assert!(past.contains("Ned Stone"), "its owner by name: {past}");
    assert!(
        past.contains(&format!("href=\"/w/{A}/contacts/c1\"")) && past.contains("Dana Reyes"),
        "the contact named and linked: {past}"
    );

    let untitled = meeting_html(&html, "past-ok");
    assert!(untitled.contains(">Showed<"), "{untitled}");
    assert!(untitled.contains("Meeting with Dana Reyes"), "{untitled}");
    assert!(untitled.contains(">1 h 15 min<"), "{untitled}");

    let soon = meeting_html(&html, "soon-ns");
    assert!(
        soon.contains(">Upcoming<") && !soon.contains("No-show"),
        "a future meeting is never a no-show: {soon}"
    );
    let booked = meeting_html(&html, "soon-ok");
    assert!(booked.contains(">Upcoming · Confirmed<"), "{booked}");
    assert!(booked.contains(">45 min<"), "{booked}");

    let odd = meeting_html(&html, "odd");
    assert!(
        odd.contains(">Pending Review<"),
        "unknown status in title case: {odd}"
    );

    // The API's appointments say the same.
    let token = drivechat::admin::create_api_token(&env.store, ALICE, A)
        .await
        .expect("token")
        .expose_secret()
        .to_string();
    let body: Value = reqwest::Client::new()
        .get(env.at(&format!("/api/v1/appointments?from={from}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = body["items"].as_array().expect("items");
    let get = |id: &str| {
        items
            .iter()
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {body}"))
    };
    assert_eq!(get("past-ns")["status"], "NOSHOW", "the raw status stays");
    assert_eq!(get("past-ns")["status_label"], "No-show");
    assert_eq!(get("soon-ns")["status_label"], "Upcoming");
    assert_eq!(get("past-ok")["display_title"], "Meeting with Dana Reyes");
    assert_eq!(get("past-ok")["duration_minutes"], 75);
    assert_eq!(get("past-ns")["assigned_to_name"], "Ned Stone");
}
