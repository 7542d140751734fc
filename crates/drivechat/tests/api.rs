//! The JSON API, the admin functions, and workspace isolation: a member of workspace A who
//! asks for anything of workspace B — through every web route and every API route, each
//! enumerated from the router's source and the OpenAPI document, so a new route is walked
//! too — gets 404, while the same walk with A's own ids succeeds.

mod common;

use common::context::*;
use common::*;
use drivechat::{Config, Error, Role};
use reqwest::StatusCode;
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};
use store::{CommandState, HighLevelCommand, NewCommand, SecretString};

on_both_backends!(
    api_needs_a_valid_token,
    api_reads_and_actions,
    api_shows_names_custom_fields_and_zones,
    api_falls_back_to_ids_without_context,
    openapi_document_lists_every_path,
    openapi_document_matches_the_router,
    openapi_times_are_date_times,
    docs_page_needs_no_token,
    commands_are_listed_and_filtered,
    alerts_list_what_the_channel_shows,
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
    // A mistyped year is refused with the date read back, not filed as long overdue.
    for (due, words) in [
        (
            "2020-01-01T09:00:00Z",
            "the due date 2020-01-01 is more than five years ago",
        ),
        (
            "2206-01-01T09:00:00Z",
            "the due date 2206-01-01 is more than ten years ahead",
        ),
    ] {
        let (s, e) = post(
            "/api/v1/contacts/c2/tasks",
            None,
            json!({"title": "Ring", "due_date": due}),
        )
        .await;
        assert_eq!(s, 400, "{due}");
        assert!(e["error"].as_str().unwrap().contains(words), "{e}");
    }
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

/// A GET with `token`, answering status and JSON.
async fn get_json(env: &Env, token: &str, path: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .get(env.at(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

/// A POST of `body` with `token`, answering status and JSON.
async fn post_json(env: &Env, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(env.at(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn rfc3339_ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .timestamp_millis()
}

async fn api_shows_names_custom_fields_and_zones(env: Env) {
    seed_context(&env, A).await;
    env.put(contact_with_fields(A, "c1", "Ann", "Smith"), &[])
        .await;
    let now = now_ms();
    let mut mine = task(A, "t-mine", "c1", "Mine", now + DAY, false);
    mine.assignee = Some(HL_ALICE.into());
    env.put(mine, &[]).await;
    let mut bos = task(A, "t-bo", "c1", "Bo's", now + 2 * DAY, false);
    bos.assignee = Some(HL_BO.into());
    env.put(bos, &[]).await;
    let mut gone = task(A, "t-gone", "c1", "Nobody's", now + 3 * DAY, false);
    gone.assignee = Some("u-left-the-company".into());
    env.put(gone, &[]).await;
    let mut n = note(A, "n1", "c1", "Called", now - DAY);
    n.data = json!({ "id": "n1", "contactId": "c1", "userId": HL_CY, "body": "Called" });
    env.put(n, &[]).await;
    // 8 March 2026 at 23:30 in New York (EDT since 02:00 that day) is 03:30 UTC on the 9th.
    env.put(
        appointment(
            A,
            "a-late",
            "c1",
            "Late call",
            rfc3339_ms("2026-03-09T03:30:00Z"),
        ),
        &[],
    )
    .await;
    let t = token(&env, ALICE, A).await;

    // Who am I: the location's zone, and the HighLevel user with my email (case aside).
    let (s, w) = get_json(&env, &t, "/api/v1/workspace").await;
    assert_eq!(s, 200, "{w}");
    assert_eq!(w["timezone"], LOCATION_ZONE);
    assert_eq!(w["timezone_source"], "location");
    assert_eq!(w["location_timezone"], LOCATION_ZONE);
    assert_eq!(w["highlevel_user"]["id"], HL_ALICE);
    assert_eq!(w["highlevel_user"]["name"], HL_ALICE_NAME);
    assert_eq!(w["missing_scopes"], json!([]));

    // The location's users, by name.
    let (s, users) = get_json(&env, &t, "/api/v1/users").await;
    assert_eq!(s, 200);
    let names: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [HL_ALICE_NAME, HL_BO_NAME, HL_CY_NAME]);

    // The contact: assignee by name, custom fields labelled and typed, DND, its zone.
    let (s, d) = get_json(&env, &t, "/api/v1/contacts/c1").await;
    assert_eq!(s, 200, "{d}");
    let c = &d["contact"];
    assert_eq!(c["assigned_to"], HL_BO);
    assert_eq!(c["assigned_to_name"], HL_BO_NAME);
    assert_eq!(c["timezone"], CONTACT_ZONE);
    let fields: Vec<(&str, &str, &Value)> = c["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap(),
                f["type"].as_str().unwrap(),
                &f["value"],
            )
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            ("Plan", "text", &json!("Gold")),
            ("Lifetime value", "number", &json!(1234.5)),
            ("Visits", "number", &json!(12)),
            ("Renewal date", "date", &json!("2026-03-10")),
            ("Consents", "list", &json!(["SMS", "Email"])),
            ("f-gone", "raw", &json!("left over")),
        ],
        "{}",
        c["custom_fields"]
    );
    let renew = &c["custom_fields"][3];
    assert_eq!(renew["data_type"], "DATE");
    assert_eq!(renew["field_key"], "contact.renewal_date");
    assert_eq!(renew["display"], "Tue 10 Mar 2026");
    assert_eq!(c["custom_fields"][1]["display"], "1234.50");
    assert!(c["custom_fields"][5]["data_type"].is_null());
    assert_eq!(c["dnd"]["all"], false);
    assert_eq!(
        c["dnd"]["channels"],
        json!([
            {"channel": "Email", "status": "inactive", "blocked": false, "message": null, "code": null},
            {"channel": "SMS", "status": "active", "blocked": true,
             "message": "Asked us to stop texting", "code": null},
        ])
    );
    // Task assignees and note authors by name; an unknown user stays its id.
    let assignees: Vec<(&str, &str)> = d["open_tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap(),
                t["assigned_to_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        assignees,
        [
            ("t-mine", HL_ALICE_NAME),
            ("t-bo", HL_BO_NAME),
            ("t-gone", "u-left-the-company")
        ]
    );
    assert_eq!(d["notes"][0]["user_id"], HL_CY);
    assert_eq!(d["notes"][0]["author"], HL_CY_NAME);
    // Times stay RFC 3339 in UTC.
    assert_eq!(
        d["past_appointments"][0]["start_at"],
        "2026-03-09T03:30:00.000Z"
    );

    // The list carries the same.
    let (_, list) = get_json(&env, &t, "/api/v1/contacts").await;
    assert_eq!(list["items"][0]["assigned_to_name"], HL_BO_NAME);
    assert_eq!(list["items"][0]["custom_fields"][0]["value"], "Gold");

    // "Assigned to me" is Alice's HighLevel user; a user id filters by that user.
    let (s, mine) = get_json(&env, &t, "/api/v1/tasks?assignee=me").await;
    assert_eq!(s, 200, "{mine}");
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["t-mine"]);
    let (_, bo) = get_json(&env, &t, &format!("/api/v1/tasks?assignee={HL_BO}")).await;
    assert_eq!(bo["items"][0]["assigned_to_name"], HL_BO_NAME);
    assert_eq!(bo["items"].as_array().unwrap().len(), 1);

    // Days are the member's: the late call is on 8 March in New York, not on the 9th.
    let (s, day8) = get_json(&env, &t, "/api/v1/appointments?from=2026-03-08&days=1").await;
    assert_eq!(s, 200, "{day8}");
    assert_eq!(day8["items"][0]["id"], "a-late");
    let (_, day9) = get_json(&env, &t, "/api/v1/appointments?from=2026-03-09&days=1").await;
    assert_eq!(day9["items"], json!([]));
    // With her own zone set to UTC, the 9th it is.
    let alice = env.store.chat_user_by_email(ALICE).await.unwrap().unwrap();
    assert!(env
        .store
        .set_chat_user_timezone(alice.id, Some("UTC"))
        .await
        .unwrap());
    let (_, w) = get_json(&env, &t, "/api/v1/workspace").await;
    assert_eq!(
        (&w["timezone"], &w["timezone_source"]),
        (&json!("UTC"), &json!("member"))
    );
    let (_, day9) = get_json(&env, &t, "/api/v1/appointments?from=2026-03-09&days=1").await;
    assert_eq!(day9["items"][0]["id"], "a-late");

    // A note Alice adds carries her HighLevel user id for HighLevel's note userId.
    let (s, cmd) = post_json(
        &env,
        &t,
        "/api/v1/contacts/c1/notes",
        json!({"body": "Left a voicemail"}),
    )
    .await;
    assert_eq!(s, 202, "{cmd}");
    assert_eq!(
        cmd["command"],
        json!({"contact_id": "c1", "body": "Left a voicemail", "user_id": HL_ALICE})
    );
    // A due date with an offset is stored as its UTC instant.
    let (s, cmd) = post_json(
        &env,
        &t,
        "/api/v1/contacts/c1/tasks",
        json!({"title": "Call back", "due_date": "2026-03-09T17:00:00-04:00", "assigned_to": HL_BO}),
    )
    .await;
    assert_eq!(s, 202, "{cmd}");
    assert_eq!(cmd["command"]["due_date"], "2026-03-09T21:00:00.000Z");
    assert_eq!(cmd["command"]["assigned_to"], HL_BO);
}

async fn api_falls_back_to_ids_without_context(env: Env) {
    // Nothing read yet but the scopes the token lacks.
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
    let mut n = note(A, "n1", "c1", "Called", now_ms());
    n.data = json!({ "id": "n1", "contactId": "c1", "userId": HL_CY });
    env.put(n, &[]).await;
    let t = token(&env, ALICE, A).await;

    let (_, w) = get_json(&env, &t, "/api/v1/workspace").await;
    assert_eq!(w["timezone"], "UTC");
    assert_eq!(w["timezone_source"], "default");
    assert!(w["location_timezone"].is_null());
    assert!(w["highlevel_user"].is_null());
    assert_eq!(
        w["missing_scopes"],
        json!(["locations/customFields.readonly", "users.readonly"])
    );
    let (_, users) = get_json(&env, &t, "/api/v1/users").await;
    assert_eq!(users["items"], json!([]));
    assert_eq!(users["missing_scopes"].as_array().unwrap().len(), 2);

    let (s, d) = get_json(&env, &t, "/api/v1/contacts/c1").await;
    assert_eq!(s, 200, "{d}");
    let c = &d["contact"];
    assert_eq!(
        c["assigned_to_name"], HL_BO,
        "the id stands in for the name"
    );
    assert_eq!(d["notes"][0]["author"], HL_CY);
    // Custom fields are still there: labelled by id, values as HighLevel sent them.
    let fields: Vec<(&str, &str, &Value)> = c["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap(),
                f["type"].as_str().unwrap(),
                &f["value"],
            )
        })
        .collect();
    assert_eq!(fields.len(), 6, "{}", c["custom_fields"]);
    assert!(fields.contains(&("f-ltv", "raw", &json!("1234.5"))));
    assert!(fields.contains(&("f-consent", "raw", &json!(["sms", "Email"]))));
    assert!(fields.iter().all(|(_, kind, _)| *kind == "raw"));
    // DND does not depend on the context.
    assert_eq!(c["dnd"]["channels"][1]["blocked"], true);

    // "Assigned to me" cannot be answered, and says why.
    let (s, e) = get_json(&env, &t, "/api/v1/tasks?assignee=me").await;
    assert_eq!(s, 400);
    assert!(
        e["error"].as_str().unwrap().contains("HighLevel user"),
        "{e}"
    );
    // A note is still added, without a HighLevel author.
    let (s, cmd) = post_json(
        &env,
        &t,
        "/api/v1/contacts/c1/notes",
        json!({"body": "Left a voicemail"}),
    )
    .await;
    assert_eq!(s, 202);
    assert!(cmd["command"].get("user_id").is_none(), "{cmd}");
}

async fn openapi_document_lists_every_path(env: Env) {
    let r = reqwest::get(env.at("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/workspace",
        "/api/v1/users",
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
        "/api/v1/alerts",
        "/api/v1/messages",
        "/api/v1/commands",
        "/api/v1/commands/{command_id}",
        "/api/v1/events",
    ] {
        assert!(paths.contains_key(p), "the document lists {p}");
    }
    assert_eq!(
        paths.len(),
        19,
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
        "CustomFieldOut",
        "DndOut",
        "HlUserList",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // Times are typed: RFC 3339 date-times.
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("ContactOut", "added_at"),
        ("TaskOut", "due_at"),
        ("NoteOut", "added_at"),
        ("AppointmentOut", "start_at"),
        ("CommandOut", "created_at"),
        ("MessageOut", "at"),
        ("ChangeOut", "at"),
        ("CreateTaskIn", "due_date"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["format"], "date-time",
            "{schema}.{field}: {}",
            schemas[schema]["properties"][field]
        );
    }
    // A custom field's value may be of any JSON type: the schema must not claim one.
    let value = &schemas["CustomFieldOut"]["properties"]["value"];
    assert!(value.get("type").is_none(), "{value}");
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
            command: HighLevelCommand::AddNote {
                contact_id: contact_id.into(),
                body: "x".into(),
                user_id: None,
            },
            requested_by: None,
            actor: None,
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

/// The web routes, from the router's own table: (method, path pattern).
fn ui_routes(env: &Env) -> Vec<(&'static str, String)> {
    let out: Vec<(&'static str, String)> = env
        .chat
        .access_rules()
        .into_iter()
        .filter(|d| !d.path.starts_with("/api/"))
        .map(|d| {
            let m = if d.method == reqwest::Method::GET {
                "GET"
            } else {
                "POST"
            };
            (m, d.path.to_string())
        })
        .collect();
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
    // Both locations' users, fields and zones are known: none of B's may show in A.
    seed_context(&env, A).await;
    seed_context(&env, B).await;
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
    let routes = ui_routes(&env);
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
            // Settings hold no HighLevel records; their ids (members, sessions, tokens) and
            // every role on them are walked by tests/roles.rs.
            if ws == A && pattern.contains("/settings/") {
                continue;
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
                    "of locB",
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
            // Lists filtered by one of B's contacts are refused like B's ids in a path.
            let by_contact = ["/api/v1/feed", "/api/v1/commands"].contains(&pattern.as_str());
            let url = if has_ids {
                env.at(&fill(pattern, A, &b))
            } else if by_contact {
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
            if pattern == "/api/v1/events" {
                // A stream does not end by itself; its events are walked in api_events.rs.
                assert_eq!(status, 200, "{method} {url}");
                continue;
            }
            let text = r.text().await.unwrap();
            if has_ids || by_contact {
                walked += 1;
                assert_eq!(status, 404, "{method} {url} with A's token: {text}");
                assert!(serde_json::from_str::<Value>(&text).unwrap()["error"].is_string());
            } else {
                assert!(status.is_success(), "{method} {url}: {status} {text}");
            }
            for secret in [
                "Pat locB",
                "of locB",
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

/// The API's routes, from the router's own table: (method, path), without the document,
/// the docs page and the JSON 404s, which are not operations.
fn api_routes(env: &Env) -> Vec<(String, String)> {
    let out: Vec<(String, String)> = env
        .chat
        .access_rules()
        .into_iter()
        .filter(|d| d.path.starts_with("/api/v1/"))
        .filter(|d| {
            !d.path.contains("{*")
                && !d.path.starts_with("/api/v1/docs")
                && d.path != "/api/v1/openapi.json"
        })
        .map(|d| (d.method.as_str().to_lowercase(), d.path.to_string()))
        .collect();
    assert!(out.len() >= 19, "the router's routes were found: {out:?}");
    out
}

async fn openapi_document_matches_the_router(env: Env) {
    let doc: Value = reqwest::get(env.at("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(|m| (m.clone(), p.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut routed = api_routes(&env);
    documented.sort();
    routed.sort();
    assert_eq!(
        routed, documented,
        "every route documented, every document entry routed"
    );
}

/// Every string in the document's schemas and parameters that holds a time says so: a
/// property or parameter named like a time (`*_at`, `at`, `*_date`, `since`, `*_time`)
/// without `format: date-time` fails, wherever it is.
async fn openapi_times_are_date_times(env: Env) {
    let doc: Value = reqwest::get(env.at("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    fn looks_like_time(name: &str) -> bool {
        name == "at"
            || name == "since"
            || name.ends_with("_at")
            || name.ends_with("_date")
            || name.ends_with("_time")
    }
    /// A string schema, possibly nullable (`type: [string, null]`) or wrapped in oneOf.
    fn is_string(s: &Value) -> bool {
        match &s["type"] {
            Value::String(t) => t == "string",
            Value::Array(ts) => ts.iter().any(|t| t == "string"),
            _ => s["oneOf"]
                .as_array()
                .is_some_and(|v| v.iter().any(is_string)),
        }
    }
    fn has_format(s: &Value) -> bool {
        s["format"] == "date-time"
            || s["oneOf"]
                .as_array()
                .is_some_and(|v| v.iter().any(has_format))
    }
    fn walk(v: &Value, at: &str, checked: &mut Vec<String>, bad: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(props) = o.get("properties").and_then(Value::as_object) {
                    for (name, s) in props {
                        if looks_like_time(name) && is_string(s) {
                            checked.push(format!("{at}.{name}"));
                            if !has_format(s) {
                                bad.push(format!("{at}.{name}: {s}"));
                            }
                        }
                    }
                }
                // A parameter: {name, in, schema}.
                if let (Some(name), Some(s)) =
                    (o.get("name").and_then(Value::as_str), o.get("schema"))
                {
                    if o.contains_key("in") && looks_like_time(&name.to_lowercase()) && is_string(s)
                    {
                        checked.push(format!("{at} parameter {name}"));
                        if !has_format(s) {
                            bad.push(format!("{at} parameter {name}: {s}"));
                        }
                    }
                }
                for (k, child) in o {
                    walk(child, &format!("{at}/{k}"), checked, bad);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), checked, bad);
                }
            }
            _ => {}
        }
    }
    let (mut checked, mut bad) = (Vec::new(), Vec::new());
    walk(&doc, "", &mut checked, &mut bad);
    assert!(bad.is_empty(), "times without format date-time: {bad:#?}");
    // The walk saw the times it must: a fault in it cannot pass silently.
    for must in [
        "/components/schemas/CommandOut.settled_at",
        "/components/schemas/AlertEntry.at",
        "/components/schemas/TaskOut.due_at",
        "/components/schemas/CreateTaskIn.due_date",
    ] {
        assert!(checked.iter().any(|c| c == must), "{must} in {checked:#?}");
    }
    assert!(
        checked.iter().any(|c| c.ends_with("parameter since")),
        "the commands list's `since`: {checked:#?}"
    );
}

async fn docs_page_needs_no_token(env: Env) {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c.get(env.at("/api/v1/docs")).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/api/v1/docs/");
    let r = c.get(env.at("/api/v1/docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let page = r.text().await.unwrap();
    assert!(page.contains("<title>Drive Chat API</title>"), "{page}");
    // Its scripts are files of this server: none inline, none from elsewhere.
    let scripts: Vec<&str> = page.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 3, "{page}");
    for s in &scripts {
        let src = s.split("src=\"").nth(1).expect("every script has a src");
        assert!(src.starts_with("./"), "served from here: {s}");
        assert!(
            s.contains("> </script>") || s.contains("></script>"),
            "no inline code: {s}"
        );
    }
    for (file, kind, needle) in [
        ("swagger-ui-bundle.js", "javascript", "SwaggerUIBundle"),
        ("swagger-ui.css", "text/css", ".swagger-ui"),
        (
            "swagger-initializer.js",
            "javascript",
            "/api/v1/openapi.json",
        ),
    ] {
        let r = c
            .get(env.at(&format!("/api/v1/docs/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{file}");
        assert!(
            r.headers()["content-type"].to_str().unwrap().contains(kind),
            "{file}: {:?}",
            r.headers()["content-type"]
        );
        assert!(r.text().await.unwrap().contains(needle), "{file}");
    }
    let r = c
        .get(env.at("/api/v1/docs/nothing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "API docs file not found"
    );
}

/// Settles a command as the sync engine does once HighLevel answers.
async fn settle(env: &Env, id: i64, state: CommandState, error: Option<&str>) {
    assert!(env
        .store
        .settle_command(id, state, None, None, error)
        .await
        .unwrap());
}

async fn enqueue(env: &Env, loc: &str, contact_id: &str, body: &str) -> i64 {
    env.store
        .enqueue_command(&NewCommand {
            location_id: loc.into(),
            command: HighLevelCommand::AddNote {
                contact_id: contact_id.into(),
                body: body.into(),
                user_id: None,
            },
            requested_by: Some("Alice Archer".into()),
            actor: None,
            idempotency_key: None,
        })
        .await
        .unwrap()
        .0
}

async fn commands_are_listed_and_filtered(env: Env) {
    env.put(contact(A, "c1", "Ann", "Smith", &[]), &[]).await;
    env.put(contact(A, "c2", "Ben", "Smith", &[]), &[]).await;
    env.put(contact(B, "cb", "Bea", "Other", &[]), &[]).await;
    let t = token(&env, ALICE, A).await;
    let before_any = now_ms();
    let pending = enqueue(&env, A, "c1", "one").await;
    let done = enqueue(&env, A, "c1", "two").await;
    let refused = enqueue(&env, A, "c2", "three").await;
    let of_b = enqueue(&env, B, "cb", "secret of B").await;
    settle(&env, done, CommandState::Done, None).await;
    settle(
        &env,
        refused,
        CommandState::Failed,
        Some("Contact is on DND"),
    )
    .await;
    let ids = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };

    let (s, all) = get_json(&env, &t, "/api/v1/commands").await;
    assert_eq!(s, 200, "{all}");
    assert_eq!(
        ids(&all),
        [refused, done, pending],
        "newest first, A's only"
    );
    assert!(all["next_cursor"].is_null());
    let r = &all["items"][0];
    assert_eq!(r["kind"], "add_note");
    assert_eq!(r["summary"], "Add note");
    assert_eq!(r["state"], "failed");
    assert_eq!(r["error"], "Contact is on DND");
    assert_eq!(r["requested_by"], "Alice Archer");
    assert_eq!(r["command"]["body"], "three");
    assert_eq!(r["contact_id"], "c2");
    assert!(rfc3339_ms(r["created_at"].as_str().unwrap()) >= before_any);
    assert!(rfc3339_ms(r["settled_at"].as_str().unwrap()) >= before_any);
    assert!(
        all["items"][2]["settled_at"].is_null(),
        "pending: not settled"
    );

    for (q, want) in [
        ("state=pending", vec![pending]),
        ("state=done", vec![done]),
        ("state=refused", vec![refused]),
        ("state=failed", vec![refused]),
        ("contact_id=c1", vec![done, pending]),
        ("contact_id=c1&state=done", vec![done]),
        ("contact_id=c2&state=pending", vec![]),
    ] {
        let (s, v) = get_json(&env, &t, &format!("/api/v1/commands?{q}")).await;
        assert_eq!(s, 200, "{q}: {v}");
        assert_eq!(ids(&v), want, "{q}");
    }
    // Since: only what was asked at or after a time.
    let (_, later) = get_json(
        &env,
        &t,
        &format!(
            "/api/v1/commands?since={}",
            urlencode(&rfc3339(now_ms() + 60_000))
        ),
    )
    .await;
    assert_eq!(ids(&later), Vec::<i64>::new());
    let (_, since) = get_json(
        &env,
        &t,
        &format!(
            "/api/v1/commands?since={}",
            urlencode(&rfc3339(before_any - 1000))
        ),
    )
    .await;
    assert_eq!(ids(&since).len(), 3);
    // Pages: two, then one, by cursor.
    let (_, p1) = get_json(&env, &t, "/api/v1/commands?limit=2").await;
    assert_eq!(ids(&p1), [refused, done]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = get_json(
        &env,
        &t,
        &format!("/api/v1/commands?limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(ids(&p2), [pending]);
    assert!(p2["next_cursor"].is_null());

    // Refusals, each with its status and sentence.
    for (q, status, error) in [
        (
            "state=stuck",
            400,
            "state must be pending, done or refused, not \"stuck\"",
        ),
        (
            "since=yesterday",
            400,
            "since must be an RFC 3339 time such as 2026-03-10T17:00:00Z, not \"yesterday\"",
        ),
        (
            "cursor=abc",
            400,
            "the commands cursor is not one this server gave out",
        ),
        (
            "limit=lots",
            400,
            "Failed to deserialize query string: limit: invalid digit found in string",
        ),
        ("contact_id=cb", 404, "contact not found"),
        ("contact_id=nobody", 404, "contact not found"),
    ] {
        let (s, v) = get_json(&env, &t, &format!("/api/v1/commands?{q}")).await;
        assert_eq!(
            (s.as_u16(), v["error"].as_str()),
            (status, Some(error)),
            "{q}"
        );
    }
    let (s, v) = get_json(&env, &t, &format!("/api/v1/commands/{of_b}")).await;
    assert_eq!(
        (s.as_u16(), v["error"].as_str()),
        (404, Some("command not found"))
    );
    let (s, v) = get_json(&env, &t, "/api/v1/commands/abc").await;
    assert_eq!(
        (s.as_u16(), v["error"].as_str()),
        (404, Some("command not found"))
    );
    let r = reqwest::get(env.at("/api/v1/commands")).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "send an API token as `Authorization: Bearer dct_...`; create one with `drivesync \
         tokens create` or on the Settings page"
    );
}

async fn alerts_list_what_the_channel_shows(env: Env) {
    env.put(contact(A, "c1", "Ann", "Smith", &[]), &[]).await;
    env.put(contact(B, "cb", "Bea", "Other", &[]), &[]).await;
    let t = token(&env, ALICE, A).await;
    let refused = enqueue(&env, A, "c1", "refused note").await;
    settle(
        &env,
        refused,
        CommandState::Failed,
        Some("Contact not found in HighLevel"),
    )
    .await;
    let fine = enqueue(&env, A, "c1", "fine note").await;
    settle(&env, fine, CommandState::Done, None).await;
    let of_b = enqueue(&env, B, "cb", "B's refused note").await;
    settle(&env, of_b, CommandState::Failed, Some("secret of B")).await;
    // A member's message in #alerts, one by a rule (through the store, as rules post), one
    // in the general feed (not an alert), and one in B's #alerts.
    let (s, _) = post_json(
        &env,
        &t,
        "/api/v1/messages",
        json!({"body": "Looking into the refused note", "channel": "alerts"}),
    )
    .await;
    assert_eq!(s, 201);
    let post = |loc: &str, channel: store::Channel, author: &str, body: &str| {
        let m = store::chat::NewMessage {
            location_id: loc.into(),
            channel,
            author_id: None,
            author_name: author.into(),
            body: body.into(),
            idempotency_key: None,
        };
        let store = env.store.clone();
        async move { store.post_message(&m).await.unwrap() }
    };
    post(
        A,
        store::Channel::Alerts,
        "Rule: overdue tasks",
        "3 tasks overdue",
    )
    .await;
    post(A, store::Channel::General, "Alice Archer", "Lunch?").await;
    post(B, store::Channel::Alerts, "Rule", "secret of B").await;

    let (s, v) = get_json(&env, &t, "/api/v1/alerts").await;
    assert_eq!(s, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    let said: Vec<String> = items
        .iter()
        .map(|i| match (&i["refused"], &i["message"]) {
            (Value::Null, m) => format!("message: {}", m["body"].as_str().unwrap()),
            (c, Value::Null) => format!("refused: {}", c["error"].as_str().unwrap()),
            _ => panic!("exactly one of refused and message: {i}"),
        })
        .collect();
    assert_eq!(
        said,
        [
            "message: 3 tasks overdue",
            "message: Looking into the refused note",
            "refused: Contact not found in HighLevel",
        ],
        "newest first, A's #alerts only"
    );
    assert_eq!(items[2]["refused"]["id"], refused);
    assert_eq!(items[2]["at"], items[2]["refused"]["settled_at"]);
    assert_eq!(items[0]["message"]["channel"], "alerts");
    assert!(!v.to_string().contains("secret of B"));
    // Paged one at a time, the same three.
    let mut seen = Vec::new();
    let mut url = "/api/v1/alerts?limit=1".to_string();
    loop {
        let (s, p) = get_json(&env, &t, &url).await;
        assert_eq!(s, 200, "{p}");
        seen.extend(p["items"].as_array().unwrap().iter().cloned());
        match p["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/alerts?limit=1&cursor={c}"),
            None => break,
        }
        assert!(seen.len() <= 3, "paging ends: {seen:?}");
    }
    assert_eq!(seen.as_slice(), items.as_slice());
    let (s, e) = get_json(&env, &t, "/api/v1/alerts?cursor=c1.m2").await;
    assert_eq!(
        (s.as_u16(), e["error"].as_str()),
        (
            400,
            Some("the alerts cursor is not one this server gave out")
        )
    );
    let r = reqwest::get(env.at("/api/v1/alerts")).await.unwrap();
    assert_eq!(r.status(), 401);
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
