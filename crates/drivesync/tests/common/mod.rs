//! Shared helpers of drivesync's process tests: an in-process sandbox, and an OAuth-connected
//! location in a store opened the way `drivesync` opens it (a master key from the
//! environment). Each test's database comes from `testkit::TestDb`.
#![allow(dead_code)]

use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::Arc;

pub async fn sandbox(contacts: usize) -> ghl_sandbox::RunningSandbox {
    let cfg = ghl_sandbox::SandboxConfig {
        locations: 2,
        contacts_per_location: contacts,
        seed: 11,
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    testkit::sandbox::start(cfg).await
}

pub fn master_key() -> String {
    use base64::Engine;
    let key: [u8; 32] = rand::random();
    format!(
        "testkey1:{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The store on `db`, keyed as `DRIVESYNC_MASTER_KEY=master` keys it.
pub async fn open_store(db: &testkit::TestDb, master: &str) -> store::Store {
    db.connect(store::Keyring::from_env_value(master).unwrap())
        .await
}

pub fn app(base: &str, running: &ghl_sandbox::RunningSandbox) -> ghl::OAuthApp {
    let a = &running.sandbox.config.app;
    ghl::OAuthApp::new(
        a.client_id.clone(),
        SecretString::from(a.client_secret.clone()),
        a.redirect_uris[0].clone(),
        vec![
            "contacts.readonly".into(),
            "contacts.write".into(),
            "calendars/events.readonly".into(),
            "calendars/events.write".into(),
        ],
        url::Url::parse(base).unwrap(),
        url::Url::parse(base).unwrap(),
    )
    .unwrap()
}

/// Approves the app for `location` on the sandbox's install page and exchanges the code.
pub async fn authorize(
    running: &ghl_sandbox::RunningSandbox,
    location: &str,
) -> ghl::TokenResponse {
    let base = running.base_url();
    let app = app(&base, running);
    let req = app.authorization_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .get(format!("{}&location_id={location}&approve=1", req.url))
        .send()
        .await
        .unwrap();
    let to = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    ghl::OAuthApp::check_state(&req.state, &q["state"]).unwrap();
    app.exchange_code(&q["code"], ghl::UserType::Location)
        .await
        .unwrap()
}

/// Stores an OAuth connection for `location` as `drivesync connect` would.
pub async fn connect(store: &store::Store, location: &str, t: &ghl::TokenResponse) {
    store
        .save_location(&store::NewLocation {
            location_id: location.to_string(),
            company_id: t.company_id.clone(),
            name: None,
            auth: store::AuthKind::OAuth,
            user_type: ghl::UserType::Location,
            scopes: t.scopes.clone(),
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            expires_at_ms: Some(chrono::Utc::now().timestamp_millis() + 86_000_000),
        })
        .await
        .unwrap();
}

pub async fn admin(base: &str, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn counters(base: &str) -> Value {
    reqwest::get(format!("{base}/_sandbox/counters"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub fn first_location(running: &ghl_sandbox::RunningSandbox) -> (String, String) {
    running.sandbox.read(|w| {
        let l = w.locations.values().next().unwrap();
        (
            l.id.to_string(),
            l.by_added.iter().next().unwrap().1.to_string(),
        )
    })
}

pub fn expire(base: &str, location: &str) -> impl std::future::Future<Output = Value> {
    let (b, l) = (base.to_string(), location.to_string());
    async move { admin(&b, "/_sandbox/expire-tokens", json!({ "locationId": l })).await }
}

pub fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}
