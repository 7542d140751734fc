//! No input makes the sandbox panic: property tests that send random and structured-but-wrong
//! requests to every route of `src/api/mod.rs`, in process (the router is called directly, no
//! network), and check that every answer is one HighLevel could give:
//!
//! - no panic and no 5xx (faults are off);
//! - a status HighLevel uses: 200, 201, 302/303 (the install page only), 400, 401, 403, 404,
//!   413, 422, 429;
//! - every error body is JSON with a numeric `statusCode` equal to the status, except the
//!   install page's refusals, which are HTML pages for a browser, and answers to HEAD, which
//!   carry no body;
//! - every success of an API route is JSON.
//!
//! Requests are built from placeholders (`@contact`, `@task`, `@loc`…) that are resolved
//! against the sandbox's current data when the case runs, so real ids reach the deep paths of
//! validation even after earlier cases deleted records.

mod common;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};
use ghl_sandbox::auth::TokenRequest;
use ghl_sandbox::config::ALL_SCOPES;
use ghl_sandbox::{FaultSettings, Sandbox, Signer};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tower::ServiceExt;

/// Every route pattern of `src/api/mod.rs` with its methods.
const ROUTES: &[(&str, &[&str])] = &[
    ("/contacts/", &["GET", "POST"]),
    ("/contacts", &["GET", "POST"]),
    ("/contacts/search", &["POST"]),
    ("/contacts/search/duplicate", &["GET"]),
    ("/contacts/upsert", &["POST"]),
    ("/contacts/business/{businessId}", &["GET"]),
    ("/contacts/bulk/tags/update/{type}", &["POST"]),
    ("/contacts/bulk/business", &["POST"]),
    ("/contacts/{contactId}", &["GET", "PUT", "DELETE"]),
    ("/contacts/{contactId}/tasks", &["GET", "POST"]),
    (
        "/contacts/{contactId}/tasks/{taskId}",
        &["GET", "PUT", "DELETE"],
    ),
    ("/contacts/{contactId}/tasks/{taskId}/completed", &["PUT"]),
    ("/contacts/{contactId}/appointments", &["GET"]),
    ("/contacts/{contactId}/tags", &["POST", "DELETE"]),
    ("/contacts/{contactId}/notes", &["GET", "POST"]),
    (
        "/contacts/{contactId}/notes/{id}",
        &["GET", "PUT", "DELETE"],
    ),
    ("/contacts/{contactId}/followers", &["POST", "DELETE"]),
    ("/contacts/{contactId}/campaigns/removeAll", &["DELETE"]),
    (
        "/contacts/{contactId}/campaigns/{campaignId}",
        &["POST", "DELETE"],
    ),
    (
        "/contacts/{contactId}/workflow/{workflowId}",
        &["POST", "DELETE"],
    ),
    ("/locations/{locationId}", &["GET"]),
    ("/locations/{locationId}/customFields", &["GET"]),
    ("/locations/{locationId}/tasks/search", &["POST"]),
    ("/users/", &["GET"]),
    ("/users", &["GET"]),
    ("/calendars/", &["GET"]),
    ("/calendars", &["GET"]),
    ("/calendars/events/appointments", &["POST"]),
    ("/calendars/events/appointments/{eventId}", &["GET", "PUT"]),
    ("/calendars/events", &["GET"]),
    ("/calendars/events/{eventId}", &["DELETE"]),
    (
        "/calendars/appointments/{appointmentId}/notes",
        &["GET", "POST"],
    ),
    (
        "/calendars/appointments/{appointmentId}/notes/{noteId}",
        &["PUT", "DELETE"],
    ),
    ("/oauth/chooselocation", &["GET"]),
    ("/oauth/token", &["POST"]),
    ("/oauth/locationToken", &["POST"]),
    ("/oauth/installedLocations", &["GET"]),
    ("/_sandbox", &["GET"]),
    ("/_sandbox/", &["GET"]),
    ("/_sandbox/locations", &["GET"]),
    ("/_sandbox/reset", &["POST"]),
    ("/_sandbox/seed", &["POST"]),
    ("/_sandbox/records/{id}", &["GET"]),
    ("/_sandbox/counters", &["GET"]),
    ("/_sandbox/counters/reset", &["POST"]),
    ("/_sandbox/requests", &["GET"]),
    ("/_sandbox/faults", &["GET", "POST"]),
    ("/_sandbox/pit", &["POST"]),
    ("/_sandbox/revoke", &["POST"]),
    ("/_sandbox/expire-tokens", &["POST"]),
    ("/_sandbox/webhook", &["POST"]),
    ("/_sandbox/webhook-options", &["GET", "POST"]),
    ("/_sandbox/activity", &["POST"]),
    ("/_sandbox/limits", &["POST"]),
    ("/_sandbox/events", &["GET"]),
    ("/_sandbox/keys", &["GET"]),
];

/// Routes whose handlers parse a JSON body, with the method that does.
const JSON_BODY_ROUTES: &[(&str, &str)] = &[
    ("/contacts/search", "POST"),
    ("/contacts/", "POST"),
    ("/contacts", "POST"),
    ("/contacts/upsert", "POST"),
    ("/contacts/{contactId}", "PUT"),
    ("/contacts/{contactId}/tasks", "POST"),
    ("/contacts/{contactId}/tasks/{taskId}", "PUT"),
    ("/contacts/{contactId}/tasks/{taskId}/completed", "PUT"),
    ("/contacts/{contactId}/tags", "POST"),
    ("/contacts/{contactId}/tags", "DELETE"),
    ("/contacts/{contactId}/notes", "POST"),
    ("/contacts/{contactId}/notes/{id}", "PUT"),
    ("/contacts/{contactId}/followers", "POST"),
    ("/contacts/{contactId}/followers", "DELETE"),
    ("/contacts/{contactId}/campaigns/{campaignId}", "POST"),
    ("/contacts/{contactId}/workflow/{workflowId}", "POST"),
    ("/contacts/{contactId}/workflow/{workflowId}", "DELETE"),
    ("/contacts/bulk/tags/update/{type}", "POST"),
    ("/contacts/bulk/business", "POST"),
    ("/locations/{locationId}/tasks/search", "POST"),
    ("/calendars/events/appointments", "POST"),
    ("/calendars/events/appointments/{eventId}", "PUT"),
    ("/calendars/events/{eventId}", "DELETE"),
    ("/calendars/appointments/{appointmentId}/notes", "POST"),
    (
        "/calendars/appointments/{appointmentId}/notes/{noteId}",
        "PUT",
    ),
];

/// Routes that read their query string.
const QUERY_ROUTES: &[&str] = &[
    "/contacts/",
    "/contacts",
    "/contacts/search/duplicate",
    "/contacts/business/{businessId}",
    "/locations/{locationId}/customFields",
    "/users/",
    "/users",
    "/calendars/",
    "/calendars",
    "/calendars/events",
    "/calendars/appointments/{appointmentId}/notes",
    "/oauth/chooselocation",
    "/oauth/installedLocations",
    "/_sandbox/requests",
];

const ALLOWED: &[u16] = &[200, 201, 302, 303, 400, 401, 403, 404, 413, 422, 429];

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "PURGE",
];

