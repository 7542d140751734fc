//! `drivesync connect`, `locations`, `api` and `keys rotate` as a user runs them, against the
//! sandbox in another process; then every plaintext token and secret is looked for in the
//! database files and in every line the commands printed or logged.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use testkit::sandbox::SandboxProcess;

fn bin() -> Command {
    let mut c = testkit::process::drivesync(env!("CARGO_BIN_EXE_drivesync"));
    // Log everything: the leak check reads these lines too.
    c.env("RUST_LOG", "trace");
    c
}

const CLIENT_ID: &str = "leakcheck-app";
const CLIENT_SECRET: &str = "leakcheck-client-secret-5f2b9c0d7e";

fn start_sandbox(redirect: &str, data: &std::path::Path) -> SandboxProcess {
    let mut sandbox = bin();
    sandbox
        .args([
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--locations",
            "2",
            "--contacts-per-location",
            "12",
        ])
        .args([
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--redirect-uri",
            redirect,
        ])
        .arg("--data-dir")
        .arg(data);
    SandboxProcess::spawn(sandbox)
}

/// Runs a drivesync command to the end; returns (success, stdout, stderr).
fn run(args: &[&str], data: &std::path::Path, stdin: Option<&str>) -> (bool, String, String) {
    let mut c = bin()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = c.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Mints a Private Integration Token in the sandbox and connects it with `drivesync connect`.
async fn connect_pit(
    base: &str,
    location: &str,
    scopes: Option<&[&str]>,
    data: &std::path::Path,
) -> (String, (bool, String, String)) {
    let pit = testkit::sandbox::mint_pit(&reqwest::Client::new(), base, location, scopes)
        .await
        .token;
    let args = [
        "connect",
        "--token",
        &pit,
        "--location",
        location,
        "--ghl-base-url",
        base,
    ];
    let outcome = run(&args, data, None);
    (pit, outcome)
}

struct Run {
    base: String,
    location: String,
    contact: String,
}

impl Run {
    fn api(
        &self,
        op: &str,
        extra: &[&str],
        data: &std::path::Path,
        stdin: Option<&str>,
    ) -> (bool, String, String) {
        let mut args = vec![
            "api",
            op,
            "--location",
            &self.location,
            "--ghl-base-url",
            &self.base,
        ];
        args.extend_from_slice(extra);
        run(&args, data, stdin)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_use_rotate_and_nothing_leaks() {
    let db = testkit::TestDb::sqlite();
    let d = db.data_dir();
    let sandbox_dir = tempfile::tempdir().unwrap();
    let redirect = format!("http://127.0.0.1:{}/oauth/callback", testkit::free_port());
    let sb = start_sandbox(&redirect, sandbox_dir.path());
    let locations = testkit::sandbox::location_ids(&reqwest::Client::new(), &sb.base).await;
    let (location, other) = (locations[0].clone(), locations[1].clone());
    let mut logs = String::new();

    // connect: prints the URL, waits for the callback, stores the tokens.
    let mut connect = bin()
        .args([
            "connect",
            "--no-browser",
            "--ghl-base-url",
            &sb.base,
            "--ghl-authorize-url",
            &sb.base,
        ])
        .args([
            "--client-id",
            CLIENT_ID,
            "--redirect-uri",
            &redirect,
            "--scopes",
            "contacts.readonly contacts.write",
        ])
        .env("DRIVESYNC_CLIENT_SECRET", CLIENT_SECRET)
        .arg("--data-dir")
        .arg(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = connect.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut printed = Vec::new();
    let auth_url = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("connect prints the URL");
        printed.push(line.clone());
        if line.starts_with("http") {
            break line;
        }
    };
    assert!(
        auth_url.contains("/oauth/chooselocation?response_type=code"),
        "{auth_url}"
    );
    // The person approves: the sandbox redirects the browser to connect's callback.
    let page = reqwest::get(format!("{auth_url}&location_id={location}&approve=1"))
        .await
        .unwrap();
    assert!(page.status().is_success());
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("drivesync is connected"));
    let status = tokio::task::spawn_blocking(move || connect.wait())
        .await
        .unwrap()
        .unwrap();
    printed.extend(rx.try_iter());
    let printed = printed.join("\n");
    assert!(status.success(), "{printed}");
    assert!(
        printed.contains(&format!("Connected location {location}.")),
        "{printed}"
    );
    assert!(
        printed.contains("scopes:  contacts.readonly contacts.write"),
        "{printed}"
    );
    assert!(printed.contains("expires: "), "{printed}");
    logs.push_str(&printed);

    let contact = {
        let (ok, out, err) = run(
            &[
                "api",
                "get-contacts",
                "--location",
                &location,
                "--ghl-base-url",
                &sb.base,
                "--param",
                "limit=1",
            ],
            d,
            None,
        );
        logs.push_str(&out);
        logs.push_str(&err);
        assert!(ok, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        v["contacts"][0]["id"].as_str().unwrap().to_string()
    };
    let r = Run {
        base: sb.base.clone(),
        location: location.clone(),
        contact,
    };

    // locations: the OAuth location, ok, with its scopes.
    let (ok, out, err) = run(&["locations"], d, None);
    assert!(ok, "{err}");
    assert!(
        out.contains(&location) && out.contains("oauth") && out.contains(" ok "),
        "{out}"
    );
    assert!(out.contains("contacts.readonly contacts.write"), "{out}");
    logs.push_str(&out);
    logs.push_str(&err);

    // The token expires: the next call refreshes it (the stored client secret is used).
    let http = reqwest::Client::new();
    http.post(format!("{}/_sandbox/expire-tokens", r.base))
        .json(&json!({"locationId": location}))
        .send()
        .await
        .unwrap();
    let (ok, out, err) = r.api(
        "get-contact",
        &["--param", &format!("contactId={}", r.contact)],
        d,
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["contact"]["id"],
        r.contact.as_str()
    );
    logs.push_str(&out);
    logs.push_str(&err);
    let counters: Value = reqwest::get(format!("{}/_sandbox/counters", r.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["refreshes"], 1, "{counters}");

    // A body from standard input.
    let body = json!({"locationId": location, "pageLimit": 3}).to_string();
    let (ok, out, err) = r.api("search-contacts-advanced", &["--body", "-"], d, Some(&body));
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["contacts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    logs.push_str(&out);
    logs.push_str(&err);

    // keys rotate: everything re-encrypted, the old key removed, all still readable.
    let (ok, out, err) = run(&["keys", "rotate", "--remove-old"], d, None);
    assert!(ok, "{err}");
    assert!(
        out.contains("values re-encrypted") && out.contains("Removed key"),
        "{out}"
    );
    logs.push_str(&out);
    logs.push_str(&err);
    let key_file = std::fs::read_to_string(d.join("master.key")).unwrap();
    assert_eq!(key_file.lines().count(), 1, "only the new key is left");
    // The rotation is in the audit trail, as the command line's, with key ids only.
    let store = db
        .connect(store::Keyring::from_env_or_file(d).unwrap())
        .await;
    let rotations = store
        .audit_page(&store::AuditQuery {
            scope: store::AuditScope {
                locations: Vec::new(),
                instance: true,
            },
            kind: Some("keys.rotate".into()),
            limit: 10,
            ..store::AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rotations.entries.len(), 1, "{rotations:?}");
    let rotation = &rotations.entries[0];
    assert_eq!(rotation.actor_kind, store::ActorKind::CommandLine);
    assert_eq!(rotation.location_id, None);
    assert_eq!(rotation.detail["removed"].as_array().map(Vec::len), Some(1));
    assert!(!rotation.detail.to_string().contains(key_file.trim()));
    store.close().await;
    let (ok, out, err) = r.api(
        "get-contact",
        &["--param", &format!("contactId={}", r.contact)],
        d,
        None,
    );
    assert!(ok, "after rotation: {err}");
    logs.push_str(&out);
    logs.push_str(&err);

    // A Private Integration Token for the other location.
    let (pit, (ok, out, err)) = connect_pit(&r.base, &other, None, d).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(
            "Connected location {other} with a Private Integration Token."
        )),
        "{out}"
    );
    logs.push_str(&out);
    logs.push_str(&err);
    let (ok, out, _) = run(&["locations"], d, None);
    assert!(ok && out.contains(&other) && out.contains("pit"), "{out}");

    // The leak check: no token HighLevel issued, no PIT, no client secret, anywhere.
    let issued: Value = reqwest::get(format!("{}/_sandbox/tokens?locationId={location}", r.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut secrets: Vec<String> = issued["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert!(
        secrets.len() >= 4,
        "two access and two refresh tokens at least: {secrets:?}"
    );
    secrets.push(pit);
    secrets.push(CLIENT_SECRET.to_string());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(d).unwrap() {
        let p = entry.unwrap().path();
        let mut bytes = Vec::new();
        std::fs::File::open(&p)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        files.push((p, bytes));
    }
    assert!(files
        .iter()
        .any(|(p, _)| p.to_string_lossy().ends_with("drivesync.db")));
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "a secret was printed or logged");
        for (p, bytes) in &files {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "a secret is in {} in plain text",
                p.display()
            );
        }
    }
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "logging was on for the leak check"
    );
}

#[test]
fn refusals_say_what_to_do() {
    let db = testkit::TestDb::sqlite();
    let d = db.data_dir();
    let (ok, _, err) = run(&["api", "no-such-operation"], d, None);
    assert!(!ok);
    assert!(
        err.contains(
            "unknown operation `no-such-operation`; known operations: search-contacts-advanced"
        ),
        "{err}"
    );
    let (ok, _, err) = run(&["api", "get-contact", "--param", "contactId=x"], d, None);
    assert!(!ok);
    assert!(
        err.contains("no location is connected; run `drivesync connect` first"),
        "{err}"
    );
    let (ok, _, err) = run(&["connect", "--token", "pit-x"], d, None);
    assert!(!ok);
    assert!(err.contains("add --location ID"), "{err}");
    let (ok, _, err) = run(&["api", "get-contact", "--param", "contactId"], d, None);
    assert!(!ok);
    assert!(err.contains("`contactId` is not NAME=VALUE"), "{err}");
    let (ok, out, _) = run(&["locations"], d, None);
    assert!(ok && out.contains("No location is connected"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_token_or_a_missing_scope_is_refused_clearly() {
    let db = testkit::TestDb::sqlite();
    let d = db.data_dir();
    let sandbox_dir = tempfile::tempdir().unwrap();
    let sb = start_sandbox("http://127.0.0.1:9/cb", sandbox_dir.path());
    let location =
        testkit::sandbox::location_ids(&reqwest::Client::new(), &sb.base).await[0].clone();
    let (ok, _, err) = run(
        &[
            "connect",
            "--token",
            "pit-not-a-real-token",
            "--location",
            &location,
            "--ghl-base-url",
            &sb.base,
        ],
        d,
        None,
    );
    assert!(!ok);
    assert!(
        err.contains("HighLevel did not accept the token for this location"),
        "{err}"
    );
    let (_, (ok, _, err)) = connect_pit(&sb.base, &location, Some(&["contacts.readonly"]), d).await;
    assert!(ok, "{err}");
    let body = json!({"tags": ["vip"]}).to_string();
    let (ok, _, err) = run(
        &[
            "api",
            "add-tags",
            "--param",
            "contactId=abc",
            "--ghl-base-url",
            &sb.base,
            "--body",
            "-",
        ],
        d,
        Some(&body),
    );
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "the token for location {location} lacks the scope `contacts.write` needed by add-tags"
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spent_daily_budget_is_a_clear_state_not_a_retry_loop() {
    let db = testkit::TestDb::sqlite();
    let d = db.data_dir();
    let sandbox_dir = tempfile::tempdir().unwrap();
    let sb = start_sandbox("http://127.0.0.1:9/cb", sandbox_dir.path());
    let http = reqwest::Client::new();
    let location =
        testkit::sandbox::location_ids(&reqwest::Client::new(), &sb.base).await[0].clone();
    let (_, (ok, _, err)) = connect_pit(&sb.base, &location, None, d).await;
    assert!(ok, "{err}");
    // New limits start a new count: one call is allowed today.
    http.post(format!("{}/_sandbox/limits", sb.base))
        .json(&json!({"daily": 1}))
        .send()
        .await
        .unwrap();
    let get = |d| {
        run(
            &[
                "api",
                "get-contacts",
                "--param",
                "limit=1",
                "--ghl-base-url",
                &sb.base,
            ],
            d,
            None,
        )
    };
    let (ok, _, err) = get(d);
    assert!(ok, "{err}");
    let (ok, _, err) = get(d);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "the daily request budget of location {location} is used up; it renews in"
        )),
        "{err}"
    );
    let (_, out, _) = run(&["locations"], d, None);
    assert!(out.contains("budget_exhausted"), "{out}");
    let counters: Value = reqwest::get(format!("{}/_sandbox/counters", sb.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        counters["rateLimited"], 1,
        "one 429, no retry loop: {counters}"
    );
}

/// An agency connects: its token is kept, and a location token is minted for the location it
/// approved, usable at once.
#[tokio::test(flavor = "multi_thread")]
async fn an_agency_connects_and_its_location_token_is_minted() {
    let db = testkit::TestDb::sqlite();
    let d = db.data_dir();
    let sandbox_dir = tempfile::tempdir().unwrap();
    let redirect = format!("http://127.0.0.1:{}/oauth/callback", testkit::free_port());
    let sb = start_sandbox(&redirect, sandbox_dir.path());
    let location =
        testkit::sandbox::location_ids(&reqwest::Client::new(), &sb.base).await[0].clone();
    let mut connect = bin()
        .args([
            "connect",
            "--no-browser",
            "--user-type",
            "company",
            "--ghl-base-url",
            &sb.base,
        ])
        .args([
            "--ghl-authorize-url",
            &sb.base,
            "--client-id",
            CLIENT_ID,
            "--redirect-uri",
            &redirect,
        ])
        .args([
            "--scopes",
            "contacts.readonly contacts.write oauth.readonly oauth.write",
        ])
        .env("DRIVESYNC_CLIENT_SECRET", CLIENT_SECRET)
        .arg("--data-dir")
        .arg(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(connect.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("connect prints the URL").unwrap();
        if line.starts_with("http") {
            break line;
        }
    };
    let page = reqwest::get(format!("{url}&location_id={location}&approve=1"))
        .await
        .unwrap();
    assert!(page.status().is_success());
    let status = tokio::task::spawn_blocking(move || connect.wait())
        .await
        .unwrap()
        .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let printed = rest.join("\n");
    assert!(status.success(), "{printed}");
    assert!(printed.contains("Connected agency "), "{printed}");
    assert!(
        printed.contains(&format!(
            "location {location}: token minted from the agency connection"
        )),
        "{printed}"
    );
    let (ok, out, err) = run(&["locations"], d, None);
    assert!(ok, "{err}");
    assert!(out.contains("agency") && out.contains("minted"), "{out}");
    let (ok, out, err) = run(
        &[
            "api",
            "get-contacts",
            "--location",
            &location,
            "--param",
            "limit=2",
            "--ghl-base-url",
            &sb.base,
        ],
        d,
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["contacts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
