//! Every class of failure becomes its typed `GhlError`, with HighLevel's traceId where there is
//! one, and retries happen exactly where they are safe.

mod common;

use async_trait::async_trait;
use chrono::Utc;
use common::{fast_config, scopes, start, ALL_SCOPES};
use ghl::models::NewTask;
use ghl::token::AccessToken;
use ghl::{GhlClient, GhlError, StaticTokens, TokenProvider};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn task(title: &str) -> NewTask {
    NewTask {
        title: title.into(),
        body: None,
        due_date: Utc::now() + chrono::Duration::days(1),
        completed: false,
        assigned_to: None,
    }
}

/// A client with one location's token and known (or unknown) scopes.
fn client_with(
    loc: &str,
    token: &str,
    known: Option<&[&str]>,
    config: ghl::ClientConfig,
) -> GhlClient {
    let tokens = StaticTokens::default();
    tokens.insert(
        loc,
        SecretString::from(token.to_string()),
        known.map(scopes),
    );
    GhlClient::new(config, Arc::new(tokens)).unwrap()
}

/// A trace id as the sandbox makes them (a UUID).
fn assert_trace(t: Option<&str>) {
    let t = t.expect("a traceId");
    assert_eq!(t.len(), 36, "{t}");
    assert_eq!(t.matches('-').count(), 4, "{t}");
}