/// Values resolved when a case runs; longest first so `@appt` does not eat `@apptnote`.
const PLACEHOLDERS: &[&str] = &[
    "@apptnote",
    "@appt",
    "@contact",
    "@task",
    "@note",
    "@cal",
    "@group",
    "@user",
    "@loc",
    "@company",
    "@clientid",
    "@secret",
    "@redirect",
    "@appid",
    "@code",
    "@refresh",
    "@email",
];

const QUERY_KEYS: &[&str] = &[
    "locationId",
    "limit",
    "skip",
    "offset",
    "startAfter",
    "startAfterId",
    "query",
    "email",
    "number",
    "startTime",
    "endTime",
    "calendarId",
    "groupId",
    "userId",
    "companyId",
    "appId",
    "isInstalled",
    "since",
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "location_id",
    "approve",
    "model",
    "showDrafted",
];

const QUERY_VALUES: &[&str] = &[
    "",
    "0",
    "-1",
    "1",
    "20",
    "100",
    "101",
    "500",
    "501",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "99999999999999999999999999999999999999",
    "1e400",
    "NaN",
    "-0",
    "0x10",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    "code",
    "token",
    "add",
    "1",
    "2021-11-26T12:41:02.193Z",
    "2021-13-45T99:99:99Z",
    "1637930462193",
    "contacts.readonly contacts.write",
    "contacts.readonly+contacts.write",
    "calendars.readonly",
    "conversations/message.write",
    "%zz",
    "%",
    "%FF%FE",
    "%c3%28",
    "%00",
    "%E2%82",
    "a%2Fb",
    "+",
    "S",
];

const WEIRD_SEGMENTS: &[&str] = &[
    "%",
    "%zz",
    "%FF",
    "%c3%28",
    "%00",
    "%E2%82",
    "%2F",
    "a%2Fb",
    "%20",
    "..",
    ".",
    "99999999999999999999999999",
    "-1",
    "0",
    "add",
    "remove",
    "removeAll",
    "search",
    "null",
    "undefined",
    "%25",
    "\u{e9}t\u{e9}",
    "\u{1F600}",
];

const BODY_FIELDS: &[&str] = &[
    "locationId",
    "page",
    "pageLimit",
    "filters",
    "sort",
    "searchAfter",
    "query",
    "firstName",
    "lastName",
    "name",
    "email",
    "phone",
    "companyName",
    "address1",
    "city",
    "state",
    "country",
    "postalCode",
    "website",
    "timezone",
    "source",
    "assignedTo",
    "dateOfBirth",
    "dnd",
    "dndSettings",
    "tags",
    "customFields",
    "createNewIfDuplicateAllowed",
    "title",
    "body",
    "dueDate",
    "completed",
    "color",
    "pinned",
    "userId",
    "followers",
    "contacts",
    "removeAllTags",
    "ids",
    "businessId",
    "eventStartTime",
    "calendarId",
    "contactId",
    "startTime",
    "endTime",
    "appointmentStatus",
    "meetingLocationType",
    "assignedUserId",
    "address",
    "rrule",
    "ignoreDateRange",
    "toNotify",
    "ignoreFreeSlotValidation",
    "overrideLocationConfig",
    "id",
    "key",
    "field_value",
    "value",
    "status",
    "message",
    "code",
];

const FILTER_FIELDS: &[&str] = &[
    "dateAdded",
    "dateUpdated",
    "email",
    "phone",
    "tags",
    "firstNameLowerCase",
    "lastNameLowerCase",
    "assignedTo",
    "businessId",
    "type",
    "dnd",
    "id",
    "firstName",
    "customFields",
    "",
];

const OPERATORS: &[&str] = &[
    "eq",
    "not_eq",
    "contains",
    "not_contains",
    "exists",
    "not_exists",
    "range",
    "gt",
    "",
];

const STRING_VALUES: &[&str] = &[
    "@loc",
    "@contact",
    "@task",
    "@note",
    "@appt",
    "@apptnote",
    "@cal",
    "@group",
    "@user",
    "@company",
    "@email",
    "",
    " ",
    "2021-11-26T12:41:02.193Z",
    "2023-09-25T16:00:00+05:30",
    "2021-07-16 11:00:00",
    "2021-07-16",
    "1637930462193",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "+262143-12-31T23:59:59Z",
    "not a date",
    "someone@example.com",
    "not-an-email",
    "+1 555 010 0000",
    "555",
    "active",
    "inactive",
    "permanent",
    "asc",
    "desc",
    "AND",
    "OR",
    "range",
    "eq",
    "dateAdded",
    "dateUpdated",
    "confirmed",
    "cancelled",
    "zoom",
    "SMS",
    "Email",
    "Call",
    "FREQ=DAILY;COUNT=5",
    "\u{0}",
    "\u{202e}",
    "<script>",
    "\u{1F600}",
];

// ---- the fixture --------------------------------------------------------------------------

