//! What the browser test drives: `drivesync demo` as a child process, headless Chromium
//! through chromedriver (WebDriver, via fantoccini), and the sandbox's HighLevel API with a
//! Private Integration Token, for checking and making changes on HighLevel's side.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// Set to `1` (as CI does) to fail instead of skipping when Chromium is not installed.
pub const REQUIRE_ENV: &str = "DRIVESYNC_REQUIRE_BROWSER";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_drivesync")
}

/// `target/`: screenshots and logs stay there after the test for a look.
pub fn target_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map_or(tmp.clone(), Path::to_path_buf)
}

/// The first of `names` found on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Chromium and its driver, or `None` after a skip notice. With [`REQUIRE_ENV`] set, a
/// missing browser fails the test instead: CI must not pass by running nothing.
pub fn find_browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = on_path(&["chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        (c, d) => {
            let missing: Vec<&str> = [("chromium", c.is_none()), ("chromedriver", d.is_none())]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| *n)
                .collect();
            let what = format!(
                "{} not found on PATH; install Debian's packages: \
                 apt-get install -y chromium chromium-driver",
                missing.join(" and ")
            );
            if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
                panic!("{REQUIRE_ENV}=1 but {what}");
            }
            eprintln!("skipping the browser test: {what} (set {REQUIRE_ENV}=1 to fail instead)");
            None
        }
    }
}

