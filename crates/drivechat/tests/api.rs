//! The JSON API, the admin functions, and workspace isolation: a member of workspace A who
//! asks for anything of workspace B — through every web route and every API route, each
//! enumerated from the router's source and the OpenAPI document, so a new route is walked
//! too — gets 404, while the same walk with A's own ids succeeds.

mod common;

use common::*;
use drivechat::{Config, Error, Role};
use reqwest::StatusCode;
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};
use store::{CommandState, NewCommand, SecretString};

on_both_backends!(
    api_needs_a_valid_token,
    api_reads_and_actions,
    openapi_document_lists_every_path,
    admin_refusals_say_what_to_do,
    every_route_is_scoped_to_the_workspace,
);

pub fn config() -> Config {
    Config::default()
}

async fn token(env: &Env, email: &str, loc: &str) -> String {
    drivechat::admin::create_api_token(&env.store, email, loc)
        .await
        .expect("token")
        .expose_secret()
        .to_string()
}

async fn api_needs_a_valid_token(env: Env) {
    let c = reqwest::Client::new();
    for auth in [
        None,
        Some("Bearer "),
        Some("Bearer dct_not-a-token"),
        Some("Basic abc"),
    ] {
        let mut req = c.get(env.at("/api/v1/contacts"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
    }
    // A token dies with its membership: Bob's token for B stops working once he is
    // removed (here: his user is deleted through a fresh membership check).
    let t = token(&env, ALICE, A).await;
    let r = c
        .get(env.at("/api/v1/workspace"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let w: Value = r.json().await.unwrap();
    assert_eq!(w["id"], A);
    assert_eq!(w["name"], "Acme Roofing");
    assert_eq!(w["role"], "admin");
    assert_eq!(w["user"]["email"], ALICE);
    // Unknown API paths answer JSON 404.
    let r = c
        .get(env.at("/api/v1/nothing"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
}

async fn api_reads_and_actions(env: Env) {
    let now = now_ms();
    for (id, first) in [("c1", "Ann"), ("c2", "Ben"), ("c3", "Cy")] {
        env.put(contact(A, id, first, "Smith", &["vip"]), &[]).await;
    }
    env.put(
        task(A, "t1", "c1", "Overdue thing", now - 2 * DAY, false),
        &[],
    )
    .await;
    env.put(
        task(A, "t2", "c1", "Later thing", now + 20 * DAY, false),
        &[],
    )
    .await;
    env.put(note(A, "n1", "c1", "Met at the fair", now - DAY), &[])
        .await;
    env.put(
        appointment(A, "a1", "c1", "Site visit", now + 3_600_000),
        &[],
    )
    .await;
    env.put(
        appointment_note(A, "an1", "a1", "c1", "Gate code 1234"),
        &[],
    )
    .await;
    env.put(
        task(A, "t3", "c2", "Done thing", now, true),
        &[change("completed", "Task 'Done thing' completed")],
    )
    .await;
    let t = token(&env, ALICE, A).await;
    let c = reqwest::Client::new();
    let get = |path: String| {
        let c = c.clone();
        let t = t.clone();
        let url = env.at(&path);
        async move {
            let r = c.get(url).bearer_auth(t).send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };

    // Contacts, two per page.
    let (s, p1) = get("/api/v1/contacts?limit=2".into()).await;
    assert_eq!(s, 200);
    let names: Vec<&str> = p1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ann Smith", "Ben Smith"]);
    assert_eq!(p1["items"][0]["email"], "c1@example.net");
    assert_eq!(p1["items"][0]["tags"], json!(["vip"]));
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = get(format!("/api/v1/contacts?limit=2&cursor={cursor}")).await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert_eq!(p2["items"][0]["id"], "c3");
    assert!(p2["next_cursor"].is_null());
    let (s, bad) = get("/api/v1/contacts?cursor=garbage".into()).await;
    assert_eq!(s, 400);
    assert!(bad["error"].as_str().unwrap().contains("cursor"));
    let (_, q) = get("/api/v1/contacts?q=ben".into()).await;
    assert_eq!(q["items"].as_array().unwrap().len(), 1);

    // One contact with everything around it.
    let (s, d) = get("/api/v1/contacts/c1".into()).await;
    assert_eq!(s, 200);
    assert_eq!(d["contact"]["name"], "Ann Smith");
    assert_eq!(d["open_tasks"].as_array().unwrap().len(), 2);
    assert_eq!(d["notes"][0]["body"], "Met at the fair");
    assert_eq!(d["upcoming_appointments"][0]["title"], "Site visit");
    assert_eq!(
        d["upcoming_appointments"][0]["notes"][0]["body"],
        "Gate code 1234"
    );

    // The board.
    let (_, b) = get("/api/v1/tasks?due=overdue".into()).await;
    let ids: Vec<&str> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["t1"]);
    assert_eq!(b["items"][0]["contact_name"], "Ann Smith");
    let (_, b) = get("/api/v1/tasks?status=done".into()).await;
    assert_eq!(b["items"][0]["id"], "t3");
    let (s, b) = get("/api/v1/tasks?status=finished".into()).await;
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("open, done or all"));

    // Meetings and the feed.
    let (_, m) = get("/api/v1/appointments".into()).await;
    assert_eq!(m["items"][0]["id"], "a1");
    assert_eq!(m["items"][0]["contact_name"], "Ann Smith");
    assert_eq!(m["items"][0]["contact_notes"][0]["body"], "Met at the fair");
    let (s, _) = get("/api/v1/appointments?days=90".into()).await;
    assert_eq!(s, 400);
    let (_, f) = get("/api/v1/feed".into()).await;
    assert_eq!(
        f["items"][0]["change"]["summary"],
        "Task 'Done thing' completed"
    );

    // Actions: 202 with a pending command; the same Idempotency-Key answers 200 with it.
    let post = |path: &str, key: Option<&str>, body: Value| {
        let mut req = c.post(env.at(path)).bearer_auth(&t).json(&body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        async move {
            let r = req.send().await.unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let (s, cmd) = post("/api/v1/tasks/t1/complete", Some("k1"), json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(cmd["state"], "pending");
    assert_eq!(cmd["kind"], "complete_task");
    assert_eq!(cmd["command"], json!({"contact_id": "c1", "task_id": "t1"}));
    let (s, again) = post("/api/v1/tasks/t1/complete", Some("k1"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["id"], cmd["id"]);
    let (s, _) = post("/api/v1/tasks/t3/reopen", None, json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, ct) = post(
        "/api/v1/contacts/c2/tasks",
        None,
        json!({"title": "Ring", "due_date": "2030-05-01T10:00:00Z", "assigned_to": "u1"}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(ct["command"]["due_date"], "2030-05-01T10:00:00.000Z");
    let (s, e) = post(
        "/api/v1/contacts/c2/tasks",
        None,
        json!({"title": "Ring", "due_date": "tomorrow"}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(e["error"].as_str().unwrap().contains("RFC 3339"));
    let (s, e) = post(
        "/api/v1/contacts/c2/notes",
        None,
        json!({"text": "wrong field"}),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"].is_string());
    let (s, _) = post("/api/v1/contacts/c2/notes", None, json!({"body": "Hi"})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, tg) = post(
        "/api/v1/contacts/c2/tags",
        None,
        json!({"tags": ["Hot", "hot"]}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(tg["command"]["tags"], json!(["hot"]));
    let (s, _) = post(
        "/api/v1/contacts/c2/tags/remove",
        None,
        json!({"tags": ["vip"]}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, msg) = post(
        "/api/v1/contacts/c2/messages",
        None,
        json!({"body": "ping"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(msg["channel"], "contact");
    assert_eq!(msg["author"], "Alice Archer");
    let (s, msg) = post(
        "/api/v1/messages",
        Some("m1"),
        json!({"body": "all hands", "channel": "alerts"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, again) = post(
        "/api/v1/messages",
        Some("m1"),
        json!({"body": "all hands", "channel": "alerts"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["id"], msg["id"]);

    // A refused command reads as failed, with HighLevel's reason.
    let id = cmd["id"].as_i64().unwrap();
    env.store
        .settle_command(id, CommandState::Failed, None, None, Some("HighLevel refused: the connection lacks contacts.write — reconnect with contacts.write"))
        .await
        .unwrap();
    let (s, got) = get(format!("/api/v1/commands/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(got["state"], "failed");
    assert!(got["error"].as_str().unwrap().contains("contacts.write"));
    let (_, b) = get("/api/v1/tasks?due=overdue".into()).await;
    assert_eq!(b["items"][0]["command"]["state"], "failed");
}

async fn openapi_document_lists_every_path(env: Env) {
    let r = reqwest::get(env.at("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/workspace",
        "/api/v1/contacts",
        "/api/v1/contacts/{contact_id}",
        "/api/v1/contacts/{contact_id}/tasks",
        "/api/v1/contacts/{contact_id}/notes",
        "/api/v1/contacts/{contact_id}/tags",
        "/api/v1/contacts/{contact_id}/tags/remove",
        "/api/v1/contacts/{contact_id}/messages",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/tasks/{task_id}/reopen",
        "/api/v1/appointments",
        "/api/v1/feed",
        "/api/v1/messages",
        "/api/v1/commands/{command_id}",
    ] {
        assert!(paths.contains_key(p), "the document lists {p}");
    }
    assert_eq!(
        paths.len(),
        15,
        "and nothing undocumented: {:?}",
        paths.keys()
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for schema in [
        "ContactOut",
        "TaskOut",
        "CommandOut",
        "ErrorBody",
        "CreateTaskIn",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // Every documented route exists on the server (401 without a token, not 404).
    let c = reqwest::Client::new();
    for (path, ops) in paths {
        let path = path
            .replace("{contact_id}", "x")
            .replace("{task_id}", "x")
            .replace("{command_id}", "1");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = c.request(m, env.at(&path)).send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path}");
        }
    }
}

async fn admin_refusals_say_what_to_do(env: Env) {
    let s = &env.store;
    let pw = || SecretString::from(PASSWORD);
    let e = drivechat::admin::add_user(s, "ALICE@example.com ", pw(), "Again", &[])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UserExists { .. }), "{e}");
    let e = drivechat::admin::add_user(
        s,
        "new@example.com",
        pw(),
        "New",
        &[("nowhere".into(), Role::Member)],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::UnknownWorkspace { .. }), "{e}");
    assert!(e.to_string().contains("nowhere"));
    let e = drivechat::admin::add_user(
        s,
        "new@example.com",
        SecretString::from("short"),
        "New",
        &[],
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("at least 8"));
    let e = drivechat::admin::add_user(s, "not-an-email", pw(), "New", &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not an email"));
    let e = drivechat::admin::ensure_workspace(s, "locZ", "Zed")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotConnected { .. }), "{e}");
    assert!(e.to_string().contains("drivesync connect"));
    let e = drivechat::admin::create_api_token(s, ALICE, B)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotAMember { .. }), "{e}");
    let e = drivechat::admin::create_api_token(s, "ghost@example.com", A)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UnknownUser { .. }), "{e}");
    // Renaming a workspace keeps its members; adding Alice to B gives her a token there.
    drivechat::admin::ensure_workspace(s, A, "Acme Roofing Ltd")
        .await
        .unwrap();
    assert_eq!(
        s.workspace(A).await.unwrap().unwrap().name,
        "Acme Roofing Ltd"
    );
    drivechat::admin::add_membership(s, ALICE, B, Role::Member)
        .await
        .unwrap();
    let t = drivechat::admin::create_api_token(s, ALICE, B)
        .await
        .unwrap();
    assert!(t.expose_secret().starts_with("dct_"));
    let r = reqwest::Client::new()
        .get(env.at("/api/v1/workspace"))
        .bearer_auth(t.expose_secret())
        .send()
        .await
        .unwrap();
    let w: Value = r.json().await.unwrap();
    assert_eq!(
        (w["id"].as_str(), w["role"].as_str()),
        (Some(B), Some("member"))
    );
}

/// Ids of one workspace's contact, task, and command.
struct Ids {
    contact: &'static str,
    task: &'static str,
    command: i64,
}

async fn seed_workspace(
    env: &Env,
    ws: &'static str,
    contact_id: &'static str,
    task_id: &'static str,
) -> Ids {
    let now = now_ms();
    env.put(
        contact(ws, contact_id, "Pat", ws, &["vip"]),
        &[change("created", &format!("Contact of {ws}"))],
    )
    .await;
    env.put(
        task(
            ws,
            task_id,
            contact_id,
            &format!("Task of {ws}"),
            now + DAY,
            false,
        ),
        &[],
    )
    .await;
    env.put(
        note(
            ws,
            &format!("n-{ws}"),
            contact_id,
            &format!("Note of {ws}"),
            now,
        ),
        &[],
    )
    .await;
    env.put(
        appointment(
            ws,
            &format!("a-{ws}"),
            contact_id,
            &format!("Meeting of {ws}"),
            now + 3_600_000,
        ),
        &[],
    )
    .await;
    let (command, _) = env
        .store
        .enqueue_command(&NewCommand {
            location_id: ws.into(),
            kind: "add_note".into(),
            contact_id: Some(contact_id.into()),
            record_id: None,
            command: json!({"contact_id": contact_id, "body": "x"}),
            requested_by: None,
            idempotency_key: None,
        })
        .await
        .unwrap();
    Ids {
        contact: contact_id,
        task: task_id,
        command,
    }
}

/// The web routes, read from the router's source: (method, path pattern).
fn ui_routes() -> Vec<(&'static str, String)> {
    let src = include_str!("../src/ui/mod.rs");
    let mut out = Vec::new();
    for line in src
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(".route(\""))
    {
        let path = line.split('"').nth(1).unwrap().to_string();
        for (m, pat) in [("GET", "get("), ("POST", "post(")] {
            if line.contains(pat) {
                out.push((m, path.clone()));
            }
        }
    }
    assert!(out.len() >= 20, "the router's routes were found: {out:?}");
    out
}

fn fill(pattern: &str, ws: &str, ids: &Ids) -> String {
    pattern
        .replace("{ws}", ws)
        .replace("{contact}", ids.contact)
        .replace("{contact_id}", ids.contact)
        .replace("{task}", ids.task)
        .replace("{task_id}", ids.task)
        .replace("{id}", &ids.command.to_string())
        .replace("{command_id}", &ids.command.to_string())
}

async fn every_route_is_scoped_to_the_workspace(env: Env) {
    let a = seed_workspace(&env, A, "ca", "ta").await;
    let b = seed_workspace(&env, B, "cb", "tb").await;
    let (alice, page) = sign_in(&env, ALICE).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    let form = |n: usize| {
        vec![
            ("_csrf", csrf.clone()),
            ("_idem", format!("walk-{n}")),
            ("title", "T".to_string()),
            ("due", "2030-01-01".to_string()),
            ("body", "B".to_string()),
            ("tags", "t".to_string()),
            ("tag", "vip".to_string()),
        ]
    };
    let routes = ui_routes();
    let workspace_routes: Vec<&(&str, String)> =
        routes.iter().filter(|(_, p)| p.contains("{ws}")).collect();
    let mut n = 0;
    // (which workspace is in the URL, whose ids are in it, expect 404?)
    let cases: [(&str, &Ids, bool); 3] = [(B, &b, true), (A, &b, true), (A, &a, false)];
    for (ws, ids, expect_404) in cases {
        for (method, pattern) in &workspace_routes {
            let has_ids = pattern.contains("{contact}")
                || pattern.contains("{task}")
                || pattern.contains("{id}");
            if ws == A && expect_404 && !has_ids {
                continue; // nothing of B in the URL
            }
            n += 1;
            let url = env.at(&fill(pattern, ws, ids));
            let r = match *method {
                "GET" => alice.get(&url).send().await.unwrap(),
                _ => alice.post(&url).form(&form(n)).send().await.unwrap(),
            };
            if expect_404 {
                assert_eq!(r.status(), 404, "{method} {url} as a member of A");
                let body = r.text().await.unwrap();
                for secret in [
                    "Pat locB",
                    "Task of locB",
                    "Note of locB",
                    "Meeting of locB",
                ] {
                    assert!(!body.contains(secret), "{method} {url} leaked {secret}");
                }
            } else {
                assert!(
                    r.status().is_success(),
                    "{method} {url} works in A: {}",
                    r.status()
                );
            }
        }
    }
    // Lists of A never show B's records.
    for path in ["contacts", "tasks", "meetings", "feed", "alerts"] {
        let body = alice
            .get(env.at(&format!("/w/{A}/{path}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for secret in [
            "locB",
            "Task of locB",
            "Note of locB",
            "Meeting of locB",
            "Contact of locB",
        ] {
            assert!(!body.contains(secret), "/w/{A}/{path} shows {secret}");
        }
    }
    // Nothing was queued in B, and A got its commands from the control walk only.
    assert_eq!(
        env.store.commands(B, None, None, 100).await.unwrap().len(),
        1
    );

    // The API, walked from its OpenAPI document with A's token and B's ids.
    let t = token(&env, ALICE, A).await;
    let doc: Value = reqwest::get(env.at("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = reqwest::Client::new();
    let mut walked = 0;
    for (pattern, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = json!({"title": "T", "due_date": "2030-01-01T00:00:00Z", "body": "B", "tags": ["t"]});
            let has_ids = pattern.contains('{');
            let url = if has_ids {
                env.at(&fill(pattern, A, &b))
            } else if pattern == "/api/v1/feed" {
                env.at(&format!("{pattern}?contact_id={}", b.contact))
            } else {
                env.at(pattern)
            };
            let r = c
                .request(m.clone(), &url)
                .bearer_auth(&t)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            if has_ids || pattern == "/api/v1/feed" {
                walked += 1;
                assert_eq!(status, 404, "{method} {url} with A's token: {text}");
                assert!(serde_json::from_str::<Value>(&text).unwrap()["error"].is_string());
            } else {
                assert!(status.is_success(), "{method} {url}: {status} {text}");
            }
            for secret in [
                "Pat locB",
                "Task of locB",
                "Note of locB",
                "Meeting of locB",
                "Contact of locB",
            ] {
                assert!(!text.contains(secret), "{method} {url} leaked {secret}");
            }
            // The same route with A's own ids works: the 404s above come from scoping.
            if has_ids {
                let own = env.at(&fill(pattern, A, &a));
                let r = c
                    .request(m, &own)
                    .bearer_auth(&t)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{method} {own}: {}", r.status());
            }
        }
    }
    assert!(
        walked >= 10,
        "the API walk covered the routes with ids ({walked})"
    );
    assert_eq!(
        env.store.commands(B, None, None, 100).await.unwrap().len(),
        1
    );
}