struct Fixture {
    rt: tokio::runtime::Runtime,
    sandbox: Arc<Sandbox>,
    router: axum::Router,
    /// Webhook events go nowhere here; holding the receiver keeps the sender content.
    _events: tokio::sync::mpsc::UnboundedReceiver<ghl_sandbox::world::Event>,
    /// How many answers of each status each route gave, printed with `--nocapture` to show
    /// how deep the cases reach.
    seen: std::sync::Mutex<std::collections::BTreeMap<(&'static str, u16), u32>>,
}

/// The ids a case's placeholders resolve to.
#[derive(Debug, Default)]
struct Ids {
    loc: String,
    company: String,
    contact: String,
    task: String,
    note: String,
    appt: String,
    apptnote: String,
    cal: String,
    group: String,
    user: String,
    email: String,
    code: String,
    refresh: String,
}

const MISSING: &str = "noSuchRecord00000000";

impl Fixture {
    fn new() -> Fixture {
        let mut cfg = common::config();
        // Rate limits would turn most cases into 429s; they are tested elsewhere.
        cfg.rate_limit.enabled = false;
        let signer = Signer::load_or_create(&testkit::key_dir!()).expect("signing keys");
        let (sandbox, events) = Sandbox::new(cfg, signer);
        let router = ghl_sandbox::api::router(sandbox.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Fixture {
            rt,
            sandbox,
            router,
            _events: events,
            seen: Default::default(),
        }
    }

    /// Resolves the case's location and records from the data as it is now.
    fn ids(&self, loc_pick: usize, pick: usize) -> Ids {
        let app = &self.sandbox.config.app;
        let mut ids = self.sandbox.read(|w| {
            let locs: Vec<_> = w.locations.values().collect();
            let mut ids = Ids {
                company: w.company_id.to_string(),
                ..Ids::default()
            };
            let Some(l) = locs.get(loc_pick % locs.len().max(1)) else {
                return ids;
            };
            ids.loc = l.id.to_string();
            let contacts: Vec<&ghl_sandbox::model::Contact> = l
                .by_added
                .iter()
                .filter_map(|(_, id)| l.contacts.get(id).map(|c| &**c))
                .collect();
            let rich: Vec<&ghl_sandbox::model::Contact> = contacts
                .iter()
                .copied()
                .filter(|c| !c.tasks.is_empty() && !c.notes.is_empty())
                .collect();
            let pool = if pick & 3 != 0 && !rich.is_empty() {
                &rich
            } else {
                &contacts
            };
            if let Some(c) = pool.get(pick % pool.len().max(1)) {
                ids.contact = c.id.to_string();
                ids.email = c.email.clone().unwrap_or_default().to_string();
                if let Some(t) = c.tasks.get(pick % c.tasks.len().max(1)) {
                    ids.task = t.id.to_string();
                }
                if let Some(n) = c.notes.get(pick % c.notes.len().max(1)) {
                    ids.note = n.id.to_string();
                }
            }
            let mut appts: Vec<&ghl_sandbox::model::Str> = l.appointments.keys().collect();
            appts.sort();
            let with_notes: Vec<&ghl_sandbox::model::Str> = appts
                .iter()
                .copied()
                .filter(|a| l.appointment_notes.get(*a).is_some_and(|n| !n.is_empty()))
                .collect();
            let pool = if pick & 12 != 0 && !with_notes.is_empty() {
                &with_notes
            } else {
                &appts
            };
            if let Some(a) = pool.get(pick % pool.len().max(1)) {
                ids.appt = a.to_string();
                if let Some(n) = l.appointment_notes.get(*a).and_then(|n| n.first()) {
                    ids.apptnote = n.id.to_string();
                }
            }
            if let Some(c) = l.calendars.get(pick % l.calendars.len().max(1)) {
                ids.cal = c.id.to_string();
                ids.group = c.group_id.to_string();
            }
            ids.user = l.users.first().cloned().unwrap_or_default().to_string();
            ids
        });
        for slot in [
            &mut ids.loc,
            &mut ids.contact,
            &mut ids.task,
            &mut ids.note,
            &mut ids.appt,
            &mut ids.apptnote,
            &mut ids.cal,
            &mut ids.group,
            &mut ids.user,
            &mut ids.email,
        ] {
            if slot.is_empty() {
                *slot = MISSING.to_string();
            }
        }
        let mut auth = self.sandbox.auth.lock();
        let scopes: Vec<String> = app.scopes.clone();
        let code = auth.issue_code(
            &app.client_id,
            &app.redirect_uris[0],
            &ids.loc,
            &ids.company,
            scopes.clone(),
            &ids.user,
        );
        ids.code = code;
        let other = auth.issue_code(
            &app.client_id,
            &app.redirect_uris[0],
            &ids.loc,
            &ids.company,
            scopes,
            &ids.user,
        );
        let pair = auth
            .exchange_code(&app.app_id, &token_request(app, &other, "Location"), 3600)
            .expect("a fresh code exchanges");
        ids.refresh = pair["refresh_token"].as_str().unwrap().to_string();
        ids
    }

    fn fill(&self, s: &str, ids: &Ids) -> String {
        if !s.contains('@') {
            return s.to_string();
        }
        let app = &self.sandbox.config.app;
        let mut out = s.to_string();
        for p in PLACEHOLDERS {
            if !out.contains(p) {
                continue;
            }
            let v = match *p {
                "@apptnote" => &ids.apptnote,
                "@appt" => &ids.appt,
                "@contact" => &ids.contact,
                "@task" => &ids.task,
                "@note" => &ids.note,
                "@cal" => &ids.cal,
                "@group" => &ids.group,
                "@user" => &ids.user,
                "@loc" => &ids.loc,
                "@company" => &ids.company,
                "@clientid" => &app.client_id,
                "@secret" => &app.client_secret,
                "@redirect" => &app.redirect_uris[0],
                "@appid" => &app.app_id,
                "@code" => &ids.code,
                "@refresh" => &ids.refresh,
                "@email" => &ids.email,
                _ => unreachable!(),
            };
            out = out.replace(p, v);
        }
        out
    }

    fn fill_json(&self, v: &Value, ids: &Ids) -> Value {
        match v {
            Value::String(s) => Value::String(self.fill(s, ids)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.fill_json(x, ids)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.fill_json(x, ids)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A bearer for the case, minted now so earlier cases (revoke, expire) cannot spoil it.
    fn bearer(&self, tok: &Tok, ids: &Ids) -> Option<Vec<u8>> {
        let app = &self.sandbox.config.app;
        let all: Vec<String> = ALL_SCOPES.iter().map(|s| s.to_string()).collect();
        let mut auth = self.sandbox.auth.lock();
        let oauth = |auth: &mut ghl_sandbox::auth::Auth, user_type: &str, ttl: u64| {
            let code = auth.issue_code(
                &app.client_id,
                &app.redirect_uris[0],
                &ids.loc,
                &ids.company,
                all.clone(),
                &ids.user,
            );
            let pair = auth
                .exchange_code(&app.app_id, &token_request(app, &code, user_type), ttl)
                .expect("a fresh code exchanges");
            pair["access_token"].as_str().unwrap().to_string()
        };
        let token = match tok {
            Tok::None => return None,
            Tok::Valid => auth.mint_pit(&ids.loc, &ids.company, all.clone()),
            Tok::ReadOnly => auth.mint_pit(
                &ids.loc,
                &ids.company,
                vec![
                    "contacts.readonly".into(),
                    "calendars/events.readonly".into(),
                ],
            ),
            Tok::OAuth => oauth(&mut auth, "Location", 3600),
            Tok::Expired => oauth(&mut auth, "Location", 0),
            Tok::Company => oauth(&mut auth, "Company", 3600),
            Tok::Garbage(s) => s.clone(),
            Tok::Raw(bytes) => return Some(bytes.clone()),
        };
        Some(format!("Bearer {token}").into_bytes())
    }

    /// Sends the case and checks the answer.
    fn run(&self, spec: &Spec) -> Result<(), TestCaseError> {
        *self.sandbox.faults.write() = FaultSettings::default();
        self.sandbox.limiter.lock().config.enabled = false;
        let ids = self.ids(spec.loc, spec.pick);
        let uri = self.fill(&spec.uri(), &ids);
        let mut req = Request::builder()
            .method(spec.method.clone())
            .uri(uri.as_str());
        if let Some(b) = self.bearer(&spec.token, &ids) {
            if let Ok(v) = HeaderValue::from_bytes(&b) {
                req = req.header("authorization", v);
            }
        }
        if let Some(v) = &spec.version {
            req = req.header("version", v.as_str());
        }
        if let Some(c) = &spec.ctype {
            req = req.header("content-type", c.as_str());
        }
        let body = match &spec.body {
            Payload::Empty => Vec::new(),
            Payload::Bytes(b) => b.clone(),
            Payload::Json(v) => serde_json::to_vec(&self.fill_json(v, &ids)).unwrap(),
            Payload::Form(pairs) => {
                let pairs: Vec<(String, String)> = pairs
                    .iter()
                    .map(|(k, v)| (self.fill(k, &ids), self.fill(v, &ids)))
                    .collect();
                serde_urlencoded::to_string(pairs).unwrap().into_bytes()
            }
            Payload::RawForm(s) => self.fill(s, &ids).into_bytes(),
        };
        let req = match req.body(Body::from(body)) {
            Ok(r) => r,
            // The generator only makes valid URIs; a case that does not is not a request.
            Err(e) => return Err(TestCaseError::reject(format!("not a request: {e}"))),
        };
        let route = spec.route;
        let what = format!("{} {uri}", spec.method);
        let (status, ctype, location, bytes) = self.rt.block_on(async {
            let res = self.router.clone().oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let header = |k| {
                res.headers()
                    .get(k)
                    .and_then(|v: &HeaderValue| v.to_str().ok())
                    .map(str::to_string)
            };
            let ctype = header(axum::http::header::CONTENT_TYPE).unwrap_or_default();
            let location = header(axum::http::header::LOCATION);
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            (status, ctype, location, bytes)
        });
        *self
            .seen
            .lock()
            .unwrap()
            .entry((route, status))
            .or_default() += 1;
        check(&what, route, &spec.method, status, &ctype, location, &bytes)
    }

    fn report(&self, name: &str) {
        let seen = self.seen.lock().unwrap();
        let mut by_route: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for ((route, status), n) in seen.iter() {
            by_route
                .entry(route)
                .or_default()
                .push(format!("{status}x{n}"));
        }
        eprintln!("{name}: answers by route");
        for (route, counts) in by_route {
            eprintln!("  {route}: {}", counts.join(" "));
        }
    }
}

fn token_request(app: &ghl_sandbox::AppConfig, code: &str, user_type: &str) -> TokenRequest {
    TokenRequest {
        client_id: Some(app.client_id.clone()),
        client_secret: Some(app.client_secret.clone()),
        grant_type: Some("authorization_code".into()),
        code: Some(code.to_string()),
        user_type: Some(user_type.into()),
        ..TokenRequest::default()
    }
}

/// The properties every answer must have.
fn check(
    what: &str,
    route: &str,
    method: &Method,
    status: u16,
    ctype: &str,
    location: Option<String>,
    body: &[u8],
) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(&body[..body.len().min(600)]);
    prop_assert!(status < 500, "{what} answered {status}: {text}");
    prop_assert!(
        ALLOWED.contains(&status),
        "{what} answered {status}, a status HighLevel does not use: {text}"
    );
    let install_page = route == "/oauth/chooselocation";
    if status == 302 || status == 303 {
        prop_assert!(install_page, "{what} redirected: {location:?}");
        prop_assert!(location.is_some(), "{what}: a redirect without Location");
        return Ok(());
    }
    if *method == Method::HEAD {
        // HEAD answers carry headers only.
        prop_assert!(body.is_empty(), "{what}: HEAD answered with a body");
        return Ok(());
    }
    if install_page && ctype.starts_with("text/html") {
        prop_assert!(
            status == 200 || status == 400,
            "{what}: HTML page with {status}"
        );
        return Ok(());
    }
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "{what} answered {status} with a body that is not JSON ({e}; {ctype}): {text}"
            )))
        }
    };
    prop_assert!(
        ctype.starts_with("application/json"),
        "{what} answered {status} JSON as `{ctype}`"
    );
    if status >= 400 {
        prop_assert_eq!(
            v["statusCode"].as_u64(),
            Some(status as u64),
            "{} answered {} with {}",
            what,
            status,
            text
        );
        let message_ok = match &v["message"] {
            Value::String(_) => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            _ => false,
        };
        prop_assert!(
            message_ok,
            "{what}: error message is not a string or strings: {text}"
        );
    } else {
        prop_assert!(v.is_object(), "{what} answered {status} with {text}");
    }
    Ok(())
}

