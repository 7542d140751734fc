//! The settings as a user gives them, against the built binary and the HighLevel sandbox on
//! OS-picked ports: `connect` and `api` read the config file's `[highlevel]` like every other
//! command, and a setting given three ways is taken from the flag over the `DRIVESYNC_*`
//! variable over the file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ghl_sandbox::RunningSandbox;
use serde_json::Value;

/// Every variable that would set what these tests set, so the caller's environment cannot.
const SETTINGS_VARS: &[&str] = &[
    "DRIVESYNC_CONFIG",
    "DRIVESYNC_DATA_DIR",
    "DRIVESYNC_DATABASE_URL",
    "DRIVESYNC_GHL_BASE_URL",
    "DRIVESYNC_GHL_AUTHORIZE_URL",
    "DRIVESYNC_CLIENT_ID",
    "DRIVESYNC_CLIENT_SECRET",
    "DRIVESYNC_REDIRECT_URI",
    "DRIVESYNC_MASTER_KEY",
];

/// `drivesync ARGS --config CONFIG --data-dir DATA`.
fn bin(args: &[&str], config: &Path, data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_drivesync"));
    for v in SETTINGS_VARS {
        c.env_remove(v);
    }
    c.args(args)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs a command to its end off the runtime's threads (the sandboxes serve on them).
async fn run(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().expect("drivesync runs"))
        .await
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn sandbox(redirect: &str) -> RunningSandbox {
    let mut cfg = ghl_sandbox::SandboxConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        locations: 1,
        contacts_per_location: 3,
        key_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sandbox-keys"),
        ..Default::default()
    };
    cfg.app.redirect_uris = vec![redirect.to_string()];
    ghl_sandbox::start(cfg).await.expect("the sandbox starts")
}

/// The sandbox's location, and a Private Integration Token for it.
fn location_and_pit(sb: &RunningSandbox) -> (String, String) {
    let (loc, company) = sb.sandbox.read(|w| {
        (
            w.locations.keys().next().expect("a location").to_string(),
            w.company_id.to_string(),
        )
    });
    let pit = sb
        .sandbox
        .auth
        .lock()
        .mint_pit(&loc, &company, vec!["contacts.readonly".into()]);
    (loc, pit)
}

/// API requests the sandbox has answered for `location`.
fn requests(sb: &RunningSandbox, location: &str) -> usize {
    sb.sandbox.counters.requests_for(Some(location), 0).len()
}

fn write_config(path: &Path, highlevel: &str) {
    std::fs::write(path, format!("[highlevel]\n{highlevel}")).unwrap();
}

