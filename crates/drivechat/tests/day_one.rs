//! What a newcomer meets on their first day (issue #12), decided by the server: a record
//! deleted in HighLevel while its page is open, the board's due and status filters together,
//! search by phone whatever its formatting, and being sent back to the page that asked for a
//! sign-in.

mod common;

use common::*;
use drivechat::Config;

on_both_backends!(
    deleted_records_are_marked_and_actions_refused_with_the_reason,
    open_task_count_matches_the_rows_and_the_notice_follows_its_command,
    overdue_and_done_lists_only_done_tasks,
    search_finds_phones_however_written_and_counts_in_words,
    sign_in_returns_to_the_page_that_asked_only_on_this_site,
    every_input_is_labelled_with_a_skip_link_and_contact_links,
);

pub fn config() -> Config {
    Config::default()
}

/// Writes `r` again as deleted in HighLevel, as the sync engine's tombstone does.
async fn delete_in_highlevel(env: &Env, r: store::Record) {
    let mut dead = r;
    dead.deleted_at_ms = Some(now_ms());
    env.put(dead, &[change("deleted", "Contact deleted")]).await;
}

async fn deleted_records_are_marked_and_actions_refused_with_the_reason(env: Env) {
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    env.put(contact(A, "c2", "Eli", "Stone", &[]), &[]).await;
    let t1 = task(A, "t1", "c2", "Call back", now_ms() + DAY, false);
    env.put(t1.clone(), &[]).await;
    let (alice, page) = sign_in(&env, ALICE).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    delete_in_highlevel(&env, contact(A, "c1", "Dana", "Reyes", &[])).await;
    delete_in_highlevel(&env, t1).await;

    // The page of a contact deleted meanwhile still opens, saying so.
    let contact_page = format!("/w/{A}/contacts/c1");
    let r = alice.get(env.at(&contact_page)).send().await.unwrap();
    assert_eq!(r.status(), 200, "the page of a deleted contact opens");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("data-testid=\"deleted-banner\"") && html.contains("deleted in HighLevel"),
        "the page says the contact was deleted in HighLevel"
    );
    assert!(html.contains("Dana Reyes"), "what was known is still shown");

    // An action on it comes back to the page with the reason, not a bare "Not Found".
    let r = alice
        .post(env.at(&format!("{contact_page}/notes")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("body", "Left a voicemail"),
            ("return_to", contact_page.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "refused inline, on the contact's page");
    assert!(r.url().path().ends_with("/contacts/c1"), "{}", r.url());
    let html = r.text().await.unwrap();
    assert!(
        html.contains("data-kind=\"error\"")
            && html.contains("this contact was deleted in HighLevel, so nothing was sent"),
        "the refusal says why"
    );
    // Completing a task deleted in HighLevel: the same, from the board.
    let board = format!("/w/{A}/tasks");
    let r = alice
        .post(env.at(&format!("/w/{A}/tasks/t1/complete")))
        .form(&[("_csrf", csrf.as_str()), ("return_to", board.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.url().path().ends_with("/tasks"), "{}", r.url());
    let html = r.text().await.unwrap();
    assert!(
        html.contains("this task was deleted in HighLevel, so nothing was sent"),
        "the refusal says why"
    );
    assert!(
        env.store
            .commands(A, None, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing was queued for HighLevel"
    );
    // A record that never existed is still not found.
    let r = alice
        .post(env.at(&format!("/w/{A}/contacts/nope/notes")))
        .form(&[("_csrf", csrf.as_str()), ("body", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn open_task_count_matches_the_rows_and_the_notice_follows_its_command(env: Env) {
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    env.put(
        task(A, "t1", "c1", "Send proposal", now_ms() + DAY, false),
        &[],
    )
    .await;
    let (alice, page) = sign_in(&env, ALICE).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    let contact_page = format!("/w/{A}/contacts/c1");
    let tomorrow = chrono::DateTime::from_timestamp_millis(now_ms() + DAY)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let r = alice
        .post(env.at(&format!("{contact_page}/tasks")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("title", "Call back"),
            ("due", tomorrow.as_str()),
            ("return_to", contact_page.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let open = &html[html.find("id=\"tasks-open\"").expect("the open tasks")..];
    let open = &open[..open.find("</table>").unwrap()];
    let rows = open.matches("<tr class=\"task").count();
    assert_eq!(rows, 2, "the task and the one being created: {open}");
    assert!(
        html.contains("id=\"open-task-count\">2<"),
        "Open tasks counts both rows"
    );
    // The notice names its command, whose badge it loads, so it can go once confirmed.
    let cmd = &env.store.commands(A, None, None, 10).await.unwrap()[0];
    assert!(
        html.contains(&format!("data-command-id=\"{}\"", cmd.id))
            && html.contains(&format!("/w/{A}/commands/{}/badge", cmd.id))
            && html.contains("pending until HighLevel confirms"),
        "the notice follows its command"
    );
}

async fn overdue_and_done_lists_only_done_tasks(env: Env) {
    let now = now_ms();
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    for (id, due, done) in [
        ("late-open", now - 2 * DAY, false),
        ("late-done", now - 2 * DAY, true),
        ("soon-done", now + 2 * DAY, true),
        ("soon-open", now + 2 * DAY, false),
    ] {
        env.put(task(A, id, "c1", id, due, done), &[]).await;
    }
    let (alice, _) = sign_in(&env, ALICE).await;
    let board = |q: &str| {
        let alice = alice.clone();
        let url = env.at(&format!("/w/{A}/tasks?{q}"));
        let q = q.to_string();
        async move {
            let r = alice.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{q}");
            r.text().await.unwrap()
        }
    };
    let ids = |html: &str| {
        let mut v: Vec<String> = attr_values(html, "data-task-id");
        v.sort();
        v
    };
    let html = board("due=overdue&status=done").await;
    assert_eq!(
        ids(&html),
        vec!["late-done"],
        "only done tasks, due before today"
    );
    assert!(
        !html.contains("data-testid=\"complete-task\""),
        "no Complete button on a board of done tasks"
    );
    let html = board("due=overdue&status=open").await;
    assert_eq!(ids(&html), vec!["late-open"]);
    let html = board("due=overdue").await;
    assert_eq!(ids(&html), vec!["late-open"], "open is the default");
    let html = board("due=overdue&status=all").await;
    assert_eq!(ids(&html), vec!["late-done", "late-open"]);
}

async fn search_finds_phones_however_written_and_counts_in_words(env: Env) {
    // As the sync engine writes a contact: its search text holds the phone as HighLevel
    // keeps it (E.164).
    let mut dana = contact(A, "c1", "Dana", "Reyes", &[]);
    dana.data["phone"] = serde_json::json!("+12010000021");
    dana.search = "dana reyes c1@example.net +12010000021".into();
    env.put(dana, &[]).await;
    let mut eli = contact(A, "c2", "Eli", "Stone", &[]);
    eli.data["phone"] = serde_json::json!("+12010000022");
    eli.search = "eli stone c2@example.net +12010000022".into();
    env.put(eli, &[]).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    for q in [
        "+1 201-000-0021",
        "(201) 000-0021",
        "201.000.0021",
        "0021",
        "+12010000021",
    ] {
        let r = alice
            .get(env.at(&format!("/w/{A}/contacts")))
            .query(&[("q", q)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert_eq!(
            attr_values(&html, "data-contact-id"),
            vec!["c1"],
            "{q:?} finds Dana"
        );
        assert!(html.contains(">1 contact<"), "{q:?}: one contact, in words");
    }
    let html = alice
        .get(env.at(&format!("/w/{A}/contacts")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(">2 contacts<"));
    // Text is still text: a name finds its contact.
    let html = alice
        .get(env.at(&format!("/w/{A}/contacts?q=Stone")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(attr_values(&html, "data-contact-id"), vec!["c2"]);
}

/// Signs in through the form of `signin_url` with `next` as posted; the answer, unfollowed.
async fn sign_in_with_next(env: &Env, signin_url: &str, next: &str) -> reqwest::Response {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = c
        .get(env.at(signin_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field_value(&form, "_csrf").expect("a CSRF token");
    c.post(env.at("/signin"))
        .form(&[
            ("email", ALICE),
            ("password", PASSWORD),
            ("_csrf", csrf.as_str()),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

async fn sign_in_returns_to_the_page_that_asked_only_on_this_site(env: Env) {
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    // Signed out, a contact's link leads to the sign-in page, which remembers it...
    let asked = format!("/w/{A}/contacts/c1?tab=notes");
    let c = client();
    let r = c.get(env.at(&asked)).send().await.unwrap();
    assert_eq!(r.url().path(), "/signin");
    let next: Vec<(String, String)> = r.url().query_pairs().into_owned().collect();
    assert_eq!(next, vec![("next".to_string(), asked.clone())]);
    let form = r.text().await.unwrap();
    assert_eq!(
        field_value(&form, "next").map(|v| v.replace("&amp;", "&")),
        Some(asked.clone()),
        "the form carries the page along"
    );
    // ...and signing in there lands on it.
    let signin = format!(
        "/signin?{}",
        serde_urlencoded::to_string([("next", &asked)]).unwrap()
    );
    let r = sign_in_with_next(&env, &signin, &asked).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], asked.as_str());
    // Anything but a path of this site is refused: the default page instead.
    for elsewhere in [
        "https://evil.example/w/locA/contacts",
        "//evil.example/w/locA/contacts",
        "/\\evil.example/",
        "http:/evil.example",
    ] {
        let signin = format!(
            "/signin?{}",
            serde_urlencoded::to_string([("next", elsewhere)]).unwrap()
        );
        let form = client()
            .get(env.at(&signin))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            field_value(&form, "next"),
            None,
            "{elsewhere:?} not carried"
        );
        let r = sign_in_with_next(&env, &signin, elsewhere).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/", "{elsewhere:?} refused");
    }
}

/// The ids of the page's form controls (not hidden inputs) that no `<label for>` names and
/// that carry no `aria-label`.
fn unlabelled(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in ["<input", "<textarea", "<select"] {
        for (i, _) in html.match_indices(tag) {
            let end = html[i..].find('>').map_or(html.len(), |e| i + e);
            let element = &html[i..end];
            if element.contains("type=\"hidden\"") || element.contains("aria-label=") {
                continue;
            }
            let id = element
                .split("id=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("");
            if id.is_empty() || !html.contains(&format!("for=\"{id}\"")) {
                out.push(format!("{tag} #{id}"));
            }
        }
    }
    out
}

async fn every_input_is_labelled_with_a_skip_link_and_contact_links(env: Env) {
    let mut dana = contact(A, "c1", "Dana", "Reyes", &[]);
    dana.data["phone"] = serde_json::json!("+1 201-000-0021");
    env.put(dana, &[]).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    for page in [
        "contacts",
        "contacts/c1",
        "tasks",
        "meetings",
        "feed",
        "alerts",
        "settings",
    ] {
        let html = alice
            .get(env.at(&format!("/w/{A}/{page}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            unlabelled(&html),
            Vec::<String>::new(),
            "{page}: unlabelled"
        );
        assert!(
            html.contains("data-testid=\"skip-link\"") && html.contains("id=\"main\""),
            "{page}: a skip link to the page's content"
        );
    }
    let html = alice
        .get(env.at(&format!("/w/{A}/contacts/c1")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("href=\"mailto:c1@example.net\""),
        "a mailto link"
    );
    assert!(html.contains("href=\"tel:+12010000021\""), "a tel link");
    assert!(
        html.contains(&format!(
            "href=\"https://app.gohighlevel.com/v2/location/{A}/contacts/detail/c1\""
        )),
        "an Open in HighLevel link"
    );
}