// ---- what a case is -----------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Tok {
    None,
    Valid,
    ReadOnly,
    OAuth,
    Expired,
    Company,
    Garbage(String),
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Payload {
    Empty,
    Bytes(Vec<u8>),
    Json(Value),
    Form(Vec<(String, String)>),
    RawForm(String),
}

/// A path parameter: the record the parameter names (resolved when the case runs), any
/// other placeholder, or raw text.
#[derive(Debug, Clone)]
enum Seg {
    Natural,
    Placeholder(&'static str),
    Raw(String),
}

#[derive(Debug, Clone)]
struct Spec {
    method: Method,
    route: &'static str,
    segs: Vec<Seg>,
    /// Already URI-safe; may carry placeholders and invalid percent-encoding on purpose.
    query: String,
    token: Tok,
    loc: usize,
    pick: usize,
    version: Option<String>,
    ctype: Option<String>,
    body: Payload,
}

impl Spec {
    fn uri(&self) -> String {
        let mut path = String::new();
        let mut segs = self.segs.iter();
        for part in self.route.split('/').skip(1) {
            path.push('/');
            if let Some(param) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let seg = segs.next().cloned().unwrap_or(Seg::Natural);
                path.push_str(&match seg {
                    Seg::Natural => natural(self.route, param).to_string(),
                    Seg::Placeholder(p) => p.to_string(),
                    Seg::Raw(s) => uri_safe(&s, true),
                });
            } else {
                path.push_str(part);
            }
        }
        if self.query.is_empty() {
            path
        } else {
            format!("{path}?{}", self.query)
        }
    }
}

/// The placeholder a path parameter naturally takes.
fn natural(route: &str, param: &str) -> &'static str {
    match param {
        "contactId" => "@contact",
        "taskId" => "@task",
        "id" if route.starts_with("/contacts") => "@note",
        "id" => "@contact",
        "eventId" | "appointmentId" => "@appt",
        "noteId" => "@apptnote",
        "type" => "add",
        "businessId" => "@company",
        "locationId" => "@loc",
        _ => "wf0000000000000000001",
    }
}

/// Percent-encodes what an HTTP request line cannot carry, keeping `%` (so invalid
/// percent-encoding reaches the server) and non-ASCII text as it is.
fn uri_safe(s: &str, in_path: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        let keep = match ch {
            c if c.is_ascii_alphanumeric() => true,
            '-' | '.' | '_' | '~' | '!' | '$' | '\'' | '(' | ')' | '*' | ',' | ';' | ':' | '@'
            | '%' | '+' => true,
            '/' | '?' => !in_path,
            '&' | '=' => in_path,
            c => !c.is_ascii(),
        };
        if keep {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

// ---- strategies ---------------------------------------------------------------------------

fn raw_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[A-Za-z0-9]{1,24}",
        2 => ".{1,16}",
        2 => select(WEIRD_SEGMENTS).prop_map(str::to_string),
        1 => (500usize..3000).prop_map(|n| "a".repeat(n)),
        1 => any::<i128>().prop_map(|n| n.to_string()),
    ]
    .boxed()
}

fn seg() -> BoxedStrategy<Seg> {
    prop_oneof![
        5 => Just(Seg::Natural),
        1 => select(PLACEHOLDERS).prop_map(Seg::Placeholder),
        3 => raw_text().prop_map(Seg::Raw),
    ]
    .boxed()
}

fn query_value() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(PLACEHOLDERS).prop_map(str::to_string),
        4 => select(QUERY_VALUES).prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u128>().prop_map(|n| n.to_string()),
        2 => ".{0,16}",
        1 => (1000usize..8000).prop_map(|n| "9".repeat(n)),
    ]
    .boxed()
}

fn query_key() -> BoxedStrategy<String> {
    prop_oneof![
        6 => select(QUERY_KEYS).prop_map(str::to_string),
        1 => ".{0,8}",
        1 => select(vec!["%", "%zz", "=", "", "&", "a[b]", "[]"]).prop_map(str::to_string),
    ]
    .boxed()
}

/// A query string: known and unknown keys, repeated keys and `key[]` arrays, huge numbers,
/// invalid percent-encoding.
fn query() -> BoxedStrategy<String> {
    let item = (
        query_key(),
        prop::collection::vec(query_value(), 1..4),
        0..4usize,
    );
    prop::collection::vec(item, 0..7)
        .prop_map(|items| {
            let mut parts = Vec::new();
            for (key, values, style) in items {
                let n = if style == 0 { 1 } else { values.len() };
                for (i, v) in values.iter().take(n).enumerate() {
                    let k = match style {
                        2 => format!("{key}[]"),
                        3 => format!("{key}[{i}]"),
                        _ => key.clone(),
                    };
                    parts.push(format!("{}={}", uri_safe(&k, false), uri_safe(v, false)));
                }
            }
            parts.join("&")
        })
        .boxed()
}

