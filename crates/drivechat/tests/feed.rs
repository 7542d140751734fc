//! The feed as a person reads it (issue #12 item 4): every line a sentence naming its contact,
//! only the name a link; filters by kind, contact and member that survive paging and refuse
//! what they cannot filter by; and a mute per kind, stored per member and workspace.
//!
//! Changes are written through the sync engine's own `converge` (so the summaries are the
//! describer's real words, whose shapes the page's sentences rely on).

mod common;

use std::time::Duration;

use common::*;
use drivechat::{Config, Role};
use futures::StreamExt as _;
use serde_json::json;
use store::{Channel, NewMessage, RecordKind, SecretString};
use sync::converge;
use sync::describe::Origin;

on_both_backends!(
    lines_name_their_contact_as_sentences,
    live_lines_read_like_the_page,
    filters_by_kind_contact_and_member_and_pages_keep_them,
    bad_filters_are_refused_with_what_is_accepted,
    mutes_are_per_member_and_workspace,
);

/// Three lines a page: paging is exercised with a handful of lines.
pub fn config() -> Config {
    Config {
        page_size: 3,
        ..Config::default()
    }
}

const CAROL: &str = "carol@example.com";

/// The text of each feed line (`div.summary`), tags stripped and entities read back.
fn lines(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<div class=\"summary\">") {
        rest = &rest[i + "<div class=\"summary\">".len()..];
        let end = rest.find("</div>").unwrap_or(rest.len());
        out.push(text_of(&rest[..end]));
        rest = &rest[end..];
    }
    out
}

fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn apply(env: &Env, r: store::Record) {
    converge::apply_state(&env.store, r, Origin::Webhook, true)
        .await
        .expect("apply");
}

async fn apply_as(env: &Env, r: store::Record, actor: &str) {
    converge::apply_state_as(&env.store, r, Origin::WriteBack, true, Some(actor))
        .await
        .expect("apply");
}

/// A version newer than every earlier one (HighLevel's `dateUpdated` stands in for it; two
/// states written within a millisecond must still be in order).
fn next_version() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now_ms();
    LAST.fetch_max(now, Ordering::SeqCst);
    LAST.fetch_add(1, Ordering::SeqCst) + 1
}

fn ana(tags: &[&str]) -> store::Record {
    sync::records::contact(
        A,
        json!({"id": "c1", "firstName": "Ana", "lastName": "Ivanova", "tags": tags}),
        next_version(),
    )
    .unwrap()
}

fn hl_task(id: &str, contact: &str, title: &str, done: bool) -> store::Record {
    sync::records::task(
        A,
        Some(contact),
        json!({"id": id, "contactId": contact, "title": title, "completed": done}),
        next_version(),
    )
    .unwrap()
}