/// A user who set `highlevel.api_base` (and the app) in the file and nothing else: `connect`,
/// with a token or through the install flow, and `api` call the configured HighLevel, not
/// HighLevel's production URL.
#[tokio::test(flavor = "multi_thread")]
async fn connect_and_api_read_the_config_files_highlevel() {
    let redirect = format!("http://127.0.0.1:{}/oauth/callback", free_port());
    let sb = sandbox(&redirect).await;
    let base = sb.base_url();
    let app = sb.sandbox.config.app.clone();
    let (location, pit) = location_and_pit(&sb);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("drivesync.toml");
    write_config(
        &config,
        &format!(
            "api_base = \"{base}\"\nauthorize_url = \"{base}\"\nclient_id = \"{}\"\n",
            app.client_id
        ),
    );

    // A Private Integration Token is checked against the configured HighLevel.
    let data = dir.path().join("pit");
    let c = bin(
        &["connect", "--token", &pit, "--location", &location],
        &config,
        &data,
    );
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "Connected location {location} with a Private Integration Token."
        )),
        "{}",
        text(&out)
    );

    let before = requests(&sb, &location);
    let c = bin(
        &["api", "get-contacts", "--param", "limit=1"],
        &config,
        &data,
    );
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["contacts"].as_array().map(Vec::len), Some(1));
    assert_eq!(requests(&sb, &location), before + 1, "the sandbox answered");

    // The install flow: the page is the configured authorize_url's, for the configured app,
    // and the code is exchanged at the configured api_base.
    let data = dir.path().join("oauth");
    let mut c = bin(
        &["connect", "--no-browser", "--redirect-uri", &redirect],
        &config,
        &data,
    );
    c.env("DRIVESYNC_CLIENT_SECRET", &app.client_secret);
    let mut connect = c.spawn().unwrap();
    let stdout = connect.stdout.take().unwrap();
    let (url, rest) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let url = lines.find(|l| l.starts_with("http"));
        (url, lines)
    })
    .await
    .unwrap();
    let url = url.expect("connect prints the install URL");
    assert!(
        url.starts_with(&format!("{base}/oauth/chooselocation?")),
        "{url}"
    );
    assert!(
        url.contains(&format!("client_id={}", app.client_id)),
        "{url}"
    );
    let page = reqwest::get(format!("{url}&location_id={location}&approve=1"))
        .await
        .unwrap();
    assert!(page.status().is_success());
    let (status, printed) = tokio::task::spawn_blocking(move || {
        let printed: Vec<String> = rest.collect();
        (connect.wait().unwrap(), printed.join("\n"))
    })
    .await
    .unwrap();
    assert!(status.success(), "{printed}");
    assert!(
        printed.contains(&format!("Connected location {location}.")),
        "{printed}"
    );
    sb.shutdown().await;
}

/// `highlevel.api_base` given in the file, in `DRIVESYNC_GHL_BASE_URL` and as
/// `--ghl-base-url`: the flag wins over the variable, which wins over the file. The right
/// HighLevel is a sandbox that knows the token; the wrong one is another sandbox, which
/// refuses it.
#[tokio::test(flavor = "multi_thread")]
async fn a_flag_wins_over_the_environment_which_wins_over_the_file() {
    let right = sandbox("http://127.0.0.1:9/cb").await;
    let wrong = sandbox("http://127.0.0.1:9/cb").await;
    let (location, pit) = location_and_pit(&right);
    let (good, bad) = (right.base_url(), wrong.base_url());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("drivesync.toml");

    // (file, variable, flag) → whether the right sandbox answered.
    let cases: [(&str, Option<&str>, Option<&str>, bool); 5] = [
        (&good, None, None, true),
        (&bad, Some(&good), None, true),
        (&good, Some(&bad), None, false),
        (&bad, Some(&bad), Some(&good), true),
        (&good, Some(&good), Some(&bad), false),
    ];
    for (i, (file, var, flag, answered)) in cases.into_iter().enumerate() {
        // A store of its own: a token the wrong HighLevel refused marks its location for
        // reconnection.
        let data = dir.path().join(format!("case-{i}"));
        let c = bin(
            &[
                "connect",
                "--token",
                &pit,
                "--location",
                &location,
                "--ghl-base-url",
                &good,
            ],
            &config,
            &data,
        );
        let out = run(c).await;
        assert!(out.status.success(), "{}", text(&out));

        write_config(&config, &format!("api_base = \"{file}\"\n"));
        let mut args = vec!["api", "get-contacts", "--param", "limit=1"];
        args.extend(flag.iter().flat_map(|f| ["--ghl-base-url", f]));
        let mut c = bin(&args, &config, &data);
        if let Some(v) = var {
            c.env("DRIVESYNC_GHL_BASE_URL", v);
        }
        let before = requests(&right, &location);
        let out = run(c).await;
        let case = format!("file {file}, variable {var:?}, flag {flag:?}");
        assert_eq!(out.status.success(), answered, "{case}: {}", text(&out));
        assert_eq!(
            requests(&right, &location),
            before + usize::from(answered),
            "{case}: {}",
            text(&out)
        );
    }
    right.shutdown().await;
    wrong.shutdown().await;
}
