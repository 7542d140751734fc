//! The OAuth emulation against HighLevel's documented flow (`shared/ghl/docs/oauth-*.md`,
//! `shared/ghl/apps/oauth.json`): the install page, the token endpoint and its two grants,
//! single-use rotating refresh tokens, expiry, company tokens, Private Integration Tokens and
//! uninstall. Every case checks the exact status and the fields of the answer.

mod common;

use common::TestSandbox;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const SCOPES: &str = "contacts.readonly contacts.write";

fn client_id(sb: &TestSandbox) -> String {
    sb.running.sandbox.config.app.client_id.clone()
}

fn client_secret(sb: &TestSandbox) -> String {
    sb.running.sandbox.config.app.client_secret.clone()
}

fn redirect_uri(sb: &TestSandbox) -> String {
    sb.running.sandbox.config.app.redirect_uris[0].clone()
}

fn company_id(sb: &TestSandbox) -> String {
    sb.running
        .sandbox
        .read(|w| w.company_id.clone())
        .to_string()
}

/// The install page's query as HighLevel documents it, with `overrides` replacing or adding
/// parameters (an empty value removes one).
fn authorize_query(sb: &TestSandbox, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut q: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), client_id(sb)),
        ("redirect_uri".into(), redirect_uri(sb)),
        ("scope".into(), SCOPES.into()),
        ("state".into(), "S".into()),
    ];
    for (k, v) in overrides {
        q.retain(|(key, _)| key != k);
        if !v.is_empty() {
            q.push((k.to_string(), v.to_string()));
        }
    }
    q
}

/// `GET /oauth/chooselocation`: (status, content type, Location header, body).
async fn choose(
    sb: &TestSandbox,
    overrides: &[(&str, &str)],
) -> (u16, String, Option<String>, String) {
    let r = sb
        .http
        .get(sb.url("/oauth/chooselocation"))
        .query(&authorize_query(sb, overrides))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let header = |name: reqwest::header::HeaderName| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let ctype = header(CONTENT_TYPE).unwrap_or_default();
    let location = header(LOCATION);
    (status, ctype, location, r.text().await.unwrap())
}

/// Approves the install on `location` and returns the redirect target.
async fn approve(sb: &TestSandbox, location: &str, state: &str) -> url::Url {
    let (status, _, target, body) = choose(
        sb,
        &[
            ("location_id", location),
            ("approve", "1"),
            ("state", state),
        ],
    )
    .await;
    assert!(
        status == 302 || status == 303,
        "approve answered {status}: {body}"
    );
    url::Url::parse(&target.expect("a redirect carries Location")).unwrap()
}

