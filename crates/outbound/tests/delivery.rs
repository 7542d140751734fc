//! The sender against a real HTTP receiver on an OS-picked port: what arrives, signed as the
//! Standard Webhooks spec says (checked here with HMAC computed independently of the crate),
//! retried on 5xx and timeouts with the same id, not retried on 4xx.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use outbound::{BodyFormat, Event, OutboundError, Sender, SenderConfig, WebhookSecret};
use secrecy::ExposeSecret;
use tokio::sync::Mutex;

#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Default)]
struct Receiver {
    got: Mutex<Vec<Received>>,
    /// Statuses to answer, in order; 200 once they run out.
    answers: Mutex<Vec<u16>>,
    delay: Mutex<Option<Duration>>,
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    r.got.lock().await.push(Received {
        headers,
        body: body.to_vec(),
    });
    if let Some(d) = *r.delay.lock().await {
        tokio::time::sleep(d).await;
    }
    let mut a = r.answers.lock().await;
    let status = if a.is_empty() { 200 } else { a.remove(0) };
    StatusCode::from_u16(status).unwrap()
}

async fn receiver() -> (Arc<Receiver>, url::Url) {
    let r = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route("/hook/secret-path", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        r,
        format!("http://{addr}/hook/secret-path").parse().unwrap(),
    )
}

/// The signature a Standard Webhooks receiver computes: HMAC-SHA256 of `id.timestamp.body`
/// under the base64-decoded part of `whsec_…`.
fn expected_signature(whsec: &str, r: &Received) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(whsec.strip_prefix("whsec_").unwrap())
        .unwrap();
    let h = |k: &str| r.headers[k].to_str().unwrap().to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", h("webhook-id"), h("webhook-timestamp")).as_bytes());
    mac.update(&r.body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

fn config(url: url::Url, secret: Option<WebhookSecret>, format: BodyFormat) -> SenderConfig {
    SenderConfig {
        timeout: Duration::from_millis(500),
        attempts: 3,
        backoff: Duration::from_millis(20),
        ..SenderConfig::new(url, secret, format)
    }
}

fn event() -> Event {
    Event::new(
        "alert.opened",
        "Location L1 must be reconnected",
        serde_json::json!({ "rule": "needs_reauth", "location": "L1" }),
    )
}

#[tokio::test]
async fn a_standard_webhook_is_signed_as_the_spec_says() {
    let (r, url) = receiver().await;
    let secret = WebhookSecret::generate();
    let whsec = secret.to_whsec().expose_secret().to_string();
    let sender = Sender::new(config(url, Some(secret), BodyFormat::Standard)).unwrap();
    let id = sender.send(&event()).await.unwrap();
    let got = r.got.lock().await.clone();
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert_eq!(g.headers["webhook-id"].to_str().unwrap(), id);
    assert!(id.starts_with("msg_"), "{id}");
    let ts: i64 = g.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 5);
    assert_eq!(
        g.headers["webhook-signature"].to_str().unwrap(),
        expected_signature(&whsec, g)
    );
    let body: serde_json::Value = serde_json::from_slice(&g.body).unwrap();
    assert_eq!(body["type"], "alert.opened");
    assert_eq!(body["data"]["rule"], "needs_reauth");
    assert_eq!(body["data"]["text"], "Location L1 must be reconnected");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    // And the crate's own verifier agrees with the independent one.
    let again = WebhookSecret::parse(&whsec).unwrap();
    outbound::sign::verify(
        &again,
        &id,
        ts,
        &g.body,
        g.headers["webhook-signature"].to_str().unwrap(),
        chrono::Utc::now().timestamp(),
        300,
    )
    .unwrap();
    assert_eq!(sender.stats().delivered, 1);
}

#[tokio::test]
async fn a_slack_body_is_just_the_text() {
    let (r, url) = receiver().await;
    let sender = Sender::new(config(url, None, BodyFormat::Slack)).unwrap();
    sender.send(&event()).await.unwrap();
    let got = r.got.lock().await.clone();
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "text": "Location L1 must be reconnected" })
    );
    assert!(got[0].headers.get("webhook-signature").is_none());
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_id_and_a_fresh_signature() {
    let (r, url) = receiver().await;
    *r.answers.lock().await = vec![503, 500];
    let secret = WebhookSecret::generate();
    let whsec = secret.to_whsec().expose_secret().to_string();
    let sender = Sender::new(config(url, Some(secret), BodyFormat::Standard)).unwrap();
    let id = sender.send(&event()).await.unwrap();
    let got = r.got.lock().await.clone();
    assert_eq!(got.len(), 3);
    for g in &got {
        assert_eq!(g.headers["webhook-id"].to_str().unwrap(), id);
        assert_eq!(
            g.headers["webhook-signature"].to_str().unwrap(),
            expected_signature(&whsec, g)
        );
    }
    let s = sender.stats();
    assert_eq!((s.delivered, s.failed_attempts, s.given_up), (1, 2, 0));
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_a_hang_times_out() {
    let (r, url) = receiver().await;
    *r.answers.lock().await = vec![401];
    let sender = Sender::new(config(url.clone(), None, BodyFormat::Standard)).unwrap();
    let e = sender.send(&event()).await.unwrap_err();
    assert!(
        matches!(e, OutboundError::Refused { status: 401, .. }),
        "{e}"
    );
    assert_eq!(r.got.lock().await.len(), 1);
    // The error names the receiver's origin, never its path (Slack's carry a secret).
    assert!(!e.to_string().contains("secret-path"), "{e}");
    assert!(e.to_string().contains("check the webhook URL"), "{e}");

    *r.delay.lock().await = Some(Duration::from_secs(2));
    let started = std::time::Instant::now();
    let e = sender.send(&event()).await.unwrap_err();
    assert!(
        matches!(e, OutboundError::GaveUp { attempts: 3, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(!e.to_string().contains("secret-path"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let s = sender.stats();
    assert_eq!((s.delivered, s.given_up), (0, 2));
    assert_eq!(s.failed_attempts, 4);
}
