//! Behaviour of the emulated Contacts API (and the appointment routes), each answer checked
//! exactly: status, JSON body (message, fields, `traceId`) and headers.

mod common;

use common::{TestSandbox, VERSION};
use ghl_sandbox::model::Contact;
use ghl_sandbox::time::format as iso;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

// ---- helpers ------------------------------------------------------------------------------

/// A sandbox whose burst limit never gets in the way (the rate-limit tests set their own).
async fn sandbox() -> TestSandbox {
    let mut c = common::config();
    c.rate_limit.burst = 1_000_000;
    common::start_with(c).await
}

/// A sandbox, its first two locations and a full-scope token for each.
async fn two_locations() -> (TestSandbox, String, String, String, String) {
    let sb = sandbox().await;
    let locs = sb.location_ids();
    let (a, b) = (locs[0].clone(), locs[1].clone());
    let ta = sb.pit(&a, None).await;
    let tb = sb.pit(&b, None).await;
    (sb, a, b, ta, tb)
}

fn hdr<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .unwrap_or_else(|| panic!("header {name} missing from {h:?}"))
        .to_str()
        .unwrap()
}

/// HighLevel's error body for `status`, with the trace id of the answer it came with.
fn error_body(status: u16, message: impl Into<Value>, h: &HeaderMap) -> Value {
    let reason = reqwest::StatusCode::from_u16(status)
        .unwrap()
        .canonical_reason()
        .unwrap();
    json!({
        "statusCode": status,
        "message": message.into(),
        "error": reason,
        "traceId": hdr(h, "traceid"),
    })
}

fn with(mut v: Value, key: &str, extra: Value) -> Value {
    v[key] = extra;
    v
}

fn unprocessable(messages: &[&str], h: &HeaderMap) -> Value {
    error_body(422, json!(messages), h)
}

fn contacts_of(sb: &TestSandbox, loc: &str) -> Vec<Contact> {
    sb.running.sandbox.read(|w| {
        w.location(loc)
            .unwrap()
            .contacts
            .values()
            .map(|c| (**c).clone())
            .collect()
    })
}

fn contact_json(sb: &TestSandbox, loc: &str, id: &str) -> Option<Value> {
    sb.running.sandbox.read(|w| {
        w.location(loc)
            .unwrap()
            .contacts
            .get(id)
            .map(|c| c.to_json())
    })
}

fn ids(body: &Value) -> Vec<String> {
    body["contacts"]
        .as_array()
        .unwrap_or_else(|| panic!("no contacts in {body}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// Contact ids ordered by `key` then id, as the sandbox breaks ties.
fn ordered<K: Ord>(cs: &[Contact], key: impl Fn(&Contact) -> K, desc: bool) -> Vec<String> {
    let mut v: Vec<(K, String)> = cs.iter().map(|c| (key(c), c.id.to_string())).collect();
    v.sort();
    if desc {
        v.reverse();
    }
    v.into_iter().map(|(_, id)| id).collect()
}

fn by_added(cs: &[Contact]) -> Vec<String> {
    ordered(cs, |c| c.date_added, false)
}

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

async fn search(sb: &TestSandbox, token: &str, body: Value) -> Value {
    let (s, _, v) = sb
        .call(Method::POST, "/contacts/search", token, Some(body))
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Pages through a search with `searchAfter` until a short page; every page's ids in order.
async fn walk(sb: &TestSandbox, token: &str, mut body: Value, limit: usize) -> Vec<String> {
    body["pageLimit"] = json!(limit);
    let mut out = Vec::new();
    for _ in 0..200 {
        let page = search(sb, token, body.clone()).await;
        let contacts = page["contacts"].as_array().unwrap().clone();
        out.extend(ids(&page));
        if contacts.len() < limit {
            return out;
        }
        body["searchAfter"] = contacts.last().unwrap()["searchAfter"].clone();
    }
    panic!("search never ended");
}

fn parse_iso(v: &Value) -> i64 {
    ghl_sandbox::time::parse(v.as_str().unwrap_or_else(|| panic!("{v} is not a date")))
        .unwrap_or_else(|| panic!("{v} is not a date"))
}

// ---- 1. headers ---------------------------------------------------------------------------

#[tokio::test]
async fn version_header_then_bearer_are_required_and_every_answer_has_a_trace_id() {
    let sb = sandbox().await;
    let loc = sb.location_ids()[0].clone();
    let token = sb.pit(&loc, None).await;
    let cid = sb.some_contact(&loc);
    let url = sb.url(&format!("/contacts/{cid}"));

    // No Version: 400, even without a bearer (the Version header is checked first).
    for req in [sb.http.get(&url).bearer_auth(&token), sb.http.get(&url)] {
        let r = req.send().await.unwrap();
        let h = r.headers().clone();
        assert_eq!(r.status(), 400);
        assert!(h.get("x-ratelimit-remaining").is_none());
        let body: Value = r.json().await.unwrap();
        assert_eq!(body, error_body(400, "version header was not found", &h));
    }

    // No bearer, an unknown one, another scheme, an empty one: HighLevel's UnauthorizedDTO.
    let bad = [
        sb.http.get(&url).header("Version", VERSION),
        sb.http
            .get(&url)
            .header("Version", VERSION)
            .bearer_auth("not-a-token"),
        sb.http
            .get(&url)
            .header("Version", VERSION)
            .header("Authorization", format!("Basic {token}")),
        sb.http
            .get(&url)
            .header("Version", VERSION)
            .header("Authorization", "Bearer "),
    ];
    for req in bad {
        let r = req.send().await.unwrap();
        let h = r.headers().clone();
        assert_eq!(r.status(), 401);
        assert!(
            h.get("x-ratelimit-remaining").is_none(),
            "no budget without a token"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized", "traceId": hdr(&h, "traceid")})
        );
    }
    // The shape is HighLevel's UnauthorizedDTO: number, string, string.
    let dto = &common::read_json("common/common-schemas.json")["components"]["schemas"]
        ["UnauthorizedDTO"]["properties"];
    assert_eq!(dto["statusCode"]["type"], "number");
    assert_eq!(dto["message"]["type"], "string");
    assert_eq!(dto["error"]["example"], "Unauthorized");

    // A success carries a trace id too, a fresh one each time.
    let (s1, h1, _) = sb
        .call(Method::GET, &format!("/contacts/{cid}"), &token, None)
        .await;
    let (s2, h2, _) = sb
        .call(Method::GET, &format!("/contacts/{cid}"), &token, None)
        .await;
    assert_eq!((s1, s2), (200, 200));
    assert!(!hdr(&h1, "traceid").is_empty());
    assert_ne!(hdr(&h1, "traceid"), hdr(&h2, "traceid"));

    // Unknown routes, admin routes and handler errors too; error bodies repeat the header.
    let r = sb
        .http
        .get(sb.url("/_sandbox/counters"))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("traceid").is_some());
    let (s, h, body) = sb
        .call(Method::GET, "/contacts/nope0000000000000000", &token, None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(body, error_body(404, "Contact not found", &h));
    assert_eq!(hdr(&h, "x-ratelimit-max"), "1000000");
}

// ---- 2. scopes ----------------------------------------------------------------------------

#[tokio::test]
async fn a_readonly_token_reads_and_searches_but_every_write_is_refused() {
    let sb = sandbox().await;
    let loc = sb.location_ids()[0].clone();
    let ro = sb.pit(&loc, Some(&["contacts.readonly"])).await;
    let cid = sb.some_contact(&loc);
    let before = contact_json(&sb, &loc, &cid).unwrap();

    let (s, _, body) = sb
        .call(Method::GET, &format!("/contacts/{cid}"), &ro, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["contact"], before);
    let (s, _, body) = sb
        .call(
            Method::POST,
            "/contacts/search",
            &ro,
            Some(json!({"locationId": loc, "pageLimit": 3})),
        )
        .await;
    assert_eq!((s, body["total"].clone()), (200, json!(40)));
    let (s, _, _) = sb
        .call(Method::GET, &format!("/contacts/{cid}/tasks"), &ro, None)
        .await;
    assert_eq!(s, 200);
    let (s, _, _) = sb
        .call(
            Method::GET,
            &format!("/contacts/?locationId={loc}&limit=2"),
            &ro,
            None,
        )
        .await;
    assert_eq!(s, 200);

    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/contacts/".into(),
            Some(json!({"locationId": loc, "firstName": "No"})),
        ),
        (
            Method::POST,
            "/contacts/upsert".into(),
            Some(json!({"locationId": loc, "email": "no@x.test"})),
        ),
        (
            Method::PUT,
            format!("/contacts/{cid}"),
            Some(json!({"firstName": "No"})),
        ),
        (Method::DELETE, format!("/contacts/{cid}"), None),
        (
            Method::POST,
            format!("/contacts/{cid}/tags"),
            Some(json!({"tags": ["x"]})),
        ),
        (
            Method::DELETE,
            format!("/contacts/{cid}/tags"),
            Some(json!({"tags": ["x"]})),
        ),
        (
            Method::POST,
            format!("/contacts/{cid}/tasks"),
            Some(json!({"title": "t", "dueDate": "2030-01-01T00:00:00Z", "completed": false})),
        ),
        (
            Method::POST,
            format!("/contacts/{cid}/notes"),
            Some(json!({"body": "n"})),
        ),
        (
            Method::POST,
            format!("/contacts/{cid}/followers"),
            Some(json!({"followers": ["u"]})),
        ),
        (Method::POST, format!("/contacts/{cid}/campaigns/c1"), None),
        (Method::POST, format!("/contacts/{cid}/workflow/w1"), None),
        (
            Method::POST,
            "/contacts/bulk/tags/update/add".into(),
            Some(json!({"locationId": loc, "contacts": [cid], "tags": ["x"]})),
        ),
    ];
    for (method, path, body) in writes {
        let (s, h, v) = sb.call(method.clone(), &path, &ro, body).await;
        assert_eq!(s, 401, "{method} {path}: {v}");
        let expected = with(
            error_body(401, "The token is not authorized for this scope.", &h),
            "requiredScope",
            json!("contacts.write"),
        );
        assert_eq!(v, expected, "{method} {path}");
        // The refusal is an authenticated answer: it has its rate-limit headers.
        assert!(h.get("x-ratelimit-remaining").is_some());
    }
    assert_eq!(
        contact_json(&sb, &loc, &cid).unwrap(),
        before,
        "nothing changed"
    );

    // Without calendars/events.* the appointment routes are out of reach.
    let appt = sb.running.sandbox.read(|w| {
        w.location(&loc)
            .unwrap()
            .appointments
            .keys()
            .next()
            .unwrap()
            .clone()
    });
    for (method, path, scope) in [
        (
            Method::GET,
            format!("/calendars/events/appointments/{appt}"),
            "calendars/events.readonly",
        ),
        (
            Method::GET,
            format!("/calendars/events?locationId={loc}&startTime=0&endTime=1&calendarId=x"),
            "calendars/events.readonly",
        ),
        (
            Method::GET,
            format!("/calendars/appointments/{appt}/notes"),
            "calendars/events.readonly",
        ),
        (
            Method::PUT,
            format!("/calendars/events/appointments/{appt}"),
            "calendars/events.write",
        ),
        (
            Method::DELETE,
            format!("/calendars/events/{appt}"),
            "calendars/events.write",
        ),
    ] {
        let (s, h, v) = sb.call(method, &path, &ro, Some(json!({}))).await;
        assert_eq!(s, 401, "{path}");
        assert_eq!(
            v,
            with(
                error_body(401, "The token is not authorized for this scope.", &h),
                "requiredScope",
                json!(scope)
            )
        );
    }

    // A calendars-readonly token reads appointments but cannot write them or read contacts.
    let cal_ro = sb.pit(&loc, Some(&["calendars/events.readonly"])).await;
    let (s, _, _) = sb
        .call(
            Method::GET,
            &format!("/calendars/events/appointments/{appt}"),
            &cal_ro,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, v) = sb
        .call(
            Method::PUT,
            &format!("/calendars/events/appointments/{appt}"),
            &cal_ro,
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(
        (s, v["requiredScope"].clone()),
        (401, json!("calendars/events.write"))
    );
    let (s, _, v) = sb
        .call(Method::GET, &format!("/contacts/{cid}"), &cal_ro, None)
        .await;
    assert_eq!(
        (s, v["requiredScope"].clone()),
        (401, json!("contacts.readonly"))
    );
}

// ---- 3. locations -------------------------------------------------------------------------

#[tokio::test]
async fn records_of_another_location_are_not_found_and_stay_untouched() {
    let (sb, a, b, ta, _) = two_locations().await;
    // A contact of B with a task and a note, and an appointment of B.
    let (cb, task_b, note_b) = sb.running.sandbox.read(|w| {
        let l = w.location(&b).unwrap();
        let c = l
            .contacts
            .values()
            .find(|c| !c.tasks.is_empty() && !c.notes.is_empty())
            .expect("seed 7 has a contact with a task and a note");
        (c.id.clone(), c.tasks[0].id.clone(), c.notes[0].id.clone())
    });
    let appt_b = sb.running.sandbox.read(|w| {
        w.location(&b)
            .unwrap()
            .appointments
            .keys()
            .next()
            .unwrap()
            .clone()
    });
    let ca = sb.some_contact(&a);
    let snapshot = |sb: &TestSandbox| {
        sb.running.sandbox.read(|w| {
            let l = w.location(&b).unwrap();
            let c = &l.contacts[&cb];
            (
                c.to_json(),
                c.tasks.iter().map(|t| t.to_json()).collect::<Vec<_>>(),
                c.notes.iter().map(|n| n.to_json()).collect::<Vec<_>>(),
                l.appointments[&appt_b].to_event_json(),
                l.appointment_notes.get(&appt_b).map(Vec::len),
            )
        })
    };
    let before = snapshot(&sb);

    let cases: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::GET,
            format!("/contacts/{cb}"),
            None,
            "Contact not found",
        ),
        (
            Method::PUT,
            format!("/contacts/{cb}"),
            Some(json!({"firstName": "Leak"})),
            "Contact not found",
        ),
        (
            Method::DELETE,
            format!("/contacts/{cb}"),
            None,
            "Contact not found",
        ),
        (
            Method::POST,
            format!("/contacts/{cb}/tags"),
            Some(json!({"tags": ["leak"]})),
            "Contact not found",
        ),
        (
            Method::DELETE,
            format!("/contacts/{cb}/tags"),
            Some(json!({"tags": ["vip"]})),
            "Contact not found",
        ),
        (
            Method::GET,
            format!("/contacts/{cb}/tasks"),
            None,
            "Contact not found",
        ),
        (
            Method::GET,
            format!("/contacts/{cb}/tasks/{task_b}"),
            None,
            "Contact not found",
        ),
        (
            Method::PUT,
            format!("/contacts/{cb}/tasks/{task_b}"),
            Some(json!({"title": "Leak"})),
            "Contact not found",
        ),
        (
            Method::PUT,
            format!("/contacts/{cb}/tasks/{task_b}/completed"),
            Some(json!({"completed": true})),
            "Contact not found",
        ),
        (
            Method::DELETE,
            format!("/contacts/{cb}/tasks/{task_b}"),
            None,
            "Contact not found",
        ),
        (
            Method::GET,
            format!("/contacts/{cb}/notes/{note_b}"),
            None,
            "Contact not found",
        ),
        (
            Method::PUT,
            format!("/contacts/{cb}/notes/{note_b}"),
            Some(json!({"body": "Leak"})),
            "Contact not found",
        ),
        (
            Method::DELETE,
            format!("/contacts/{cb}/notes/{note_b}"),
            None,
            "Contact not found",
        ),
        (
            Method::GET,
            format!("/contacts/{cb}/appointments"),
            None,
            "Contact not found",
        ),
        (
            Method::POST,
            format!("/contacts/{cb}/campaigns/c1"),
            None,
            "Contact not found",
        ),
        // B's task or note under A's contact.
        (
            Method::GET,
            format!("/contacts/{ca}/tasks/{task_b}"),
            None,
            "Task not found",
        ),
        (
            Method::DELETE,
            format!("/contacts/{ca}/tasks/{task_b}"),
            None,
            "Task not found",
        ),
        (
            Method::GET,
            format!("/contacts/{ca}/notes/{note_b}"),
            None,
            "Note not found",
        ),
        (
            Method::DELETE,
            format!("/contacts/{ca}/notes/{note_b}"),
            None,
            "Note not found",
        ),
        (
            Method::GET,
            format!("/calendars/events/appointments/{appt_b}"),
            None,
            "Appointment not found",
        ),
        (
            Method::PUT,
            format!("/calendars/events/appointments/{appt_b}"),
            Some(json!({"title": "Leak"})),
            "Appointment not found",
        ),
        (
            Method::DELETE,
            format!("/calendars/events/{appt_b}"),
            None,
            "Appointment not found",
        ),
        (
            Method::GET,
            format!("/calendars/appointments/{appt_b}/notes"),
            None,
            "Appointment not found",
        ),
        (
            Method::POST,
            format!("/calendars/appointments/{appt_b}/notes"),
            Some(json!({"body": "Leak"})),
            "Appointment not found",
        ),
    ];
    for (method, path, body, message) in cases {
        let (s, h, v) = sb.call(method.clone(), &path, &ta, body).await;
        assert_eq!(s, 404, "{method} {path}: {v}");
        assert_eq!(v, error_body(404, message, &h), "{method} {path}");
    }
    assert_eq!(snapshot(&sb), before, "B's records are untouched");

    // Naming location B in a body or query: 403, and nothing is created.
    let count_b = contacts_of(&sb, &b).len();
    let email_b = sb
        .running
        .sandbox
        .read(|w| w.location(&b).unwrap().contacts[&cb].email.clone().unwrap());
    let forbidden: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/contacts/".into(),
            Some(json!({"locationId": b, "firstName": "Leak"})),
        ),
        (
            Method::POST,
            "/contacts/upsert".into(),
            Some(json!({"locationId": b, "email": email_b})),
        ),
        (
            Method::POST,
            "/contacts/search".into(),
            Some(json!({"locationId": b})),
        ),
        (Method::GET, format!("/contacts/?locationId={b}"), None),
        (
            Method::GET,
            format!("/contacts/search/duplicate?locationId={b}&email={email_b}"),
            None,
        ),
        (
            Method::GET,
            format!("/contacts/business/x?locationId={b}"),
            None,
        ),
        (
            Method::POST,
            "/contacts/bulk/tags/update/add".into(),
            Some(json!({"locationId": b, "contacts": [cb], "tags": ["leak"]})),
        ),
        (
            Method::POST,
            "/contacts/bulk/business".into(),
            Some(json!({"locationId": b, "ids": [cb], "businessId": "leak"})),
        ),
        (
            Method::GET,
            format!("/calendars/events?locationId={b}&startTime=0&endTime=1&calendarId=x"),
            None,
        ),
    ];
    for (method, path, body) in forbidden {
        let (s, h, v) = sb.call(method.clone(), &path, &ta, body).await;
        assert_eq!(s, 403, "{method} {path}: {v}");
        assert_eq!(
            v,
            error_body(403, "The token does not have access to this location.", &h),
            "{method} {path}"
        );
    }
    // An appointment for location B, booked with A's token.
    let (cal_b, contact_b) = sb.running.sandbox.read(|w| {
        let l = w.location(&b).unwrap();
        (l.calendars[0].id.clone(), cb.clone())
    });
    let (s, _, v) = sb
        .call(
            Method::POST,
            "/calendars/events/appointments",
            &ta,
            Some(json!({"locationId": b, "calendarId": cal_b, "contactId": contact_b, "startTime": "2030-01-01T10:00:00Z"})),
        )
        .await;
    assert_eq!(
        (s, v["message"].clone()),
        (
            403,
            json!("The token does not have access to this location.")
        )
    );
    assert_eq!(contacts_of(&sb, &b).len(), count_b);
    assert_eq!(snapshot(&sb), before);
}

