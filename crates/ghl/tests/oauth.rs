//! OAuth against the sandbox: the install URL and its state, the code exchange, rotating
//! refresh tokens, location tokens from a company token; and `OAuthTokens` over an in-memory
//! repository: fifty tasks meeting an expired token refresh once, and a refresh token spent
//! elsewhere ends in `NeedsReauth` without hammering the token endpoint.

mod common;

use async_trait::async_trait;
use common::{fast_config, scopes, start, Env};
use ghl::oauth::{OAuthApp, UserType};
use ghl::token::{Rotated, StoredTokens};
use ghl::{GhlClient, GhlError, OAuthTokens, StaticTokens, TokenRepository, TokenResponse};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

const LOCATION_SCOPES: &[&str] = &[
    "contacts.readonly",
    "contacts.write",
    "calendars/events.readonly",
    "calendars/events.write",
];

fn app(env: &Env, scope_list: &[&str]) -> OAuthApp {
    let a = &env.sandbox().config.app;
    let base: Url = env.base.parse().unwrap();
    OAuthApp::new(
        a.client_id.clone(),
        SecretString::from(a.client_secret.clone()),
        a.redirect_uris[0].clone(),
        scopes(scope_list),
        base.clone(),
        base,
    )
    .unwrap()
}

fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Runs the install flow for `location` the way a person approving it would, and returns the
/// callback's code after checking its state.
async fn approve(env: &Env, app: &OAuthApp, location: &str) -> String {
    let req = app.authorization_url();
    let r = env
        .http
        .get(format!("{}&location_id={location}&approve=1", req.url))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection(),
        "approval answered {}",
        r.status()
    );
    let to: Url = r.headers()["location"].to_str().unwrap().parse().unwrap();
    assert_eq!(
        format!("{}{}", to.origin().ascii_serialization(), to.path()),
        app.redirect_uri
    );
    let q = query(&to);
    OAuthApp::check_state(&req.state, &q["state"]).unwrap();
    q["code"].clone()
}

