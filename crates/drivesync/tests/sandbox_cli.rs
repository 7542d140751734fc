//! `drivesync sandbox` and `drivesync demo` as a user runs them: real processes on
//! OS-chosen loopback ports.

use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;
use testkit::sandbox::SandboxProcess;

fn bin() -> Command {
    testkit::process::drivesync(env!("CARGO_BIN_EXE_drivesync"))
}

/// Starts the command and waits (bounded) for its "listening on" line.
fn spawn(args: &[&str]) -> SandboxProcess {
    let mut c = bin();
    c.args(args);
    SandboxProcess::spawn(c)
}

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

async fn get(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

async fn pit(base: &str, loc: &str) -> String {
    testkit::sandbox::mint_pit(&reqwest::Client::new(), base, loc, None)
        .await
        .token
}

async fn search(base: &str, token: &str, loc: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/contacts/search"))
        .header("Version", "2021-07-28")
        .bearer_auth(token)
        .json(&json!({ "locationId": loc, "pageLimit": 50, "sort": [{"field": "dateAdded", "direction": "asc"}] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn location_ids(v: &Value) -> Vec<String> {
    v["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn sandbox_serves_seeded_locations_and_prints_its_app() {
    let dir = data_dir();
    let p = spawn(&[
        "sandbox",
        "--addr",
        "127.0.0.1:0",
        "--locations",
        "2",
        "--contacts-per-location",
        "30",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let text = p.banner.join("\n");
    assert!(text.contains("app client_id:"), "{text}");
    assert!(text.contains("app client_secret:"), "{text}");
    assert!(text.contains("redirect_uri:"), "{text}");
    assert!(text.contains("install URL:"), "{text}");
    let locs = get(&format!("{}/_sandbox/locations", p.base)).await;
    let locs = locs["locations"].as_array().unwrap().clone();
    assert_eq!(locs.len(), 2);
    assert!(locs.iter().all(|l| l["contacts"] == 30));
}

#[tokio::test]
async fn same_seed_gives_the_same_data_in_another_process() {
    let (d1, d2, d3) = (data_dir(), data_dir(), data_dir());
    let args = |d: &tempfile::TempDir, seed: &'static str| {
        vec![
            "sandbox".to_string(),
            "--addr".into(),
            "127.0.0.1:0".into(),
            "--locations".into(),
            "2".into(),
            "--contacts-per-location".into(),
            "25".into(),
            "--seed".into(),
            seed.into(),
            "--anchor-date".into(),
            "2026-01-15".into(),
            "--data-dir".into(),
            d.path().to_str().unwrap().to_string(),
        ]
    };
    let spawn_owned = |a: Vec<String>| spawn(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let a = spawn_owned(args(&d1, "5"));
    let b = spawn_owned(args(&d2, "5"));
    let c = spawn_owned(args(&d3, "6"));
    let ids_a = location_ids(&get(&format!("{}/_sandbox/locations", a.base)).await);
    let ids_b = location_ids(&get(&format!("{}/_sandbox/locations", b.base)).await);
    let ids_c = location_ids(&get(&format!("{}/_sandbox/locations", c.base)).await);
    assert_eq!(ids_a, ids_b);
    assert_ne!(ids_a, ids_c);
    let loc = &ids_a[0];
    let ra = search(&a.base, &pit(&a.base, loc).await, loc).await;
    let rb = search(&b.base, &pit(&b.base, loc).await, loc).await;
    assert_eq!(ra["total"], 25);
    assert_eq!(ra["contacts"], rb["contacts"], "same seed, same contacts");
}

#[tokio::test]
async fn keys_are_printed_as_pem_and_kept_between_runs() {
    let dir = data_dir();
    let d = dir.path().to_str().unwrap();
    let run = || {
        let out = bin()
            .args(["sandbox", "keys", "--data-dir", d])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert_eq!(
        first.matches("-----BEGIN PUBLIC KEY-----").count(),
        2,
        "{first}"
    );
    assert!(first.contains("x-ghl-signature (Ed25519)"));
    assert!(first.contains("x-wh-signature (RSA-SHA256"));
    assert_eq!(run(), first, "keys persist in the data directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["webhook-ed25519.pem", "webhook-rsa.pem"] {
            let mode = std::fs::metadata(dir.path().join("sandbox-keys").join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f} is private to its owner");
        }
    }
    let p = spawn(&[
        "sandbox",
        "--addr",
        "127.0.0.1:0",
        "--contacts-per-location",
        "1",
        "--data-dir",
        d,
    ]);
    let served = get(&format!("{}/_sandbox/keys", p.base)).await;
    assert!(first.contains(served["ed25519"].as_str().unwrap()));
    assert!(first.contains(served["rsa"].as_str().unwrap()));
}

#[test]
fn bad_flags_are_refused_with_the_reason() {
    let cases: &[(&[&str], &str)] = &[
        (&["--faults", "explode=0.1"], "unknown fault `explode`"),
        (
            &["--faults", "drop=2"],
            "fault `drop` needs a rate between 0 and 1, got `2`",
        ),
        (&["--faults", "drop"], "is not NAME=VALUE"),
        (
            &["--webhook-url", "not a url"],
            "--webhook-url not a url is not a URL",
        ),
        (&["--locations", "0"], "0 is not in 1..=1000"),
        (&["--addr", "nowhere"], "invalid socket address"),
    ];
    for (args, expected) in cases {
        let out = bin()
            .arg("sandbox")
            .args(*args)
            .args(
                ["--addr", "127.0.0.1:0"]
                    .iter()
                    .filter(|_| !args.contains(&"--addr")),
            )
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(expected),
            "{args:?}: expected {expected:?} in {err}"
        );
    }
}

#[tokio::test]
async fn a_busy_address_is_refused_with_advice() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = data_dir();
    let out = bin()
        .args([
            "sandbox",
            "--addr",
            &addr,
            "--contacts-per-location",
            "1",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(err.contains("--addr"), "{err}");
}

/// The install flow driven from outside, as any HighLevel client would: only the base URL
/// differs from production.
#[tokio::test]
async fn oauth_install_flow_is_scriptable_from_outside() {
    let dir = data_dir();
    let p = spawn(&[
        "sandbox",
        "--addr",
        "127.0.0.1:0",
        "--contacts-per-location",
        "10",
        "--client-id",
        "my-app",
        "--client-secret",
        "my-secret",
        "--redirect-uri",
        "http://127.0.0.1:9/callback",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let loc = location_ids(&get(&format!("{}/_sandbox/locations", p.base)).await)[0].clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/oauth/chooselocation", p.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", "my-app"),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("scope", "contacts.readonly contacts.write"),
            ("state", "st-123"),
            ("location_id", &loc),
            ("approve", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let to = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(to.path(), "/callback");
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "st-123");
    let tok: Value = http
        .post(format!("{}/oauth/token", p.base))
        .form(&[
            ("client_id", "my-app"),
            ("client_secret", "my-secret"),
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("user_type", "Location"),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tok["locationId"], loc.as_str());
    assert_eq!(tok["scope"], "contacts.readonly contacts.write");
    let found = search(&p.base, tok["access_token"].as_str().unwrap(), &loc).await;
    assert_eq!(found["total"], 10);
}

#[tokio::test]
async fn demo_starts_a_seeded_sandbox_with_activity() {
    let dir = data_dir();
    let p = spawn(&[
        "demo",
        "--no-browser",
        "--listen",
        "127.0.0.1:0",
        "--sandbox-addr",
        "127.0.0.1:0",
        "--activity-rate",
        "20",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let v = get(&format!("{}/_sandbox/", p.base)).await;
    assert_eq!(v["locations"].as_array().unwrap().len(), 3);
    assert_eq!(v["activityRate"], 20.0);
    // The activity generator changes records: contacts' dateUpdated moves.
    let loc = location_ids(&v)[0].clone();
    let token = pit(&p.base, &loc).await;
    let newest = |v: &Value| {
        v["contacts"][0]["dateUpdated"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let body = json!({"locationId": loc, "pageLimit": 1, "sort": [{"field": "dateUpdated", "direction": "desc"}]});
    let http = reqwest::Client::new();
    let ask = || async {
        http.post(format!("{}/contacts/search", p.base))
            .header("Version", "2021-07-28")
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = newest(&ask().await);
    let mut changed = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if newest(&ask().await) != before {
            changed = true;
            break;
        }
    }
    assert!(changed, "the demo's activity generator changes records");
}