/// A query for the install page: its own parameters, mostly right, sometimes wrong.
fn install_query() -> BoxedStrategy<String> {
    let param = |key: &'static str, good: &'static str| {
        prop_oneof![
            5 => Just(Some(good.to_string())),
            1 => Just(None),
            2 => query_value().prop_map(Some),
        ]
        .prop_map(move |v| v.map(|v| format!("{key}={}", uri_safe(&v, false))))
    };
    (
        param("response_type", "code"),
        param("client_id", "@clientid"),
        param("redirect_uri", "@redirect"),
        param("scope", "contacts.readonly contacts.write"),
        param("state", "S"),
        param("location_id", "@loc"),
        param("approve", "1"),
    )
        .prop_map(|(a, b, c, d, e, f, g)| {
            [a, b, c, d, e, f, g]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("&")
        })
        .boxed()
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => Just(Value::Null),
        2 => any::<bool>().prop_map(Value::from),
        2 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        2 => select(vec![
            i64::MIN,
            i64::MAX,
            i64::MIN + 1,
            i64::MAX - 1,
            -1,
            0,
            1,
            20,
            100,
            500,
            501,
            10_000,
            86_400_000,
            1_637_930_462_193,
            8_640_000_000_000_000,
            -8_640_000_000_000_000,
        ])
        .prop_map(Value::from),
        1 => select(vec![u64::MAX, u64::MAX - 1, 1 << 63]).prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| json!(f)),
        1 => select(vec![1e308, -1e308, 0.5, -0.0, 1.5e300]).prop_map(|f| json!(f)),
        5 => select(STRING_VALUES).prop_map(Value::from),
        2 => ".{0,24}".prop_map(Value::from),
        1 => (20_000usize..120_000).prop_map(|n| Value::from("x".repeat(n))),
    ]
    .boxed()
}

/// Any JSON value, nested.
fn json_value() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![3 => select(BODY_FIELDS).prop_map(str::to_string), 1 => ".{0,8}"],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

/// Search filters: leaves of {field, operator, value} and groups of them, with wrong parts.
fn filters() -> BoxedStrategy<Value> {
    let range =
        prop::collection::btree_map(select(vec!["gt", "gte", "lt", "lte", "eq"]), leaf(), 0..4)
            .prop_map(|m| json!(m));
    let value = prop_oneof![3 => leaf(), 1 => range, 1 => json_value()];
    let single = (
        select(FILTER_FIELDS),
        select(OPERATORS),
        prop::option::of(value),
    )
        .prop_map(|(f, o, v)| {
            let mut m = Map::new();
            m.insert("field".into(), json!(f));
            m.insert("operator".into(), json!(o));
            if let Some(v) = v {
                m.insert("value".into(), v);
            }
            Value::Object(m)
        });
    let valid = prop_oneof![
        Just(json!({"field": "email", "operator": "exists"})),
        Just(json!({"field": "tags", "operator": "not_exists"})),
        select(vec![json!("vip"), json!(["vip", "lead"]), json!([])])
            .prop_map(|v| json!({"field": "tags", "operator": "contains", "value": v})),
        (select(vec!["gt", "gte", "lt", "lte"]), leaf())
            .prop_map(|(k, v)| json!({"field": "dateAdded", "operator": "range", "value": {k: v}})),
        (
            select(vec![
                "email",
                "firstNameLowerCase",
                "phone",
                "id",
                "dnd",
                "type"
            ]),
            leaf()
        )
            .prop_map(|(f, v)| json!({"field": f, "operator": "eq", "value": v})),
    ];
    let filter =
        prop_oneof![4 => valid, 3 => single, 1 => leaf()].prop_recursive(4, 24, 4, |inner| {
            (
                select(vec!["AND", "OR", "XOR", ""]),
                prop::collection::vec(inner, 0..4),
            )
                .prop_map(|(g, fs)| json!({ "group": g, "filters": fs }))
        });
    prop::collection::vec(filter, 0..4)
        .prop_map(Value::Array)
        .boxed()
}

fn sort() -> BoxedStrategy<Value> {
    let one = (
        prop_oneof![3 => select(FILTER_FIELDS).prop_map(Value::from), 1 => leaf()],
        prop_oneof![3 => select(vec!["asc", "desc", "ASC", ""]).prop_map(Value::from), 1 => leaf()],
    )
        .prop_map(|(f, d)| json!({ "field": f, "direction": d }));
    prop_oneof![
        4 => prop::collection::vec(one, 0..4).prop_map(Value::Array),
        1 => leaf(),
    ]
    .boxed()
}

/// A value for a known body field: right type, wrong type, or nested nonsense.
fn field_value() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => leaf(),
        2 => prop::collection::vec(leaf(), 0..5).prop_map(Value::Array),
        1 => json_value(),
        1 => prop::collection::vec(prop::collection::vec(leaf(), 0..3).prop_map(Value::Array), 0..3)
            .prop_map(Value::Array),
        1 => prop::collection::btree_map(
            select(vec!["status", "message", "code", "id", "key", "field_value", "value"]),
            leaf(),
            0..4,
        )
        .prop_map(|m| json!(m)),
    ]
    .boxed()
}

/// A JSON object of HighLevel's body fields, wrongly typed or extreme, mostly with the right
/// location so validation goes deep.
fn structured_body() -> BoxedStrategy<Value> {
    (
        prop::collection::btree_map(select(BODY_FIELDS), field_value(), 0..10),
        prop::option::weighted(0.8, prop_oneof![5 => Just(json!("@loc")), 1 => leaf()]),
        prop::option::weighted(0.3, filters()),
        prop::option::weighted(0.3, sort()),
        prop::option::weighted(
            0.2,
            prop::collection::vec(leaf(), 0..4).prop_map(Value::Array),
        ),
        prop::option::weighted(
            0.3,
            prop::collection::btree_map(
                select(vec!["SMS", "Email", "WhatsApp", "GMB", "FB", "Call", "Fax"]),
                json_value(),
                0..4,
            )
            .prop_map(|m| json!(m)),
        ),
    )
        .prop_map(|(fields, loc, filters, sort, after, dnd)| {
            let mut m: Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            if let Some(l) = loc {
                m.insert("locationId".into(), l);
            }
            if let Some(f) = filters {
                m.insert("filters".into(), f);
            }
            if let Some(s) = sort {
                m.insert("sort".into(), s);
            }
            if let Some(a) = after {
                m.insert("searchAfter".into(), a);
            }
            if let Some(d) = dnd {
                m.insert("dndSettings".into(), d);
            }
            Value::Object(m)
        })
        .boxed()
}

/// Fields a route needs, so cases carry them more often than the optional ones.
const REQUIRED: &[&str] = &[
    "locationId",
    "calendarId",
    "contactId",
    "startTime",
    "title",
    "body",
    "dueDate",
    "completed",
    "tags",
    "followers",
    "contacts",
    "ids",
    "businessId",
    "pageLimit",
];