fn statuses(reqs: &[Value]) -> Vec<u64> {
    reqs.iter().map(|r| r["status"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_missing_is_refused_before_sending_when_scopes_are_known() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let contact = env.contact_ids(&loc)[0].clone();
    let pit = env.pit(&loc, Some(&["contacts.readonly"])).await;
    let client = client_with(
        &loc,
        &pit,
        Some(&["contacts.readonly"]),
        fast_config(&env.base),
    );

    let err = client
        .location(&loc)
        .create_task(&contact, &task("Call"))
        .await
        .unwrap_err();
    match &err {
        GhlError::ScopeMissing {
            location,
            operation,
            scope,
        } => {
            assert_eq!(
                (location.as_str(), operation.as_str(), scope.as_str()),
                (loc.as_str(), "create-task", "contacts.write")
            );
        }
        e => panic!("expected ScopeMissing, got {e:?}"),
    }
    assert!(err.to_string().contains("`contacts.write`"), "{err}");
    assert!(
        env.requests(&loc).await.is_empty(),
        "nothing may reach HighLevel"
    );
    // A read the scopes allow goes through.
    client.location(&loc).get_contact(&contact).await.unwrap();
    assert_eq!(env.requests(&loc).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_missing_from_the_server_when_scopes_are_unknown() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let contact = env.contact_ids(&loc)[0].clone();
    let pit = env.pit(&loc, Some(&["contacts.readonly"])).await;
    let client = client_with(&loc, &pit, None, fast_config(&env.base));

    let err = client
        .location(&loc)
        .create_task(&contact, &task("Call"))
        .await
        .unwrap_err();
    match &err {
        GhlError::ScopeMissing {
            location,
            operation,
            scope,
        } => {
            assert_eq!(
                (location.as_str(), operation.as_str(), scope.as_str()),
                (loc.as_str(), "create-task", "contacts.write")
            );
        }
        e => panic!("expected ScopeMissing, got {e:?}"),
    }
    let reqs = env.requests(&loc).await;
    assert_eq!(
        statuses(&reqs),
        vec![401],
        "one request, refused, not retried: {reqs:?}"
    );
    assert_eq!(reqs[0]["route"], "/contacts/{contactId}/tasks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_for_unknown_ids_and_ids_of_another_location() {
    let env = start().await;
    let (a, b) = (env.locations[0].clone(), env.locations[1].clone());
    let client = env.fast_client();
    let err = client
        .location(&a)
        .get_contact("nosuchcontact0000000")
        .await
        .unwrap_err();
    match &err {
        GhlError::NotFound { what, trace_id } => {
            assert_eq!(what, "Contact not found");
            assert_trace(trace_id.as_deref());
        }
        e => panic!("expected NotFound, got {e:?}"),
    }
    assert!(err.to_string().contains(err.trace_id().unwrap()), "{err}");

    let of_b = env.contact_ids(&b)[0].clone();
    let err = client.location(&a).get_contact(&of_b).await.unwrap_err();
    assert!(
        matches!(&err, GhlError::NotFound { what, .. } if what == "Contact not found"),
        "{err:?}"
    );
    assert_trace(err.trace_id());
    let err = client.location(&a).tasks(&of_b).await.unwrap_err();
    assert!(matches!(err, GhlError::NotFound { .. }), "{err:?}");
    // Not retried: a 404 is an answer.
    assert_eq!(statuses(&env.requests(&a).await), vec![404, 404, 404]);
    // B's contact is untouched and B reads it.
    client.location(&b).get_contact(&of_b).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_carries_the_messages_array() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let contact = env.contact_ids(&loc)[0].clone();
    let client = env.fast_client();
    let err = client
        .location(&loc)
        .create_task(&contact, &task(""))
        .await
        .unwrap_err();
    match &err {
        GhlError::Validation {
            status,
            messages,
            trace_id,
        } => {
            assert_eq!(*status, 422);
            assert_eq!(messages, &vec!["title should not be empty".to_string()]);
            assert_trace(trace_id.as_deref());
        }
        e => panic!("expected Validation, got {e:?}"),
    }
    assert_eq!(statuses(&env.requests(&loc).await), vec![422]);
    // A 400 with a single message (a duplicate contact) is Validation too.
    let email = env.sandbox().read(|w| {
        w.location(&loc).unwrap().contacts[contact.as_str()]
            .email
            .clone()
            .unwrap()
            .to_string()
    });
    let err = client
        .location(&loc)
        .create_contact(&ghl::models::ContactInput {
            email: Some(email.to_string()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    match &err {
        GhlError::Validation {
            status, messages, ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(
                messages,
                &vec!["This location does not allow duplicated contacts.".to_string()]
            );
        }
        e => panic!("expected Validation, got {e:?}"),
    }
}

/// A provider whose refresh hands back the token that was just refused.
struct Stubborn {
    token: String,
    refreshes: AtomicU32,
}

#[async_trait]
impl TokenProvider for Stubborn {
    async fn token(&self, _location: &str) -> ghl::Result<AccessToken> {
        Ok(AccessToken {
            secret: SecretString::from(self.token.clone()),
            scopes: None,
            version: 1,
        })
    }
    async fn refresh(&self, _location: &str, rejected: &AccessToken) -> ghl::Result<AccessToken> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        Ok(rejected.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_after_a_refresh_that_does_not_help() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let provider = Arc::new(Stubborn {
        token: "sbx-at-not-a-real-token".into(),
        refreshes: AtomicU32::new(0),
    });
    let client = GhlClient::new(fast_config(&env.base), provider.clone()).unwrap();
    let err = client
        .location(&loc)
        .get_contact(&env.contact_ids(&loc)[0])
        .await
        .unwrap_err();
    match &err {
        GhlError::Unauthorized {
            location,
            message,
            trace_id,
        } => {
            assert_eq!(
                (location.as_str(), message.as_str()),
                (loc.as_str(), "Invalid JWT")
            );
            assert_trace(trace_id.as_deref());
        }
        e => panic!("expected Unauthorized, got {e:?}"),
    }
    assert_eq!(
        provider.refreshes.load(Ordering::SeqCst),
        1,
        "one refresh, then give up"
    );
    assert!(
        !err.to_string().contains("sbx-at-not-a-real-token"),
        "no token in errors: {err}"
    );
}

/// A provider that starts with a dead token and refreshes to a good one.
struct Healing {
    dead: String,
    good: String,
}

#[async_trait]
impl TokenProvider for Healing {
    async fn token(&self, _location: &str) -> ghl::Result<AccessToken> {
        Ok(AccessToken {
            secret: SecretString::from(self.dead.clone()),
            scopes: None,
            version: 1,
        })
    }
    async fn refresh(&self, _location: &str, _rejected: &AccessToken) -> ghl::Result<AccessToken> {
        Ok(AccessToken {
            secret: SecretString::from(self.good.clone()),
            scopes: None,
            version: 2,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_of_an_unknown_id_after_a_refresh_is_still_not_found() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let contact = env.contact_ids(&loc)[0].clone();
    let good = env.mint_pit(&loc, ALL_SCOPES);
    let provider = Arc::new(Healing {
        dead: "sbx-at-dead".into(),
        good,
    });
    let client = GhlClient::new(fast_config(&env.base), provider).unwrap();
    // The 401 before it proves the first attempt did nothing: the 404 is the answer.
    let err = client
        .location(&loc)
        .delete_task(&contact, "nosuchtask0000000000")
        .await
        .unwrap_err();
    assert!(matches!(err, GhlError::NotFound { .. }), "{err:?}");
    // And a real delete after a refresh reports success.
    let client = GhlClient::new(
        fast_config(&env.base),
        Arc::new(Healing {
            dead: "sbx-at-dead".into(),
            good: env.mint_pit(&loc, ALL_SCOPES),
        }),
    )
    .unwrap();
    let t = client
        .location(&loc)
        .create_task(&contact, &task("Doomed"))
        .await
        .unwrap();
    assert!(client
        .location(&loc)
        .delete_task(&contact, &t.id)
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_tokens_and_a_revoked_pit_need_reauth() {
    let env = start().await;
    let loc = env.locations[1].clone();
    let contact = env.contact_ids(&loc)[0].clone();
    let pit = env.pit(&loc, None).await;
    let client = client_with(&loc, &pit, None, fast_config(&env.base));
    client.location(&loc).get_contact(&contact).await.unwrap();
    env.admin("/_sandbox/revoke", json!({ "locationId": loc }))
        .await;
    let err = client
        .location(&loc)
        .get_contact(&contact)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GhlError::NeedsReauth { location } if *location == loc),
        "{err:?}"
    );
    // A location the provider does not know is not connected.
    let other = env.locations[2].clone();
    let err = client
        .location(&other)
        .get_contact(&contact)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GhlError::NotConnected { location } if *location == other),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_for_another_locations_id_in_the_query() {
    let env = start().await;
    let (a, b) = (env.locations[0].clone(), env.locations[1].clone());
    let client = env.fast_client();
    let op = ghl::operations::operation("get-contacts").unwrap();
    let err = client
        .location(&a)
        .call(op, &[("locationId".to_string(), b.clone())], None)
        .await
        .unwrap_err();
    match &err {
        GhlError::Forbidden {
            location,
            message,
            trace_id,
        } => {
            assert_eq!(location, &a);
            assert_eq!(message, "The token does not have access to this location.");
            assert_trace(trace_id.as_deref());
        }
        e => panic!("expected Forbidden, got {e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_after_the_configured_attempts() {
    let env = start().await;
    let (a, b) = (env.locations[0].clone(), env.locations[1].clone());
    // No Retry-After is sent: the client pauses the location one interval per 429.
    env.limits(json!({ "intervalMs": 50 })).await;
    env.faults(json!({ "storm429": 1.0, "locations": [a] }))
        .await;
    let mut cfg = fast_config(&env.base);
    cfg.max_rate_limited_attempts = 3;
    let client = env.client(cfg);
    let err = client
        .location(&a)
        .get_contact(&env.contact_ids(&a)[0])
        .await
        .unwrap_err();
    match &err {
        GhlError::RateLimited {
            location,
            attempts,
            trace_id,
        } => {
            assert_eq!((location.as_str(), *attempts), (a.as_str(), 3));
            assert_trace(trace_id.as_deref());
        }
        e => panic!("expected RateLimited, got {e:?}"),
    }
    assert_eq!(statuses(&env.requests(&a).await), vec![429, 429, 429]);
    assert_eq!(env.counter("rateLimited").await, 3);
    // Another location is not affected.
    client
        .location(&b)
        .get_contact(&env.contact_ids(&b)[0])
        .await
        .unwrap();
    // Once the storm ends the same client gets through.
    env.faults(json!({ "reset": true })).await;
    client
        .location(&a)
        .get_contact(&env.contact_ids(&a)[0])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_budget_exhausted_is_typed_and_never_retried() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let ids = env.contact_ids(&loc);
    env.limits(json!({ "daily": 3 })).await;
    let client = env.fast_client();
    for id in &ids[..3] {
        client.location(&loc).get_contact(id).await.unwrap();
    }
    // The third answer said 0 remaining: the fourth call is refused here.
    let err = client
        .location(&loc)
        .get_contact(&ids[3])
        .await
        .unwrap_err();
    match &err {
        GhlError::DailyBudgetExhausted {
            location,
            resets_in,
        } => {
            assert_eq!(location, &loc);
            assert!(*resets_in <= Duration::from_secs(86_400), "{resets_in:?}");
        }
        e => panic!("expected DailyBudgetExhausted, got {e:?}"),
    }
    assert_eq!(statuses(&env.requests(&loc).await), vec![200, 200, 200]);

    // A client that has not seen the headers learns it from HighLevel's 429, once.
    let fresh = env.fast_client();
    let err = fresh.location(&loc).get_contact(&ids[4]).await.unwrap_err();
    assert!(
        matches!(err, GhlError::DailyBudgetExhausted { .. }),
        "{err:?}"
    );
    let err = fresh.location(&loc).get_contact(&ids[5]).await.unwrap_err();
    assert!(
        matches!(err, GhlError::DailyBudgetExhausted { .. }),
        "{err:?}"
    );
    assert_eq!(
        statuses(&env.requests(&loc).await),
        vec![200, 200, 200, 429]
    );
    assert_eq!(env.counter("rateLimited").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_retry_safe_reads_only() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let contact = env.contact_ids(&loc)[0].clone();
    env.faults(json!({ "api5xx": 1.0 })).await;
    let mut cfg = fast_config(&env.base);
    cfg.max_attempts = 4;
    let client = env.client(cfg);

    let err = client
        .location(&loc)
        .get_contact(&contact)
        .await
        .unwrap_err();
    match &err {
        GhlError::Server {
            status,
            attempts,
            trace_id,
        } => {
            assert_eq!((*status, *attempts), (500, 4));
            assert_trace(trace_id.as_deref());
        }
        e => panic!("expected Server, got {e:?}"),
    }
    assert_eq!(statuses(&env.requests(&loc).await), vec![500; 4]);
    assert_eq!(env.counter("apiFaults").await, 4);
    let routes = env.counters().await;
    assert_eq!(
        routes["requests"]["GET /contacts/{contactId}"][&loc],
        json!(4)
    );

    // A POST that creates a record is sent once: a repeat could create it twice.
    let tasks_before = env.sandbox().read(|w| {
        w.location(&loc).unwrap().contacts[contact.as_str()]
            .tasks
            .len()
    });
    let err = client
        .location(&loc)
        .create_task(&contact, &task("Once"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GhlError::Server {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let reqs = env.requests(&loc).await;
    let posts: Vec<&Value> = reqs.iter().filter(|r| r["method"] == "POST").collect();
    assert_eq!(posts.len(), 1, "{reqs:?}");
    assert_eq!(env.counter("apiFaults").await, 5);
    let tasks_after = env.sandbox().read(|w| {
        w.location(&loc).unwrap().contacts[contact.as_str()]
            .tasks
            .len()
    });
    assert_eq!(tasks_after, tasks_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_a_create_is_uncertain_and_not_repeated() {
    let env = start().await;
    let loc = env.locations[0].clone();
    let contact = env.contact_ids(&loc)[0].clone();
    let tasks_before = env.sandbox().read(|w| {
        w.location(&loc).unwrap().contacts[contact.as_str()]
            .tasks
            .len()
    });
    env.faults(json!({ "apiTimeout": 1.0, "timeoutMs": 2000 }))
        .await;
    let mut cfg = fast_config(&env.base);
    cfg.timeout = Duration::from_millis(300);
    cfg.max_attempts = 4;
    let client = env.client(cfg);

    let started = std::time::Instant::now();
    let err = client
        .location(&loc)
        .create_task(&contact, &task("Maybe"))
        .await
        .unwrap_err();
    match &err {
        GhlError::Uncertain { operation, reason } => {
            assert_eq!(operation, "create-task");
            assert!(!reason.is_empty());
        }
        e => panic!("expected Uncertain, got {e:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("duplicate"), "{err}");
    // Exactly one request reached the sandbox (each is counted as it meets the fault), and no
    // retry follows later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.counter("apiFaults").await, 1);
    // No second task was made by a retry (the sandbox still holds the one request).
    let tasks_now = env.sandbox().read(|w| {
        w.location(&loc).unwrap().contacts[contact.as_str()]
            .tasks
            .len()
    });
    assert_eq!(tasks_now, tasks_before);

    // A safe read under the same fault is retried, then reported as Transport.
    env.admin("/_sandbox/counters/reset", json!({})).await;
    let err = client
        .location(&loc)
        .get_contact(&contact)
        .await
        .unwrap_err();
    assert!(matches!(err, GhlError::Transport { .. }), "{err:?}");
    assert_eq!(env.counter("apiFaults").await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_error_when_nothing_listens() {
    let base = format!("http://127.0.0.1:{}", testkit::free_port());
    let tokens = StaticTokens::default();
    tokens.insert("loc1", SecretString::from("whatever".to_string()), None);
    let mut cfg = fast_config(&base);
    cfg.max_attempts = 2;
    let client = GhlClient::new(cfg, Arc::new(tokens)).unwrap();
    let err = client
        .location("loc1")
        .get_contact("abc")
        .await
        .unwrap_err();
    match &err {
        GhlError::Transport { url, reason } => {
            assert_eq!(url, &format!("{base}/contacts/abc"));
            assert!(!reason.is_empty());
        }
        e => panic!("expected Transport, got {e:?}"),
    }
    // Refused before connecting: nothing was sent, so even a create reports Transport.
    let err = client
        .location("loc1")
        .create_task("abc", &task("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, GhlError::Transport { .. }), "{err:?}");
}

/// A server answering each request with the next (status, body) of a script, then 200 `{}`;
/// returns its base URL and the number of requests it saw.
async fn scripted(script: Vec<(u16, &'static str)>) -> (String, Arc<AtomicU32>) {
    let script = Arc::new(std::sync::Mutex::new(script));
    let seen = Arc::new(AtomicU32::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().fallback(move || {
        let script = script.clone();
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = {
                let mut s = script.lock().unwrap();
                if s.is_empty() {
                    (200, "{}")
                } else {
                    s.remove(0)
                }
            };
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                body,
            )
        }
    });
    let base = testkit::serve(app).await.url;
    (base, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_delete_that_finds_nothing_is_done() {
    // The first attempt may have deleted the task although its answer was a 502.
    let (base, seen) = scripted(vec![
        (502, r#"{"statusCode":502,"message":"Bad Gateway"}"#),
        (404, r#"{"statusCode":404,"message":"Task not found"}"#),
    ])
    .await;
    let tokens = StaticTokens::default();
    tokens.insert("loc1", SecretString::from("t".to_string()), None);
    let client = GhlClient::new(fast_config(&base), Arc::new(tokens)).unwrap();
    assert!(client
        .location("loc1")
        .delete_task("c1", "t1")
        .await
        .unwrap());
    assert_eq!(seen.load(Ordering::SeqCst), 2);

    // A first 404 is an answer, not a retry's echo.
    let (base, seen) = scripted(vec![(
        404,
        r#"{"statusCode":404,"message":"Task not found"}"#,
    )])
    .await;
    let tokens = StaticTokens::default();
    tokens.insert("loc1", SecretString::from("t".to_string()), None);
    let client = GhlClient::new(fast_config(&base), Arc::new(tokens)).unwrap();
    let err = client
        .location("loc1")
        .delete_task("c1", "t1")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GhlError::NotFound { what, .. } if what == "Task not found"),
        "{err:?}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}