/// Polls `probe` every 100 ms until it answers `Ok`, failing the test at the deadline with
/// `what` and the last thing the probe saw.
pub async fn until<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        let last = match probe().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            panic!("timed out after {within:?} waiting for {what}; last seen: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `drivesync demo` running as a child process on ports of its own, its output in files
/// under `target/browser/`.
pub struct Demo {
    pub url: String,
    pub sandbox: String,
    pub data_dir: tempfile::TempDir,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    child: Child,
}

impl Demo {
    /// `name` tells this demo's logs from those of another test running alongside.
    pub async fn start(name: &str, extra: &[&str]) -> Demo {
        let logs = target_dir().join("browser");
        std::fs::create_dir_all(&logs).expect("target/browser can be created");
        let data_dir = tempfile::tempdir().expect("a temporary directory");
        let (port, sandbox_port) = (testkit::free_port(), testkit::free_port());
        let stdout = logs.join(format!("{name}.demo.stdout.log"));
        let stderr = logs.join(format!("{name}.demo.stderr.log"));
        let child = hermetic(data_dir.path())
            .arg("demo")
            .arg("--no-browser")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--sandbox-addr")
            .arg(format!("127.0.0.1:{sandbox_port}"))
            .arg("--data-dir")
            .arg(data_dir.path())
            .args(extra)
            .stdout(std::fs::File::create(&stdout).expect("demo stdout log"))
            .stderr(std::fs::File::create(&stderr).expect("demo stderr log"))
            .kill_on_drop(true)
            .spawn()
            .expect("drivesync demo starts");
        Demo {
            url: format!("http://127.0.0.1:{port}"),
            sandbox: format!("http://127.0.0.1:{sandbox_port}"),
            data_dir,
            stdout,
            stderr,
            child,
        }
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Waits for the line saying Drive Chat is up, failing early if the demo exits.
    pub async fn ready(&mut self, within: Duration) -> String {
        let line = format!("Drive Chat is ready: {}/", self.url);
        let deadline = Instant::now() + within;
        loop {
            let out = self.output();
            if out.contains(&line) {
                return out;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "drivesync demo exited ({status}) before it was ready:\n{out}\n{}",
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "drivesync demo did not print {line:?} within {within:?}; it printed:\n{out}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What another drivesync command needs to work on this demo's data.
    pub fn target(&self) -> DemoTarget {
        DemoTarget {
            data_dir: self.data_dir.path().to_path_buf(),
            sandbox: self.sandbox.clone(),
        }
    }
}

/// The demo's data directory and sandbox, for running other commands against them.
#[derive(Clone)]
pub struct DemoTarget {
    pub data_dir: PathBuf,
    pub sandbox: String,
}

impl DemoTarget {
    /// Runs `drivesync ARGS --data-dir … --ghl-base-url …` while the demo runs.
    pub async fn drivesync(&self, args: &[&str]) -> std::process::Output {
        hermetic(&self.data_dir)
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--ghl-base-url")
            .arg(&self.sandbox)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .expect("drivesync runs")
    }
}

/// drivesync in `cwd`, with no setting of the developer's shell (a config file, a master key,
/// a database URL) leaking into it, quiet logs and plain output.
fn hermetic(cwd: &Path) -> Command {
    let mut c = Command::from(testkit::process::drivesync(bin()));
    c.current_dir(cwd)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

/// The sandbox: its control routes and its HighLevel API.
pub struct Sandbox {
    pub base: String,
    http: reqwest::Client,
}

impl Sandbox {
    pub fn new(base: &str) -> Sandbox {
        Sandbox {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// The sandbox's location ids, sorted.
    pub async fn location_ids(&self) -> Vec<String> {
        let mut ids = testkit::sandbox::location_ids(&self.http, &self.base).await;
        ids.sort();
        ids
    }

    /// A Private Integration Token for `location`; every scope when `scopes` is `None`.
    pub async fn pit(&self, location: &str, scopes: Option<&[&str]>) -> String {
        testkit::sandbox::mint_pit(&self.http, &self.base, location, scopes)
            .await
            .token
    }

    /// A HighLevel API call with `token`; the JSON answer, or the status and body as error.
    pub async fn api(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("Version", "2021-07-28");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = r.status();
        let text = r
            .text()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{method} {path}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))
    }
}

/// chromedriver on a port of its own, with the profile directory of its one session.
pub struct Driver {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Driver {
    /// Ends the session (and so Chromium), then chromedriver.
    pub async fn stop(mut self, page: Page) {
        let _ = page.c.close().await;
        let _ = self.child.kill().await;
    }
}

/// One headless Chromium session, showing pages of `base`.
#[derive(Clone)]
pub struct Page {
    pub c: Client,
    pub base: String,
    /// chromedriver's address, for what WebDriver's standard commands do not cover.
    webdriver: String,
}

/// Starts chromedriver and a headless Chromium session through it.
pub async fn start_browser(
    name: &str,
    chromium: &Path,
    chromedriver: &Path,
    base: &str,
) -> (Driver, Page) {
    let port = testkit::free_port();
    let logs = target_dir().join("browser");
    std::fs::create_dir_all(&logs).expect("target/browser can be created");
    let driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(
            std::fs::File::create(logs.join(format!("{name}.chromedriver.log")))
                .expect("driver log"),
        )
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let webdriver = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    until("chromedriver to answer", Duration::from_secs(20), || {
        let (http, url) = (http.clone(), format!("{webdriver}/status"));
        async move {
            let r = http.get(&url).send().await.map_err(|e| e.to_string())?;
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            match v["value"]["ready"].as_bool() {
                Some(true) => Ok(()),
                _ => Err(v.to_string()),
            }
        }
    })
    .await;
    // A profile of its own: nothing from another run (cookies, cache) changes this one.
    let profile = tempfile::tempdir().expect("a profile directory");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    // The console, readable through chromedriver's log endpoint (see Page::console): a
    // script or style the Content-Security-Policy blocked is reported there.
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&webdriver)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "no Chromium session through {} ({}): {e}",
                chromedriver.display(),
                chromium.display()
            )
        });
    watch_live_streams(&http, &webdriver, &c).await;
    (
        Driver {
            child: driver,
            _profile: profile,
        },
        Page {
            c,
            base: base.to_string(),
            webdriver,
        },
    )
}

/// Runs before any script of every page: counts the page's event streams that are open.
/// The page's stream belongs to app.js; the test must know it is open before it makes a
/// change in HighLevel, or the change could be sent out before the page listened.
const LIVE_HOOK: &str = r#"(() => {
  const Native = window.EventSource;
  if (!Native) return;
  window.__liveOpen = 0;
  window.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      let open = false;
      this.addEventListener("open", () => { if (!open) { open = true; window.__liveOpen += 1; } });
      this.addEventListener("error", () => { if (open) { open = false; window.__liveOpen -= 1; } });
    }
  };
})();"#;

/// Installs [`LIVE_HOOK`] through chromedriver's pass-through to the DevTools protocol.
async fn watch_live_streams(http: &reqwest::Client, webdriver: &str, c: &Client) {
    let session = c
        .session_id()
        .await
        .ok()
        .flatten()
        .expect("a WebDriver session id");
    let r = http
        .post(format!("{webdriver}/session/{session}/goog/cdp/execute"))
        .json(&json!({
            "cmd": "Page.addScriptToEvaluateOnNewDocument",
            "params": { "source": LIVE_HOOK },
        }))
        .send()
        .await
        .expect("chromedriver answers a DevTools command");
    assert!(
        r.status().is_success(),
        "chromedriver refused Page.addScriptToEvaluateOnNewDocument: {}",
        r.text().await.unwrap_or_default()
    );
}