/// The body fields each JSON route reads.
fn route_fields(route: &str) -> &'static [&'static str] {
    match route {
        "/contacts/search" => &[
            "locationId",
            "page",
            "pageLimit",
            "query",
            "filters",
            "sort",
            "searchAfter",
        ],
        "/contacts/" | "/contacts" | "/contacts/upsert" | "/contacts/{contactId}" => &[
            "locationId",
            "firstName",
            "lastName",
            "name",
            "email",
            "phone",
            "tags",
            "customFields",
            "dndSettings",
            "dnd",
            "dateOfBirth",
            "source",
            "assignedTo",
            "createNewIfDuplicateAllowed",
        ],
        "/contacts/{contactId}/tasks" | "/contacts/{contactId}/tasks/{taskId}" => {
            &["title", "body", "dueDate", "completed", "assignedTo"]
        }
        "/contacts/{contactId}/tasks/{taskId}/completed" => &["completed"],
        "/contacts/{contactId}/tags" => &["tags"],
        "/contacts/{contactId}/followers" => &["followers"],
        "/contacts/{contactId}/notes" | "/contacts/{contactId}/notes/{id}" => {
            &["body", "title", "color", "pinned", "userId"]
        }
        "/contacts/{contactId}/campaigns/{campaignId}"
        | "/contacts/{contactId}/workflow/{workflowId}" => &["eventStartTime"],
        "/contacts/bulk/tags/update/{type}" => &["locationId", "contacts", "tags", "removeAllTags"],
        "/contacts/bulk/business" => &["locationId", "ids", "businessId"],
        "/calendars/events/appointments" | "/calendars/events/appointments/{eventId}" => &[
            "locationId",
            "calendarId",
            "contactId",
            "startTime",
            "endTime",
            "title",
            "appointmentStatus",
            "meetingLocationType",
            "assignedUserId",
            "address",
            "rrule",
            "ignoreDateRange",
            "toNotify",
        ],
        "/calendars/appointments/{appointmentId}/notes"
        | "/calendars/appointments/{appointmentId}/notes/{noteId}" => &["body", "userId"],
        _ => &[],
    }
}

/// Right values for a field, and the extremes of its type.
fn good_values(field: &str) -> Vec<Value> {
    let dates = || {
        vec![
            json!("2021-11-26T12:41:02.193Z"),
            json!("2030-01-01"),
            json!(1_637_930_462_193i64),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(i64::MAX - 1),
            json!(8_640_000_000_000_000i64),
            json!("9223372036854775807"),
            json!("+262143-12-31T23:59:59Z"),
            json!("-262143-01-01T00:00:00Z"),
            json!(0),
            json!(-1),
        ]
    };
    let long = "x".repeat(5001);
    match field {
        "locationId" => vec![json!("@loc")],
        "calendarId" => vec![json!("@cal")],
        "contactId" => vec![json!("@contact")],
        "userId" | "assignedTo" | "assignedUserId" => vec![json!("@user"), json!(null)],
        "startTime" | "endTime" | "dueDate" | "eventStartTime" | "dateOfBirth" => dates(),
        "page" => vec![
            json!(1),
            json!(2),
            json!(500),
            json!(10_000),
            json!(u64::MAX),
        ],
        "pageLimit" => vec![json!(1), json!(20), json!(500), json!(501), json!(0)],
        "completed"
        | "dnd"
        | "pinned"
        | "removeAllTags"
        | "createNewIfDuplicateAllowed"
        | "ignoreDateRange"
        | "toNotify" => vec![json!(true), json!(false)],
        "tags" | "followers" => vec![
            json!(["vip"]),
            json!([" A ", "a", ""]),
            json!([]),
            json!(["@user"]),
            json!([long]),
        ],
        "contacts" | "ids" => vec![
            json!(["@contact"]),
            json!(["@contact", "nope"]),
            json!([]),
            json!([long]),
        ],
        "email" => vec![json!("@email"), json!("someone@example.com"), json!("bad")],
        "phone" => vec![json!("+1 555 010 0000"), json!("+15550100000"), json!("12")],
        "appointmentStatus" => vec![json!("confirmed"), json!("bogus")],
        "meetingLocationType" => vec![json!("zoom"), json!("bogus")],
        "businessId" => vec![json!("@company"), json!(null)],
        "customFields" => vec![
            json!([{"id": "x", "value": 1}]),
            json!([{"key": "k", "field_value": [1, [2]]}]),
            json!([null, 5, "s"]),
            json!({"id": "x"}),
        ],
        "dndSettings" => vec![
            json!({"SMS": {"status": "active"}}),
            json!({"Email": {"status": "bogus"}}),
            json!({"Bogus": {}}),
            json!({"Call": null}),
        ],
        "searchAfter" => vec![
            json!([1_637_930_462_193i64, "@contact"]),
            json!([i64::MAX, "x"]),
            json!(["2021-11-26T12:41:02.193Z", "@contact"]),
            json!([]),
        ],
        "body" | "title" | "name" | "firstName" | "lastName" | "address" | "rrule" => {
            vec![json!("x"), json!(""), json!(long)]
        }
        _ => vec![json!("x")],
    }
}

/// A body for `route`: its own fields, mostly with right values, sometimes extreme or
/// wrongly typed, plus a few fields it does not read.
fn route_body(route: &'static str) -> BoxedStrategy<Value> {
    let fields: Vec<BoxedStrategy<Option<(&'static str, Value)>>> = route_fields(route)
        .iter()
        .map(|f| {
            let value = match *f {
                "filters" => filters(),
                "sort" => sort(),
                _ => prop_oneof![
                    12 => select(good_values(f)),
                    1 => leaf(),
                    1 => field_value(),
                ]
                .boxed(),
            };
            let weight = if REQUIRED.contains(f) { 0.9 } else { 0.35 };
            prop::option::weighted(weight, value)
                .prop_map(move |v| v.map(|v| (*f, v)))
                .boxed()
        })
        .collect();
    (
        fields,
        prop::option::weighted(
            0.3,
            prop::collection::btree_map(select(BODY_FIELDS), field_value(), 1..3),
        ),
    )
        .prop_map(|(fields, extra)| {
            let mut m: Map<String, Value> = extra
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            for (k, v) in fields.into_iter().flatten() {
                m.insert(k.to_string(), v);
            }
            Value::Object(m)
        })
        .boxed()
}

/// Bodies nested past any parser's depth limit.
fn deep_bytes() -> BoxedStrategy<Vec<u8>> {
    (
        1usize..4000,
        select(vec![("[", "]"), ("{\"a\":", "}"), ("{\"filters\":[", "]}")]),
    )
        .prop_map(|(depth, (open, close))| {
            let mut s = open.repeat(depth);
            s.push_str(&close.repeat(depth));
            s.into_bytes()
        })
        .boxed()
}

fn form() -> BoxedStrategy<Vec<(String, String)>> {
    let key = prop_oneof![
        6 => select(vec![
            "client_id",
            "client_secret",
            "grant_type",
            "code",
            "refresh_token",
            "user_type",
            "redirect_uri",
            "companyId",
            "locationId",
        ])
        .prop_map(str::to_string),
        1 => ".{0,8}",
    ];
    let value = prop_oneof![
        4 => select(vec![
            "@clientid",
            "@secret",
            "@redirect",
            "@code",
            "@refresh",
            "@loc",
            "@company",
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "Location",
            "Company",
            "Agency",
            "",
        ])
        .prop_map(str::to_string),
        2 => query_value(),
    ];
    prop::collection::vec((key, value), 0..8).boxed()
}

/// A token request, mostly right: the app's credentials, a live code or refresh token.
fn token_form() -> BoxedStrategy<Vec<(String, String)>> {
    let field = |key: &'static str, good: Vec<&'static str>| {
        prop::option::weighted(
            0.85,
            prop_oneof![8 => select(good).prop_map(str::to_string), 1 => query_value()],
        )
        .prop_map(move |v| v.map(|v| (key.to_string(), v)))
    };
    (
        field("client_id", vec!["@clientid"]),
        field("client_secret", vec!["@secret"]),
        field("grant_type", vec!["authorization_code", "refresh_token"]),
        field("code", vec!["@code"]),
        field("refresh_token", vec!["@refresh"]),
        field("user_type", vec!["Location", "Company"]),
        field("redirect_uri", vec!["@redirect"]),
    )
        .prop_map(|(a, b, c, d, e, f, g)| [a, b, c, d, e, f, g].into_iter().flatten().collect())
        .boxed()
}

fn payload() -> BoxedStrategy<Payload> {
    prop_oneof![
        2 => Just(Payload::Empty),
        2 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Payload::Bytes),
        2 => json_value().prop_map(Payload::Json),
        4 => structured_body().prop_map(Payload::Json),
        2 => form().prop_map(Payload::Form),
        1 => ".{0,40}".prop_map(Payload::RawForm),
        1 => deep_bytes().prop_map(Payload::Bytes),
    ]
    .boxed()
}