async fn location_tokens(env: &Env, app: &OAuthApp, location: &str) -> TokenResponse {
    let code = approve(env, app, location).await;
    app.exchange_code(&code, UserType::Location).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_url_and_state() {
    let env = start().await;
    let app = app(&env, LOCATION_SCOPES);
    let a = app.authorization_url();
    let b = app.authorization_url();
    assert_eq!(a.url.path(), "/oauth/chooselocation");
    assert_eq!(a.url.origin(), env.base.parse::<Url>().unwrap().origin());
    let q = query(&a.url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], app.client_id);
    assert_eq!(q["redirect_uri"], app.redirect_uri);
    assert_eq!(q["scope"], LOCATION_SCOPES.join(" "));
    assert_eq!(q["state"], a.state);
    assert!(a.state.len() >= 32, "state {} is guessable", a.state);
    assert_ne!(a.state, b.state, "every authorization gets its own state");
    // The sandbox serves the chooser page for that URL.
    let page = env.http.get(a.url.as_str()).send().await.unwrap();
    assert_eq!(page.status(), 200);

    OAuthApp::check_state(&a.state, &a.state).unwrap();
    for wrong in [
        b.state.as_str(),
        "",
        &a.state[1..],
        &format!("{}x", a.state),
    ] {
        let err = OAuthApp::check_state(&a.state, wrong).unwrap_err();
        assert!(matches!(err, GhlError::StateMismatch), "{err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_exchange_rotating_refresh_and_location_tokens() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let app = app(&env, LOCATION_SCOPES);

    let code = approve(&env, &app, &loc).await;
    let t = app.exchange_code(&code, UserType::Location).await.unwrap();
    assert_eq!(t.user_type, UserType::Location);
    assert_eq!(t.location_id.as_deref(), Some(loc.as_str()));
    assert_eq!(t.company_id.as_deref(), Some(env.company_id.as_str()));
    assert_eq!(t.scopes, scopes(LOCATION_SCOPES));
    assert_eq!(t.expires_in, Duration::from_secs(86_399));
    let rt1 = t.refresh_token.clone().expect("a refresh token");
    assert_eq!(env.counter("tokenExchanges").await, 1);
    assert!(
        !format!("{t:?}").contains(t.access_token.expose_secret()),
        "Debug shows no token"
    );
    // A code works once.
    let err = app
        .exchange_code(&code, UserType::Location)
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");

    // The access token works.
    let tokens = StaticTokens::default();
    tokens.insert(&loc, t.access_token.clone(), Some(t.scopes.clone()));
    let client = GhlClient::new(fast_config(&env.base), Arc::new(tokens)).unwrap();
    client
        .location(&loc)
        .get_contact(&env.contact_ids(&loc)[0])
        .await
        .unwrap();

    // A refresh rotates both tokens; the old refresh token is then refused as invalid_grant.
    let r = app.refresh(&rt1, UserType::Location).await.unwrap();
    let rt2 = r.refresh_token.clone().expect("a new refresh token");
    assert_ne!(
        r.access_token.expose_secret(),
        t.access_token.expose_secret()
    );
    assert_ne!(rt2.expose_secret(), rt1.expose_secret());
    assert_eq!(r.location_id.as_deref(), Some(loc.as_str()));
    assert_eq!(env.counter("refreshes").await, 1);
    let err = app.refresh(&rt1, UserType::Location).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");
    assert!(matches!(&err, GhlError::OAuth { error, .. } if error == "invalid_grant"));
    assert_eq!(env.counter("refreshRefused").await, 1);
    app.refresh(&rt2, UserType::Location).await.unwrap();
    assert_eq!(env.counter("refreshes").await, 2);

    // Wrong client credentials are another error, not invalid_grant.
    let mut bad = app.clone();
    bad.client_secret = SecretString::from("not-the-secret".to_string());
    let err = bad.refresh(&rt1, UserType::Location).await.unwrap_err();
    assert!(
        matches!(&err, GhlError::OAuth { error, .. } if error == "invalid_client"),
        "{err:?}"
    );
    assert!(!err.is_invalid_grant());
    assert!(!err.to_string().contains("not-the-secret"), "{err}");

    // An agency token, exchanged for a location's token.
    let agency = app_with_all_scopes(&env);
    let other = env.locations[1].clone();
    let code = approve(&env, &agency, &other).await;
    let company = agency
        .exchange_code(&code, UserType::Company)
        .await
        .unwrap();
    assert_eq!(company.user_type, UserType::Company);
    assert_eq!(company.company_id.as_deref(), Some(env.company_id.as_str()));
    let lt = agency
        .location_token(&company.access_token, &env.company_id, &other)
        .await
        .unwrap();
    assert_eq!(lt.user_type, UserType::Location);
    assert_eq!(lt.location_id.as_deref(), Some(other.as_str()));
    assert!(
        lt.refresh_token.is_none(),
        "location tokens come without a refresh token"
    );
    let tokens = StaticTokens::default();
    tokens.insert(&other, lt.access_token.clone(), Some(lt.scopes.clone()));
    let client = GhlClient::new(fast_config(&env.base), Arc::new(tokens)).unwrap();
    client
        .location(&other)
        .get_contact(&env.contact_ids(&other)[0])
        .await
        .unwrap();
    // The company token itself is no location token.
    let tokens = StaticTokens::default();
    tokens.insert(&other, company.access_token.clone(), None);
    let client = GhlClient::new(fast_config(&env.base), Arc::new(tokens)).unwrap();
    let err = client
        .location(&other)
        .get_contact(&env.contact_ids(&other)[0])
        .await
        .unwrap_err();
    assert!(matches!(err, GhlError::NeedsReauth { .. }), "{err:?}");
    // A location the app is not installed on.
    let err = agency
        .location_token(&company.access_token, &env.company_id, &env.locations[2])
        .await
        .unwrap_err();
    match &err {
        GhlError::OAuth { description, .. } => {
            assert_eq!(description, "The app is not installed on this location.")
        }
        e => panic!("expected OAuth, got {e:?}"),
    }
}

fn app_with_all_scopes(env: &Env) -> OAuthApp {
    app(env, common::ALL_SCOPES)
}

/// An in-memory `TokenRepository` with the store's semantics: a version bumped by every
/// commit, and a refresh lease that is free when absent or expired and that only its owner
/// commits or releases.
#[derive(Default)]
struct MemRepo {
    rows: Mutex<HashMap<String, Row>>,
    commits: AtomicU32,
    leases_taken: AtomicU32,
}

struct Row {
    tokens: StoredTokens,
    lease: Option<(String, Instant)>,
}

impl MemRepo {
    fn put(&self, location: &str, t: &TokenResponse) {
        let stored = StoredTokens {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            expires_at_ms: Some(
                chrono::Utc::now().timestamp_millis() + t.expires_in.as_millis() as i64,
            ),
            scopes: t.scopes.clone(),
            user_type: t.user_type,
            needs_reauth: false,
            version: 1,
            minted_from: None,
        };
        self.rows.lock().unwrap().insert(
            location.to_string(),
            Row {
                tokens: stored,
                lease: None,
            },
        );
    }

    fn get(&self, location: &str) -> StoredTokens {
        self.rows.lock().unwrap()[location].tokens.clone()
    }

    fn edit(&self, location: &str, f: impl FnOnce(&mut StoredTokens)) {
        f(&mut self.rows.lock().unwrap().get_mut(location).unwrap().tokens)
    }
}

#[async_trait]
impl TokenRepository for MemRepo {
    async fn load(&self, location: &str) -> ghl::Result<Option<StoredTokens>> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .get(location)
            .map(|r| r.tokens.clone()))
    }

    async fn try_lease(&self, location: &str, owner: &str, ttl: Duration) -> ghl::Result<bool> {
        let mut rows = self.rows.lock().unwrap();
        let Some(row) = rows.get_mut(location) else {
            return Ok(false);
        };
        let now = Instant::now();
        match &row.lease {
            Some((_, until)) if *until > now => Ok(false),
            _ => {
                row.lease = Some((owner.to_string(), now + ttl));
                self.leases_taken.fetch_add(1, Ordering::SeqCst);
                Ok(true)
            }
        }
    }

    async fn commit(&self, location: &str, owner: &str, t: &Rotated) -> ghl::Result<bool> {
        let mut rows = self.rows.lock().unwrap();
        let Some(row) = rows.get_mut(location) else {
            return Ok(false);
        };
        let held = matches!(&row.lease, Some((o, until)) if o == owner && *until > Instant::now());
        if !held {
            return Ok(false);
        }
        let s = &mut row.tokens;
        s.access_token = t.access_token.clone();
        s.refresh_token = t.refresh_token.clone();
        s.expires_at_ms = Some(t.expires_at_ms);
        s.scopes = t.scopes.clone();
        s.version += 1;
        row.lease = None;
        self.commits.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    }

    async fn release(&self, location: &str, owner: &str) -> ghl::Result<()> {
        let mut rows = self.rows.lock().unwrap();
        if let Some(row) = rows.get_mut(location) {
            if matches!(&row.lease, Some((o, _)) if o == owner) {
                row.lease = None;
            }
        }
        Ok(())
    }

    async fn mark_needs_reauth(&self, location: &str) -> ghl::Result<()> {
        let mut rows = self.rows.lock().unwrap();
        if let Some(row) = rows.get_mut(location) {
            row.tokens.needs_reauth = true;
        }
        Ok(())
    }
}

