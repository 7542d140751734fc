//! Links a person follows from Drive Chat (issue #12): "Open in HighLevel" on every task and
//! meeting as on the contact, an untitled meeting named alike on the contact page and the
//! meetings page, and #alerts' refused actions naming the contact they were for.

mod common;

use common::*;
use drivechat::Config;
use store::{CommandState, HighLevelCommand, NewCommand};

on_both_backends!(
    tasks_and_meetings_open_in_highlevel,
    an_untitled_meeting_reads_alike_on_both_pages,
    refused_actions_in_alerts_name_their_contact,
);

pub fn config() -> Config {
    Config {
        highlevel_app_url: "https://crm.example-agency.com/".into(),
        ..Config::default()
    }
}

const CONTACT_IN_HL: &str = "https://crm.example-agency.com/v2/location/locA/contacts/detail/c1";
const CALENDAR_IN_HL: &str = "https://crm.example-agency.com/v2/location/locA/calendars/view";

async fn page(c: &reqwest::Client, env: &Env, path: &str) -> String {
    let r = c.get(env.at(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
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

fn open_link(href: &str) -> String {
    format!(
        "class=\"open-in-highlevel\" href=\"{href}\" target=\"_blank\" rel=\"noopener noreferrer\""
    )
}

async fn seed(env: &Env) {
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    env.put(task(A, "t1", "c1", "Call back", now_ms() + DAY, false), &[])
        .await;
    let mut untitled = appointment(A, "a1", "c1", "", now_ms() + 3_600_000);
    untitled.title = None;
    env.put(untitled, &[]).await;
}

async fn tasks_and_meetings_open_in_highlevel(env: Env) {
    seed(&env).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let board = page(&alice, &env, &format!("/w/{A}/tasks")).await;
    assert!(
        task_row_html(&board, "t1").contains(&open_link(CONTACT_IN_HL)),
        "a board row opens its task (on its contact's page) in HighLevel"
    );
    let contact_page = page(&alice, &env, &format!("/w/{A}/contacts/c1")).await;
    assert!(task_row_html(&contact_page, "t1").contains(&open_link(CONTACT_IN_HL)));
    assert!(
        meeting_html(&contact_page, "a1").contains(&open_link(CALENDAR_IN_HL)),
        "a meeting opens in HighLevel's calendar"
    );
    let meetings = page(&alice, &env, &format!("/w/{A}/meetings")).await;
    assert!(meeting_html(&meetings, "a1").contains(&open_link(CALENDAR_IN_HL)));
}

async fn an_untitled_meeting_reads_alike_on_both_pages(env: Env) {
    seed(&env).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let title = "<strong class=\"meeting-title\">Meeting with Dana Reyes</strong>";
    let contact_page = page(&alice, &env, &format!("/w/{A}/contacts/c1")).await;
    assert!(
        meeting_html(&contact_page, "a1").contains(title),
        "{contact_page}"
    );
    let meetings = page(&alice, &env, &format!("/w/{A}/meetings")).await;
    assert!(meeting_html(&meetings, "a1").contains(title), "{meetings}");
}

async fn refused_actions_in_alerts_name_their_contact(env: Env) {
    seed(&env).await;
    let (id, _) = env
        .store
        .enqueue_command(&NewCommand {
            location_id: A.into(),
            command: HighLevelCommand::CompleteTask {
                contact_id: "c1".into(),
                task_id: "t1".into(),
            },
            requested_by: Some("Alice Archer".into()),
            actor: None,
            idempotency_key: None,
        })
        .await
        .unwrap();
    env.store
        .settle_command(id, CommandState::Failed, None, None, Some("refused"))
        .await
        .unwrap();
    let (alice, _) = sign_in(&env, ALICE).await;
    let alerts = page(&alice, &env, &format!("/w/{A}/alerts")).await;
    assert!(
        alerts.contains(
            "Complete task for <a class=\"contact-link\" href=\"/w/locA/contacts/c1\">Dana Reyes</a>"
        ),
        "{alerts}"
    );
}