async fn get(c: &reqwest::Client, env: &Env, path: &str) -> (u16, String) {
    let r = c.get(env.at(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn lines_name_their_contact_as_sentences(env: Env) {
    apply(&env, ana(&[])).await;
    apply(&env, ana(&["follow-up"])).await;
    apply(&env, hl_task("t1", "c1", "Call back", false)).await;
    let appt = sync::records::appointment(
        A,
        json!({"id": "a1", "contactId": "c1", "title": "Consultation",
               "startTime": "2030-01-02T10:00:00Z", "appointmentStatus": "confirmed"}),
        next_version(),
    )
    .unwrap();
    apply(&env, appt).await;
    converge::apply_delete(
        &env.store,
        A,
        RecordKind::Appointment,
        "a1",
        now_ms(),
        Origin::Webhook,
    )
    .await
    .unwrap();
    apply(&env, hl_task("t1", "c1", "Call back", true)).await;
    apply(&env, ana(&[])).await;
    let (alice, _) = sign_in(&env, ALICE).await;

    let (feed_lines, _) = all_lines(&alice, &env, "").await;
    for want in [
        "New contact Ana Ivanova",
        "Tagged Ana Ivanova with follow-up",
        "Removed tag follow-up from Ana Ivanova",
        "Task 'Call back' created for Ana Ivanova",
        "Task 'Call back' for Ana Ivanova completed",
        "Appointment 'Consultation' with Ana Ivanova deleted",
    ] {
        assert!(
            feed_lines.iter().any(|l| l == want),
            "the feed reads {want:?}; it has {feed_lines:?}"
        );
    }
    // Only the name is a link, to the contact's page.
    let (status, feed) = get(&alice, &env, &format!("/w/{A}/feed")).await;
    assert_eq!(status, 200);
    let feed_lines = lines(&feed);
    let link = format!("<a class=\"contact-link\" href=\"/w/{A}/contacts/c1\">Ana Ivanova</a>");
    assert_eq!(
        feed.matches(&link).count(),
        feed_lines.len(),
        "each line links the contact's name"
    );
    assert!(
        !feed.contains("<div class=\"summary\"><a"),
        "a line is not one big link"
    );

    // The contact's thread reads the same.
    let (_, page) = get(&alice, &env, &format!("/w/{A}/contacts/c1")).await;
    assert!(lines(&page).contains(&"Task 'Call back' created for Ana Ivanova".to_string()));
    assert!(
        page.contains(&format!(
            "id=\"thread-in-feed\" href=\"/w/{A}/feed?contact=c1\""
        )),
        "the thread leads to the feed filtered to its contact"
    );
    assert!(lines(&page).contains(&"Tagged Ana Ivanova with follow-up".to_string()));

    // A rename shows on every line at once: the lines name the contact as it is now.
    let mut renamed = ana(&[]);
    renamed.title = Some("Ana Petrova".into());
    renamed.data["lastName"] = json!("Petrova");
    env.put(renamed, &[]).await;
    let (_, feed) = get(&alice, &env, &format!("/w/{A}/feed?kind=tag")).await;
    assert_eq!(
        lines(&feed),
        [
            "Removed tag follow-up from Ana Petrova",
            "Tagged Ana Petrova with follow-up"
        ]
    );
}

async fn live_lines_read_like_the_page(env: Env) {
    apply(&env, ana(&[])).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let r = alice
        .get(env.at(&format!("/w/{A}/live")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    // The stream has subscribed once its response started; give the follower its start.
    tokio::time::sleep(Duration::from_millis(300)).await;
    apply(&env, ana(&["vip"])).await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !seen.contains("Tagged ") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("the change arrives; got {seen}"))
            .expect("stream open")
            .expect("chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = seen
        .lines()
        .find(|l| l.starts_with("data:") && l.contains("Tagged "))
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(data.trim_start_matches("data:")).unwrap();
    assert_eq!(event["feed_kind"], "tag");
    let html = event["html"].as_str().unwrap();
    assert_eq!(lines(html), ["Tagged Ana Ivanova with vip"]);
    let (_, feed) = get(&alice, &env, &format!("/w/{A}/feed")).await;
    assert_eq!(
        lines(&feed)[0],
        "Tagged Ana Ivanova with vip",
        "the page reads the same line"
    );
}

/// Adds Carol to workspace A as a member; returns her user id.
async fn add_carol(env: &Env) -> i64 {
    drivechat::admin::add_user(
        &env.store,
        CAROL,
        SecretString::from(PASSWORD),
        "Carol Cole",
        &[(A.into(), Role::Member)],
    )
    .await
    .expect("add carol");
    user_id(env, CAROL).await
}

async fn user_id(env: &Env, email: &str) -> i64 {
    env.store
        .chat_user_by_email(email)
        .await
        .unwrap()
        .expect("user")
        .id
}

async fn post(env: &Env, channel: Channel, author: i64, name: &str, body: &str) {
    env.store
        .post_message(&NewMessage {
            location_id: A.into(),
            channel,
            author_id: Some(author),
            author_name: name.into(),
            body: body.into(),
            idempotency_key: None,
        })
        .await
        .unwrap();
}

/// Ana (tagged, a task asked for by Alice), Ben (a task from HighLevel), messages by Alice
/// and Carol.
async fn seed_mixed(env: &Env) -> (i64, i64) {
    let alice = user_id(env, ALICE).await;
    let carol = add_carol(env).await;
    apply(env, ana(&[])).await;
    let ben = sync::records::contact(
        A,
        json!({"id": "c2", "firstName": "Ben", "lastName": "Okafor"}),
        next_version(),
    )
    .unwrap();
    apply(env, ben).await;
    apply(env, ana(&["vip"])).await;
    apply_as(env, hl_task("t1", "c1", "Call back", false), "Alice Archer").await;
    apply(env, hl_task("t2", "c2", "Send quote", false)).await;
    post(env, Channel::General, alice, "Alice Archer", "Morning all").await;
    post(env, Channel::General, carol, "Carol Cole", "Coffee?").await;
    post(
        env,
        Channel::Contact("c1".into()),
        carol,
        "Carol Cole",
        "Ana called",
    )
    .await;
    (alice, carol)
}

/// Every line of the feed at `query`, following "Older" links to the end.
async fn all_lines(c: &reqwest::Client, env: &Env, query: &str) -> (Vec<String>, Vec<String>) {
    let mut path = format!("/w/{A}/feed{query}");
    let mut changes = Vec::new();
    let mut messages = Vec::new();
    for _ in 0..20 {
        let (status, html) = get(c, env, &path).await;
        assert_eq!(status, 200, "{path}: {html}");
        changes.extend(lines(&html));
        for body in attr_values(&html, "data-message-id") {
            let at = html.find(&format!("data-message-id=\"{body}\"")).unwrap();
            let text_at = html[at..].find("<div class=\"text\">").unwrap() + at;
            let end = html[text_at..].find("</div>").unwrap() + text_at;
            messages.push(text_of(&html[text_at..end]));
        }
        let next = html
            .find("id=\"next-page\" href=\"")
            .map(|i| &html[i + "id=\"next-page\" href=\"".len()..])
            .and_then(|rest| rest.split('"').next())
            .map(|href| href.replace("&amp;", "&"));
        match next {
            Some(href) => {
                for (k, v) in query
                    .trim_start_matches('?')
                    .split('&')
                    .filter_map(|p| p.split_once('='))
                {
                    assert!(
                        href.contains(&format!("{k}={v}")),
                        "the next page keeps {k}={v}: {href}"
                    );
                }
                path = href;
            }
            None => return (changes, messages),
        }
    }
    panic!("the feed pages end");
}

async fn filters_by_kind_contact_and_member_and_pages_keep_them(env: Env) {
    let (alice_id, carol_id) = seed_mixed(&env).await;
    let (alice, _) = sign_in(&env, ALICE).await;

    // Everything: changes of both contacts, the general channel's messages.
    let (changes, messages) = all_lines(&alice, &env, "").await;
    assert_eq!(changes.len(), 5, "{changes:?}");
    assert_eq!(messages, ["Coffee?", "Morning all"]);

    // One kind.
    let (changes, messages) = all_lines(&alice, &env, "?kind=task").await;
    assert_eq!(
        changes,
        [
            "Task 'Send quote' created for Ben Okafor",
            "Task 'Call back' created for Ana Ivanova"
        ]
    );
    assert!(messages.is_empty(), "a kind of change leaves messages out");
    let (changes, _) = all_lines(&alice, &env, "?kind=tag").await;
    assert_eq!(changes, ["Tagged Ana Ivanova with vip"]);
    let (changes, _) = all_lines(&alice, &env, "?kind=contact").await;
    assert_eq!(
        changes,
        ["New contact Ben Okafor", "New contact Ana Ivanova"]
    );
    let (changes, messages) = all_lines(&alice, &env, "?kind=message").await;
    assert!(changes.is_empty());
    assert_eq!(messages, ["Coffee?", "Morning all"]);

    // One contact: its changes and its thread.
    let (changes, messages) = all_lines(&alice, &env, "?contact=c1").await;
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(
        changes.iter().all(|l| l.contains("Ana Ivanova")),
        "{changes:?}"
    );
    assert_eq!(messages, ["Ana called"]);

    // One member: what they posted and what they asked HighLevel for.
    let (changes, messages) = all_lines(&alice, &env, &format!("?member={alice_id}")).await;
    assert_eq!(changes, ["Task 'Call back' created for Ana Ivanova"]);
    assert_eq!(messages, ["Morning all"]);
    let (changes, messages) = all_lines(&alice, &env, &format!("?member={carol_id}")).await;
    assert!(changes.is_empty());
    assert_eq!(messages, ["Coffee?"]);

    // Combined.
    let (changes, messages) = all_lines(
        &alice,
        &env,
        &format!("?kind=message&contact=c1&member={carol_id}"),
    )
    .await;
    assert!(changes.is_empty());
    assert_eq!(messages, ["Ana called"]);
    let (changes, _) = all_lines(&alice, &env, "?kind=task&contact=c2").await;
    assert_eq!(changes, ["Task 'Send quote' created for Ben Okafor"]);

    // The form shows the filter that is on, and says what the list shows for the live script.
    let (_, html) = get(&alice, &env, &format!("/w/{A}/feed?kind=task&contact=c2")).await;
    assert!(html.contains("<option value=\"task\" selected>"), "{html}");
    assert!(html.contains("<option value=\"c2\" selected>Ben Okafor</option>"));
    assert!(
        html.contains("data-filter-kind=\"task\"") && html.contains("data-filter-contact=\"c2\"")
    );
    assert!(
        html.contains("<label for=\"feed-kind\">"),
        "the filter's inputs are labelled"
    );
}

async fn bad_filters_are_refused_with_what_is_accepted(env: Env) {
    env.put(contact(B, "cb", "Other", "Place", &[]), &[]).await;
    let bob = user_id(&env, BOB).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let cases = [
        (
            "?kind=email".to_string(),
            "kind must be one of contact, task, note, tag, appointment, message, not \"email\"",
        ),
        (
            "?member=abc".to_string(),
            "member \"abc\" is not a member of this workspace",
        ),
        (
            // Bob is a member of another workspace only.
            format!("?member={bob}"),
            "is not a member of this workspace",
        ),
        (
            "?contact=cb".to_string(),
            "contact \"cb\" is not one of this workspace's contacts",
        ),
        (
            "?before=x".to_string(),
            "the feed cursor is not one this server gave out",
        ),
    ];
    for (query, message) in cases {
        let (status, html) = get(&alice, &env, &format!("/w/{A}/feed{query}")).await;
        assert_eq!(status, 400, "{query} is refused");
        assert!(
            text_of(&html).contains(message),
            "{query} says {message:?}: {html}"
        );
    }
}

async fn mute(c: &reqwest::Client, env: &Env, kind: &str, muted: bool) -> String {
    let (_, page) = get(c, env, &format!("/w/{A}/feed")).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    let r = c
        .post(env.at(&format!("/w/{A}/feed/mutes")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("kind", kind),
            ("muted", if muted { "1" } else { "0" }),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

async fn mutes_are_per_member_and_workspace(env: Env) {
    let (alice_id, carol_id) = seed_mixed(&env).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let (carol, _) = sign_in(&env, CAROL).await;

    let page = mute(&alice, &env, "tag", true).await;
    assert!(page.contains("Tags are muted in your feed."), "{page}");
    let page = mute(&alice, &env, "task", true).await;
    assert_eq!(
        env.store.feed_mutes(alice_id, A).await.unwrap(),
        ["tag", "task"],
        "stored for Alice in this workspace"
    );
    assert!(env.store.feed_mutes(carol_id, A).await.unwrap().is_empty());
    assert!(env.store.feed_mutes(alice_id, B).await.unwrap().is_empty());

    // Alice's feed leaves tags and tasks out, and says so with the undo at hand.
    let shown = lines(&page);
    assert!(
        !shown
            .iter()
            .any(|l| l.starts_with("Tagged") || l.starts_with("Task")),
        "{shown:?}"
    );
    assert!(
        shown.contains(&"New contact Ben Okafor".to_string()),
        "{shown:?}"
    );
    assert!(page.contains("data-muted=\"tag task\""));
    assert!(page.contains("data-unmute=\"tag\"") && page.contains("Muted in your feed: "));
    // Asking for a muted kind shows it: the filter is an explicit question.
    let (_, asked) = get(&alice, &env, &format!("/w/{A}/feed?kind=tag")).await;
    assert_eq!(lines(&asked), ["Tagged Ana Ivanova with vip"]);

    // Carol's feed is unaffected.
    let (theirs, _) = all_lines(&carol, &env, "").await;
    assert!(theirs.contains(&"Tagged Ana Ivanova with vip".to_string()));
    assert!(theirs.contains(&"Task 'Send quote' created for Ben Okafor".to_string()));

    // Undone from the feed page.
    let page = mute(&alice, &env, "tag", false).await;
    assert!(page.contains("Tags are shown in your feed again."));
    let (shown, _) = all_lines(&alice, &env, "").await;
    assert!(shown.contains(&"Tagged Ana Ivanova with vip".to_string()));
    assert!(!shown.iter().any(|l| l.starts_with("Task")), "{shown:?}");
    assert_eq!(env.store.feed_mutes(alice_id, A).await.unwrap(), ["task"]);

    // People's messages cannot be muted; an unknown kind neither.
    for kind in ["message", "email"] {
        let page = mute(&alice, &env, kind, true).await;
        assert!(page.contains("data-kind=\"error\""), "{kind} is refused");
        assert!(
            page.contains("is not a kind of change you can mute; choose one of contact, task, note, tag, appointment"),
            "{page}"
        );
    }
    assert_eq!(env.store.feed_mutes(alice_id, A).await.unwrap(), ["task"]);

    // Refusals: without the form's CSRF token, and in a workspace one is not a member of.
    let r = alice
        .post(env.at(&format!("/w/{A}/feed/mutes")))
        .form(&[("kind", "note"), ("muted", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This form has expired or did not come from Drive Chat"));
    let (bob, page) = sign_in(&env, BOB).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    let r = bob
        .post(env.at(&format!("/w/{A}/feed/mutes")))
        .form(&[("_csrf", csrf.as_str()), ("kind", "note"), ("muted", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "another workspace's feed is not Bob's to mute"
    );
    assert!(r.text().await.unwrap().contains("workspace not found"));
    let bob_id = user_id(&env, BOB).await;
    assert!(env.store.feed_mutes(bob_id, A).await.unwrap().is_empty());
    assert_eq!(env.store.feed_mutes(alice_id, A).await.unwrap(), ["task"]);
}