// ---- 4. rate limits -----------------------------------------------------------------------

const BURST_MESSAGE: &str =
    "Too many requests. The rate limit for this location has been reached; retry after the interval.";
const DAILY_MESSAGE: &str =
    "Too many requests. The daily request limit for this location has been reached.";

fn rate(h: &HeaderMap) -> [String; 5] {
    [
        "x-ratelimit-max",
        "x-ratelimit-remaining",
        "x-ratelimit-interval-milliseconds",
        "x-ratelimit-limit-daily",
        "x-ratelimit-daily-remaining",
    ]
    .map(|k| hdr(h, k).to_string())
}

fn rate_of(max: u32, remaining: u32, interval: u64, daily: u64, daily_left: u64) -> [String; 5] {
    [
        max.to_string(),
        remaining.to_string(),
        interval.to_string(),
        daily.to_string(),
        daily_left.to_string(),
    ]
}

#[tokio::test]
async fn burst_limit_counts_down_refuses_with_429_and_resets_after_the_interval() {
    let sb = common::start().await;
    let locs = sb.location_ids();
    let (a, b) = (locs[0].clone(), locs[1].clone());
    let (ta, tb) = (sb.pit(&a, None).await, sb.pit(&b, None).await);
    let limits = sb
        .admin("/_sandbox/limits", json!({"burst": 5, "intervalMs": 1000}))
        .await;
    assert_eq!(
        limits,
        json!({"burst": 5, "intervalMs": 1000, "daily": 200000, "enabled": true})
    );
    let cid = sb.some_contact(&a);
    let path = format!("/contacts/{cid}");

    let started_ms = ghl_sandbox::time::now_ms();
    let t0 = Instant::now();
    for i in 0..5u32 {
        let (s, h, _) = sb.call(Method::GET, &path, &ta, None).await;
        assert_eq!(s, 200);
        assert_eq!(
            rate(&h),
            rate_of(5, 4 - i, 1000, 200_000, 199_999 - i as u64)
        );
    }
    let (s, h, body) = sb.call(Method::GET, &path, &ta, None).await;
    assert!(
        t0.elapsed() < Duration::from_millis(1000),
        "the burst took a whole interval"
    );
    assert_eq!(s, 429);
    assert_eq!(hdr(&h, "content-type"), "application/json; charset=utf-8");
    assert_eq!(body, error_body(429, BURST_MESSAGE, &h));
    // A refused request spends nothing from the daily budget.
    assert_eq!(rate(&h), rate_of(5, 0, 1000, 200_000, 199_995));

    // Location B has its own budget.
    let (s, h, _) = sb
        .call(
            Method::GET,
            &format!("/contacts/{}", sb.some_contact(&b)),
            &tb,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(rate(&h), rate_of(5, 4, 1000, 200_000, 199_999));

    // After the interval the burst budget is back.
    tokio::time::sleep_until((t0 + Duration::from_millis(1100)).into()).await;
    let (s, h, _) = sb.call(Method::GET, &path, &ta, None).await;
    assert_eq!(s, 200);
    assert_eq!(rate(&h), rate_of(5, 4, 1000, 200_000, 199_994));
    let ended_ms = ghl_sandbox::time::now_ms();

    // The request log of A: seven requests with their times, route and status; none of B's.
    let log = sb
        .admin_get(&format!("/_sandbox/requests?locationId={a}"))
        .await;
    let recs = log["requests"].as_array().unwrap();
    let statuses: Vec<u64> = recs.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 200]);
    let times: Vec<i64> = recs.iter().map(|r| r["atMs"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(
        times.iter().all(|t| (started_ms..=ended_ms).contains(t)),
        "{times:?}"
    );
    assert!(times[6] - times[0] >= 1000, "{times:?}");
    for r in recs {
        assert_eq!(r["locationId"], json!(a));
        assert_eq!(r["method"], "GET");
        assert_eq!(r["route"], "/contacts/{contactId}");
        assert_eq!(r["appId"], json!(format!("pit-{a}")));
    }
    let all = sb.admin_get("/_sandbox/requests").await;
    assert_eq!(all["requests"].as_array().unwrap().len(), 8);
    assert_eq!(sb.admin_get("/_sandbox/counters").await["rateLimited"], 1);
}

#[tokio::test]
async fn daily_cap_refuses_the_fourth_request_and_other_locations_keep_theirs() {
    let sb = common::start().await;
    let locs = sb.location_ids();
    let (a, b) = (locs[0].clone(), locs[1].clone());
    let (ta, tb) = (sb.pit(&a, None).await, sb.pit(&b, None).await);
    let limits = sb.admin("/_sandbox/limits", json!({"daily": 3})).await;
    assert_eq!(
        limits,
        json!({"burst": 100, "intervalMs": 10000, "daily": 3, "enabled": true})
    );
    let body = json!({"locationId": a, "pageLimit": 1});
    for i in 0..3u64 {
        let (s, h, _) = sb
            .call(Method::POST, "/contacts/search", &ta, Some(body.clone()))
            .await;
        assert_eq!(s, 200);
        assert_eq!(rate(&h), rate_of(100, 99 - i as u32, 10_000, 3, 2 - i));
    }
    let (s, h, v) = sb
        .call(Method::POST, "/contacts/search", &ta, Some(body.clone()))
        .await;
    assert_eq!(s, 429);
    assert_eq!(v, error_body(429, DAILY_MESSAGE, &h));
    assert_eq!(rate(&h), rate_of(100, 97, 10_000, 3, 0));

    let (s, h, _) = sb
        .call(
            Method::POST,
            "/contacts/search",
            &tb,
            Some(json!({"locationId": b, "pageLimit": 1})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(rate(&h), rate_of(100, 99, 10_000, 3, 2));

    // Bad limits are refused and change nothing.
    let r = sb
        .http
        .post(sb.url("/_sandbox/limits"))
        .json(&json!({"burst": 0, "intervalMs": "fast"}))
        .send()
        .await
        .unwrap();
    let h = r.headers().clone();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        unprocessable(
            &[
                "burst must be a positive whole number",
                "intervalMs must be a positive whole number"
            ],
            &h
        )
    );
    let (s, _, _) = sb
        .call(Method::POST, "/contacts/search", &ta, Some(body))
        .await;
    assert_eq!(s, 429, "the daily cap still holds");
}

// ---- 5. faults ----------------------------------------------------------------------------

async fn faults(sb: &TestSandbox, body: Value) -> (u16, HeaderMap, Value) {
    let r = sb
        .http
        .post(sb.url("/_sandbox/faults"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (s, h) = (r.status().as_u16(), r.headers().clone());
    (s, h, r.json().await.unwrap())
}

#[tokio::test]
async fn injected_api_faults_answer_exactly_and_only_where_they_are_aimed() {
    let (sb, a, b, ta, tb) = two_locations().await;
    let (pa, pb) = (
        format!("/contacts/{}", sb.some_contact(&a)),
        format!("/contacts/{}", sb.some_contact(&b)),
    );

    // api5xx everywhere.
    let (s, _, f) = faults(&sb, json!({"api5xx": 1})).await;
    assert_eq!(
        (s, f["api5xx"].clone(), f["storm429"].clone()),
        (200, json!(1.0), json!(0.0))
    );
    let (s, h, v) = sb.call(Method::GET, &pa, &ta, None).await;
    assert_eq!(s, 500);
    assert_eq!(hdr(&h, "x-sandbox-fault"), "api5xx");
    assert_eq!(hdr(&h, "content-type"), "application/json; charset=utf-8");
    assert_eq!(v, error_body(500, "Internal server error", &h));
    assert!(h.get("x-ratelimit-remaining").is_some());

    // Aimed at A only: B is served.
    let (s, _, f) = faults(&sb, json!({"locations": [a]})).await;
    assert_eq!(
        (s, f["locations"].clone(), f["api5xx"].clone()),
        (200, json!([a]), json!(1.0))
    );
    let (s, _, _) = sb.call(Method::GET, &pa, &ta, None).await;
    assert_eq!(s, 500);
    let (s, h, _) = sb.call(Method::GET, &pb, &tb, None).await;
    assert_eq!(s, 200);
    assert!(h.get("x-sandbox-fault").is_none());

    // Reset clears every fault.
    let (s, _, f) = faults(&sb, json!({"reset": true})).await;
    assert_eq!(s, 200);
    assert_eq!(f, json!(ghl_sandbox::FaultSettings::default()));
    let (s, _, _) = sb.call(Method::GET, &pa, &ta, None).await;
    assert_eq!(s, 200);

    // storm429: refused whatever the budget says.
    faults(&sb, json!({"storm429": 1, "locations": [a]})).await;
    let (s, h, v) = sb.call(Method::GET, &pa, &ta, None).await;
    assert_eq!(s, 429);
    assert_eq!(hdr(&h, "x-sandbox-fault"), "storm429");
    assert_eq!(v, error_body(429, BURST_MESSAGE, &h));
    assert_eq!(sb.call(Method::GET, &pb, &tb, None).await.0, 200);
    faults(&sb, json!({"reset": true})).await;

    // apiTimeout: the answer comes, late.
    faults(&sb, json!({"apiTimeout": 1, "timeoutMs": 300})).await;
    let t = Instant::now();
    let (s, _, _) = sb.call(Method::GET, &pa, &ta, None).await;
    assert_eq!(s, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    faults(&sb, json!({"reset": true})).await;
    let t = Instant::now();
    sb.call(Method::GET, &pa, &ta, None).await;
    assert!(t.elapsed() < Duration::from_millis(300));

    // revoke: served, then the token is dead; other tokens live on.
    faults(&sb, json!({"revoke": 1, "locations": [a]})).await;
    let (s, _, _) = sb.call(Method::GET, &pa, &ta, None).await;
    assert_eq!(s, 200);
    faults(&sb, json!({"reset": true})).await;
    let (s, h, v) = sb.call(Method::GET, &pa, &ta, None).await;
    assert_eq!(s, 401);
    assert_eq!(v, error_body(401, "Invalid JWT", &h));
    assert_eq!(sb.call(Method::GET, &pb, &tb, None).await.0, 200);
    let fresh = sb.pit(&a, None).await;
    assert_eq!(sb.call(Method::GET, &pa, &fresh, None).await.0, 200);

    let counters = sb.admin_get("/_sandbox/counters").await;
    assert_eq!(counters["apiFaults"], 4, "{counters}");
    assert_eq!(counters["rateLimited"], 1, "{counters}");
}

#[tokio::test]
async fn bad_fault_settings_are_422_and_change_nothing() {
    let sb = sandbox().await;
    let (s, _, current) = faults(&sb, json!({"drop": 0.5})).await;
    assert_eq!(s, 200);
    let (s, h, v) = faults(&sb, json!({"api5xx": 2})).await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &["fault `api5xx` needs a rate between 0 and 1, got `2`"],
            &h
        )
    );
    let (s, h, v) = faults(&sb, json!({"storm429": -0.5})).await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &["fault `storm429` needs a rate between 0 and 1, got `-0.5`"],
            &h
        )
    );
    let (s, h, v) = faults(&sb, json!({"explode": 1})).await;
    assert_eq!(s, 422);
    let msg = v["message"][0].as_str().unwrap().to_string();
    assert!(
        msg.starts_with("unknown field `explode`, expected one of"),
        "{msg}"
    );
    assert_eq!(v, unprocessable(&[&msg], &h));
    let (s, h, v) = faults(&sb, json!({"api5xx": "often"})).await;
    assert_eq!(s, 422);
    assert_eq!(v["error"], "Unprocessable Entity");
    assert_eq!(v["traceId"], hdr(&h, "traceid"));
    let r = sb
        .http
        .post(sb.url("/_sandbox/faults"))
        .body("{\"api5xx\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(sb.admin_get("/_sandbox/faults").await, current);
}

#[tokio::test]
async fn the_guard_checks_version_bearer_budget_faults_then_scope() {
    let sb = common::start().await;
    let a = sb.location_ids()[0].clone();
    let ro = sb.pit(&a, Some(&["contacts.readonly"])).await;
    sb.admin("/_sandbox/limits", json!({"burst": 2, "intervalMs": 60000}))
        .await;
    faults(&sb, json!({"api5xx": 1})).await;
    let create = json!({"locationId": a, "firstName": "Order"});

    // No Version beats a bad token; a bad token beats the fault and spends no budget.
    let r = sb
        .http
        .post(sb.url("/contacts/"))
        .bearer_auth("bad")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (s, _, v) = sb
        .call(Method::POST, "/contacts/", "bad", Some(create.clone()))
        .await;
    assert_eq!((s, v["message"].clone()), (401, json!("Invalid JWT")));
    // The fault comes before the scope: a write with a read-only token is a 500 here…
    let (s, h, _) = sb
        .call(Method::POST, "/contacts/", &ro, Some(create.clone()))
        .await;
    assert_eq!((s, hdr(&h, "x-sandbox-fault")), (500, "api5xx"));
    assert_eq!(hdr(&h, "x-ratelimit-remaining"), "1");
    // …and the scope refusal shows once the fault is gone.
    faults(&sb, json!({"reset": true})).await;
    let (s, h, v) = sb
        .call(Method::POST, "/contacts/", &ro, Some(create.clone()))
        .await;
    assert_eq!(
        (s, v["requiredScope"].clone()),
        (401, json!("contacts.write"))
    );
    assert_eq!(hdr(&h, "x-ratelimit-remaining"), "0");
    // The budget comes before faults: spent, it is a plain 429 even with a fault on.
    faults(&sb, json!({"api5xx": 1})).await;
    let (s, h, v) = sb.call(Method::POST, "/contacts/", &ro, Some(create)).await;
    assert_eq!(s, 429);
    assert!(h.get("x-sandbox-fault").is_none());
    assert_eq!(v, error_body(429, BURST_MESSAGE, &h));
    assert_eq!(contacts_of(&sb, &a).len(), 40);
}

// ---- 6. bad input -------------------------------------------------------------------------

#[tokio::test]
async fn unknown_routes_wrong_methods_and_bad_bodies_answer_as_highlevel_does() {
    let sb = sandbox().await;
    let loc = sb.location_ids()[0].clone();
    let token = sb.pit(&loc, None).await;
    let cid = sb.some_contact(&loc);

    for (method, path) in [
        (Method::GET, "/nope".to_string()),
        (Method::POST, "/contacts/a/b/c/d".to_string()),
        (Method::PATCH, format!("/contacts/{cid}")),
        (Method::GET, "/contacts/search".to_string()),
        (Method::PUT, "/contacts/upsert".to_string()),
        (Method::DELETE, "/calendars/events".to_string()),
    ] {
        let (s, h, v) = sb.call(method.clone(), &path, &token, None).await;
        assert_eq!(s, 404, "{method} {path}");
        assert_eq!(hdr(&h, "content-type"), "application/json; charset=utf-8");
        assert_eq!(v, error_body(404, format!("Cannot {method} {path}"), &h));
    }
    // Unknown routes need no token.
    let r = sb.http.get(sb.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // Malformed JSON: 400 with the parser's words.
    let raw = "{\"locationId\": ";
    let parse_err = serde_json::from_str::<Value>(raw).unwrap_err();
    let r = sb
        .api(Method::POST, "/contacts/", &token)
        .header("Content-Type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    let h = r.headers().clone();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        error_body(
            400,
            format!("Malformed JSON in request body: {parse_err}"),
            &h
        )
    );
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/contacts/search",
            &token,
            Some(json!([1, 2])),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(v, error_body(400, "Request body must be a JSON object", &h));

    // Missing fields: every one named, in one 422.
    let tasks = format!("/contacts/{cid}/tasks");
    let (s, h, v) = sb.call(Method::POST, &tasks, &token, Some(json!({}))).await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &[
                "title should not be empty",
                "dueDate should not be empty",
                "completed should not be empty",
                "completed must be a boolean value",
            ],
            &h
        )
    );
    // Wrong types.
    let (s, h, v) = sb
        .call(
            Method::POST,
            &tasks,
            &token,
            Some(json!({"title": 5, "dueDate": "soon", "completed": "yes", "body": []})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &[
                "title must be a string",
                "dueDate must be a valid ISO 8601 date string",
                "completed must be a boolean value",
                "body must be a string",
            ],
            &h
        )
    );
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/contacts/",
            &token,
            Some(json!({"locationId": loc, "firstName": 5, "dnd": "no", "tags": "vip"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &[
                "firstName must be a string",
                "dnd must be a boolean value",
                "tags must be an array"
            ],
            &h
        )
    );
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/contacts/",
            &token,
            Some(json!({"firstName": "Nobody"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(v, unprocessable(&["locationId should not be empty"], &h));
    // Invalid email (and phone).
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/contacts/",
            &token,
            Some(json!({"locationId": loc, "email": "not-an-email"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(v, unprocessable(&["email must be an email"], &h));
    let (s, h, v) = sb
        .call(
            Method::PUT,
            &format!("/contacts/{cid}"),
            &token,
            Some(json!({"email": "a b@x.test", "phone": "call me"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &[
                "email must be an email",
                "phone must be a valid phone number"
            ],
            &h
        )
    );
    let (s, h, v) = sb
        .call(
            Method::POST,
            &format!("/contacts/{cid}/tags"),
            &token,
            Some(json!({"tags": ["ok", 5]})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(&["each value in tags must be a string"], &h)
    );
    assert_eq!(contacts_of(&sb, &loc).len(), 40, "nothing was created");

    // A body over 1 MiB: 413 in HighLevel's JSON shape.
    let big = json!({"locationId": loc, "firstName": "x".repeat(1_100_000)});
    let (s, h, v) = sb.call(Method::POST, "/contacts/", &token, Some(big)).await;
    assert_eq!(s, 413);
    assert_eq!(hdr(&h, "content-type"), "application/json; charset=utf-8");
    assert_eq!(
        v,
        error_body(
            413,
            "Failed to buffer the request body: length limit exceeded",
            &h
        )
    );
    assert_eq!(contacts_of(&sb, &loc).len(), 40);
}

// ---- 7. contacts --------------------------------------------------------------------------

#[tokio::test]
async fn create_get_duplicate_update_and_delete_a_contact() {
    let (sb, a, b, ta, tb) = two_locations().await;
    let before_ms = ghl_sandbox::time::now_ms();
    let (s, _, v) = sb
        .call(
            Method::POST,
            "/contacts/",
            &ta,
            Some(json!({
                "locationId": a, "firstName": "Ada", "lastName": "Lovelace",
                "email": "Ada.Lovelace@Example.com", "phone": "+1 (555) 010-0001",
                "tags": ["VIP", " vip ", "Lead", ""], "source": "api",
                "customFields": [{"id": "cf1", "field_value": "Gold"}],
            })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let c = &v["contact"];
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 20);
    assert!(id.chars().all(|ch| ch.is_ascii_alphanumeric()));
    for (k, want) in [
        ("locationId", json!(a)),
        ("firstName", json!("Ada")),
        ("lastName", json!("Lovelace")),
        ("name", json!("Ada Lovelace")),
        ("firstNameLowerCase", json!("ada")),
        ("email", json!("Ada.Lovelace@Example.com")),
        ("emailLowerCase", json!("ada.lovelace@example.com")),
        ("phone", json!("+1 (555) 010-0001")),
        ("source", json!("api")),
        ("type", json!("lead")),
        ("dnd", json!(false)),
        ("tags", json!(["vip", "lead"])),
        ("followers", json!([])),
        ("customFields", json!([{"id": "cf1", "value": "Gold"}])),
    ] {
        assert_eq!(c[k], want, "{k}");
    }
    let added = parse_iso(&c["dateAdded"]);
    assert_eq!(c["dateAdded"], c["dateUpdated"]);
    assert!((before_ms..=ghl_sandbox::time::now_ms()).contains(&added));
    assert!(c["dateAdded"].as_str().unwrap().ends_with('Z'));

    let (s, _, got) = sb
        .call(Method::GET, &format!("/contacts/{id}"), &ta, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(&got["contact"], c);

    // The same email (any case) or phone (any formatting) in the same location: refused.
    for (body, field) in [
        (
            json!({"locationId": a, "email": "ADA.lovelace@example.COM"}),
            "email",
        ),
        (json!({"locationId": a, "phone": "+15550100001"}), "phone"),
    ] {
        let (s, h, v) = sb.call(Method::POST, "/contacts/", &ta, Some(body)).await;
        assert_eq!(s, 400);
        assert_eq!(
            v,
            with(
                error_body(400, "This location does not allow duplicated contacts.", &h),
                "meta",
                json!({"contactName": "Ada Lovelace", "contactId": id, "matchingField": field}),
            )
        );
    }
    // …but another location may hold the same person.
    let (s, _, vb) = sb
        .call(
            Method::POST,
            "/contacts/",
            &tb,
            Some(json!({"locationId": b, "email": "ada.lovelace@example.com"})),
        )
        .await;
    assert_eq!(s, 201);
    assert_ne!(vb["contact"]["id"], json!(id));

    // Update: the change and a later dateUpdated; an update onto another's email is refused.
    let (s, _, u) = sb
        .call(
            Method::PUT,
            &format!("/contacts/{id}"),
            &ta,
            Some(json!({"lastName": "King", "tags": ["Math"]})),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["succeded"], true);
    assert_eq!(u["contact"]["lastName"], "King");
    assert_eq!(u["contact"]["name"], "Ada King");
    assert_eq!(u["contact"]["tags"], json!(["math"]));
    assert_eq!(u["contact"]["email"], c["email"], "untouched fields stay");
    assert_eq!(u["contact"]["dateAdded"], c["dateAdded"]);
    assert!(parse_iso(&u["contact"]["dateUpdated"]) > added);
    let other = sb.some_contact(&a);
    let other_email = contact_json(&sb, &a, &other).unwrap()["email"].clone();
    let (s, h, v) = sb
        .call(
            Method::PUT,
            &format!("/contacts/{id}"),
            &ta,
            Some(json!({"email": other_email})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        v["message"],
        "This location does not allow duplicated contacts."
    );
    assert_eq!(v["meta"]["contactId"], json!(other));
    assert_eq!(v["traceId"], hdr(&h, "traceid"));
    // Its own email again is not a duplicate; null clears a field.
    let (s, _, v) = sb
        .call(
            Method::PUT,
            &format!("/contacts/{id}"),
            &ta,
            Some(json!({"email": "ada.lovelace@example.com", "source": null})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["contact"].get("source").is_none());

    // Delete, then it is gone.
    let (s, _, v) = sb
        .call(Method::DELETE, &format!("/contacts/{id}"), &ta, None)
        .await;
    assert_eq!((s, v), (200, json!({"succeded": true})));
    for method in [Method::GET, Method::DELETE, Method::PUT] {
        let (s, h, v) = sb
            .call(method, &format!("/contacts/{id}"), &ta, Some(json!({})))
            .await;
        assert_eq!(s, 404);
        assert_eq!(v, error_body(404, "Contact not found", &h));
    }
    // Its email is free again.
    let (s, _, _) = sb
        .call(
            Method::POST,
            "/contacts/",
            &ta,
            Some(json!({"locationId": a, "email": "ada.lovelace@example.com"})),
        )
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn upsert_matches_by_email_then_phone_within_the_location_and_duplicate_search_finds() {
    let (sb, a, b, ta, _) = two_locations().await;
    let cs = contacts_of(&sb, &a);
    let (c1, c2) = (&cs[0], &cs[1]);
    let email1 = c1.email.clone().unwrap();
    let phone2 = c2.phone.clone().unwrap();

    // By email, any case.
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/contacts/upsert",
            &ta,
            Some(json!({"locationId": a, "email": email1.to_uppercase(), "firstName": "Upserted"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["new"], false);
    assert_eq!(v["contact"]["id"], json!(c1.id));
    assert_eq!(v["contact"]["firstName"], "Upserted");
    assert_eq!(v["traceId"], hdr(&h, "traceid"));
    // By phone, any formatting, when no email matches.
    let digits: String = phone2.chars().filter(char::is_ascii_digit).collect();
    let formatted = format!(
        "+{} ({}) {}-{}",
        &digits[..1],
        &digits[1..4],
        &digits[4..7],
        &digits[7..]
    );
    let (s, _, v) = sb
        .call(
            Method::POST,
            "/contacts/upsert",
            &ta,
            Some(json!({"locationId": a, "phone": formatted, "email": "brand.new@x.test"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["new"].clone(), v["contact"]["id"].clone()),
        (json!(false), json!(c2.id))
    );
    assert_eq!(v["contact"]["email"], "brand.new@x.test");
    // A contact of another location is never matched: a new one is made here.
    let email_b = contacts_of(&sb, &b)[0].email.clone().unwrap();
    let (s, _, v) = sb
        .call(
            Method::POST,
            "/contacts/upsert",
            &ta,
            Some(json!({"locationId": a, "email": email_b})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["new"], true);
    let new_id = v["contact"]["id"].as_str().unwrap().to_string();
    assert_eq!(v["contact"]["locationId"], json!(a));
    assert_eq!(contacts_of(&sb, &a).len(), 41);
    assert_eq!(contacts_of(&sb, &b).len(), 40);
    // And upserting it again finds it.
    let (_, _, v) = sb
        .call(
            Method::POST,
            "/contacts/upsert",
            &ta,
            Some(json!({"locationId": a, "email": email_b, "city": "Oslo"})),
        )
        .await;
    assert_eq!(
        (v["new"].clone(), v["contact"]["id"].clone()),
        (json!(false), json!(new_id))
    );

    // Duplicate search by email, by number, nothing found, nothing asked.
    let q = |s: &str| {
        s.replace('+', "%2B")
            .replace(' ', "%20")
            .replace('(', "%28")
            .replace(')', "%29")
    };
    let (s, _, v) = sb
        .call(
            Method::GET,
            &format!(
                "/contacts/search/duplicate?locationId={a}&email={}",
                q(&email1.to_uppercase())
            ),
            &ta,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["contact"]["id"], json!(c1.id));
    let (_, _, v) = sb
        .call(
            Method::GET,
            &format!(
                "/contacts/search/duplicate?locationId={a}&number={}",
                q(&formatted)
            ),
            &ta,
            None,
        )
        .await;
    assert_eq!(v["contact"]["id"], json!(c2.id));
    let (s, _, v) = sb
        .call(
            Method::GET,
            &format!("/contacts/search/duplicate?locationId={a}&email=nobody%40x.test"),
            &ta,
            None,
        )
        .await;
    assert_eq!((s, v), (200, json!({"contact": null})));
    let (s, h, v) = sb
        .call(
            Method::GET,
            &format!("/contacts/search/duplicate?locationId={a}"),
            &ta,
            None,
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(&["either email or number should not be empty"], &h)
    );
    let (s, h, v) = sb
        .call(
            Method::GET,
            "/contacts/search/duplicate?email=a%40b.test",
            &ta,
            None,
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(v, unprocessable(&["locationId should not be empty"], &h));
}

#[tokio::test]
async fn tags_bulk_tags_and_bulk_business() {
    let (sb, a, b, ta, _) = two_locations().await;
    let ids_a = by_added(&contacts_of(&sb, &a));
    let (c1, c2) = (ids_a[0].clone(), ids_a[1].clone());
    let cb = sb.some_contact(&b);
    let tags_of = |sb: &TestSandbox, loc: &str, id: &str| -> Vec<String> {
        sb.running.sandbox.read(|w| {
            w.location(loc).unwrap().contacts[id]
                .tags
                .iter()
                .map(|t| t.to_string())
                .collect()
        })
    };
    let start = tags_of(&sb, &a, &c1);

    // Add: lower-cased, trimmed, deduplicated, appended.
    let (s, _, v) = sb
        .call(
            Method::POST,
            &format!("/contacts/{c1}/tags"),
            &ta,
            Some(json!({"tags": ["Zeta", " zeta", "ZETA ", "Omega"]})),
        )
        .await;
    assert_eq!(s, 201);
    let mut want = start.clone();
    want.extend(["zeta".to_string(), "omega".to_string()]);
    assert_eq!(v, json!({"tags": want}));
    // Adding again changes nothing; removing is case-blind.
    let (_, _, v) = sb
        .call(
            Method::POST,
            &format!("/contacts/{c1}/tags"),
            &ta,
            Some(json!({"tags": ["zeta"]})),
        )
        .await;
    assert_eq!(v, json!({"tags": want}));
    let (s, _, v) = sb
        .call(
            Method::DELETE,
            &format!("/contacts/{c1}/tags"),
            &ta,
            Some(json!({"tags": ["ZETA", "absent"]})),
        )
        .await;
    assert_eq!(s, 200);
    want.retain(|t| t != "zeta");
    assert_eq!(v, json!({"tags": want}));
    let (s, h, v) = sb
        .call(
            Method::POST,
            &format!("/contacts/{c1}/tags"),
            &ta,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(&["tags should not be empty", "tags must be an array"], &h)
    );

    // Bulk add and remove, with an unknown id and a contact of another location.
    let (s, _, v) = sb
        .call(
            Method::POST,
            "/contacts/bulk/tags/update/add",
            &ta,
            Some(json!({"locationId": a, "contacts": [c1, c2, "missing0000000000000", cb], "tags": ["Bulk", "bulk"]})),
        )
        .await;
    assert_eq!(s, 201);
    let (old1, old2) = (tags_of(&sb, &a, &c1), tags_of(&sb, &a, &c2));
    let (old1, old2): (Vec<String>, Vec<String>) = (
        old1.into_iter().filter(|t| t != "bulk").collect(),
        old2.into_iter().filter(|t| t != "bulk").collect(),
    );
    let ok = |id: &str, old: &[String], added: &[&str], removed: &[&str]| {
        json!({"contactId": id, "message": "Tags updated", "type": "success",
               "oldTags": old, "tagsAdded": added, "tagsRemoved": removed})
    };
    let missing =
        |id: &str| json!({"contactId": id, "message": "Contact not found", "type": "error"});
    assert_eq!(
        v,
        json!({
            "succeded": false,
            "errorCount": 2,
            "responses": [
                ok(&c1, &old1, &["bulk"], &[]), ok(&c2, &old2, &["bulk"], &[]),
                missing("missing0000000000000"), missing(&cb),
            ],
        })
    );
    assert!(tags_of(&sb, &a, &c1).contains(&"bulk".to_string()));
    assert!(tags_of(&sb, &a, &c2).contains(&"bulk".to_string()));
    assert!(!tags_of(&sb, &b, &cb).contains(&"bulk".to_string()));
    let (s, _, v) = sb
        .call(
            Method::POST,
            "/contacts/bulk/tags/update/remove",
            &ta,
            Some(json!({"locationId": a, "contacts": [c1, c2], "tags": ["BULK"]})),
        )
        .await;
    assert_eq!(s, 201);
    let mut with_bulk1 = old1.clone();
    with_bulk1.push("bulk".into());
    let mut with_bulk2 = old2.clone();
    with_bulk2.push("bulk".into());
    assert_eq!(
        v,
        json!({"succeded": true, "errorCount": 0, "responses": [
            ok(&c1, &with_bulk1, &[], &["bulk"]), ok(&c2, &with_bulk2, &[], &["bulk"]),
        ]})
    );
    assert_eq!(tags_of(&sb, &a, &c1), want);
    // removeAllTags empties them.
    let (_, _, v) = sb
        .call(
            Method::POST,
            "/contacts/bulk/tags/update/remove",
            &ta,
            Some(json!({"locationId": a, "contacts": [c2], "tags": [], "removeAllTags": true})),
        )
        .await;
    assert_eq!(v["succeded"], true);
    assert!(tags_of(&sb, &a, &c2).is_empty());
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/contacts/bulk/tags/update/toggle",
            &ta,
            Some(json!({"locationId": a, "contacts": [c1], "tags": ["x"]})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &["type must be one of the following values: add, remove"],
            &h
        )
    );
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/contacts/bulk/tags/update/add",
            &ta,
            Some(json!({"locationId": a})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &[
                "contacts should not be empty",
                "contacts must be an array",
                "tags should not be empty",
                "tags must be an array"
            ],
            &h
        )
    );

    // Bulk business: the ids it could set, then the business lists them; null takes them out.
    let (s, _, v) = sb
        .call(
            Method::POST,
            "/contacts/bulk/business",
            &ta,
            Some(json!({"locationId": a, "ids": [c1, "missing0000000000000", c2, cb], "businessId": "biz-test-1"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v, json!({"success": true, "ids": [c1, c2]}));
    assert_eq!(
        contact_json(&sb, &a, &c1).unwrap()["businessId"],
        "biz-test-1"
    );
    assert!(contact_json(&sb, &b, &cb).unwrap().get("businessId") != Some(&json!("biz-test-1")));
    let (s, _, v) = sb
        .call(
            Method::GET,
            &format!("/contacts/business/biz-test-1?locationId={a}"),
            &ta,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["count"], 2);
    assert_eq!(set(&ids(&v)), set(&[c1.clone(), c2.clone()]));
    let (_, _, v) = sb
        .call(
            Method::POST,
            "/contacts/bulk/business",
            &ta,
            Some(json!({"locationId": a, "ids": [c1], "businessId": null})),
        )
        .await;
    assert_eq!(v, json!({"success": true, "ids": [c1]}));
    assert!(contact_json(&sb, &a, &c1)
        .unwrap()
        .get("businessId")
        .is_none());
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/contacts/bulk/business",
            &ta,
            Some(json!({"locationId": a, "ids": ["x".repeat(51)]})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &[
                "businessId must be a string or null",
                "each value in ids must be shorter than or equal to 50 characters"
            ],
            &h
        )
    );
}

#[tokio::test]
async fn followers_campaigns_and_workflows() {
    let sb = sandbox().await;
    let a = sb.location_ids()[0].clone();
    let t = sb.pit(&a, None).await;
    let cid = sb.some_contact(&a);
    let lists = |sb: &TestSandbox| {
        sb.running.sandbox.read(|w| {
            let c = &w.location(&a).unwrap().contacts[cid.as_str()];
            (
                c.followers.clone(),
                c.campaigns.clone(),
                c.workflows.clone(),
                c.date_updated,
            )
        })
    };
    let (_, _, _, updated0) = lists(&sb);

    let f = format!("/contacts/{cid}/followers");
    let (s, _, v) = sb
        .call(
            Method::POST,
            &f,
            &t,
            Some(json!({"followers": ["u1", "u2"]})),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            201,
            json!({"followers": ["u1", "u2"], "followersAdded": ["u1", "u2"]})
        )
    );
    let (_, _, v) = sb
        .call(
            Method::POST,
            &f,
            &t,
            Some(json!({"followers": ["u2", "u3"]})),
        )
        .await;
    assert_eq!(
        v,
        json!({"followers": ["u1", "u2", "u3"], "followersAdded": ["u3"]})
    );
    let (s, _, v) = sb
        .call(
            Method::DELETE,
            &f,
            &t,
            Some(json!({"followers": ["u1", "zz"]})),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            200,
            json!({"followers": ["u2", "u3"], "followersRemoved": ["u1"]})
        )
    );
    assert_eq!(
        contact_json(&sb, &a, &cid).unwrap()["followers"],
        json!(["u2", "u3"])
    );
    assert!(
        lists(&sb).3 > updated0,
        "a follower change updates the contact"
    );

    let ok201 = json!({"succeded": true});
    for camp in ["camp1", "camp2", "camp2"] {
        let (s, _, v) = sb
            .call(
                Method::POST,
                &format!("/contacts/{cid}/campaigns/{camp}"),
                &t,
                None,
            )
            .await;
        assert_eq!((s, v), (201, ok201.clone()));
    }
    assert_eq!(lists(&sb).1, vec!["camp1", "camp2"]);
    let (s, _, v) = sb
        .call(
            Method::DELETE,
            &format!("/contacts/{cid}/campaigns/camp1"),
            &t,
            None,
        )
        .await;
    assert_eq!((s, v), (200, ok201.clone()));
    assert_eq!(lists(&sb).1, vec!["camp2"]);
    sb.call(
        Method::POST,
        &format!("/contacts/{cid}/campaigns/camp3"),
        &t,
        None,
    )
    .await;
    let (s, _, v) = sb
        .call(
            Method::DELETE,
            &format!("/contacts/{cid}/campaigns/removeAll"),
            &t,
            None,
        )
        .await;
    assert_eq!((s, v), (200, ok201.clone()));
    assert!(lists(&sb).1.is_empty());

    let wf = format!("/contacts/{cid}/workflow/wf1");
    let (s, _, v) = sb
        .call(
            Method::POST,
            &wf,
            &t,
            Some(json!({"eventStartTime": "2030-01-01T10:00:00Z"})),
        )
        .await;
    assert_eq!((s, v), (200, ok201.clone()));
    let (s, _, v) = sb
        .call(
            Method::POST,
            &format!("/contacts/{cid}/workflow/wf2"),
            &t,
            None,
        )
        .await;
    assert_eq!((s, v), (200, ok201.clone()));
    assert_eq!(lists(&sb).2, vec!["wf1", "wf2"]);
    let (s, h, v) = sb
        .call(
            Method::POST,
            &wf,
            &t,
            Some(json!({"eventStartTime": "whenever"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(&["eventStartTime must be a valid ISO 8601 date string"], &h)
    );
    let (s, _, v) = sb.call(Method::DELETE, &wf, &t, None).await;
    assert_eq!((s, v), (200, ok201.clone()));
    assert_eq!(lists(&sb).2, vec!["wf2"]);

    // On an unknown contact, each is a 404.
    for (method, path) in [
        (Method::POST, "/contacts/missing0000000000000/followers"),
        (Method::POST, "/contacts/missing0000000000000/campaigns/c"),
        (
            Method::DELETE,
            "/contacts/missing0000000000000/campaigns/removeAll",
        ),
        (Method::POST, "/contacts/missing0000000000000/workflow/w"),
    ] {
        let (s, h, v) = sb
            .call(method, path, &t, Some(json!({"followers": ["u"]})))
            .await;
        assert_eq!(s, 404, "{path}");
        assert_eq!(v, error_body(404, "Contact not found", &h));
    }
}

// ---- 8. search ----------------------------------------------------------------------------

fn text_hit(c: &Contact, q: &str) -> bool {
    let has = |v: &Option<String>| v.as_ref().is_some_and(|s| s.to_lowercase().contains(q));
    has(&c.full_name())
        || has(&c.email.as_ref().map(|s| s.to_string()))
        || has(&c.company_name.as_ref().map(|s| s.to_string()))
}

#[tokio::test]
async fn search_filters_sorts_and_totals() {
    let sb = sandbox().await;
    let a = sb.location_ids()[0].clone();
    let t = sb.pit(&a, None).await;
    let cs = contacts_of(&sb, &a);
    let added = by_added(&cs);
    let find = |id: &str| cs.iter().find(|c| c.id == id).unwrap().clone();

    // Default: everything, newest first, 20 a page.
    let v = search(&sb, &t, json!({"locationId": a})).await;
    assert_eq!(v["total"], 40);
    let mut newest = added.clone();
    newest.reverse();
    assert_eq!(ids(&v), newest[..20]);
    let first = &v["contacts"][0];
    assert_eq!(
        first["searchAfter"],
        json!([find(&newest[0]).date_added, newest[0]])
    );

    // dateAdded range: ISO gte and epoch lt.
    let (lo, hi) = (find(&added[10]).date_added, find(&added[30]).date_added);
    let want: Vec<String> = ordered(&cs, |c| c.date_added, false)
        .into_iter()
        .filter(|id| (lo..hi).contains(&find(id).date_added))
        .collect();
    let v = search(
        &sb,
        &t,
        json!({"locationId": a, "pageLimit": 100, "sort": [{"field": "dateAdded", "direction": "asc"}],
               "filters": [{"field": "dateAdded", "operator": "range", "value": {"gte": iso(lo), "lt": hi}}]}),
    )
    .await;
    assert_eq!(ids(&v), want);
    assert_eq!(v["total"], 20);
    // gt and lte are exclusive and inclusive.
    let v = search(
        &sb,
        &t,
        json!({"locationId": a, "pageLimit": 100, "sort": [{"field": "dateAdded", "direction": "asc"}],
               "filters": [{"field": "dateAdded", "operator": "range", "value": {"gt": lo.to_string(), "lte": iso(hi)}}]}),
    )
    .await;
    assert_eq!(ids(&v), added[11..=30]);

    // dateUpdated range, newest updated first.
    let upd = ordered(&cs, |c| c.date_updated, false);
    let cut = find(&upd[25]).date_updated;
    let v = search(
        &sb,
        &t,
        json!({"locationId": a, "pageLimit": 100, "sort": [{"field": "dateUpdated", "direction": "desc"}],
               "filters": [{"field": "dateUpdated", "operator": "range", "value": {"gt": cut}}]}),
    )
    .await;
    let mut want: Vec<String> = upd[26..].to_vec();
    want.reverse();
    assert_eq!(ids(&v), want);
    assert_eq!(v["total"], 14);

    // email eq (any case) and phone eq (any formatting).
    let c7 = find(&added[7]);
    let v = search(
        &sb,
        &t,
        json!({"locationId": a, "filters": [{"field": "email", "operator": "eq", "value": c7.email.clone().unwrap().to_uppercase()}]}),
    )
    .await;
    assert_eq!(
        (ids(&v), v["total"].clone()),
        (vec![c7.id.to_string()], json!(1))
    );
    let digits: String = c7
        .phone
        .clone()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let pretty = format!(
        "+{} ({}) {}-{}",
        &digits[..1],
        &digits[1..4],
        &digits[4..7],
        &digits[7..]
    );
    let v = search(&sb, &t, json!({"locationId": a, "filters": [{"field": "phone", "operator": "eq", "value": pretty}]})).await;
    assert_eq!(ids(&v), vec![c7.id.clone()]);

    // tags contains / not_contains.
    let vip: Vec<String> = newest
        .iter()
        .filter(|id| find(id).tags.contains(&"vip".into()))
        .cloned()
        .collect();
    assert!(!vip.is_empty() && vip.len() < 40);
    let v = search(&sb, &t, json!({"locationId": a, "pageLimit": 100, "filters": [{"field": "tags", "operator": "contains", "value": "VIP"}]})).await;
    assert_eq!(
        (ids(&v), v["total"].clone()),
        (vip.clone(), json!(vip.len()))
    );
    let v = search(&sb, &t, json!({"locationId": a, "pageLimit": 100, "filters": [{"field": "tags", "operator": "not_contains", "value": ["vip"]}]})).await;
    let not_vip: Vec<String> = newest
        .iter()
        .filter(|id| !vip.contains(id))
        .cloned()
        .collect();
    assert_eq!(ids(&v), not_vip);

    // Free text over name, email and company.
    let last = c7.last_name.clone().unwrap().to_lowercase();
    let want: Vec<String> = newest
        .iter()
        .filter(|id| text_hit(&find(id), &last))
        .cloned()
        .collect();
    let v = search(
        &sb,
        &t,
        json!({"locationId": a, "pageLimit": 100, "query": last.to_uppercase()}),
    )
    .await;
    assert_eq!(ids(&v), want);
    assert!(want.contains(&c7.id.to_string()));

    // Groups: OR of two emails, inside an AND with a range that keeps only one of them.
    let c3 = find(&added[3]);
    let either = json!({"group": "OR", "filters": [
        {"field": "email", "operator": "eq", "value": c3.email.clone().unwrap()},
        {"field": "email", "operator": "eq", "value": c7.email.clone().unwrap()},
    ]});
    let v = search(&sb, &t, json!({"locationId": a, "filters": [either.clone()], "sort": [{"field": "dateAdded", "direction": "asc"}]})).await;
    assert_eq!(ids(&v), vec![c3.id.clone(), c7.id.clone()]);
    let v = search(
        &sb,
        &t,
        json!({"locationId": a, "filters": [either, {"field": "dateAdded", "operator": "range", "value": {"gte": c7.date_added}}]}),
    )
    .await;
    assert_eq!(ids(&v), vec![c7.id.clone()]);

    // Sorts: dateAdded asc, dateUpdated asc, firstNameLowerCase asc/desc (ties by id).
    for (field, dir, want) in [
        ("dateAdded", "asc", added.clone()),
        ("dateUpdated", "asc", upd.clone()),
        (
            "firstNameLowerCase",
            "asc",
            ordered(&cs, |c| c.first_name.clone().unwrap().to_lowercase(), false),
        ),
        (
            "firstNameLowerCase",
            "desc",
            ordered(&cs, |c| c.first_name.clone().unwrap().to_lowercase(), true),
        ),
    ] {
        let v = search(
            &sb,
            &t,
            json!({"locationId": a, "pageLimit": 40, "sort": [{"field": field, "direction": dir}]}),
        )
        .await;
        assert_eq!(ids(&v), want, "{field} {dir}");
    }

    // page / pageLimit windows.
    for (page, limit, range) in [
        (1, 15, 0..15),
        (2, 15, 15..30),
        (3, 15, 30..40),
        (4, 15, 40..40),
        (7, 6, 36..40),
    ] {
        let v = search(
            &sb,
            &t,
            json!({"locationId": a, "page": page, "pageLimit": limit, "sort": [{"field": "dateAdded", "direction": "asc"}]}),
        )
        .await;
        assert_eq!(ids(&v), added[range], "page {page} of {limit}");
        assert_eq!(v["total"], 40);
    }
}

#[tokio::test]
async fn search_refuses_what_it_cannot_serve() {
    let sb = sandbox().await;
    let a = sb.location_ids()[0].clone();
    let t = sb.pit(&a, None).await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"locationId": a, "page": 21, "pageLimit": 500}),
            vec!["page and pageLimit can reach the first 10000 records only; use searchAfter to go deeper"],
        ),
        (
            json!({"locationId": a, "page": 101, "pageLimit": 100}),
            vec!["page and pageLimit can reach the first 10000 records only; use searchAfter to go deeper"],
        ),
        (json!({"locationId": a, "pageLimit": 501}), vec!["pageLimit must be a number between 1 and 500"]),
        (json!({"locationId": a, "page": 0}), vec!["page must not be less than 1"]),
        (json!({"locationId": a, "page": "two"}), vec!["page must be a positive number"]),
        (
            json!({"locationId": a, "filters": [{"field": "shoeSize", "operator": "eq", "value": 42}]}),
            vec!["filters.0: field `shoeSize` is not supported; supported fields: dateAdded, dateUpdated, email, phone, tags, firstNameLowerCase, lastNameLowerCase, assignedTo, businessId, type, dnd, id"],
        ),
        (
            json!({"locationId": a, "filters": [{"field": "email", "operator": "range", "value": {"gt": 1}}]}),
            vec!["filters.0: operator `range` is not supported for email"],
        ),
        (
            json!({"locationId": a, "filters": [{"field": "dateAdded", "operator": "range", "value": {}}]}),
            vec!["filters.0: a range needs at least one of gt, gte, lt, lte as an ISO date or epoch milliseconds"],
        ),
        (
            json!({"locationId": a, "filters": [{"group": "XOR", "filters": []}]}),
            vec!["filters.0.group must be one of the following values: AND, OR"],
        ),
        (
            json!({"locationId": a, "sort": [{"field": "city", "direction": "asc"}]}),
            vec!["sort.0.field `city` is not sortable; use one of dateAdded, dateUpdated, firstNameLowerCase, lastNameLowerCase, email"],
        ),
        (
            json!({"locationId": a, "searchAfter": [1]}),
            vec!["searchAfter must be the searchAfter array of the last contact of the previous page"],
        ),
        (
            json!({"locationId": a, "searchAfter": ["yesterday", "abc"]}),
            vec!["searchAfter does not match the sort; pass the searchAfter of the last contact of the previous page"],
        ),
        (json!({}), vec!["locationId should not be empty"]),
    ];
    for (body, messages) in cases {
        let (s, h, v) = sb
            .call(Method::POST, "/contacts/search", &t, Some(body.clone()))
            .await;
        assert_eq!(s, 422, "{body}: {v}");
        assert_eq!(v, unprocessable(&messages, &h), "{body}");
    }
    // A cursor lifts the 10,000 window.
    let v = search(
        &sb,
        &t,
        json!({"locationId": a, "page": 21, "pageLimit": 500, "searchAfter": [0, ""],
        "sort": [{"field": "dateAdded", "direction": "asc"}]}),
    )
    .await;
    assert_eq!(v["contacts"].as_array().unwrap().len(), 40);
}

#[tokio::test]
async fn search_after_visits_every_contact_exactly_once() {
    let sb = sandbox().await;
    let a = sb.location_ids()[0].clone();
    let t = sb.pit(&a, None).await;
    let cs = contacts_of(&sb, &a);
    let mut newest = by_added(&cs);
    newest.reverse();
    let got = walk(&sb, &t, json!({"locationId": a}), 7).await;
    assert_eq!(got, newest);
    let by_name = ordered(&cs, |c| c.first_name.clone().unwrap().to_lowercase(), false);
    let got = walk(
        &sb,
        &t,
        json!({"locationId": a, "sort": [{"field": "firstNameLowerCase", "direction": "asc"}]}),
        7,
    )
    .await;
    assert_eq!(got, by_name);
    // Two sort fields: last name then first name, both descending.
    let two = ordered(
        &cs,
        |c| {
            (
                c.last_name.clone().unwrap().to_lowercase(),
                c.first_name.clone().unwrap().to_lowercase(),
            )
        },
        true,
    );
    let got = walk(
        &sb,
        &t,
        json!({"locationId": a, "sort": [{"field": "lastNameLowerCase", "direction": "desc"}, {"field": "firstNameLowerCase", "direction": "desc"}]}),
        7,
    )
    .await;
    assert_eq!(got, two);
}

/// Changes made mid-walk: 3 created, 3 updated (one already seen), 3 deleted (one already
/// seen). Returns (first page, created ids in order, updated ids in order, deleted ids).
async fn change_mid_walk(
    sb: &TestSandbox,
    t: &str,
    a: &str,
    order: &[String],
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut created = Vec::new();
    for i in 0..3 {
        let (s, _, v) = sb
            .call(
                Method::POST,
                "/contacts/",
                t,
                Some(json!({"locationId": a, "firstName": format!("New{i}")})),
            )
            .await;
        assert_eq!(s, 201);
        created.push(v["contact"]["id"].as_str().unwrap().to_string());
    }
    let updated = vec![order[12].clone(), order[2].clone(), order[20].clone()];
    for id in &updated {
        let (s, _, _) = sb
            .call(
                Method::PUT,
                &format!("/contacts/{id}"),
                t,
                Some(json!({"firstName": "Changed"})),
            )
            .await;
        assert_eq!(s, 200);
    }
    let deleted = vec![order[15].clone(), order[5].clone(), order[25].clone()];
    for id in &deleted {
        assert_eq!(
            sb.call(Method::DELETE, &format!("/contacts/{id}"), t, None)
                .await
                .0,
            200
        );
    }
    (created, updated, deleted)
}

async fn continue_walk(sb: &TestSandbox, t: &str, mut body: Value, first: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut last = first["contacts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    for _ in 0..50 {
        body["searchAfter"] = last["searchAfter"].clone();
        let page = search(sb, t, body.clone()).await;
        let contacts = page["contacts"].as_array().unwrap();
        out.extend(ids(&page));
        if contacts.len() < 10 {
            return out;
        }
        last = contacts.last().unwrap().clone();
    }
    panic!("never ended");
}

#[tokio::test]
async fn a_cursor_stays_correct_while_records_change() {
    let sb = sandbox().await;
    let a = sb.location_ids()[0].clone();
    let t = sb.pit(&a, None).await;

    // By dateAdded ascending: nothing that existed is skipped or repeated.
    let order = by_added(&contacts_of(&sb, &a));
    let body = json!({"locationId": a, "pageLimit": 10, "sort": [{"field": "dateAdded", "direction": "asc"}]});
    let first = search(&sb, &t, body.clone()).await;
    assert_eq!(ids(&first), order[..10]);
    let (created, _, deleted) = change_mid_walk(&sb, &t, &a, &order).await;
    let rest = continue_walk(&sb, &t, body, &first).await;
    let mut visited = ids(&first);
    visited.extend(rest);
    let mut want: Vec<String> = order
        .iter()
        .enumerate()
        .filter(|(i, id)| *i < 10 || !deleted.contains(id))
        .map(|(_, id)| id.clone())
        .collect();
    want.extend(created.iter().cloned());
    assert_eq!(visited, want);

    // By dateUpdated ascending: unchanged records once each, in order; changed ones move to
    // the end (so one seen before its change comes again).
    sb.admin("/_sandbox/reset", json!({})).await;
    let cs = contacts_of(&sb, &a);
    let order = ordered(&cs, |c| c.date_updated, false);
    let body = json!({"locationId": a, "pageLimit": 10, "sort": [{"field": "dateUpdated", "direction": "asc"}]});
    let first = search(&sb, &t, body.clone()).await;
    assert_eq!(ids(&first), order[..10]);
    let (created, updated, deleted) = change_mid_walk(&sb, &t, &a, &order).await;
    let rest = continue_walk(&sb, &t, body, &first).await;
    let mut visited = ids(&first);
    visited.extend(rest);
    let mut want: Vec<String> = order
        .iter()
        .enumerate()
        .filter(|(i, id)| *i < 10 || (!deleted.contains(id) && !updated.contains(id)))
        .map(|(_, id)| id.clone())
        .collect();
    want.extend(created.iter().cloned());
    want.extend(updated.iter().cloned());
    assert_eq!(visited, want);
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for id in &visited {
        *counts.entry(id).or_default() += 1;
    }
    for id in order.iter().filter(|id| !updated.contains(id)) {
        let n = counts.get(id).copied().unwrap_or(0);
        let expected = usize::from(!deleted.contains(id) || order[..10].contains(id));
        assert_eq!(n, expected, "{id}");
    }
}

#[test]
fn property_any_page_size_sort_and_tag_covers_every_contact_once() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sb = rt.block_on(sandbox());
    let a = sb.location_ids()[0].clone();
    let t = rt.block_on(sb.pit(&a, None));
    let cs = contacts_of(&sb, &a);
    const SORTS: [(&str, &str); 7] = [
        ("dateAdded", "asc"),
        ("dateAdded", "desc"),
        ("dateUpdated", "asc"),
        ("dateUpdated", "desc"),
        ("firstNameLowerCase", "asc"),
        ("lastNameLowerCase", "desc"),
        ("email", "asc"),
    ];
    const TAGS: [&str; 4] = ["vip", "lead", "customer", "newsletter"];
    let expected = |sort: usize, tag: Option<usize>| -> Vec<String> {
        let kept: Vec<Contact> = cs
            .iter()
            .filter(|c| tag.is_none_or(|i| c.tags.iter().any(|t| t == TAGS[i])))
            .cloned()
            .collect();
        let lower = |v: &Option<ghl_sandbox::model::Str>| {
            v.clone().unwrap_or_default().as_str().to_lowercase()
        };
        let desc = SORTS[sort].1 == "desc";
        match SORTS[sort].0 {
            "dateAdded" => ordered(&kept, |c| c.date_added, desc),
            "dateUpdated" => ordered(&kept, |c| c.date_updated, desc),
            "firstNameLowerCase" => ordered(&kept, |c| lower(&c.first_name), desc),
            "lastNameLowerCase" => ordered(&kept, |c| lower(&c.last_name), desc),
            _ => ordered(&kept, |c| lower(&c.email), desc),
        }
    };

    let mut runner = TestRunner::new(Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        1usize..=45,
        0..SORTS.len(),
        proptest::option::of(0..TAGS.len()),
    );
    let result = runner.run(&strategy, |(size, sort, tag)| {
        let want = expected(sort, tag);
        let mut body = json!({"locationId": a, "sort": [{"field": SORTS[sort].0, "direction": SORTS[sort].1}]});
        if let Some(i) = tag {
            body["filters"] = json!([{"field": "tags", "operator": "contains", "value": TAGS[i]}]);
        }
        let got = rt.block_on(walk(&sb, &t, body, size));
        prop_assert_eq!(got, want);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---- 9. deprecated listing ----------------------------------------------------------------

#[tokio::test]
async fn deprecated_list_pages_through_every_contact_with_next_page_url() {
    let sb = sandbox().await;
    let a = sb.location_ids()[0].clone();
    let t = sb.pit(&a, None).await;
    let cs = contacts_of(&sb, &a);
    let order = by_added(&cs);

    let mut url = sb.url(&format!("/contacts/?locationId={a}&limit=10"));
    let mut seen = Vec::new();
    for page in 0.. {
        assert!(page < 10, "too many pages");
        let r = sb
            .http
            .get(&url)
            .header("Version", VERSION)
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let got = ids(&v);
        assert_eq!(v["count"], json!(got.len()));
        assert_eq!(v["meta"]["total"], 40);
        seen.extend(got.clone());
        match v["meta"]["nextPageUrl"].as_str() {
            Some(next) => {
                let last = cs
                    .iter()
                    .find(|c| got.last().is_some_and(|g| c.id == g.as_str()))
                    .unwrap();
                assert_eq!(v["meta"]["startAfter"], json!(last.date_added));
                assert_eq!(v["meta"]["startAfterId"], json!(last.id));
                assert!(
                    next.starts_with(&format!("{}/contacts/?", sb.base)),
                    "{next}"
                );
                assert!(
                    next.contains(&format!("startAfter={}", last.date_added)),
                    "{next}"
                );
                assert!(
                    next.contains(&format!("startAfterId={}", last.id)),
                    "{next}"
                );
                assert!(next.contains("limit=10"), "{next}");
                url = next.to_string();
            }
            None => {
                assert!(got.len() < 10);
                assert!(v["meta"].get("startAfterId").is_none());
                break;
            }
        }
    }
    assert_eq!(seen, order);

    // startAfter/startAfterId by hand, and the limit bounds.
    let mid = cs.iter().find(|c| c.id == order[19]).unwrap();
    let (s, _, v) = sb
        .call(
            Method::GET,
            &format!(
                "/contacts/?locationId={a}&limit=5&startAfter={}&startAfterId={}",
                mid.date_added, mid.id
            ),
            &t,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(ids(&v), order[20..25]);
    assert_eq!(v["count"], 5);
    let (s, _, v) = sb
        .call(Method::GET, &format!("/contacts/?locationId={a}"), &t, None)
        .await;
    assert_eq!((s, ids(&v)), (200, order[..20].to_vec()));
    let (s, h, v) = sb
        .call(
            Method::GET,
            &format!("/contacts/?locationId={a}&limit=101"),
            &t,
            None,
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(&["limit must be a number between 1 and 100"], &h)
    );
    let (s, h, v) = sb.call(Method::GET, "/contacts/?limit=10", &t, None).await;
    assert_eq!(s, 422);
    assert_eq!(v, unprocessable(&["locationId should not be empty"], &h));
}

// ---- 10. tasks, notes, appointments -------------------------------------------------------

#[tokio::test]
async fn task_and_note_crud() {
    let sb = sandbox().await;
    let a = sb.location_ids()[0].clone();
    let t = sb.pit(&a, None).await;
    let cid = sb.some_contact(&a);
    let n_tasks = sb
        .running
        .sandbox
        .read(|w| w.location(&a).unwrap().contacts[cid.as_str()].tasks.len());

    let tasks = format!("/contacts/{cid}/tasks");
    let (s, _, v) = sb
        .call(
            Method::POST,
            &tasks,
            &t,
            Some(json!({"title": "Call Ada", "body": "About the engine", "dueDate": "2030-05-01T09:30:00+02:00", "completed": false, "assignedTo": "user1"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let task = v["task"].clone();
    let tid = task["id"].as_str().unwrap().to_string();
    assert_eq!(
        task,
        json!({
            "id": tid, "title": "Call Ada", "body": "About the engine", "assignedTo": "user1",
            "dueDate": "2030-05-01T07:30:00.000Z", "completed": false, "contactId": cid,
            "dateAdded": task["dateAdded"], "dateUpdated": task["dateAdded"],
        })
    );
    let (s, _, v) = sb.call(Method::GET, &tasks, &t, None).await;
    assert_eq!(s, 200);
    assert_eq!(v["tasks"].as_array().unwrap().len(), n_tasks + 1);
    assert_eq!(v["tasks"].as_array().unwrap().last().unwrap(), &task);
    let one = format!("{tasks}/{tid}");
    let (s, _, v) = sb.call(Method::GET, &one, &t, None).await;
    assert_eq!((s, &v["task"]), (200, &task));

    let (s, _, v) = sb
        .call(
            Method::PUT,
            &one,
            &t,
            Some(json!({"title": "Call Ada again", "body": null})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["task"]["title"], "Call Ada again");
    assert!(v["task"].get("body").is_none());
    assert_eq!(v["task"]["completed"], false);
    assert_eq!(v["task"]["dueDate"], task["dueDate"]);
    assert!(parse_iso(&v["task"]["dateUpdated"]) > parse_iso(&task["dateAdded"]));
    let (s, _, v) = sb
        .call(
            Method::PUT,
            &format!("{one}/completed"),
            &t,
            Some(json!({"completed": true})),
        )
        .await;
    assert_eq!((s, v["task"]["completed"].clone()), (200, json!(true)));
    let (s, h, v) = sb
        .call(
            Method::PUT,
            &format!("{one}/completed"),
            &t,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &[
                "completed should not be empty",
                "completed must be a boolean value"
            ],
            &h
        )
    );
    let (s, _, v) = sb.call(Method::DELETE, &one, &t, None).await;
    assert_eq!((s, v), (200, json!({"succeded": true})));
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let (s, h, v) = sb.call(method, &one, &t, Some(json!({}))).await;
        assert_eq!(s, 404);
        assert_eq!(v, error_body(404, "Task not found", &h));
    }
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/contacts/missing0000000000000/tasks",
            &t,
            Some(json!({"title": "x", "dueDate": 1, "completed": true})),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(v, error_body(404, "Contact not found", &h));

    let notes = format!("/contacts/{cid}/notes");
    let (s, _, v) = sb
        .call(
            Method::POST,
            &notes,
            &t,
            Some(json!({"body": "Met at the fair", "userId": "user1"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let note = v["note"].clone();
    let nid = note["id"].as_str().unwrap().to_string();
    assert_eq!(
        note,
        json!({"id": nid, "body": "Met at the fair", "userId": "user1", "pinned": false,
               "dateAdded": note["dateAdded"], "dateUpdated": note["dateAdded"], "contactId": cid})
    );
    let (s, _, v) = sb.call(Method::GET, &notes, &t, None).await;
    assert_eq!(s, 200);
    assert_eq!(v["notes"].as_array().unwrap().last().unwrap(), &note);
    let one = format!("{notes}/{nid}");
    let (s, _, v) = sb.call(Method::GET, &one, &t, None).await;
    assert_eq!((s, &v["note"]), (200, &note));
    let (s, _, v) = sb
        .call(
            Method::PUT,
            &one,
            &t,
            Some(json!({"body": "Met at the fair, twice", "pinned": true})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["note"]["body"].clone(), v["note"]["pinned"].clone()),
        (json!("Met at the fair, twice"), json!(true))
    );
    let (s, h, v) = sb
        .call(Method::POST, &notes, &t, Some(json!({"body": ""})))
        .await;
    assert_eq!(s, 422);
    assert_eq!(v, unprocessable(&["body should not be empty"], &h));
    let (s, _, v) = sb.call(Method::DELETE, &one, &t, None).await;
    assert_eq!((s, v), (200, json!({"succeded": true})));
    let (s, h, v) = sb.call(Method::GET, &one, &t, None).await;
    assert_eq!(s, 404);
    assert_eq!(v, error_body(404, "Note not found", &h));
}

#[tokio::test]
async fn appointments_events_in_range_and_appointment_notes() {
    let sb = sandbox().await;
    let a = sb.location_ids()[0].clone();
    let t = sb.pit(&a, None).await;
    let cid = sb.some_contact(&a);
    let (cal, group, cal2, default_user) = sb.running.sandbox.read(|w| {
        let l = w.location(&a).unwrap();
        (
            l.calendars[0].id.clone(),
            l.calendars[0].group_id.clone(),
            l.calendars[1].id.clone(),
            l.users[0].clone(),
        )
    });
    let start = ghl_sandbox::time::parse("2030-03-04T15:00:00Z").unwrap();

    let (s, _, v) = sb
        .call(
            Method::POST,
            "/calendars/events/appointments",
            &t,
            Some(json!({"locationId": a, "calendarId": cal, "contactId": cid, "startTime": iso(start), "title": "Demo"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        v,
        json!({
            "id": id, "calendarId": cal, "locationId": a, "contactId": cid,
            "startTime": "2030-03-04T15:00:00.000Z", "endTime": "2030-03-04T15:30:00.000Z",
            "title": "Demo", "meetingLocationType": "default", "appointmentStatus": "confirmed",
            "assignedUserId": default_user, "address": "", "isRecurring": false,
        })
    );
    let one = format!("/calendars/events/appointments/{id}");
    let (s, _, v) = sb.call(Method::GET, &one, &t, None).await;
    assert_eq!(s, 200);
    assert_eq!(v["event"]["id"], json!(id));
    assert_eq!(v["event"]["groupId"], json!(group));
    assert_eq!(v["event"]["appointmentStatus"], "confirmed");

    // Edit: moving the start keeps the length; bad values are named.
    let (s, _, v) = sb
        .call(
            Method::PUT,
            &one,
            &t,
            Some(json!({"startTime": "2030-03-04T16:00:00Z", "appointmentStatus": "showed"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["startTime"].clone(),
            v["endTime"].clone(),
            v["appointmentStatus"].clone()
        ),
        (
            json!("2030-03-04T16:00:00.000Z"),
            json!("2030-03-04T16:30:00.000Z"),
            json!("showed")
        )
    );
    let (s, h, v) = sb
        .call(
            Method::PUT,
            &one,
            &t,
            Some(json!({"appointmentStatus": "maybe", "startTime": "2030-03-04T16:00:00Z", "endTime": "2030-03-04T15:00:00Z"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &["appointmentStatus must be one of the following values: new, confirmed, cancelled, showed, noshow, invalid", "endTime must be after startTime"],
            &h
        )
    );
    let (s, h, v) = sb
        .call(
            Method::POST,
            "/calendars/events/appointments",
            &t,
            Some(json!({"locationId": a})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &[
                "calendarId should not be empty",
                "contactId should not be empty",
                "startTime should not be empty"
            ],
            &h
        )
    );

    // Events in a range (epoch ms), by calendar, group or user.
    let day = 86_400_000;
    let (from, to) = (start - day, start + day);
    let events =
        |q: &str| format!("/calendars/events?locationId={a}&startTime={from}&endTime={to}&{q}");
    let expected = |f: &dyn Fn(&ghl_sandbox::model::Appointment) -> bool| -> Vec<String> {
        sb.running.sandbox.read(|w| {
            let mut v: Vec<(i64, String)> = w
                .location(&a)
                .unwrap()
                .appointments
                .values()
                .filter(|x| x.end_time >= from && x.start_time <= to && f(x))
                .map(|x| (x.start_time, x.id.to_string()))
                .collect();
            v.sort();
            v.into_iter().map(|(_, id)| id).collect()
        })
    };
    let event_ids = |v: &Value| -> Vec<String> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, _, v) = sb
        .call(Method::GET, &events(&format!("calendarId={cal}")), &t, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(event_ids(&v), expected(&|x| x.calendar_id == cal));
    assert!(event_ids(&v).contains(&id));
    let (_, _, v) = sb
        .call(
            Method::GET,
            &events(&format!("calendarId={cal2}")),
            &t,
            None,
        )
        .await;
    assert!(!event_ids(&v).contains(&id));
    let (_, _, v) = sb
        .call(Method::GET, &events(&format!("groupId={group}")), &t, None)
        .await;
    assert_eq!(event_ids(&v), expected(&|x| x.group_id == group));
    let (_, _, v) = sb
        .call(
            Method::GET,
            &events(&format!("userId={default_user}")),
            &t,
            None,
        )
        .await;
    assert_eq!(
        event_ids(&v),
        expected(&|x| x.assigned_user_id == default_user)
    );
    // The seeded month around today, by calendar: exactly the sandbox's appointments.
    let now = ghl_sandbox::time::now_ms();
    let (s, _, v) = sb
        .call(
            Method::GET,
            &format!(
                "/calendars/events?locationId={a}&startTime={}&endTime={}&calendarId={cal}",
                now - 30 * day,
                now + 30 * day
            ),
            &t,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let want: Vec<String> = sb.running.sandbox.read(|w| {
        let mut v: Vec<(i64, String)> = w
            .location(&a)
            .unwrap()
            .appointments
            .values()
            .filter(|x| {
                x.calendar_id == cal
                    && x.end_time >= now - 30 * day
                    && x.start_time <= now + 30 * day
            })
            .map(|x| (x.start_time, x.id.to_string()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    });
    assert!(!want.is_empty());
    assert_eq!(event_ids(&v), want);
    let (s, h, v) = sb.call(Method::GET, &events("x=1"), &t, None).await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(&["one of calendarId, groupId or userId is required"], &h)
    );
    let (s, h, v) = sb
        .call(
            Method::GET,
            &format!("/calendars/events?locationId={a}&endTime={to}&calendarId={cal}"),
            &t,
            None,
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &["startTime should be epoch milliseconds or an ISO 8601 date"],
            &h
        )
    );
    // The contact's appointments list it.
    let (s, _, v) = sb
        .call(
            Method::GET,
            &format!("/contacts/{cid}/appointments"),
            &t,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(event_ids(&v).contains(&id));

    // Appointment notes: create three, page with limit/offset and hasMore.
    let notes = format!("/calendars/appointments/{id}/notes");
    let mut note_ids = Vec::new();
    for i in 0..3 {
        let (s, _, v) = sb
            .call(
                Method::POST,
                &notes,
                &t,
                Some(json!({"body": format!("note {i}"), "userId": "u9"})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let n = &v["note"];
        assert_eq!(
            n,
            &json!({"id": n["id"], "body": format!("note {i}"), "userId": "u9", "dateAdded": n["dateAdded"],
                    "contactId": cid, "createdBy": {"id": "u9"}})
        );
        note_ids.push(n["id"].as_str().unwrap().to_string());
    }
    let page = |v: &Value| -> Vec<String> {
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, _, v) = sb
        .call(Method::GET, &format!("{notes}?limit=2&offset=0"), &t, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (page(&v), v["hasMore"].clone()),
        (note_ids[..2].to_vec(), json!(true))
    );
    let (_, _, v) = sb
        .call(Method::GET, &format!("{notes}?limit=2&offset=2"), &t, None)
        .await;
    assert_eq!(
        (page(&v), v["hasMore"].clone()),
        (note_ids[2..].to_vec(), json!(false))
    );
    let (_, _, v) = sb
        .call(Method::GET, &format!("{notes}?limit=10&offset=5"), &t, None)
        .await;
    assert_eq!(v, json!({"notes": [], "hasMore": false}));
    let (s, h, v) = sb
        .call(Method::GET, &format!("{notes}?limit=0&offset=0"), &t, None)
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(&["limit must be a number between 1 and 100"], &h)
    );
    let (s, _, v) = sb
        .call(
            Method::PUT,
            &format!("{notes}/{}", note_ids[1]),
            &t,
            Some(json!({"body": "edited"})),
        )
        .await;
    assert_eq!(
        (s, v["note"]["body"].clone(), v["note"]["userId"].clone()),
        (200, json!("edited"), json!("u9"))
    );
    let (s, h, v) = sb
        .call(
            Method::POST,
            &notes,
            &t,
            Some(json!({"body": "x".repeat(5001)})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v,
        unprocessable(
            &["body must be shorter than or equal to 5000 characters"],
            &h
        )
    );
    let (s, _, v) = sb
        .call(
            Method::DELETE,
            &format!("{notes}/{}", note_ids[0]),
            &t,
            None,
        )
        .await;
    assert_eq!((s, v), (200, json!({"success": true})));
    let (s, h, v) = sb
        .call(
            Method::DELETE,
            &format!("{notes}/{}", note_ids[0]),
            &t,
            None,
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(v, error_body(404, "Note not found", &h));
    let (_, _, v) = sb
        .call(Method::GET, &format!("{notes}?limit=10&offset=0"), &t, None)
        .await;
    assert_eq!(page(&v), note_ids[1..]);

    // Delete the event: 201 {succeeded}, then it is gone.
    let (s, _, v) = sb
        .call(Method::DELETE, &format!("/calendars/events/{id}"), &t, None)
        .await;
    assert_eq!((s, v), (201, json!({"succeeded": true})));
    let (s, h, v) = sb.call(Method::GET, &one, &t, None).await;
    assert_eq!(s, 404);
    assert_eq!(v, error_body(404, "Appointment not found", &h));
    let (s, _, _) = sb.call(Method::GET, &notes, &t, None).await;
    assert_eq!(s, 404);
}

// ---- 11. determinism ----------------------------------------------------------------------

async fn fingerprint(seed: u64) -> Vec<(String, String, String)> {
    let mut c = common::config();
    c.seed = seed;
    let sb = common::start_with(c).await;
    let a = sb.location_ids()[0].clone();
    let t = sb.pit(&a, None).await;
    let v = search(
        &sb,
        &t,
        json!({"locationId": a, "pageLimit": 40, "sort": [{"field": "firstNameLowerCase", "direction": "asc"}],
               "filters": [{"field": "tags", "operator": "not_contains", "value": "cold"}]}),
    )
    .await;
    v["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
                c["email"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_same_seed_gives_the_same_answers_and_another_seed_other_data() {
    let (one, two, other) = tokio::join!(fingerprint(7), fingerprint(7), fingerprint(8));
    assert!(one.len() > 20, "{}", one.len());
    assert_eq!(one, two);
    assert_ne!(one, other);
    let ids_one: BTreeSet<&String> = one.iter().map(|c| &c.0).collect();
    assert!(
        other.iter().all(|c| !ids_one.contains(&c.0)),
        "other seed, other ids"
    );
}