fn token() -> BoxedStrategy<Tok> {
    prop_oneof![
        2 => Just(Tok::None),
        6 => Just(Tok::Valid),
        1 => Just(Tok::ReadOnly),
        1 => Just(Tok::OAuth),
        1 => Just(Tok::Expired),
        1 => Just(Tok::Company),
        1 => "[ -~]{0,40}".prop_map(Tok::Garbage),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Tok::Raw),
        1 => select(vec!["Bearer", "Bearer ", "bearer  ", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer pit-"])
            .prop_map(|s| Tok::Raw(s.as_bytes().to_vec())),
    ]
    .boxed()
}

fn version() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        6 => Just(Some(common::VERSION.to_string())),
        2 => Just(None),
        1 => "[ -~]{0,20}".prop_map(Some),
    ]
    .boxed()
}

fn content_type() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        2 => Just(None),
        4 => Just(Some("application/json".to_string())),
        2 => Just(Some("application/x-www-form-urlencoded".to_string())),
        1 => select(vec![
            "application/json; charset=utf-8",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded; charset=ISO-8859-1",
            "",
        ])
        .prop_map(|s| Some(s.to_string())),
    ]
    .boxed()
}

fn method(route_methods: &'static [&'static str]) -> BoxedStrategy<Method> {
    prop_oneof![
        6 => select(route_methods),
        1 => select(METHODS),
    ]
    .prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap())
    .boxed()
}

fn methods_of(route: &str) -> &'static [&'static str] {
    ROUTES
        .iter()
        .find(|(r, _)| *r == route)
        .map(|(_, m)| *m)
        .unwrap_or(&["GET"])
}

/// A request to one of `routes`, with everything else random.
fn request(
    routes: Vec<&'static str>,
    query: BoxedStrategy<String>,
    body: BoxedStrategy<Payload>,
    token: BoxedStrategy<Tok>,
) -> BoxedStrategy<Spec> {
    let head = select(routes).prop_flat_map(|r| (Just(r), method(methods_of(r))));
    (
        head,
        prop::collection::vec(seg(), 3),
        query,
        token,
        (0usize..16, 0usize..64),
        version(),
        content_type(),
        body,
    )
        .prop_map(
            |((route, method), segs, query, token, (loc, pick), version, ctype, body)| Spec {
                method,
                route,
                segs,
                query,
                token,
                loc,
                pick,
                version,
                ctype,
                body,
            },
        )
        .boxed()
}

fn run_property(name: &str, cases: u32, strategy: BoxedStrategy<Spec>) {
    let fx = Fixture::new();
    // `PROPTEST_CASES=5000 cargo test --test fuzz` searches harder.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    });
    let result = runner.run(&strategy, |spec| fx.run(&spec));
    fx.report(name);
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn all_routes() -> Vec<&'static str> {
    ROUTES.iter().map(|(r, _)| *r).collect()
}

// ---- properties ---------------------------------------------------------------------------

#[test]
fn random_requests_to_every_route_get_a_highlevel_answer() {
    run_property(
        "random requests",
        300,
        request(
            all_routes(),
            prop_oneof![2 => Just(String::new()), 1 => query()].boxed(),
            payload(),
            token(),
        ),
    );
}

#[test]
fn structured_but_wrong_json_bodies_get_a_highlevel_answer() {
    let strategy = (
        select(JSON_BODY_ROUTES.to_vec())
            .prop_flat_map(|(route, m)| (Just((route, m)), route_body(route))),
        prop::collection::vec(
            prop_oneof![8 => Just(Seg::Natural), 1 => raw_text().prop_map(Seg::Raw)],
            3,
        ),
        prop_oneof![
            8 => Just(Tok::Valid),
            1 => Just(Tok::ReadOnly),
            1 => Just(Tok::OAuth),
        ],
        (0usize..16, 0usize..64),
        prop_oneof![
            6 => Just(None),
            2 => structured_body().prop_map(|v| Some(Payload::Json(v))),
            1 => json_value().prop_map(|v| Some(Payload::Json(v))),
            1 => deep_bytes().prop_map(|b| Some(Payload::Bytes(b))),
        ],
        prop_oneof![9 => Just(Some("application/json".to_string())), 1 => Just(None)],
    )
        .prop_map(
            |(((route, m), fitted), segs, token, (loc, pick), other, ctype)| Spec {
                method: Method::from_bytes(m.as_bytes()).unwrap(),
                route,
                segs,
                query: String::new(),
                token,
                loc,
                pick,
                version: Some(common::VERSION.to_string()),
                ctype,
                body: other.unwrap_or(Payload::Json(fitted)),
            },
        )
        .boxed();
    run_property("structured bodies", 300, strategy);
}

#[test]
fn random_query_strings_get_a_highlevel_answer() {
    let strategy = (
        select(QUERY_ROUTES.to_vec()),
        prop::collection::vec(seg(), 3),
        prop_oneof![3 => query(), 1 => install_query()],
        prop_oneof![
            6 => Just(Tok::Valid),
            2 => Just(Tok::Company),
            1 => Just(Tok::ReadOnly),
            1 => Just(Tok::None),
        ],
        (0usize..16, 0usize..64),
        version(),
        prop_oneof![5 => Just("GET"), 1 => select(METHODS)],
    )
        .prop_map(
            |(route, segs, query, token, (loc, pick), version, m)| Spec {
                method: Method::from_bytes(m.as_bytes()).unwrap(),
                route,
                segs,
                query,
                token,
                loc,
                pick,
                version,
                ctype: None,
                body: Payload::Empty,
            },
        )
        .boxed();
    run_property("random queries", 250, strategy);
}

