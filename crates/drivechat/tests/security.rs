//! The probe's findings (issue #13), each reproduced against a real server and store: the
//! sign-in limit under concurrency, the cap on password checks, the bounded search, the
//! security headers of every page, session lifetimes and the pre-session cookie.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use drivechat::{Config, DriveChat};
use sha2::{Digest as _, Sha256};

on_both_backends!(
    sign_in_limit_holds_under_concurrency,
    password_checks_are_capped_with_a_fast_429,
    search_is_bounded_with_a_clear_400,
    every_page_carries_the_security_headers,
    sessions_end_when_idle_and_at_their_lifetime,
    the_pre_session_must_be_one_the_server_issued,
);

pub fn config() -> Config {
    Config {
        // Room for all 30 concurrent attempts below: only the attempt count may hold them.
        password_checks: 64,
        ..Config::default()
    }
}

/// Another Drive Chat on the same store with `config`, served on its own port.
async fn serve_with(env: &Env, config: Config) -> String {
    testkit::serve(DriveChat::new(env.store.clone(), config).router())
        .await
        .url
}

/// A client with the sign-in form's cookie, and that form's CSRF token.
async fn sign_in_form(url: &str) -> (reqwest::Client, String) {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c
        .get(format!("{url}/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field_value(&page, "_csrf").expect("a CSRF token");
    (c, csrf)
}

async fn attempt(
    c: &reqwest::Client,
    url: &str,
    csrf: &str,
    email: &str,
    pw: &str,
) -> reqwest::Response {
    c.post(format!("{url}/signin"))
        .form(&[("email", email), ("password", pw), ("_csrf", csrf)])
        .send()
        .await
        .unwrap()
}

async fn sign_in_limit_holds_under_concurrency(env: Env) {
    let (c, csrf) = sign_in_form(&env.url).await;
    let attempts = (0..30).map(|i| {
        let (c, csrf, url) = (c.clone(), csrf.clone(), env.url.clone());
        async move {
            let pw = if i == 17 { PASSWORD } else { "a wrong guess" };
            attempt(&c, &url, &csrf, ALICE, pw).await.status().as_u16()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    // 401 and 303 were answered after checking the password; 429 before.
    let checked = statuses.iter().filter(|s| **s != 429).count();
    let limit = config().login_attempts as usize;
    assert!(
        checked <= limit,
        "{checked} attempts reached the password check, at most {limit} may: {statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 30 - checked);
    assert!(
        statuses.iter().all(|s| [303, 401, 429].contains(s)),
        "{statuses:?}"
    );
}

async fn password_checks_are_capped_with_a_fast_429(env: Env) {
    let url = serve_with(
        &env,
        Config {
            password_checks: 2,
            ..Config::default()
        },
    )
    .await;
    let (c, csrf) = sign_in_form(&url).await;
    // Random emails: the per-email limit holds none of them back.
    let attempts = (0..40).map(|i| {
        let (c, csrf, url) = (c.clone(), csrf.clone(), url.clone());
        async move {
            let started = Instant::now();
            let r = attempt(
                &c,
                &url,
                &csrf,
                &format!("someone-{i}@example.org"),
                "guess",
            )
            .await;
            let retry = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            (status, retry, body, started.elapsed())
        }
    });
    let flood = tokio::spawn(futures::future::join_all(attempts));
    // Meanwhile, other requests are answered promptly.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let asset = client()
        .get(format!("{url}/assets/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    let asset_took = started.elapsed();
    let answers = flood.await.unwrap();
    let busy: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    assert!(
        busy.len() >= 20,
        "with 2 password checks at once, most of 40 simultaneous sign-ins are turned away: {:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    for (_, retry, body, took) in &busy {
        assert_eq!(retry.as_deref(), Some("1"));
        assert!(body.contains("busy checking other sign-ins"), "{body}");
        assert!(*took < Duration::from_secs(2), "a refusal took {took:?}");
    }
    assert!(answers.iter().all(|a| a.0 == 401 || a.0 == 429));
    assert!(
        asset_took < Duration::from_secs(2),
        "an asset took {asset_took:?}"
    );
}

async fn search_is_bounded_with_a_clear_400(env: Env) {
    let (c, _) = sign_in(&env, ALICE).await;
    let long = "a".repeat(50_000);
    let page = c
        .get(env.at(&format!("/w/{A}/contacts")))
        .query(&[("q", &long)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let body = page.text().await.unwrap();
    assert!(
        body.contains("The search is too long (50000 characters); search for at most 200"),
        "{body}"
    );
    let ok = c
        .get(env.at(&format!("/w/{A}/contacts")))
        .query(&[("q", "a".repeat(200))])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "200 characters are searched");
    assert!(ok.text().await.unwrap().contains("maxlength=\"200\""));

    let api = api_token(&env).await;
    let r = reqwest::Client::new()
        .get(env.at("/api/v1/contacts"))
        .bearer_auth(&api)
        .query(&[("q", &long)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .starts_with("The search is too long (50000 characters)"),
        "{j}"
    );
}

/// An API token of Alice's in workspace A.
async fn api_token(env: &Env) -> String {
    use secrecy::ExposeSecret as _;
    drivechat::admin::create_api_token(&env.store, ALICE, A)
        .await
        .expect("a token")
        .expose_secret()
        .to_string()
}

/// Every page and kind of response: the same headers, and markup the CSP lets work.
async fn every_page_carries_the_security_headers(env: Env) {
    let signed_out = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (c, _) = sign_in(&env, ALICE).await;
    env.put(contact(A, "c1", "Ada", "Lovelace", &["vip"]), &[])
        .await;
    let pages = [
        "/signin",
        "/w/locA/contacts",
        "/w/locA/contacts/c1",
        "/w/locA/tasks",
        "/w/locA/meetings",
        "/w/locA/feed",
        "/w/locA/alerts",
        "/w/locA/settings",
        "/w/locB/contacts",
        "/w/locA/contacts/missing",
    ];
    for path in pages {
        let r = c.get(env.at(path)).send().await.unwrap();
        let status = r.status();
        let h = r.headers().clone();
        check_headers(path, &h, true);
        let html = r.text().await.unwrap();
        assert!(status == 200 || status == 404, "{path}: {status}");
        assert_csp_clean(path, &html);
    }
    // Signed out (a redirect), the API, its errors, and an asset (cached: it is versioned).
    let r = signed_out
        .get(env.at("/w/locA/contacts"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    check_headers("signed out", r.headers(), true);
    let api = api_token(&env).await;
    let r = reqwest::Client::new()
        .get(env.at("/api/v1/contacts"))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    check_headers("api", r.headers(), true);
    let r = signed_out
        .get(env.at("/api/v1/contacts"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    check_headers("api refusal", r.headers(), true);
    let r = signed_out
        .get(env.at("/assets/app.js"))
        .send()
        .await
        .unwrap();
    check_headers("asset", r.headers(), false);
    assert_eq!(r.headers()["cache-control"], "public, max-age=86400");

    // The page that shows a new API token.
    let settings = c
        .get(env.at("/w/locA/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field_value(&settings, "_csrf").unwrap();
    let r = c
        .post(env.at("/w/locA/settings/tokens"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    check_headers("new token", r.headers(), true);
}

fn check_headers(what: &str, h: &reqwest::header::HeaderMap, no_store: bool) {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let csp = get("content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self';",
        "style-src 'self';",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{what}: CSP {csp:?} lacks {part}");
    }
    assert!(!csp.contains("unsafe"), "{what}: {csp}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "same-origin", "{what}");
    if no_store {
        assert_eq!(get("cache-control"), "no-store", "{what}");
    }
    assert!(
        h.get("strict-transport-security").is_none(),
        "{what}: not over HTTPS"
    );
}

/// No markup the CSP would block: inline scripts, inline event handlers, style attributes
/// or elements.
fn assert_csp_clean(path: &str, html: &str) {
    let lower = html.to_lowercase();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("<script") {
        let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
        assert!(
            rest[i..tag_end].contains(" src="),
            "{path}: an inline script: {}",
            &rest[i..tag_end]
        );
        rest = &rest[tag_end..];
    }
    assert!(!lower.contains("<style"), "{path}: a <style> element");
    assert!(!lower.contains(" style=\""), "{path}: a style attribute");
    for handler in [
        " onclick=",
        " onload=",
        " onsubmit=",
        " onchange=",
        " oninput=",
        " hx-on",
    ] {
        assert!(!lower.contains(handler), "{path}: {handler}");
    }
    assert!(
        lower.contains("includeindicatorstyles&quot;:false")
            || lower.contains("includeindicatorstyles\":false")
            || !lower.contains("htmx.min.js"),
        "{path}: htmx would inject a <style>"
    );
}

async fn sessions_end_when_idle_and_at_their_lifetime(env: Env) {
    // Idle: unused for longer than the idle lifetime, a session has ended.
    let idle_url = serve_with(
        &env,
        Config {
            session_idle: Duration::from_secs(2),
            ..Config::default()
        },
    )
    .await;
    let signed_in = |url: String| async move {
        let (c, csrf) = sign_in_form(&url).await;
        let r = attempt(&c, &url, &csrf, ALICE, PASSWORD).await;
        assert_eq!(r.status(), 303);
        c
    };
    let page = |c: reqwest::Client, url: String| async move {
        c.get(format!("{url}/w/{A}/contacts"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let c = signed_in(idle_url.clone()).await;
    // In use, it lasts past the idle lifetime.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(page(c.clone(), idle_url.clone()).await, 200);
    }
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(
        page(c.clone(), idle_url.clone()).await,
        303,
        "idle too long"
    );

    // Absolute: in use or not, a session ends at its lifetime.
    let abs_url = serve_with(
        &env,
        Config {
            session_ttl: Duration::from_secs(3),
            ..Config::default()
        },
    )
    .await;
    let c = signed_in(abs_url.clone()).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert_eq!(page(c.clone(), abs_url.clone()).await, 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        page(c.clone(), abs_url.clone()).await,
        303,
        "past its lifetime"
    );

    // Secure cookies when configured (drivesync turns this on for an https public URL).
    let secure_url = serve_with(
        &env,
        Config {
            secure_cookies: true,
            ..Config::default()
        },
    )
    .await;
    let r = reqwest::get(format!("{secure_url}/signin")).await.unwrap();
    let pre = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        pre.starts_with("dc_presession=") && pre.ends_with("; Secure"),
        "{pre}"
    );
    assert!(r.headers().contains_key("strict-transport-security"));
}

/// The CSRF token the server derives from a pre-session value (as `session::csrf_of`).
fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"drivechat csrf");
    h.update([0]);
    h.update(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

async fn the_pre_session_must_be_one_the_server_issued(env: Env) {
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A value chosen by someone else (e.g. tossed from a sibling domain) with its CSRF token.
    let chosen = "chosen-by-the-attacker";
    let r = plain
        .post(env.at("/signin"))
        .header("cookie", format!("dc_presession={chosen}"))
        .form(&[
            ("email", ALICE),
            ("password", PASSWORD),
            ("_csrf", &csrf_of(chosen)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Your sign-in form expired"));
    // The sign-in page replaces it with one of its own.
    let r = plain
        .get(env.at("/signin"))
        .header("cookie", format!("dc_presession={chosen}"))
        .send()
        .await
        .unwrap();
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.starts_with("dc_presession=") && !set.contains(chosen),
        "{set}"
    );
    let issued = set["dc_presession=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = r.text().await.unwrap();
    assert_eq!(field_value(&page, "_csrf").unwrap(), csrf_of(&issued));
    // The issued one works; tampered with, it does not.
    let r = plain
        .post(env.at("/signin"))
        .header("cookie", format!("dc_presession={issued}"))
        .form(&[
            ("email", ALICE),
            ("password", PASSWORD),
            ("_csrf", &csrf_of(&issued)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let tampered = format!("x{issued}");
    let r = plain
        .post(env.at("/signin"))
        .header("cookie", format!("dc_presession={tampered}"))
        .form(&[
            ("email", ALICE),
            ("password", PASSWORD),
            ("_csrf", &csrf_of(&tampered)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Kept when valid: a second tab's form stays usable.
    let r = plain
        .get(env.at("/signin"))
        .header("cookie", format!("dc_presession={issued}"))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none());
}
