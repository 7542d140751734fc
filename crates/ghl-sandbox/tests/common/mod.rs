//! Shared test helpers: a real sandbox on an OS-chosen loopback port, HTTP clients with
//! tokens, a webhook receiver, and HighLevel's own files from `shared/ghl/`.
#![allow(dead_code)]

use ghl_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

pub const VERSION: &str = "2021-07-28";

#[allow(unused_imports)] // not every test binary reads the reference files
pub use testkit::reference::{ghl_dir, read_json};

pub fn config() -> SandboxConfig {
    SandboxConfig {
        locations: 3,
        contacts_per_location: 40,
        seed: 7,
        ..testkit::sandbox::config(testkit::key_dir!())
    }
}

pub struct TestSandbox {
    pub running: RunningSandbox,
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn start() -> TestSandbox {
    start_with(config()).await
}

pub async fn start_with(config: SandboxConfig) -> TestSandbox {
    let running = testkit::sandbox::start(config).await;
    let base = running.base_url();
    TestSandbox {
        running,
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

impl TestSandbox {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn location_ids(&self) -> Vec<String> {
        self.running
            .sandbox
            .read(|w| w.locations.keys().map(|k| k.to_string()).collect())
    }

    pub async fn admin(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "admin {path} answered {}",
            r.status()
        );
        r.json().await.unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A Private Integration Token for `location` with `scopes` (all when `None`).
    pub async fn pit(&self, location: &str, scopes: Option<&[&str]>) -> String {
        let mut body = json!({ "locationId": location });
        if let Some(s) = scopes {
            body["scopes"] = json!(s);
        }
        self.admin("/_sandbox/pit", body).await["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A request with `Version` and a bearer, as HighLevel expects.
    pub fn api(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("Version", VERSION)
            .bearer_auth(token)
    }

    /// Sends and returns (status, headers, JSON body).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.api(method, path, token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, v)
    }

    /// The first contact of a location, by the sandbox's own data.
    pub fn some_contact(&self, location: &str) -> String {
        self.running.sandbox.read(|w| {
            let l = w.location(location).unwrap();
            l.by_added.iter().next().unwrap().1.to_string()
        })
    }
}

/// A webhook receiver on an OS-chosen port that records every request and answers with the
/// statuses it is told (then 200).
#[derive(Clone, Default)]
pub struct Receiver {
    pub received: Arc<Mutex<Vec<Delivery>>>,
    pub script: Arc<Mutex<Vec<u16>>>,
}

#[derive(Clone, Debug)]
pub struct Delivery {
    pub body: bytes::Bytes,
    pub ghl_signature: Option<String>,
    pub wh_signature: Option<String>,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

impl Receiver {
    pub async fn start() -> (Receiver, String) {
        use axum::routing::post;
        let rx = Receiver::default();
        let state = rx.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: axum::http::HeaderMap, body: bytes::Bytes| {
                let state = state.clone();
                async move {
                    let h = |k: &str| {
                        headers
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    state.received.lock().unwrap().push(Delivery {
                        body,
                        ghl_signature: h("x-ghl-signature"),
                        wh_signature: h("x-wh-signature"),
                    });
                    let status = {
                        let mut s = state.script.lock().unwrap();
                        if s.is_empty() {
                            200
                        } else {
                            s.remove(0)
                        }
                    };
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let url = format!("{}/hook", testkit::serve(app).await.url);
        (rx, url)
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (bounded) until at least `n` deliveries arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        for _ in 0..200 {
            let d = self.deliveries();
            if d.len() >= n {
                return d;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        self.deliveries()
    }
}