impl Page {
    /// The browser console's messages since the last call (chromedriver's `se/log`).
    pub async fn console(&self) -> Vec<String> {
        let session = self
            .c
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("a WebDriver session id");
        let r: Value = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.webdriver))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a JSON log");
        r["value"]
            .as_array()
            .expect("log entries")
            .iter()
            .map(|e| format!("{} {}", e["level"], e["message"]))
            .collect()
    }

    /// Fails when the console reports anything the Content-Security-Policy blocked. A marker
    /// written to the console first must come back, so an unreadable log cannot pass.
    pub async fn assert_no_csp_violations(&self) {
        self.js(
            "console.error(arguments[0])",
            json!("console-readable-marker"),
        )
        .await
        .expect("a console message");
        let log = self.console().await;
        assert!(
            log.iter().any(|m| m.contains("console-readable-marker")),
            "the browser log is not readable: {log:#?}"
        );
        let blocked: Vec<&String> = log
            .iter()
            .filter(|m| m.contains("Content Security Policy") || m.contains("Refused to"))
            .collect();
        assert!(blocked.is_empty(), "the CSP blocked: {blocked:#?}");
    }

    /// Waits until the page's live stream is open.
    pub async fn wait_live(&self, within: Duration) {
        until("the page's live stream to open", within, || async move {
            let v = self.js("return window.__liveOpen;", Value::Null).await?;
            match v.as_i64() {
                Some(n) if n > 0 => Ok(()),
                _ => Err(format!("open streams: {v}")),
            }
        })
        .await
    }

    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.c
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The path of the page shown.
    pub async fn path(&self) -> String {
        self.c
            .current_url()
            .await
            .map(|u| u.path().to_string())
            .unwrap_or_default()
    }

    /// Runs `script` (which may read `arguments[0]`) in the page and returns its value.
    pub async fn js(&self, script: &str, arg: Value) -> Result<Value, String> {
        self.c
            .execute(script, vec![arg])
            .await
            .map_err(|e| e.to_string())
    }

    /// `textContent` of the first element matching `css` (hidden ones too, such as the rows
    /// of a closed `<details>`), `None` when nothing matches.
    pub async fn text(&self, css: &str) -> Result<Option<String>, String> {
        let v = self
            .js(
                "const e = document.querySelector(arguments[0]); \
                 return e ? e.textContent.replace(/\\s+/g, ' ').trim() : null;",
                json!(css),
            )
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    pub async fn attr(&self, css: &str, attr: &str) -> Result<Option<String>, String> {
        let v = self
            .js(
                "const [s, a] = arguments[0]; const e = document.querySelector(s); \
                 return e ? e.getAttribute(a) : null;",
                json!([css, attr]),
            )
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    pub async fn exists(&self, css: &str) -> Result<bool, String> {
        let v = self
            .js(
                "return document.querySelector(arguments[0]) !== null;",
                json!(css),
            )
            .await?;
        Ok(v.as_bool() == Some(true))
    }

    /// Waits for `css` to match.
    pub async fn wait_for(&self, css: &str, within: Duration) {
        until(&format!("{css} on {}", self.base), within, || async move {
            if self.exists(css).await? {
                Ok(())
            } else {
                Err(format!("not on {}", self.path().await))
            }
        })
        .await
    }

    /// Clicks `css` as a user would (a real WebDriver click), retrying while htmx is
    /// swapping the element out.
    pub async fn click(&self, css: &str, within: Duration) {
        until(&format!("a click on {css}"), within, || async move {
            let e = self
                .c
                .find(Locator::Css(css))
                .await
                .map_err(|e| e.to_string())?;
            e.click().await.map_err(|e| e.to_string())
        })
        .await
    }

    /// Picks the option with `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        let e = self
            .c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        e.select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
    }

    /// Waits until `css` matches nothing.
    pub async fn wait_gone(&self, css: &str, within: Duration) {
        until(&format!("{css} to go"), within, || async move {
            if self.exists(css).await? {
                Err("still there".into())
            } else {
                Ok(())
            }
        })
        .await
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self
            .c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        e.clear().await.unwrap_or_else(|e| panic!("{css}: {e}"));
        e.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
    }

    /// A PNG of the window, written to `target/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = target_dir().join("screenshots");
        std::fs::create_dir_all(&dir).expect("target/screenshots can be created");
        let png = self.c.screenshot().await.expect("a screenshot");
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot of {name} is not a PNG"
        );
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }
}
