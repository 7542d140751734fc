//! The API's live event stream (`/api/v1/events`): the workspace's changes and messages as
//! server-sent events with JSON data, resumable with `Last-Event-ID`, and ended when its
//! token stops holding — on the next event, or by the periodic check when nothing happens.

mod common;

use std::time::Duration;

use common::*;
use drivechat::Config;
use futures::StreamExt as _;
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};

on_both_backends!(
    stream_refusals_say_why,
    stream_sends_changes_and_messages_of_its_workspace,
    stream_resumes_after_last_event_id,
    stream_ends_on_the_next_event_once_the_token_is_deleted,
    stream_replay_is_bounded,
);

/// The periodic check is set far off here, so a stream that ends did so on its event.
pub fn config() -> Config {
    Config {
        api_stream_recheck: Duration::from_secs(600),
        ..Config::default()
    }
}

/// With nothing happening, the periodic check ends the stream.
mod quiet {
    use super::*;

    pub fn config() -> Config {
        Config {
            api_stream_recheck: Duration::from_millis(300),
            ..Config::default()
        }
    }

    testkit::on_both_backends!(crate::common::run, super::config() =>
        stream_ends_within_the_recheck_once_the_token_is_deleted);

    async fn stream_ends_within_the_recheck_once_the_token_is_deleted(env: Env) {
        let t = token(&env, ALICE, A).await;
        let mut s = Events::open(&env, &t, None).await;
        s.expect("ready").await;
        env.exec("DELETE FROM chat_api_tokens").await;
        let end = s.expect("end").await;
        assert!(
            end.data["reason"]
                .as_str()
                .unwrap()
                .contains("revoked or deleted"),
            "{}",
            end.data
        );
        assert!(s.next().await.is_none(), "the stream closes after `end`");
        let r = reqwest::Client::new()
            .get(env.at("/api/v1/events"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
}

async fn token(env: &Env, email: &str, loc: &str) -> String {
    drivechat::admin::create_api_token(&env.store, email, loc)
        .await
        .expect("token")
        .expose_secret()
        .to_string()
}

#[derive(Debug)]
struct Ev {
    name: String,
    id: Option<String>,
    data: Value,
}

/// A server-sent-events reader over a streamed response.
struct Events {
    body: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buf: String,
}

impl Events {
    async fn open(env: &Env, token: &str, last: Option<&str>) -> Events {
        let mut req = reqwest::Client::new()
            .get(env.at("/api/v1/events"))
            .bearer_auth(token);
        if let Some(id) = last {
            req = req.header("last-event-id", id);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        Events {
            body: r.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next event (comment lines skipped); `None` once the stream has ended. Fails
    /// after 10 s of silence.
    async fn next(&mut self) -> Option<Ev> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut name, mut id, mut data) = (String::from("message"), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                let data = serde_json::from_str(&data).expect("event data is JSON");
                return Some(Ev { name, id, data });
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("an event within 10 s");
            match chunk {
                Some(Ok(b)) => self.buf.push_str(&String::from_utf8_lossy(&b)),
                Some(Err(_)) | None => return None,
            }
        }
    }

    async fn expect(&mut self, name: &str) -> Ev {
        let ev = self.next().await.expect("the stream goes on");
        assert_eq!(ev.name, name, "{ev:?}");
        assert!(ev.id.is_some(), "every event has an id: {ev:?}");
        ev
    }
}

async fn stream_refusals_say_why(env: Env) {
    let c = reqwest::Client::new();
    let r = c.get(env.at("/api/v1/events")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "send an API token as `Authorization: Bearer dct_...`; create one with `drivesync \
         tokens create` or on the Settings page"
    );
    let t = token(&env, ALICE, A).await;
    let r = c
        .get(env.at("/api/v1/events"))
        .bearer_auth(&t)
        .header("last-event-id", "42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "Last-Event-ID must be the id of an event this stream sent (like c120.m45), not \"42\"; \
         reconnect without it to start from now"
    );
}

async fn stream_sends_changes_and_messages_of_its_workspace(env: Env) {
    let t = token(&env, ALICE, A).await;
    let mut s = Events::open(&env, &t, None).await;
    let ready = s.expect("ready").await;
    assert_eq!(ready.data, json!({"workspace": A, "replayed": 0}));
    // B's change is not A's business; A's change arrives as the feed lists it.
    env.put(
        contact(B, "cb", "Bea", "Other", &[]),
        &[change("created", "Contact of B")],
    )
    .await;
    env.put(
        contact(A, "c1", "Ann", "Smith", &[]),
        &[change("created", "Contact 'Ann Smith' created")],
    )
    .await;
    let ev = s.expect("change").await;
    assert_eq!(ev.data["summary"], "Contact 'Ann Smith' created");
    assert_eq!(ev.data["kind"], "contact");
    assert_eq!(ev.data["record_id"], "c1");
    assert_eq!(ev.data["contact_id"], "c1");
    let at = ev.data["at"].as_str().unwrap();
    assert!(chrono_like(at), "{at}");
    let change_id = ev.data["id"].as_i64().unwrap();
    assert!(ev.id.unwrap().starts_with(&format!("c{change_id}.m")));
    // A message posted through the API arrives too.
    let r = reqwest::Client::new()
        .post(env.at("/api/v1/messages"))
        .bearer_auth(&t)
        .json(&json!({"body": "Roof leak at Ann's", "channel": "alerts"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let ev = s.expect("message").await;
    assert_eq!(ev.data["body"], "Roof leak at Ann's");
    assert_eq!(ev.data["channel"], "alerts");
    assert_eq!(ev.data["author"], "Alice Archer");
    assert!(ev.id.unwrap().ends_with(&format!(".m{}", ev.data["id"])));
}

fn chrono_like(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z')
}

async fn stream_resumes_after_last_event_id(env: Env) {
    let t = token(&env, ALICE, A).await;
    let mut s = Events::open(&env, &t, None).await;
    s.expect("ready").await;
    env.put(
        contact(A, "c1", "Ann", "Smith", &[]),
        &[change("created", "first")],
    )
    .await;
    let last = s.expect("change").await.id.unwrap();
    drop(s);
    // Missed while disconnected: a change and a message of A, and a change of B.
    env.put(
        contact(A, "c2", "Ben", "Smith", &[]),
        &[change("created", "second")],
    )
    .await;
    env.put(
        contact(B, "cb", "Bea", "Other", &[]),
        &[change("created", "of B")],
    )
    .await;
    env.store
        .post_message(&store::chat::NewMessage {
            location_id: A.into(),
            channel: store::Channel::General,
            author_id: None,
            author_name: "Rule: overdue tasks".into(),
            body: "third".into(),
            idempotency_key: None,
        })
        .await
        .unwrap();
    let mut s = Events::open(&env, &t, Some(&last)).await;
    let second = s.expect("change").await;
    assert_eq!(second.data["summary"], "second");
    let third = s.expect("message").await;
    assert_eq!(third.data["body"], "third");
    let ready = s.expect("ready").await;
    assert_eq!(ready.data["replayed"], 2);
    assert_eq!(ready.id, third.id, "ready carries the position reached");
    // And it goes on live, without repeating what it replayed.
    env.put(
        contact(A, "c3", "Cy", "Smith", &[]),
        &[change("created", "fourth")],
    )
    .await;
    assert_eq!(s.expect("change").await.data["summary"], "fourth");
    // Resuming from the newest id replays nothing.
    let mut again = Events::open(&env, &t, ready.id.as_deref()).await;
    let first = again.expect("change").await;
    assert_eq!(first.data["summary"], "fourth", "only what came after");
    assert_eq!(again.expect("ready").await.data["replayed"], 1);
}

async fn stream_ends_on_the_next_event_once_the_token_is_deleted(env: Env) {
    let t = token(&env, ALICE, A).await;
    let other = token(&env, ALICE, A).await;
    let mut s = Events::open(&env, &t, None).await;
    let mut kept = Events::open(&env, &other, None).await;
    s.expect("ready").await;
    kept.expect("ready").await;
    // Only `t` goes: `other` (the same member's second token) keeps its stream.
    env.exec(&format!(
        "DELETE FROM chat_api_tokens WHERE token_hash <> '{}'",
        token_hash(&other)
    ))
    .await;
    env.put(
        contact(A, "c1", "Ann", "Smith", &[]),
        &[change("created", "after the token went")],
    )
    .await;
    let end = s.expect("end").await;
    assert!(
        end.data["reason"]
            .as_str()
            .unwrap()
            .contains("revoked or deleted"),
        "{}",
        end.data
    );
    assert!(s.next().await.is_none(), "the stream closes after `end`");
    assert_eq!(
        kept.expect("change").await.data["summary"],
        "after the token went"
    );
}

/// How the store keys an API token (SHA-256, hex), to delete one row by hand.
fn token_hash(token: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// More missed than the stream replays (500 of each kind): the first 500, then `resync` (the
/// client reloads), then on live from the newest — never a replay without end.
async fn stream_replay_is_bounded(env: Env) {
    let t = token(&env, ALICE, A).await;
    let mut s = Events::open(&env, &t, None).await;
    let last = s.expect("ready").await.id.unwrap();
    drop(s);
    for n in 0..501 {
        env.store
            .post_message(&store::chat::NewMessage {
                location_id: A.into(),
                channel: store::Channel::General,
                author_id: None,
                author_name: "Rule".into(),
                body: format!("missed {n}"),
                idempotency_key: None,
            })
            .await
            .unwrap();
    }
    let mut s = Events::open(&env, &t, Some(&last)).await;
    for n in 0..500 {
        assert_eq!(
            s.expect("message").await.data["body"],
            format!("missed {n}")
        );
    }
    let resync = s.expect("resync").await;
    assert_eq!(
        resync.data["reason"],
        "more than 500 events were missed; reload what you show"
    );
    let ready = s.expect("ready").await;
    assert_eq!(ready.data["replayed"], 500);
    assert_eq!(ready.id, resync.id, "resumes from the newest");
    env.put(
        contact(A, "c1", "Ann", "Smith", &[]),
        &[change("created", "live again")],
    )
    .await;
    assert_eq!(s.expect("change").await.data["summary"], "live again");
}
