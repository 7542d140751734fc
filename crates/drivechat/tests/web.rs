//! The web UI against a real server and store: sign-in refusals and rate limiting, CSRF,
//! every page rendering the seeded data escaped, the board's filters and pages, actions
//! queued in the outbox and shown pending then failed, and live updates over SSE.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use drivechat::{Config, Role};
use futures::StreamExt as _;
use store::{CommandState, SecretString};

on_both_backends!(
    sign_in_refusals_and_rate_limit,
    forms_need_the_session_csrf_token,
    pages_render_seeded_data_escaped,
    board_filters_sorts_and_paginates,
    actions_are_queued_pending_then_failed,
    live_stream_delivers_changes_after_connect,
    workspace_switcher_lists_every_membership,
    board_shows_names_and_local_times,
    board_filters_by_assignee_and_assigned_to_me,
    member_time_zone_is_set_and_refused_when_unknown,
    ids_and_utc_without_context_and_missing_scopes_named,
    notes_carry_the_members_highlevel_user,
    meetings_are_in_the_members_days,
    feed_lines_name_times_in_the_members_zone,
);

pub fn config() -> Config {
    Config::default()
}

const XSS: &str = "<script>alert(1)</script>";
const XSS_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

async fn sign_in_refusals_and_rate_limit(env: Env) {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c.get(env.at("/signin")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("id=\"signin-form\""));
    let csrf = field_value(&page, "_csrf").unwrap();
    let attempt = |email: &'static str, password: &'static str, csrf: String| {
        let c = c.clone();
        let url = env.at("/signin");
        async move {
            c.post(url)
                .form(&[("email", email), ("password", password), ("_csrf", &csrf)])
                .send()
                .await
                .unwrap()
        }
    };

    // A sign-in form that did not come from this site is refused.
    let forged = client()
        .post(env.at("/signin"))
        .form(&[("email", ALICE), ("password", PASSWORD), ("_csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let r = attempt(ALICE, PASSWORD, "wrong".into()).await;
    assert_eq!(r.status(), 403, "a wrong CSRF token is refused");

    // Wrong password and unknown email read the same.
    let r = attempt(ALICE, "not the password", csrf.clone()).await;
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(body.contains("data-testid=\"signin-error\""), "{body}");
    assert!(body.contains("Wrong email or password."));
    let r = attempt("nobody@example.com", PASSWORD, csrf.clone()).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("Wrong email or password."));

    // Five failures for one email from one address, then even the right password waits.
    for _ in 0..4 {
        assert_eq!(
            attempt(ALICE, "still wrong", csrf.clone()).await.status(),
            401
        );
    }
    let r = attempt(ALICE, PASSWORD, csrf.clone()).await;
    assert_eq!(r.status(), 429);
    // Until the window that opened at the first attempt closes (15 minutes).
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((880..=900).contains(&retry), "{retry}");
    let body = r.text().await.unwrap();
    assert!(body.contains("Too many failed sign-ins"), "{body}");

    // Another person from the same address is not held back; their session cookie is
    // HttpOnly and SameSite=Lax.
    let r = attempt(BOB, PASSWORD, csrf.clone()).await;
    assert_eq!(r.status(), 303);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("dc_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "Secure is off by default");
    let home = c.get(env.at("/")).send().await.unwrap();
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], format!("/w/{B}/contacts"));

    // Passwords are kept as argon2id hashes only.
    let alice = env.store.chat_user_by_email(ALICE).await.unwrap().unwrap();
    assert!(alice.password_hash.starts_with("$argon2id$"));
    assert!(!alice.password_hash.contains(PASSWORD));

    // Signed out, the session no longer works.
    let page = c.get(env.at(&format!("/w/{B}/feed"))).send().await.unwrap();
    let csrf = field_value(&page.text().await.unwrap(), "_csrf").unwrap();
    let out = c
        .post(env.at("/signout"))
        .form(&[("_csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = c.get(env.at(&format!("/w/{B}/feed"))).send().await.unwrap();
    assert_eq!(after.status(), 303);
    // To the sign-in page, which will bring them back here (issue #12).
    assert_eq!(
        after.headers()["location"],
        format!("/signin?next=%2Fw%2F{B}%2Ffeed")
    );
}

async fn seed_contact(env: &Env) {
    env.put(contact(A, "c1", "Dana", "Reyes", &["vip"]), &[])
        .await;
    env.put(
        task(A, "t1", "c1", "Send proposal", now_ms() + DAY, false),
        &[],
    )
    .await;
}

async fn forms_need_the_session_csrf_token(env: Env) {
    seed_contact(&env).await;
    let (alice, page) = sign_in(&env, ALICE).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    // A second session of the same person has a token of its own.
    let (_, other_page) = sign_in(&env, ALICE).await;
    let other_csrf = field_value(&other_page, "_csrf").unwrap();
    assert_ne!(csrf, other_csrf);
    let url = env.at(&format!("/w/{A}/contacts/c1/notes"));
    for token in [None, Some("forged"), Some(other_csrf.as_str())] {
        let mut form = vec![("body", "hello".to_string())];
        if let Some(t) = token {
            form.push(("_csrf", t.to_string()));
        }
        let r = alice.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 403, "token {token:?}");
        assert!(r.text().await.unwrap().contains("reload the page"));
    }
    // The header htmx sends works like the field.
    let r = alice
        .post(&url)
        .header("x-csrf-token", "forged")
        .form(&[("body", "hello")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(env
        .store
        .commands(A, None, None, 10)
        .await
        .unwrap()
        .is_empty());
    let r = alice
        .post(&url)
        .form(&[("body", "hello"), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        env.store.commands(A, None, None, 10).await.unwrap().len(),
        1
    );
}

async fn pages_render_seeded_data_escaped(env: Env) {
    let now = now_ms();
    env.put(
        contact(
            A,
            "cx",
            "<script>alert(1)</script>",
            "Evil",
            &["<b>vip</b>"],
        ),
        &[change(
            "created",
            "Contact '<script>alert(1)</script> Evil' added",
        )],
    )
    .await;
    env.put(
        task(
            A,
            "tx",
            "cx",
            "Call <script>alert(1)</script>",
            now + DAY,
            false,
        ),
        &[],
    )
    .await;
    env.put(task(A, "td", "cx", "Old done task", now - DAY, true), &[])
        .await;
    env.put(
        note(
            A,
            "nx",
            "cx",
            "Note body <script>alert(1)</script>",
            now - 3_600_000,
        ),
        &[],
    )
    .await;
    env.put(
        note(A, "nfar", "cx", "A note from long ago", now - 60 * DAY),
        &[],
    )
    .await;
    let start = now + 2 * 3_600_000;
    env.put(appointment(A, "ax", "cx", "Roof inspection", start), &[])
        .await;
    env.put(
        appointment_note(A, "anx", "ax", "cx", "Bring the ladder"),
        &[],
    )
    .await;
    env.put(
        appointment(A, "apast", "cx", "First visit", now - 10 * DAY),
        &[],
    )
    .await;

    let (alice, _) = sign_in(&env, ALICE).await;
    let pages = [
        (
            format!("/w/{A}/contacts"),
            vec!["data-contact-id=\"cx\"", "Evil"],
        ),
        (
            format!("/w/{A}/contacts/cx"),
            vec![
                "data-task-id=\"tx\"",
                "Old done task",
                "Note body",
                "Roof inspection",
                "Bring the ladder",
                "First visit",
                "id=\"thread-list\"",
                "&lt;b&gt;vip&lt;/b&gt;",
                "cx@example.net",
            ],
        ),
        (
            format!("/w/{A}/tasks"),
            vec!["data-task-id=\"tx\"", "Call "],
        ),
        (
            format!("/w/{A}/meetings"),
            vec![
                "Roof inspection",
                "Bring the ladder",
                "Note body",
                "data-appointment-id=\"ax\"",
            ],
        ),
        (
            format!("/w/{A}/feed"),
            vec!["id=\"feed-list\"", "Contact '", "Evil' added"],
        ),
    ];
    for (path, expected) in pages {
        let r = alice.get(env.at(&path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains(XSS_ESCAPED), "{path} shows the name escaped");
        assert!(!html.contains(XSS), "{path} has no raw script from data");
        for e in expected {
            assert!(html.contains(e), "{path} shows {e:?}");
        }
    }
    // The meetings page keeps a far-away note of the contact out of the meeting's context.
    let meetings = alice
        .get(env.at(&format!("/w/{A}/meetings")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!meetings.contains("A note from long ago"));
    assert!(
        !meetings.contains("First visit"),
        "a past week is not this week"
    );
    let earlier = alice
        .get(env.at(&format!("/w/{A}/meetings?from={}", iso_day(now - 12 * DAY))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(earlier.contains("First visit"));
    // Searching finds by name, and a tag filter narrows.
    env.put(contact(A, "c2", "Zed", "Quinn", &["lead"]), &[])
        .await;
    let found = alice
        .get(env.at(&format!("/w/{A}/contacts?q=quinn")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(attr_values(&found, "data-contact-id"), vec!["c2"]);
    let tagged = alice
        .get(env.at(&format!("/w/{A}/contacts?tag=%3Cb%3Evip%3C%2Fb%3E")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(attr_values(&tagged, "data-contact-id"), vec!["cx"]);
    // Assets are served from the binary.
    for (asset, kind) in [
        ("htmx.min.js", "javascript"),
        ("app.css", "css"),
        ("app.js", "javascript"),
    ] {
        let r = alice
            .get(env.at(&format!("/assets/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().contains(kind));
    }
}

fn iso_day(ms: i64) -> String {
    let days = ms.div_euclid(DAY);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn task_ids(html: &str) -> Vec<String> {
    attr_values(html, "data-task-id")
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
}

/// Follows "next page" links from `path`, collecting task ids.
async fn walk_board(c: &reqwest::Client, env: &Env, path: &str) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut url = env.at(path);
    let mut pages = 0;
    loop {
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let html = r.text().await.unwrap();
        pages += 1;
        let page = task_ids(&html);
        assert!(page.len() <= 50, "a page holds at most the page size");
        ids.extend(page);
        let Some(i) = html.find("id=\"next-page\"") else {
            break;
        };
        let href = html[i..]
            .split("href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        url = env.at(&unescape(href));
        assert!(pages < 20, "pagination ends");
    }
    (ids, pages)
}

async fn board_filters_sorts_and_paginates(env: Env) {
    let now = now_ms();
    let today = now.div_euclid(DAY) * DAY;
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    env.put(contact(B, "cb", "Other", "Workspace", &[]), &[])
        .await;
    env.put(
        task(B, "tb", "cb", "Not yours", today + 3_600_000, false),
        &[],
    )
    .await;
    let mut expect_overdue = HashSet::new();
    let mut expect_today = HashSet::new();
    let mut expect_week = HashSet::new();
    let mut expect_done = HashSet::new();
    let mut expect_u2_open = HashSet::new();
    let mut all = Vec::new();
    for i in 0..120i64 {
        let id = format!("t{i:03}");
        let (due, done) = match i {
            0..=29 => (today - (i + 1) * 3_600_000, false),
            30..=39 => (today + (i - 29) * 60_000, false),
            40..=59 => (today + (2 + (i - 40) % 5) * DAY, false),
            60..=99 => (today + (10 + i) * DAY, false),
            _ => (today - i * 60_000, true),
        };
        let mut t = task(A, &id, "c1", &format!("Task {:03}", 119 - i), due, done);
        t.assignee = Some(if i % 3 == 0 { "u2" } else { "u1" }.into());
        env.put(t, &[]).await;
        match i {
            0..=29 => expect_overdue.insert(id.clone()),
            30..=39 => expect_today.insert(id.clone()),
            40..=59 => expect_week.insert(id.clone()),
            100.. => expect_done.insert(id.clone()),
            _ => false,
        };
        if !done && i % 3 == 0 {
            expect_u2_open.insert(id.clone());
        }
        all.push((due, id));
    }
    // Undated tasks come after every dated one.
    for id in ["undated1", "undated2"] {
        let mut t = task(A, id, "c1", "Whenever", 0, false);
        t.due_ms = None;
        env.put(t, &[]).await;
        all.push((i64::MAX, id.to_string()));
    }
    let (alice, _) = sign_in(&env, ALICE).await;
    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<_>>();
    let board = |q: &str| format!("/w/{A}/tasks?{q}");

    let (ids, _) = walk_board(&alice, &env, &board("due=overdue")).await;
    assert_eq!(set(ids), expect_overdue);
    let (ids, _) = walk_board(&alice, &env, &board("due=today")).await;
    assert_eq!(set(ids), expect_today);
    let (ids, _) = walk_board(&alice, &env, &board("due=week")).await;
    let week: HashSet<String> = expect_today.union(&expect_week).cloned().collect();
    assert_eq!(set(ids), week);
    let (ids, _) = walk_board(&alice, &env, &board("status=done")).await;
    assert_eq!(set(ids), expect_done);
    let (ids, _) = walk_board(&alice, &env, &board("assignee=u2")).await;
    assert_eq!(set(ids), expect_u2_open);

    // Every task once, in due order (undated last), over three pages; none of the other
    // workspace's.
    let (ids, pages) = walk_board(&alice, &env, &board("status=all&sort=due")).await;
    assert_eq!(pages, 3);
    all.sort();
    let expected: Vec<String> = all.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids, expected);
    let (desc, _) = walk_board(&alice, &env, &board("status=all&sort=due_desc")).await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(desc, reversed);
    // By title: "Task 000" is t119.
    let first = alice
        .get(env.at(&board("status=all&sort=title")))
        .send()
        .await
        .unwrap();
    let html = first.text().await.unwrap();
    assert_eq!(task_ids(&html).first().map(String::as_str), Some("t119"));
    assert!(html.contains("122 tasks"), "the count covers every page");
    // A filter value the board does not know is refused, not ignored.
    let bad = alice
        .get(env.at(&board("due=someday")))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("overdue, today or week"));
}

async fn actions_are_queued_pending_then_failed(env: Env) {
    seed_contact(&env).await;
    let (alice, page) = sign_in(&env, ALICE).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    let contact_page = env.at(&format!("/w/{A}/contacts/c1"));
    let back = format!("/w/{A}/contacts/c1");
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let alice = alice.clone();
        let url = env.at(&path);
        let mut form = fields;
        form.push(("_csrf", csrf.clone()));
        form.push(("return_to", back.clone()));
        async move {
            let r = alice.post(url).form(&form).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };

    // Complete a task: one command, shown pending on the page it lands on.
    let html = post(
        format!("/w/{A}/tasks/t1/complete"),
        vec![("_idem", "k-complete".into())],
    )
    .await;
    assert!(html.contains("data-testid=\"flash\""));
    assert!(html.contains("Sent to HighLevel: Complete task"), "{html}");
    assert!(html.contains("data-testid=\"pending-badge\""));
    let cmds = env.store.commands(A, None, None, 10).await.unwrap();
    assert_eq!(cmds.len(), 1);
    let complete = &cmds[0];
    assert_eq!(complete.kind, "complete_task");
    assert_eq!(complete.record_id.as_deref(), Some("t1"));
    assert_eq!(
        complete.command,
        serde_json::json!({"contact_id": "c1", "task_id": "t1"})
    );
    assert_eq!(complete.requested_by.as_deref(), Some("Alice Archer"));
    assert_eq!(complete.state, CommandState::Pending);
    // The same form again (a double click) does nothing twice.
    let html = post(
        format!("/w/{A}/tasks/t1/complete"),
        vec![("_idem", "k-complete".into())],
    )
    .await;
    assert!(html.contains("already sent"));
    assert_eq!(
        env.store.commands(A, None, None, 10).await.unwrap().len(),
        1
    );

    // Create a task, add a note, tag and untag, post a message.
    let html = post(
        format!("/w/{A}/contacts/c1/tasks"),
        vec![
            ("_idem", "k-task".into()),
            ("title", "Call back".into()),
            ("due", "2030-01-15".into()),
            ("due_time", "09:30".into()),
            ("assigned_to", "u7".into()),
        ],
    )
    .await;
    assert!(html.contains("Create task 'Call back'"));
    post(
        format!("/w/{A}/contacts/c1/notes"),
        vec![("_idem", "k-note".into()), ("body", "Spoke to Dana".into())],
    )
    .await;
    post(
        format!("/w/{A}/contacts/c1/tags"),
        vec![
            ("_idem", "k-tag".into()),
            ("tags", " VIP, Lead ,vip".into()),
        ],
    )
    .await;
    post(
        format!("/w/{A}/contacts/c1/tags/remove"),
        vec![("_idem", "k-untag".into()), ("tag", "vip".into())],
    )
    .await;
    let html = post(
        format!("/w/{A}/contacts/c1/messages"),
        vec![
            ("_idem", "k-msg".into()),
            ("body", "Dana prefers mornings".into()),
        ],
    )
    .await;
    assert!(html.contains("Message posted."));
    assert!(
        html.contains("Dana prefers mornings"),
        "the thread shows the message"
    );
    let by_kind = |k: &str| {
        let cmds = cmds_snapshot(&env);
        let k = k.to_string();
        async move {
            cmds.await
                .into_iter()
                .find(|c| c.kind == k)
                .unwrap_or_else(|| panic!("a {k} command"))
        }
    };
    let create = by_kind("create_task").await;
    assert_eq!(
        create.command,
        serde_json::json!({"contact_id": "c1", "title": "Call back",
            "due_date": "2030-01-15T09:30:00.000Z", "assigned_to": "u7"})
    );
    assert_eq!(
        by_kind("add_note").await.command,
        serde_json::json!({"contact_id": "c1", "body": "Spoke to Dana"})
    );
    assert_eq!(
        by_kind("add_tag").await.command,
        serde_json::json!({"contact_id": "c1", "tags": ["vip", "lead"]})
    );
    assert_eq!(
        by_kind("remove_tag").await.command,
        serde_json::json!({"contact_id": "c1", "tags": ["vip"]})
    );
    assert_eq!(
        env.store.commands(A, None, None, 50).await.unwrap().len(),
        5
    );
    let msgs = env
        .store
        .messages_before(A, Some(&store::Channel::Contact("c1".into())), None, 10)
        .await
        .unwrap();
    assert_eq!(msgs.len(), 1);

    // An invalid form is refused with the reason, and queues nothing.
    let html = post(
        format!("/w/{A}/contacts/c1/tasks"),
        vec![
            ("_idem", "k-bad".into()),
            ("title", "  ".into()),
            ("due", "2030-01-15".into()),
        ],
    )
    .await;
    assert!(html.contains("data-kind=\"error\""));
    assert!(html.contains("the title is empty"));
    assert_eq!(
        env.store.commands(A, None, None, 50).await.unwrap().len(),
        5
    );

    // HighLevel refuses the completion: the page says why, and so does #alerts.
    let reason =
        "HighLevel refused: the connection lacks contacts.write — reconnect with contacts.write";
    assert!(env
        .store
        .settle_command(complete.id, CommandState::Failed, None, None, Some(reason))
        .await
        .unwrap());
    let html = alice
        .get(&contact_page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"failed-badge\""));
    assert!(html.contains("lacks contacts.write — reconnect with contacts.write"));
    let alerts = alice
        .get(env.at(&format!("/w/{A}/alerts")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(alerts.contains("lacks contacts.write"));
    let badge = alice
        .get(env.at(&format!("/w/{A}/commands/{}/badge", complete.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(badge.contains("failed-badge") && !badge.contains("hx-trigger"));
    // A pending badge asks again until its command settles; then it is done.
    let badge = alice
        .get(env.at(&format!("/w/{A}/commands/{}/badge", create.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(badge.contains("pending-badge") && badge.contains("hx-trigger=\"every 2s\""));
    env.store
        .settle_command(create.id, CommandState::Done, Some("t-new"), None, None)
        .await
        .unwrap();
    let badge = alice
        .get(env.at(&format!("/w/{A}/commands/{}/badge", create.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(badge.contains("done-badge"));
    // A task of another contact, or a contact that does not exist, is not found.
    let r = alice
        .post(env.at(&format!("/w/{A}/contacts/nope/notes")))
        .form(&[("_csrf", csrf.as_str()), ("body", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn cmds_snapshot(env: &Env) -> Vec<store::Command> {
    env.store.commands(A, None, None, 50).await.unwrap()
}

async fn live_stream_delivers_changes_after_connect(env: Env) {
    seed_contact(&env).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    // Something from before the connection is not replayed.
    env.put(
        task(A, "t0", "c1", "Old", now_ms(), false),
        &[change("created", "Task 'Old news' added")],
    )
    .await;
    let r = alice
        .get(env.at(&format!("/w/{A}/live")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut stream = r.bytes_stream();

    let mut done = task(A, "t1", "c1", "Send proposal", now_ms() + DAY, true);
    done.version_ms = 5;
    env.put(
        done,
        &[change("completed", "Task 'Send proposal' completed")],
    )
    .await;
    env.put(
        contact(B, "cb", "Other", "Place", &[]),
        &[change("created", "Contact 'Secret of B' added")],
    )
    .await;
    env.store
        .post_message(&store::NewMessage {
            location_id: A.into(),
            channel: store::Channel::General,
            author_id: None,
            author_name: "Ana".into(),
            body: "Nice work <b>team</b>".into(),
            idempotency_key: None,
        })
        .await
        .unwrap();

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(seen.contains("Send proposal") && seen.contains("Nice work")) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("events arrive in time; got {seen}"))
            .expect("stream open")
            .expect("chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: change"));
    assert!(seen.contains("event: message"));
    assert!(seen.contains("\"contact_id\":\"c1\""));
    assert!(
        seen.contains("data-change-id"),
        "each event carries its feed entry"
    );
    assert!(
        seen.contains("&lt;b&gt;team&lt;/b&gt;"),
        "rendered HTML is escaped"
    );
    assert!(
        !seen.contains("Old news"),
        "only changes after the connection"
    );
    assert!(
        !seen.contains("Secret of B"),
        "another workspace's changes stay there"
    );
}

async fn workspace_switcher_lists_every_membership(env: Env) {
    drivechat::admin::add_user(
        &env.store,
        "carol@example.com",
        SecretString::from(PASSWORD),
        "Carol Chen",
        &[(A.into(), Role::Member), (B.into(), Role::Admin)],
    )
    .await
    .unwrap();
    let (carol, page) = sign_in(&env, "carol@example.com").await;
    let ws = attr_values(&page, "data-workspace-id");
    assert_eq!(ws, vec![A.to_string(), B.to_string()], "sorted by name");
    for loc in [A, B] {
        let r = carol
            .get(env.at(&format!("/w/{loc}/feed")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Alice sees only her one workspace in the switcher.
    let (_, page) = sign_in(&env, ALICE).await;
    assert_eq!(attr_values(&page, "data-workspace-id"), vec![A.to_string()]);
}

/// Monday 9 March 2026, 21:00 UTC: 17:00 in New York (EDT, the day after DST began), 02:30
/// the next day in Kolkata, 22:00 in Paris (CET).
const MON_9_MARCH_21H_UTC: i64 = 1_773_090_000_000;

async fn seed_named_board(env: &Env) {
    seed_users(env, A).await;
    seed_profile(env, A, "America/New_York").await;
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    let mut far = contact(A, "c2", "Ravi", "Iyer", &[]);
    far.data["timezone"] = serde_json::json!("Asia/Kolkata");
    env.put(far, &[]).await;
    let due = MON_9_MARCH_21H_UTC;
    env.put(assigned_task(A, "t-ned", "c1", "Ned's", due, "u-ned"), &[])
        .await;
    env.put(
        assigned_task(A, "t-alice", "c2", "Alice's", due, "u-alice"),
        &[],
    )
    .await;
    env.put(
        assigned_task(A, "t-ghost", "c1", "Ghost's", due, "u-ghost"),
        &[],
    )
    .await;
}

async fn board_shows_names_and_local_times(env: Env) {
    seed_named_board(&env).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let html = alice
        .get(env.at(&format!("/w/{A}/tasks?status=all")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ned = task_row_html(&html, "t-ned");
    assert!(ned.contains(">Ned Stone<"), "{ned}");
    assert!(!ned.contains(">u-ned<"), "the id is not shown: {ned}");
    // The location's zone (Alice chose none), one format, with the zone.
    assert!(ned.contains("Mon 9 Mar 2026, 17:00 EDT"), "{ned}");
    assert!(
        ned.contains("datetime=\"2026-03-09T21:00:00.000Z\""),
        "{ned}"
    );
    assert!(
        !ned.contains("contact-time"),
        "same zone, no second time: {ned}"
    );
    // A contact elsewhere gets their own time beside.
    let far = task_row_html(&html, "t-alice");
    assert!(far.contains(">Alice Arbor<"), "{far}");
    assert!(
        far.contains("(Tue 10 Mar 2026, 02:30 IST for them)"),
        "{far}"
    );
    // A user the location does not list (yet) shows as the id.
    assert!(task_row_html(&html, "t-ghost").contains(">u-ghost<"));
}

async fn board_filters_by_assignee_and_assigned_to_me(env: Env) {
    seed_named_board(&env).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let get = |path: String| {
        let alice = alice.clone();
        let url = env.at(&path);
        async move {
            let r = alice.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (_, html) = get(format!("/w/{A}/tasks?status=all")).await;
    // The select lists the location's users by name, and ids nobody knows as themselves.
    assert!(
        html.contains("<option value=\"u-ned\">Ned Stone</option>"),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"u-ghost\">u-ghost</option>"),
        "{html}"
    );
    assert!(html.contains("Me (Alice Arbor)"), "{html}");
    assert!(html.contains("id=\"assigned-to-me\""));

    let (status, html) = get(format!("/w/{A}/tasks?status=all&assignee=u-ned")).await;
    assert_eq!(status, 200);
    assert_eq!(task_ids(&html), vec!["t-ned"]);
    assert!(
        html.contains("<option value=\"u-ned\" selected>Ned Stone</option>"),
        "{html}"
    );

    // Alice's email matches u-alice's (in another case): "me" is u-alice.
    let (status, html) = get(format!("/w/{A}/tasks?status=all&assignee=me")).await;
    assert_eq!(status, 200);
    assert_eq!(task_ids(&html), vec!["t-alice"]);

    // Bob is no HighLevel user of his location: "me" is refused, saying why.
    let (bob, _) = sign_in(&env, BOB).await;
    let r = bob
        .get(env.at(&format!("/w/{B}/tasks?assignee=me")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("needs a HighLevel user of this location"),
        "{body}"
    );
    let html = bob
        .get(env.at(&format!("/w/{B}/tasks")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("id=\"assigned-to-me\""));
    // And he cannot read workspace A's board by any filter.
    let r = bob
        .get(env.at(&format!("/w/{A}/tasks?assignee=u-ned")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn member_time_zone_is_set_and_refused_when_unknown(env: Env) {
    seed_named_board(&env).await;
    let (alice, page) = sign_in(&env, ALICE).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    let settings = env.at(&format!("/w/{A}/settings"));
    let url = env.at(&format!("/w/{A}/settings/timezone"));
    let html = alice
        .get(&settings)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-testid=\"current-zone\">America/New_York<"),
        "{html}"
    );
    assert!(html.contains("(the location's)"));
    assert!(
        html.contains("You are <strong>Alice Arbor</strong> in HighLevel"),
        "{html}"
    );
    let alice_zone = || async {
        env.store
            .chat_user_by_email(ALICE)
            .await
            .unwrap()
            .unwrap()
            .timezone
    };

    let r = alice
        .post(&url)
        .form(&[("timezone", "Europe/Paris"), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-kind=\"notice\""), "{html}");
    assert!(html.contains("Times are now shown in Europe/Paris."));
    assert!(html.contains("data-testid=\"current-zone\">Europe/Paris<"));
    assert!(html.contains("<option value=\"Europe/Paris\" selected>"));
    assert_eq!(alice_zone().await.as_deref(), Some("Europe/Paris"));
    let board = alice
        .get(env.at(&format!("/w/{A}/tasks?status=all")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ned = task_row_html(&board, "t-ned");
    assert!(ned.contains("Mon 9 Mar 2026, 22:00 CET"), "{ned}");
    assert!(
        !ned.contains("contact-time"),
        "Dana has no zone of her own: {ned}"
    );

    // An unknown zone is refused with a clear message and changes nothing.
    let r = alice
        .post(&url)
        .form(&[("timezone", "Mars/Olympus_Mons"), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-kind=\"error\""), "{html}");
    assert!(
        html.contains("is not a time zone Drive Chat knows"),
        "{html}"
    );
    assert!(html.contains("Mars/Olympus_Mons"));
    assert_eq!(alice_zone().await.as_deref(), Some("Europe/Paris"));

    // Without the CSRF token: refused.
    let r = alice
        .post(&url)
        .form(&[("timezone", "Asia/Tokyo")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(alice_zone().await.as_deref(), Some("Europe/Paris"));

    // Another workspace's form: Bob is no member of A, so it does not exist for him.
    let (bob, bob_page) = sign_in(&env, BOB).await;
    let bob_csrf = field_value(&bob_page, "_csrf").unwrap();
    let r = bob
        .post(&url)
        .form(&[("timezone", "Asia/Tokyo"), ("_csrf", &bob_csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        env.store
            .chat_user_by_email(BOB)
            .await
            .unwrap()
            .unwrap()
            .timezone,
        None
    );

    // Empty: back to the location's zone.
    let r = alice
        .post(&url)
        .form(&[("timezone", ""), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("the location's time zone"));
    assert_eq!(alice_zone().await, None);
}

async fn ids_and_utc_without_context_and_missing_scopes_named(env: Env) {
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    env.put(
        assigned_task(A, "t1", "c1", "Call", MON_9_MARCH_21H_UTC, "u-ned"),
        &[],
    )
    .await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let board = alice
        .get(env.at(&format!("/w/{A}/tasks?status=all")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let row = task_row_html(&board, "t1");
    assert!(row.contains(">u-ned<"), "{row}");
    assert!(row.contains("Mon 9 Mar 2026, 21:00 UTC"), "{row}");
    assert!(board.contains("<option value=\"u-ned\">u-ned</option>"));
    assert!(!board.contains("id=\"assigned-to-me\""));
    let settings = env.at(&format!("/w/{A}/settings"));
    let html = alice
        .get(&settings)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("missing-scopes"));
    assert!(html.contains("(no time zone is set for you or the location)"));
    assert!(html.contains("No HighLevel user of this location has your email"));

    // The sync engine could not read users: the settings page names the scope.
    env.store
        .set_context_missing_scopes(A, &["users.readonly".to_string()])
        .await
        .unwrap();
    let html = alice
        .get(&settings)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"missing-scopes\""), "{html}");
    assert!(html.contains("data-scope=\"users.readonly\""));
    assert!(html.contains("Reconnect the location"));
}

async fn notes_carry_the_members_highlevel_user(env: Env) {
    seed_contact(&env).await;
    let (alice, page) = sign_in(&env, ALICE).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    let url = env.at(&format!("/w/{A}/contacts/c1/notes"));
    let note = |body: &'static str| {
        let alice = alice.clone();
        let url = url.clone();
        let csrf = csrf.clone();
        async move {
            let r = alice
                .post(url)
                .form(&[("body", body), ("_csrf", &csrf)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    // Before the location's users are known: no author.
    note("first").await;
    seed_users(&env, A).await;
    note("second").await;
    let cmds = env.store.commands(A, None, None, 10).await.unwrap();
    let by_body = |b: &str| {
        cmds.iter()
            .find(|c| c.command["body"] == b)
            .unwrap_or_else(|| panic!("the note {b:?} was queued"))
            .command
            .clone()
    };
    assert_eq!(
        by_body("first"),
        serde_json::json!({"contact_id": "c1", "body": "first"})
    );
    assert_eq!(
        by_body("second"),
        serde_json::json!({"contact_id": "c1", "body": "second", "user_id": "u-alice"})
    );
}

async fn meetings_are_in_the_members_days(env: Env) {
    seed_named_board(&env).await;
    let mut late = appointment(
        A,
        "a1",
        "c2",
        "Evening call",
        MON_9_MARCH_21H_UTC + 3 * 3_600_000,
    );
    late.assignee = Some("u-ned".into());
    env.put(late, &[]).await;
    let (alice, _) = sign_in(&env, ALICE).await;
    let html = alice
        .get(env.at(&format!("/w/{A}/meetings?from=2026-03-09")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // 00:00 UTC on the 10th is still the 9th in New York.
    let day = html
        .find("data-day=\"2026-03-09\"")
        .unwrap_or_else(|| panic!("the 9th is a day of the page: {html}"));
    assert!(html[day..].contains("data-appointment-id=\"a1\""));
    assert!(html.contains("20:00 EDT"), "{html}");
    assert!(html.contains("data-testid=\"zone\">America/New_York<"));
    assert!(
        html.contains("Ned Stone"),
        "the meeting's owner by name: {html}"
    );
    let r = alice
        .get(env.at(&format!("/w/{A}/meetings?from=9-3-2026")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// A feed line that names a time (stored in UTC, marked by the sync's describer) shows it in
/// the member's zone, like every other time on the pages.
async fn feed_lines_name_times_in_the_members_zone(env: Env) {
    seed_profile(&env, A, "America/New_York").await;
    let due = MON_9_MARCH_21H_UTC;
    let utc = "Mon 09 Mar 21:00 UTC";
    let mut line = change("created", &format!("Task 'Call back' created, due {utc}"));
    line.detail = serde_json::json!({ "time": { "text": utc, "ms": due } });
    env.put(contact(A, "c1", "Dana", "Reyes", &[]), &[]).await;
    env.put(task(A, "t1", "c1", "Call back", due, false), &[line])
        .await;
    let (c, _) = sign_in(&env, ALICE).await;
    let page = c
        .get(env.at(&format!("/w/{A}/feed")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The line names its contact (issue #12 item 4), its name the only link.
    let line = format!(
        "created for <a class=\"contact-link\" href=\"/w/{A}/contacts/c1\">Dana Reyes</a>, due "
    );
    assert!(page.contains(&line), "{page}");
    assert!(!page.contains(utc), "the UTC text is replaced: {page}");
    assert!(page.contains("17:00 EDT"), "New York's 17:00: {page}");
}