fn query_param(u: &url::Url, key: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn new_code(sb: &TestSandbox, location: &str) -> String {
    query_param(&approve(sb, location, "S").await, "code").expect("the redirect carries a code")
}

/// `POST /oauth/token`, form-encoded: (status, JSON body).
async fn token(sb: &TestSandbox, form: &[(&str, &str)]) -> (u16, Value) {
    let r = sb
        .http
        .post(sb.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn exchange_code(sb: &TestSandbox, code: &str, user_type: &str) -> (u16, Value) {
    let (id, secret, uri) = (client_id(sb), client_secret(sb), redirect_uri(sb));
    token(
        sb,
        &[
            ("client_id", &id),
            ("client_secret", &secret),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("user_type", user_type),
            ("redirect_uri", &uri),
        ],
    )
    .await
}

/// Installs on `location` and exchanges the code: the 200 body.
async fn install(sb: &TestSandbox, location: &str, user_type: &str) -> Value {
    let code = new_code(sb, location).await;
    let (status, body) = exchange_code(sb, &code, user_type).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(sb: &TestSandbox, refresh_token: &str) -> (u16, Value) {
    let (id, secret) = (client_id(sb), client_secret(sb));
    token(
        sb,
        &[
            ("client_id", &id),
            ("client_secret", &secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("user_type", "Location"),
        ],
    )
    .await
}

/// `POST /contacts/search` for `location` with `token`: (status, body).
async fn search(sb: &TestSandbox, location: &str, token: &str) -> (u16, Value) {
    let (status, _, body) = sb
        .call(
            Method::POST,
            "/contacts/search",
            token,
            Some(json!({ "locationId": location, "pageLimit": 5 })),
        )
        .await;
    (status, body)
}

async fn assert_search_works(sb: &TestSandbox, location: &str, token: &str) {
    let (status, body) = search(sb, location, token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 40);
    assert_eq!(body["contacts"].as_array().unwrap().len(), 5);
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn assert_invalid_grant(status: u16, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["statusCode"], 401, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

async fn counters(sb: &TestSandbox) -> Value {
    sb.admin_get("/_sandbox/counters").await
}

// ---- the install page ---------------------------------------------------------------------

#[tokio::test]
async fn chooselocation_lists_every_seeded_location_with_an_approve_form() {
    let sb = common::start().await;
    let (status, ctype, location, page) = choose(&sb, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert_eq!(location, None);
    let locations: Vec<(String, String)> = sb.running.sandbox.read(|w| {
        w.locations
            .values()
            .map(|l| (l.id.to_string(), l.name.clone()))
            .collect()
    });
    assert_eq!(locations.len(), 3);
    for (id, name) in &locations {
        assert!(
            page.contains(&format!(r#"name="location_id" value="{id}""#)),
            "no approve form for {id}: {page}"
        );
        let escaped = name
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        assert!(
            page.contains(name.as_str()) || page.contains(&escaped),
            "{name} is not listed"
        );
    }
    assert_eq!(page.matches("<form").count(), 3);
    assert_eq!(page.matches(r#"name="approve" value="1""#).count(), 3);
    assert_eq!(page.matches(r#"action="/oauth/chooselocation""#).count(), 3);
    assert_eq!(page.matches(">Approve</button>").count(), 3);
    // The forms carry the request on, state included.
    assert_eq!(page.matches(r#"name="state" value="S""#).count(), 3);
    for scope in SCOPES.split(' ') {
        assert!(page.contains(&format!("<code>{scope}</code>")), "{scope}");
    }
}

#[tokio::test]
async fn approving_redirects_to_the_registered_uri_with_a_code_and_the_same_state() {
    let sb = common::start().await;
    let loc = sb.location_ids()[1].clone();
    let target = approve(&sb, &loc, "S").await;
    let registered = url::Url::parse(&redirect_uri(&sb)).unwrap();
    assert_eq!(target.scheme(), registered.scheme());
    assert_eq!(target.host_str(), registered.host_str());
    assert_eq!(target.port(), registered.port());
    assert_eq!(target.path(), registered.path());
    let code = query_param(&target, "code").unwrap();
    assert!(!code.is_empty());
    assert_eq!(query_param(&target, "state").as_deref(), Some("S"));
    assert_eq!(target.query_pairs().count(), 2, "{target}");

    // A state with characters that need encoding comes back unchanged.
    let odd = "a b&c=d/é?";
    let target = approve(&sb, &loc, odd).await;
    assert_eq!(query_param(&target, "state").as_deref(), Some(odd));
    assert_ne!(
        query_param(&target, "code").unwrap(),
        code,
        "every code is new"
    );

    // Without a state, none is invented.
    let (status, _, target, _) = choose(
        &sb,
        &[("location_id", &loc), ("approve", "1"), ("state", "")],
    )
    .await;
    assert!(status == 302 || status == 303);
    let target = url::Url::parse(&target.unwrap()).unwrap();
    assert_eq!(query_param(&target, "state"), None);
    assert!(query_param(&target, "code").is_some());
}

#[tokio::test]
async fn chooselocation_refuses_a_bad_request_with_an_html_page_stating_the_reason() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("client_id", "someone-else")], "Unknown client_id."),
        (
            vec![("redirect_uri", "https://evil.example/oauth/callback")],
            "redirect_uri is not one of the app&#39;s registered redirect URIs.",
        ),
        (
            vec![("response_type", "token")],
            "response_type must be `code`.",
        ),
        (vec![("response_type", "")], "response_type must be `code`."),
        (
            vec![("scope", "contacts.readonly conversations/message.write")],
            "The app is not allowed the scope `conversations/message.write`.",
        ),
        (vec![("scope", "")], "scope should not be empty."),
        (
            vec![("location_id", "noSuchLocation000000"), ("approve", "1")],
            "Unknown location_id.",
        ),
        (
            vec![
                ("client_id", "someone-else"),
                ("location_id", &loc),
                ("approve", "1"),
            ],
            "Unknown client_id.",
        ),
    ];
    for (overrides, reason) in cases {
        let (status, ctype, location, page) = choose(&sb, &overrides).await;
        assert_eq!(status, 400, "{overrides:?}: {page}");
        assert!(ctype.starts_with("text/html"), "{overrides:?}: {ctype}");
        assert_eq!(location, None, "{overrides:?}");
        let plain = reason.replace("&#39;", "'");
        assert!(
            page.contains(reason) || page.contains(&plain),
            "{overrides:?}: the page does not say `{plain}`: {page}"
        );
        assert!(page.contains("This app cannot be installed"), "{page}");
    }
    // Nothing was installed by a refused request.
    let installed = sb.admin_get("/_sandbox/locations").await["locations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["installed"] == true)
        .count();
    assert_eq!(installed, 0);
}

#[tokio::test]
async fn chooselocation_refuses_a_scope_the_app_was_not_given() {
    let mut cfg = common::config();
    cfg.app.scopes = vec!["contacts.readonly".into(), "contacts.write".into()];
    let sb = common::start_with(cfg).await;
    let (status, ctype, _, page) =
        choose(&sb, &[("scope", "contacts.readonly calendars.readonly")]).await;
    assert_eq!(status, 400, "{page}");
    assert!(ctype.starts_with("text/html"));
    assert!(
        page.contains("The app is not allowed the scope `calendars.readonly`."),
        "{page}"
    );
    let (status, _, _, _) = choose(&sb, &[]).await;
    assert_eq!(status, 200);
}

// ---- the token endpoint -------------------------------------------------------------------

#[tokio::test]
async fn authorization_code_gives_a_location_token_that_works() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let code = new_code(&sb, &loc).await;
    let (status, t) = exchange_code(&sb, &code, "Location").await;
    assert_eq!(status, 200, "{t}");
    assert!(s(&t["access_token"]).len() > 20, "{t}");
    assert!(s(&t["refresh_token"]).len() > 20, "{t}");
    assert_ne!(t["access_token"], t["refresh_token"]);
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 86399);
    assert_eq!(t["scope"], SCOPES);
    assert_eq!(t["userType"], "Location");
    assert_eq!(t["locationId"], loc.as_str());
    assert_eq!(t["companyId"], company_id(&sb).as_str());
    // The installing user is the location's admin: a user `GET /users/` lists.
    let admin = sb
        .running
        .sandbox
        .read(|w| w.location(&loc).unwrap().users[0].to_string());
    assert_eq!(s(&t["userId"]), admin, "{t}");
    assert!(t.get("approvedLocations").is_none(), "{t}");
    assert_search_works(&sb, &loc, s(&t["access_token"])).await;
    assert_eq!(counters(&sb).await["tokenExchanges"], 1);
    let listed = sb.admin_get("/_sandbox/locations").await;
    let me = listed["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == loc.as_str())
        .unwrap()
        .clone();
    assert_eq!(me["installed"], true);
}

#[tokio::test]
async fn the_redirect_uri_is_optional_but_must_match_when_given() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let (id, secret) = (client_id(&sb), client_secret(&sb));
    let code = new_code(&sb, &loc).await;
    let (status, body) = token(
        &sb,
        &[
            ("client_id", &id),
            ("client_secret", &secret),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:8080/elsewhere"),
        ],
    )
    .await;
    assert_invalid_grant(status, &body);

    let code = new_code(&sb, &loc).await;
    let (status, body) = token(
        &sb,
        &[
            ("client_id", &id),
            ("client_secret", &secret),
            ("grant_type", "authorization_code"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["userType"], "Location",
        "user_type defaults to Location"
    );
}

#[tokio::test]
async fn the_access_token_lifetime_is_configurable() {
    let mut cfg = common::config();
    cfg.access_token_ttl = Duration::from_secs(3600);
    let sb = common::start_with(cfg).await;
    let loc = sb.location_ids()[0].clone();
    let t = install(&sb, &loc, "Location").await;
    assert_eq!(t["expires_in"], 3600);
    let (status, r) = refresh(&sb, s(&t["refresh_token"])).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["expires_in"], 3600);
}

#[tokio::test]
async fn a_code_works_once() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let code = new_code(&sb, &loc).await;
    let (status, first) = exchange_code(&sb, &code, "Location").await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = exchange_code(&sb, &code, "Location").await;
    assert_invalid_grant(status, &second);
    assert!(second["error_description"].is_string(), "{second}");
    assert_eq!(counters(&sb).await["tokenExchanges"], 1);

    let (status, body) = exchange_code(&sb, "sbx-code-madeup", "Location").await;
    assert_invalid_grant(status, &body);
}

#[tokio::test]
async fn wrong_client_credentials_are_invalid_client() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let code = new_code(&sb, &loc).await;
    let id = client_id(&sb);
    for (cid, secret) in [
        (id.as_str(), "not-the-secret"),
        ("someone-else", "not-the-secret"),
    ] {
        let (status, body) = token(
            &sb,
            &[
                ("client_id", cid),
                ("client_secret", secret),
                ("grant_type", "authorization_code"),
                ("code", &code),
            ],
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["statusCode"], 401);
        assert_eq!(body["error"], "invalid_client", "{body}");
    }
    let secret = client_secret(&sb);
    let (status, body) = token(
        &sb,
        &[
            ("client_id", "someone-else"),
            ("client_secret", &secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", "sbx-rt-whatever"),
        ],
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
}

#[tokio::test]
async fn a_json_token_request_is_told_to_form_encode() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let code = new_code(&sb, &loc).await;
    let r = sb
        .http
        .post(sb.url("/oauth/token"))
        .json(&json!({
            "client_id": client_id(&sb),
            "client_secret": client_secret(&sb),
            "grant_type": "authorization_code",
            "code": code,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["statusCode"], 400);
    assert_eq!(body["error"], "Bad Request");
    let message = s(&body["message"]);
    assert!(message.contains("form-encoded"), "{message}");
    assert!(
        message.contains("application/x-www-form-urlencoded"),
        "{message}"
    );
    // The refused request did not spend the code.
    let (status, body) = exchange_code(&sb, &code, "Location").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn missing_fields_are_named_in_a_422() {
    let sb = common::start().await;
    let (status, body) = token(&sb, &[]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["statusCode"], 422);
    assert_eq!(body["error"], "Unprocessable Entity");
    assert_eq!(
        body["message"],
        json!([
            "client_id should not be empty",
            "client_secret should not be empty",
            "grant_type should not be empty",
        ])
    );

    let (status, body) = token(&sb, &[("client_id", "x"), ("grant_type", "")]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"],
        json!([
            "client_secret should not be empty",
            "grant_type should not be empty"
        ])
    );

    let (id, secret) = (client_id(&sb), client_secret(&sb));
    let base = [
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (status, body) = token(
        &sb,
        &[&base[..], &[("grant_type", "authorization_code")]].concat(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["message"], json!(["code should not be empty"]));

    let (status, body) = token(
        &sb,
        &[&base[..], &[("grant_type", "refresh_token")]].concat(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"],
        json!(["refresh_token should not be empty"])
    );

    let (status, body) = token(
        &sb,
        &[
            &base[..],
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("user_type", "Agency"),
            ],
        ]
        .concat(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"],
        json!(["user_type must be one of the following values: Company, Location"])
    );
}

#[tokio::test]
async fn an_unsupported_grant_type_is_a_422() {
    let sb = common::start().await;
    let (id, secret) = (client_id(&sb), client_secret(&sb));
    for grant in ["password", "client_credentials", "AUTHORIZATION_CODE"] {
        let (status, body) = token(
            &sb,
            &[
                ("client_id", &id),
                ("client_secret", &secret),
                ("grant_type", grant),
            ],
        )
        .await;
        assert_eq!(status, 422, "{grant}: {body}");
        assert_eq!(body["statusCode"], 422);
        assert_eq!(
            body["message"],
            json!([
                "grant_type must be one of the following values: authorization_code, refresh_token"
            ])
        );
    }
}

// ---- refresh ------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_tokens_are_single_use_and_rotate() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let first = install(&sb, &loc, "Location").await;
    let old_rt = s(&first["refresh_token"]).to_string();

    let (status, second) = refresh(&sb, &old_rt).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    for k in [
        "token_type",
        "expires_in",
        "scope",
        "userType",
        "locationId",
        "companyId",
        "userId",
    ] {
        assert_eq!(second[k], first[k], "{k}");
    }
    assert_search_works(&sb, &loc, s(&second["access_token"])).await;

    // The old refresh token is spent.
    let (status, body) = refresh(&sb, &old_rt).await;
    assert_invalid_grant(status, &body);
    let c = counters(&sb).await;
    assert_eq!(c["refreshes"], 1);
    assert_eq!(c["refreshRefused"], 1);

    // The new one works, once.
    let (status, third) = refresh(&sb, s(&second["refresh_token"])).await;
    assert_eq!(status, 200, "{third}");
    assert_search_works(&sb, &loc, s(&third["access_token"])).await;
    let (status, body) = refresh(&sb, s(&second["refresh_token"])).await;
    assert_invalid_grant(status, &body);

    // A token that never existed.
    let (status, body) = refresh(&sb, "sbx-rt-neverissued").await;
    assert_invalid_grant(status, &body);

    let c = counters(&sb).await;
    assert_eq!(c["refreshes"], 2);
    assert_eq!(c["refreshRefused"], 3);
    assert_eq!(c["tokenExchanges"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_refreshes_of_one_token_have_one_winner() {
    let sb = std::sync::Arc::new(common::start().await);
    let loc = sb.location_ids()[0].clone();
    let t = install(&sb, &loc, "Location").await;
    let rt = s(&t["refresh_token"]).to_string();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (sb, rt, barrier) = (sb.clone(), rt.clone(), barrier.clone());
        set.spawn(async move {
            barrier.wait().await;
            refresh(&sb, &rt).await
        });
    }
    let mut winners = Vec::new();
    let mut refused = 0;
    while let Some(r) = set.join_next().await {
        let (status, body) = r.unwrap();
        if status == 200 {
            winners.push(body);
        } else {
            assert_invalid_grant(status, &body);
            refused += 1;
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(refused, 19);
    let c = counters(&sb).await;
    assert_eq!(c["refreshes"], 1);
    assert_eq!(c["refreshRefused"], 19);
    assert_search_works(&sb, &loc, s(&winners[0]["access_token"])).await;
    let (status, _) = refresh(&sb, s(&winners[0]["refresh_token"])).await;
    assert_eq!(status, 200);
}

// ---- expiry -------------------------------------------------------------------------------

#[tokio::test]
async fn expired_access_tokens_are_refused_and_refresh_still_works() {
    let sb = common::start().await;
    let locs = sb.location_ids();
    let (loc, other) = (locs[0].clone(), locs[1].clone());
    let t = install(&sb, &loc, "Location").await;
    let t_other = install(&sb, &other, "Location").await;
    let pit = sb.pit(&loc, None).await;
    let at = s(&t["access_token"]).to_string();
    assert_search_works(&sb, &loc, &at).await;

    let r = sb
        .admin("/_sandbox/expire-tokens", json!({ "locationId": loc }))
        .await;
    assert_eq!(r["expiredTokens"], 1, "{r}");

    let (status, body) = search(&sb, &loc, &at).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["statusCode"], 401);
    assert!(s(&body["message"]).contains("expired"), "{body}");

    // Only OAuth access tokens of that location expire.
    assert_search_works(&sb, &loc, &pit).await;
    assert_search_works(&sb, &other, s(&t_other["access_token"])).await;

    let (status, fresh) = refresh(&sb, s(&t["refresh_token"])).await;
    assert_eq!(status, 200, "{fresh}");
    assert_search_works(&sb, &loc, s(&fresh["access_token"])).await;
    assert_eq!(counters(&sb).await["refreshes"], 1);
}

#[tokio::test]
async fn a_short_lifetime_expires_by_itself() {
    let mut cfg = common::config();
    cfg.access_token_ttl = Duration::from_secs(1);
    let sb = common::start_with(cfg).await;
    let loc = sb.location_ids()[0].clone();
    let t = install(&sb, &loc, "Location").await;
    assert_eq!(t["expires_in"], 1);
    let at = s(&t["access_token"]).to_string();
    assert_search_works(&sb, &loc, &at).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = search(&sb, &loc, &at).await;
    assert_eq!(status, 401, "{body}");
    assert!(s(&body["message"]).contains("expired"), "{body}");
    let (status, fresh) = refresh(&sb, s(&t["refresh_token"])).await;
    assert_eq!(status, 200, "{fresh}");
    assert_search_works(&sb, &loc, s(&fresh["access_token"])).await;
}

// ---- company tokens -----------------------------------------------------------------------

async fn location_token(
    sb: &TestSandbox,
    bearer: &str,
    form: &[(&str, &str)],
    version: bool,
) -> (u16, Value) {
    let mut req = sb
        .http
        .post(sb.url("/oauth/locationToken"))
        .bearer_auth(bearer)
        .form(form);
    if version {
        req = req.header("Version", common::VERSION);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn installed_locations(
    sb: &TestSandbox,
    bearer: &str,
    query: &[(&str, &str)],
    version: bool,
) -> (u16, Value) {
    let mut req = sb
        .http
        .get(sb.url("/oauth/installedLocations"))
        .bearer_auth(bearer)
        .query(query);
    if version {
        req = req.header("Version", common::VERSION);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn a_company_token_is_exchanged_for_location_tokens() {
    let sb = common::start().await;
    let locs = sb.location_ids();
    let loc = locs[2].clone();
    let company = company_id(&sb);
    let app_id = sb.running.sandbox.config.app.app_id.clone();
    // A contacts-only company token may not mint location tokens (they need `oauth.write`).
    let t = install(&sb, &loc, "Company").await;
    let form = [
        ("companyId", company.as_str()),
        ("locationId", loc.as_str()),
    ];
    let (status, body) = location_token(&sb, s(&t["access_token"]), &form, true).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body["message"],
        "The token is not authorized for this scope."
    );

    let scopes = "contacts.readonly contacts.write oauth.readonly oauth.write";
    let (status, _, target, page) = choose(
        &sb,
        &[("scope", scopes), ("location_id", &loc), ("approve", "1")],
    )
    .await;
    assert!(status == 302 || status == 303, "{status}: {page}");
    let code = query_param(&url::Url::parse(&target.unwrap()).unwrap(), "code").unwrap();
    let (status, t) = exchange_code(&sb, &code, "Company").await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["scope"], scopes);
    assert_eq!(t["userType"], "Company");
    assert_eq!(t["companyId"], company.as_str());
    assert!(t.get("locationId").is_none(), "{t}");
    assert_eq!(t["approvedLocations"], json!([loc]));
    assert_eq!(t["expires_in"], 86399);
    let company_token = s(&t["access_token"]).to_string();

    // Contacts routes want a location token.
    let (status, body) = search(&sb, &loc, &company_token).await;
    assert_eq!(status, 401, "{body}");
    assert!(s(&body["message"]).contains("authClass"), "{body}");

    // Location token.
    let (status, lt) = location_token(&sb, &company_token, &form, true).await;
    assert_eq!(status, 200, "{lt}");
    assert_eq!(lt["token_type"], "Bearer");
    assert_eq!(lt["expires_in"], 86399);
    assert_eq!(lt["locationId"], loc.as_str());
    assert_eq!(lt["scope"], scopes);
    assert_eq!(lt["userId"], t["userId"]);
    assert_eq!(lt["appId"], app_id.as_str());
    assert_search_works(&sb, &loc, s(&lt["access_token"])).await;

    // Refusals.
    let (status, body) = location_token(&sb, &company_token, &form, false).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "version header was not found");
    let (status, body) = location_token(&sb, s(&lt["access_token"]), &form, true).await;
    assert_eq!(status, 401, "a location token cannot mint: {body}");
    let (status, body) = location_token(&sb, "sbx-at-madeup", &form, true).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = location_token(
        &sb,
        &company_token,
        &[("companyId", company.as_str())],
        true,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["message"], json!(["locationId should not be empty"]));
    let not_installed = [
        ("companyId", company.as_str()),
        ("locationId", locs[0].as_str()),
    ];
    let (status, body) = location_token(&sb, &company_token, &not_installed, true).await;
    assert_eq!(status, 400, "{body}");
    let other_company = [
        ("companyId", "someOtherCompany0000"),
        ("locationId", loc.as_str()),
    ];
    let (status, body) = location_token(&sb, &company_token, &other_company, true).await;
    assert_eq!(status, 403, "{body}");

    // Installed locations.
    let q = [("companyId", company.as_str()), ("appId", app_id.as_str())];
    let (status, body) = installed_locations(&sb, &company_token, &q, true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 3);
    let listed = body["locations"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    for l in listed {
        let id = s(&l["_id"]);
        assert!(locs.iter().any(|x| x == id), "{l}");
        assert!(l["name"].is_string() && l["address"].is_string(), "{l}");
        assert_eq!(l["isInstalled"], id == loc, "{l}");
        assert_eq!(l.get("installedAt").is_some(), id == loc, "{l}");
    }
    let only = [&q[..], &[("isInstalled", "true")]].concat();
    let (status, body) = installed_locations(&sb, &company_token, &only, true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 1);
    assert_eq!(body["locations"][0]["_id"], loc.as_str());

    let (status, body) = installed_locations(&sb, &company_token, &q, false).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "version header was not found");
    let (status, body) = installed_locations(
        &sb,
        &company_token,
        &[("companyId", company.as_str())],
        true,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["message"], json!(["appId should not be empty"]));
    let (status, body) = installed_locations(&sb, s(&lt["access_token"]), &q, true).await;
    assert_eq!(status, 401, "{body}");
}

// ---- Private Integration Tokens -----------------------------------------------------------

#[tokio::test]
async fn private_integration_tokens_work_within_their_scopes() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let r = sb
        .http
        .post(sb.url("/_sandbox/pit"))
        .json(&json!({ "locationId": loc }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["locationId"], loc.as_str());
    let pit = s(&body["token"]).to_string();
    assert_search_works(&sb, &loc, &pit).await;
    let contact = sb.some_contact(&loc);
    let tags_path = format!("/contacts/{contact}/tags");
    let (status, _, body) = sb
        .call(
            Method::POST,
            &tags_path,
            &pit,
            Some(json!({ "tags": ["vip"] })),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let readonly = sb.pit(&loc, Some(&["contacts.readonly"])).await;
    let (status, _, body) = sb
        .call(
            Method::POST,
            &tags_path,
            &readonly,
            Some(json!({ "tags": ["other"] })),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["statusCode"], 401);
    assert_eq!(
        body["message"],
        "The token is not authorized for this scope."
    );
    let (status, _, body) = sb
        .call(
            Method::GET,
            &format!("/contacts/{contact}"),
            &readonly,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contact"]["id"], contact.as_str());
    assert_eq!(
        body["contact"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| *t == "other")
            .count(),
        0
    );
    assert_search_works(&sb, &loc, &readonly).await;

    // A PIT is for its own location only.
    let other = sb.location_ids()[1].clone();
    let (status, body) = search(&sb, &other, &pit).await;
    assert_eq!(status, 403, "{body}");

    // Unknown locations and scopes are refused.
    let r = sb
        .http
        .post(sb.url("/_sandbox/pit"))
        .json(&json!({ "locationId": "noSuchLocation000000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let r = sb
        .http
        .post(sb.url("/_sandbox/pit"))
        .json(&json!({ "locationId": loc, "scopes": ["contacts.everything"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
}

// ---- uninstall ----------------------------------------------------------------------------

#[tokio::test]
async fn revocation_kills_every_token_of_that_location_only() {
    let sb = common::start().await;
    let locs = sb.location_ids();
    let (loc, other) = (locs[0].clone(), locs[1].clone());
    let t = install(&sb, &loc, "Location").await;
    let t_other = install(&sb, &other, "Location").await;
    let pit = sb.pit(&loc, None).await;
    let pit_other = sb.pit(&other, None).await;
    assert_search_works(&sb, &loc, s(&t["access_token"])).await;

    let r = sb
        .admin("/_sandbox/revoke", json!({ "locationId": loc }))
        .await;
    assert_eq!(r["revokedTokens"], 3, "access, refresh and PIT: {r}");

    for token in [s(&t["access_token"]), pit.as_str()] {
        let (status, body) = search(&sb, &loc, token).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["statusCode"], 401);
    }
    let (status, body) = refresh(&sb, s(&t["refresh_token"])).await;
    assert_invalid_grant(status, &body);

    // The other location is untouched.
    assert_search_works(&sb, &other, s(&t_other["access_token"])).await;
    assert_search_works(&sb, &other, &pit_other).await;
    let (status, fresh) = refresh(&sb, s(&t_other["refresh_token"])).await;
    assert_eq!(status, 200, "{fresh}");

    // The location is no longer installed; installing again works.
    let listed = sb.admin_get("/_sandbox/locations").await;
    let installed: Vec<&str> = listed["locations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["installed"] == true)
        .map(|l| s(&l["id"]))
        .collect();
    assert_eq!(installed, vec![other.as_str()]);
    let again = install(&sb, &loc, "Location").await;
    assert_search_works(&sb, &loc, s(&again["access_token"])).await;
}
