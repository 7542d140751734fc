//! INSTALL and UNINSTALL events, as the sandbox sends them, add and remove locations.

use ghl::models::WebhookEnvelope;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::Arc;
use sync::installs::{apply_app_event, AppEventOutcome};

struct Env {
    running: ghl_sandbox::RunningSandbox,
    base: String,
    store: Arc<store::Store>,
    app: ghl::OAuthApp,
    http: reqwest::Client,
    _db: testkit::TestDb,
}

async fn env() -> Env {
    let cfg = ghl_sandbox::SandboxConfig {
        locations: 3,
        contacts_per_location: 5,
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    let running = testkit::sandbox::start(cfg).await;
    let base = running.base_url();
    let a = running.sandbox.config.app.clone();
    let url = url::Url::parse(&base).unwrap();
    let app = ghl::OAuthApp::new(
        a.client_id.clone(),
        SecretString::from(a.client_secret.clone()),
        a.redirect_uris[0].clone(),
        [
            "contacts.readonly",
            "contacts.write",
            "oauth.readonly",
            "oauth.write",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        url.clone(),
        url,
    )
    .unwrap();
    let db = testkit::TestDb::sqlite();
    let store = Arc::new(db.connect(store::Keyring::generate()).await);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Env {
        running,
        base,
        store,
        app,
        http,
        _db: db,
    }
}

impl Env {
    fn locations(&self) -> Vec<String> {
        self.running
            .sandbox
            .read(|w| w.locations.keys().map(|k| k.to_string()).collect())
    }

    /// Approves the app for `location` on the install page; returns the code.
    async fn approve(&self, location: &str) -> String {
        let req = self.app.authorization_url();
        let r = self
            .http
            .get(format!("{}&location_id={location}&approve=1", req.url))
            .send()
            .await
            .unwrap();
        let to = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        to.query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    /// The newest webhook body of `kind` the sandbox built, as drivesync would receive it.
    async fn last_event(&self, kind: &str) -> WebhookEnvelope {
        let v: Value = self
            .http
            .get(format!("{}/_sandbox/events", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let body = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|e| e["type"] == kind)
            .unwrap()
            .clone();
        WebhookEnvelope::parse(&body).unwrap()
    }

    async fn save(
        &self,
        id: &str,
        t: &ghl::TokenResponse,
        auth: store::AuthKind,
        user_type: ghl::UserType,
    ) {
        self.store
            .save_location(&store::NewLocation {
                location_id: id.to_string(),
                company_id: t.company_id.clone(),
                name: None,
                auth,
                user_type,
                scopes: t.scopes.clone(),
                access_token: t.access_token.clone(),
                refresh_token: t.refresh_token.clone(),
                expires_at_ms: Some(chrono::Utc::now().timestamp_millis() + 3_600_000),
            })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_uninstall_removes_the_location_and_its_tokens() {
    let e = env().await;
    let loc = e.locations()[0].clone();
    let code = e.approve(&loc).await;
    let t = e
        .app
        .exchange_code(&code, ghl::UserType::Location)
        .await
        .unwrap();
    e.save(&loc, &t, store::AuthKind::OAuth, ghl::UserType::Location)
        .await;
    let install = e.last_event("INSTALL").await;
    assert_eq!(
        apply_app_event(&e.store, &e.app, &install).await.unwrap(),
        AppEventOutcome::AlreadyConnected {
            location: loc.clone()
        }
    );
    e.http
        .post(format!("{}/_sandbox/revoke", e.base))
        .json(&json!({"locationId": loc}))
        .send()
        .await
        .unwrap();
    let uninstall = e.last_event("UNINSTALL").await;
    assert_eq!(
        apply_app_event(&e.store, &e.app, &uninstall).await.unwrap(),
        AppEventOutcome::Removed {
            location: loc.clone()
        }
    );
    assert!(e.store.location(&loc).await.unwrap().is_none());
}

#[tokio::test]
async fn an_install_under_a_connected_agency_mints_the_location_token() {
    let e = env().await;
    let locs = e.locations();
    // The agency connects through its first location's install.
    let code = e.approve(&locs[0]).await;
    let agency = e
        .app
        .exchange_code(&code, ghl::UserType::Company)
        .await
        .unwrap();
    let company = agency.company_id.clone().unwrap();
    e.save(
        &company,
        &agency,
        store::AuthKind::OAuth,
        ghl::UserType::Company,
    )
    .await;
    // Then a second location installs the app: HighLevel says INSTALL.
    e.approve(&locs[1]).await;
    let install = e.last_event("INSTALL").await;
    assert_eq!(install.location_id.as_deref(), Some(locs[1].as_str()));
    assert_eq!(
        apply_app_event(&e.store, &e.app, &install).await.unwrap(),
        AppEventOutcome::Minted {
            location: locs[1].clone()
        }
    );
    let rec = e.store.location(&locs[1]).await.unwrap().unwrap();
    assert_eq!(rec.auth, store::AuthKind::CompanyDerived);
    assert_eq!(rec.company_id.as_deref(), Some(company.as_str()));
    // The minted token works, and is minted again once expired.
    let tokens = ghl::OAuthTokens::new(
        Arc::new(store::GhlTokens::new(e.store.clone())),
        e.app.clone(),
    );
    let client = ghl::GhlClient::new(
        ghl::ClientConfig::new(url::Url::parse(&e.base).unwrap()),
        Arc::new(tokens),
    )
    .unwrap();
    let page = client
        .location(&locs[1])
        .search_contacts(&ghl::api::SearchRequest::new().page_limit(2))
        .await
        .unwrap();
    assert_eq!(page.total, Some(5));
    e.http
        .post(format!("{}/_sandbox/expire-tokens", e.base))
        .json(&json!({"locationId": locs[1]}))
        .send()
        .await
        .unwrap();
    let page = client
        .location(&locs[1])
        .search_contacts(&ghl::api::SearchRequest::new().page_limit(2))
        .await
        .unwrap();
    assert_eq!(page.total, Some(5));
    assert!(
        e.store
            .location(&locs[1])
            .await
            .unwrap()
            .unwrap()
            .token_version
            > rec.token_version
    );

    // The agency uninstalls: its connection and every minted location go.
    let uninstall = WebhookEnvelope::parse(&json!({
        "type": "UNINSTALL", "appId": e.running.sandbox.config.app.app_id, "companyId": company,
        "webhookId": "w-1", "timestamp": chrono::Utc::now().to_rfc3339(),
    }))
    .unwrap();
    assert_eq!(
        apply_app_event(&e.store, &e.app, &uninstall).await.unwrap(),
        AppEventOutcome::RemovedCompany {
            company: company.clone(),
            locations: 1
        }
    );
    assert!(e.store.locations().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_install_drivesync_cannot_serve_asks_for_a_connect() {
    let e = env().await;
    let loc = e.locations()[2].clone();
    e.approve(&loc).await;
    let install = e.last_event("INSTALL").await;
    assert_eq!(
        apply_app_event(&e.store, &e.app, &install).await.unwrap(),
        AppEventOutcome::AwaitingConnect { location: loc }
    );
    let other =
        WebhookEnvelope::parse(&json!({"type": "ContactCreate", "locationId": "x", "id": "c"}))
            .unwrap();
    assert_eq!(
        apply_app_event(&e.store, &e.app, &other).await.unwrap(),
        AppEventOutcome::Ignored
    );
}