#[test]
fn random_oauth_requests_get_a_highlevel_answer() {
    let body = prop_oneof![
        5 => token_form().prop_map(Payload::Form),
        3 => form().prop_map(Payload::Form),
        1 => ".{0,60}".prop_map(Payload::RawForm),
        1 => json_value().prop_map(Payload::Json),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Payload::Bytes),
        1 => Just(Payload::Empty),
    ];
    let oauth_routes = vec![
        "/oauth/chooselocation",
        "/oauth/token",
        "/oauth/locationToken",
        "/oauth/installedLocations",
    ];
    let query = prop_oneof![
        2 => install_query(),
        2 => query(),
        1 => Just(String::new()),
    ]
    .boxed();
    let tok = prop_oneof![
        4 => Just(Tok::Company),
        1 => Just(Tok::Valid),
        1 => Just(Tok::Expired),
        1 => Just(Tok::None),
        1 => "[ -~]{0,40}".prop_map(Tok::Garbage),
    ]
    .boxed();
    let strategy = request(oauth_routes, query, body.boxed(), tok)
        .prop_map(|mut spec| {
            if matches!(spec.body, Payload::Form(_) | Payload::RawForm(_))
                && spec.ctype.as_deref() != Some("")
            {
                spec.ctype = Some("application/x-www-form-urlencoded".into());
            }
            spec
        })
        .boxed();
    run_property("oauth", 250, strategy);
}

// ---- fixed cases --------------------------------------------------------------------------

/// A body over `config.body_limit` (1 MiB) is refused with 413 in HighLevel's JSON shape, on
/// API, OAuth and sandbox routes alike; one of exactly the limit is read.
#[test]
fn a_body_over_the_limit_is_a_413_in_json() {
    let fx = Fixture::new();
    let limit = fx.sandbox.config.body_limit;
    assert_eq!(limit, 1024 * 1024);
    let ids = fx.ids(0, 1);
    let pit = fx.sandbox.auth.lock().mint_pit(
        &ids.loc,
        &ids.company,
        ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
    );
    let send = |method: &str, path: &str, ctype: &str, body: Vec<u8>| {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {pit}"))
            .header("version", common::VERSION)
            .header("content-type", ctype)
            .body(Body::from(body))
            .unwrap();
        fx.rt.block_on(async {
            let res = fx.router.clone().oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let ctype = res
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            (status, ctype, bytes)
        })
    };
    let over = |fill: u8| {
        let mut b = vec![fill; limit + 1];
        b[0] = b'{';
        b
    };
    let contact_path = format!("/contacts/{}", ids.contact);
    let tags_path = format!("/contacts/{}/tags", ids.contact);
    for (method, path, ctype) in [
        ("POST", "/contacts/search", "application/json"),
        ("POST", "/contacts/", "application/json"),
        ("PUT", contact_path.as_str(), "application/json"),
        ("POST", tags_path.as_str(), "application/json"),
        ("POST", "/calendars/events/appointments", "application/json"),
        ("POST", "/oauth/token", "application/x-www-form-urlencoded"),
        ("POST", "/_sandbox/pit", "application/json"),
    ] {
        let (status, rtype, bytes) = send(method, path, ctype, over(b' '));
        assert_eq!(
            status,
            413,
            "{method} {path}: {}",
            String::from_utf8_lossy(&bytes)
        );
        assert!(
            rtype.starts_with("application/json"),
            "{method} {path}: {rtype}"
        );
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["statusCode"], 413, "{v}");
        assert_eq!(v["error"], "Payload Too Large", "{v}");
        assert!(v["message"].is_string(), "{v}");
    }
    // Exactly the limit is read: `{}` padded with spaces, which search refuses for its content.
    let mut at_limit = vec![b' '; limit];
    at_limit[0] = b'{';
    at_limit[limit - 1] = b'}';
    let (status, _, bytes) = send("POST", "/contacts/search", "application/json", at_limit);
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&bytes));
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["message"], json!(["locationId should not be empty"]));
}

/// Nesting far past serde's limit is a 400, not a stack overflow; a deep but parseable filter
/// tree is answered.
#[test]
fn deeply_nested_bodies_are_refused_cleanly() {
    let fx = Fixture::new();
    let ids = fx.ids(0, 1);
    let pit = fx.sandbox.auth.lock().mint_pit(
        &ids.loc,
        &ids.company,
        ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
    );
    let search = |body: Vec<u8>| {
        let req = Request::builder()
            .method("POST")
            .uri("/contacts/search")
            .header("authorization", format!("Bearer {pit}"))
            .header("version", common::VERSION)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        fx.rt.block_on(async {
            let res = fx.router.clone().oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        })
    };
    let depth = 100_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
    assert!(body.len() < fx.sandbox.config.body_limit);
    let (status, v) = search(body);
    assert_eq!(status, 400, "{v}");
    let body = format!(
        r#"{{"locationId":"{}","filters":[{}{}]}}"#,
        ids.loc,
        r#"{"group":"AND","filters":["#.repeat(depth / 10),
        "]}".repeat(depth / 10)
    );
    assert!(body.len() < fx.sandbox.config.body_limit);
    let (status, v) = search(body.into_bytes());
    assert_eq!(status, 400, "{v}");

    let mut filter = json!({"field": "email", "operator": "exists"});
    for i in 0..40 {
        filter = json!({"group": if i % 2 == 0 { "AND" } else { "OR" }, "filters": [filter]});
    }
    let body = json!({"locationId": ids.loc, "filters": [filter], "pageLimit": 5});
    let (status, v) = search(serde_json::to_vec(&body).unwrap());
    assert_eq!(status, 200, "{v}");
    assert!(v["contacts"].is_array());
}

/// Dates outside what a calendar can hold are refused by validation (422) instead of
/// overflowing the appointment arithmetic (a default end, a moved appointment's length).
#[test]
fn dates_beyond_the_calendar_are_refused() {
    let fx = Fixture::new();
    let ids = fx.ids(0, 1);
    let pit = fx.sandbox.auth.lock().mint_pit(
        &ids.loc,
        &ids.company,
        ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
    );
    let call = |method: &str, path: &str, body: Value| {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {pit}"))
            .header("version", common::VERSION)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        fx.rt.block_on(async {
            let res = fx.router.clone().oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        })
    };
    let create = |start: Value| {
        call(
            "POST",
            "/calendars/events/appointments",
            json!({
                "locationId": ids.loc, "calendarId": ids.cal, "contactId": ids.contact,
                "startTime": start,
            }),
        )
    };
    for start in [
        json!(i64::MAX),
        json!(i64::MAX - 1),
        json!(i64::MIN),
        json!("9223372036854775807"),
    ] {
        let (status, v) = create(start.clone());
        assert_eq!(status, 422, "{start}: {v}");
        assert_eq!(
            v["message"],
            json!(["startTime must be a valid ISO 8601 date string"])
        );
    }
    let (status, v) = create(json!("2030-01-01T09:00:00Z"));
    assert_eq!(status, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let path = format!("/calendars/events/appointments/{id}");
    let (status, v) = call("PUT", &path, json!({ "startTime": i64::MAX - 1 }));
    assert_eq!(status, 422, "{v}");
    let (status, v) = call("PUT", &path, json!({ "endTime": i64::MIN }));
    assert_eq!(status, 422, "{v}");
    let (status, v) = call("PUT", &path, json!({ "startTime": "2031-01-01T09:00:00Z" }));
    assert_eq!(status, 200, "{v}");
    let contact = format!("/contacts/{}/tasks", ids.contact);
    let (status, v) = call(
        "POST",
        &contact,
        json!({ "title": "t", "dueDate": u64::MAX, "completed": false }),
    );
    assert_eq!(status, 422, "{v}");
    assert_eq!(
        v["message"],
        json!(["dueDate must be a valid ISO 8601 date string"])
    );
}
