//! The HighLevel sandbox for tests: started in this process on a loopback port the OS picks,
//! or as `drivesync sandbox` (or `demo`) in another process, and the control routes a test
//! uses to find its locations and mint tokens.

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use ghl_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::{json, Value};

/// The directory of the sandbox's webhook signing keys shared by a crate's tests and
/// benchmarks: under the target's temporary directory (`CARGO_TARGET_TMPDIR`, known only
/// while a test or benchmark is compiled, hence a macro), so the slow RSA key is made once
/// per target directory. `key_dir!("stranger")` names another set.
#[macro_export]
macro_rules! key_dir {
    () => {
        $crate::sandbox::keys_under(::std::env!("CARGO_TARGET_TMPDIR"), "sandbox-keys")
    };
    ($name:expr) => {
        $crate::sandbox::keys_under(
            ::std::env!("CARGO_TARGET_TMPDIR"),
            &::std::format!("sandbox-keys-{}", $name),
        )
    };
}

/// `tmp/name`: see [`key_dir!`](crate::key_dir).
pub fn keys_under(tmp: &str, name: &str) -> PathBuf {
    Path::new(tmp).join(name)
}

/// A sandbox configuration for tests: a loopback port the OS picks, keys from `key_dir`, the
/// rest as [`SandboxConfig::default`]. Tests override what they count on:
/// `SandboxConfig { locations: 2, seed: 11, ..testkit::sandbox::config(testkit::key_dir!()) }`.
pub fn config(key_dir: PathBuf) -> SandboxConfig {
    SandboxConfig {
        addr: ([127, 0, 0, 1], 0).into(),
        key_dir,
        ..SandboxConfig::default()
    }
}

/// Starts the sandbox in this process.
pub async fn start(config: SandboxConfig) -> RunningSandbox {
    ensure_keys(&config.key_dir);
    ghl_sandbox::start(config)
        .await
        .expect("the sandbox starts")
}

/// Creates the keys of `dir` once per process before any sandbox uses them, so sandboxes
/// started at once by parallel tests do not all generate an RSA key.
fn ensure_keys(dir: &Path) {
    static DONE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if done
        .get_or_insert_with(HashSet::new)
        .insert(dir.to_path_buf())
    {
        ghl_sandbox::Signer::load_or_create(dir).expect("sandbox signing keys");
    }
}

/// The ids of the sandbox's locations, in the order `/_sandbox/locations` lists them.
pub async fn location_ids(http: &reqwest::Client, base: &str) -> Vec<String> {
    let v: Value = http
        .get(format!("{base}/_sandbox/locations"))
        .send()
        .await
        .expect("GET /_sandbox/locations")
        .json()
        .await
        .expect("the locations as JSON");
    v["locations"]
        .as_array()
        .expect("a list of locations")
        .iter()
        .map(|l| l["id"].as_str().expect("a location id").to_string())
        .collect()
}

/// A Private Integration Token minted by the sandbox, and the scopes it carries.
pub struct Pit {
    pub token: String,
    pub scopes: Vec<String>,
}

/// Mints a Private Integration Token for `location` through `/_sandbox/pit`, with `scopes`
/// (`None`: every scope the sandbox has).
pub async fn mint_pit(
    http: &reqwest::Client,
    base: &str,
    location: &str,
    scopes: Option<&[&str]>,
) -> Pit {
    let mut ask = json!({ "locationId": location });
    if let Some(s) = scopes {
        ask["scopes"] = json!(s);
    }
    let r = http
        .post(format!("{base}/_sandbox/pit"))
        .json(&ask)
        .send()
        .await
        .expect("POST /_sandbox/pit");
    assert!(r.status().is_success(), "minting a PIT: {}", r.status());
    let v: Value = r.json().await.expect("the PIT as JSON");
    Pit {
        token: v["token"].as_str().expect("a token").to_string(),
        scopes: v["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    }
}

/// `drivesync sandbox` (or `drivesync demo`) in another process, killed when dropped.
pub struct SandboxProcess {
    child: Child,
    /// The sandbox's base URL, from its "listening on" line.
    pub base: String,
    /// What it printed up to and including its `admin:` line.
    pub banner: Vec<String>,
}

impl SandboxProcess {
    /// Spawns `command` (its stdout is taken over) and waits, up to a minute, for the banner
    /// that ends with the `admin:` line.
    pub fn spawn(mut command: Command) -> SandboxProcess {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("drivesync starts");
        let stdout = child.stdout.take().expect("the child's stdout");
        let (tx, rx) = mpsc::channel();
        // Keep draining stdout after the banner: a closed pipe would fail the process's
        // later prints.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut banner = Vec::new();
        let mut base = None;
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                base = Some(rest.trim().to_string());
            }
            let done = line.contains("admin:");
            banner.push(line);
            if done {
                break;
            }
        }
        let base = base.unwrap_or_else(|| panic!("no 'listening on' line; got {banner:?}"));
        SandboxProcess {
            child,
            base,
            banner,
        }
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