/// `n` concurrent reads of `location` through `client`, each its own task.
async fn concurrent_reads(
    env: &Env,
    client: &GhlClient,
    location: &str,
    n: usize,
) -> Vec<ghl::Result<()>> {
    let ids = env.contact_ids(location);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let l = client.location(location);
            let id = ids[i % ids.len()].clone();
            tokio::spawn(async move { l.get_contact(&id).await.map(drop) })
        })
        .collect();
    let all = tokio::time::timeout(Duration::from_secs(20), futures::future::join_all(handles))
        .await
        .expect("reads finish within 20 s");
    all.into_iter().map(|r| r.expect("task")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_tasks_meeting_an_expired_token_refresh_once() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let app = app(&env, LOCATION_SCOPES);
    let repo = Arc::new(MemRepo::default());
    let first = location_tokens(&env, &app, &loc).await;
    repo.put(&loc, &first);
    let tokens = Arc::new(OAuthTokens::new(repo.clone(), app.clone()));

    // HighLevel expires the token early: every task meets a 401 and asks for a refresh.
    env.admin("/_sandbox/expire-tokens", json!({ "locationId": loc }))
        .await;
    let client = GhlClient::new(fast_config(&env.base), tokens.clone()).unwrap();
    let results = concurrent_reads(&env, &client, &loc, 50).await;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of 50 failed: {failed:?}",
        failed.len()
    );
    assert_eq!(
        env.counter("refreshes").await,
        1,
        "one refresh for fifty tasks"
    );
    assert_eq!(env.counter("refreshRefused").await, 0);
    assert_eq!(repo.commits.load(Ordering::SeqCst), 1);
    let now = repo.get(&loc);
    assert_eq!(now.version, 2);
    assert_ne!(
        now.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
    assert!(!now.needs_reauth);
    let ok = env
        .requests(&loc)
        .await
        .iter()
        .filter(|r| r["status"] == 200)
        .count();
    assert_eq!(ok, 50);

    // Our own record says it is about to expire: refreshed before use, once, for twenty tasks.
    repo.edit(&loc, |s| {
        s.expires_at_ms = Some(chrono::Utc::now().timestamp_millis() - 1)
    });
    let client = GhlClient::new(fast_config(&env.base), tokens.clone()).unwrap();
    let results = concurrent_reads(&env, &client, &loc, 20).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(env.counter("refreshes").await, 2);
    assert_eq!(repo.get(&loc).version, 3);
    assert_eq!(repo.commits.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_spent_elsewhere_needs_reauth_and_stops_refreshing() {
    let env = start().await;
    let loc = env.locations[1].clone();
    let app = app(&env, LOCATION_SCOPES);
    let repo = Arc::new(MemRepo::default());
    let first = location_tokens(&env, &app, &loc).await;
    repo.put(&loc, &first);
    // Another installation (or a crashed worker) spent the stored refresh token.
    app.refresh(first.refresh_token.as_ref().unwrap(), UserType::Location)
        .await
        .unwrap();
    assert_eq!(env.counter("refreshes").await, 1);

    env.admin("/_sandbox/expire-tokens", json!({ "locationId": loc }))
        .await;
    let tokens = Arc::new(OAuthTokens::new(repo.clone(), app.clone()));
    let client = GhlClient::new(fast_config(&env.base), tokens.clone()).unwrap();
    let results = concurrent_reads(&env, &client, &loc, 10).await;
    for r in &results {
        assert!(
            matches!(r, Err(GhlError::NeedsReauth { location }) if *location == loc),
            "{r:?}"
        );
    }
    assert_eq!(
        env.counter("refreshRefused").await,
        1,
        "the spent token was tried once"
    );
    assert_eq!(env.counter("refreshes").await, 1);
    let s = repo.get(&loc);
    assert!(s.needs_reauth);
    assert_eq!(s.version, 1, "nothing was committed");
    assert_eq!(repo.commits.load(Ordering::SeqCst), 0);
    let leases = repo.leases_taken.load(Ordering::SeqCst);
    assert_eq!(leases, 1);
    assert!(
        repo.rows.lock().unwrap()[&loc].lease.is_none(),
        "the lease was released"
    );

    // Later calls fail at once, without asking the token endpoint or HighLevel again.
    let logged = env.requests(&loc).await.len();
    for r in concurrent_reads(&env, &client, &loc, 5).await {
        assert!(matches!(r, Err(GhlError::NeedsReauth { .. })), "{r:?}");
    }
    assert_eq!(env.counter("refreshRefused").await, 1);
    assert_eq!(env.counter("refreshes").await, 1);
    assert_eq!(repo.leases_taken.load(Ordering::SeqCst), leases);
    assert_eq!(env.requests(&loc).await.len(), logged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_location_token_minted_from_the_company_is_minted_again_once() {
    let env = start().await;
    let loc = env.locations[2].clone();
    let agency = app_with_all_scopes(&env);
    let code = approve(&env, &agency, &loc).await;
    let company = agency
        .exchange_code(&code, UserType::Company)
        .await
        .unwrap();
    let minted = agency
        .location_token(&company.access_token, &env.company_id, &loc)
        .await
        .unwrap();
    let repo = Arc::new(MemRepo::default());
    repo.put(&env.company_id, &company);
    repo.put(&loc, &minted);
    repo.edit(&loc, |s| s.minted_from = Some(env.company_id.clone()));
    assert!(repo.get(&loc).refresh_token.is_none());

    env.admin("/_sandbox/expire-tokens", json!({ "locationId": loc }))
        .await;
    let tokens = Arc::new(OAuthTokens::new(repo.clone(), agency.clone()));
    let client = GhlClient::new(fast_config(&env.base), tokens).unwrap();
    let results = concurrent_reads(&env, &client, &loc, 20).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        repo.commits.load(Ordering::SeqCst),
        1,
        "minted once for twenty tasks"
    );
    let now = repo.get(&loc);
    assert_eq!(now.version, 2);
    assert!(now.refresh_token.is_none());
    assert_ne!(
        now.access_token.expose_secret(),
        minted.access_token.expose_secret()
    );
    // The company connection was fresh: not refreshed.
    assert_eq!(env.counter("refreshes").await, 0);
    assert_eq!(repo.get(&env.company_id).version, 1);
}
