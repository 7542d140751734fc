//! A hostile HighLevel: a tiny server answers every request with a status, body and headers
//! drawn by proptest (HTML, JSON with `message` of every shape, nothing, invalid UTF-8, a
//! megabyte, garbage `X-RateLimit-*` and `Retry-After`). The client never panics, always
//! returns `Ok` or the typed error the status calls for, and its errors stay short.

use ghl::api::SearchRequest;
use ghl::models::NewTask;
use ghl::operations::operation;
use ghl::{ClientConfig, GhlClient, GhlError, StaticTokens};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest error text accepted: "a few hundred characters" whatever the server sent.
const MAX_DISPLAY: usize = 700;
const MIB: usize = 1024 * 1024;

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: Arc<Vec<u8>>,
    headers: Vec<(&'static str, Vec<u8>)>,
}

/// The server: answers every request with the current reply.
async fn serve(reply: Arc<Mutex<Reply>>) -> String {
    let app = axum::Router::new().fallback(move || {
        let r = reply.lock().unwrap().clone();
        async move {
            let mut res =
                axum::response::Response::new(axum::body::Body::from(r.body.as_ref().clone()));
            *res.status_mut() = axum::http::StatusCode::from_u16(r.status).unwrap();
            for (k, v) in &r.headers {
                if let Ok(v) = axum::http::HeaderValue::from_bytes(v) {
                    res.headers_mut().append(*k, v);
                }
            }
            res
        }
    });
    let base = testkit::serve(app).await.url;
    base
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(vec![200u16, 201, 204]),
        8 => prop::sample::select(vec![400u16, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 504]),
        1 => prop::sample::select(vec![202u16, 299, 302, 307, 418, 451, 599, 999]),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..max).prop_map(|v| v.into_iter().collect()),
        "[a-zA-Z0-9 ,.!?<>/\"'\\\\-]{0,80}".prop_map(move |s| s.repeat(max / 40 + 1)),
    ]
}

fn message() -> impl Strategy<Value = Option<Value>> {
    let item = prop_oneof![
        text(400).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
        text(50).prop_map(|s| json!({ "property": s, "constraints": [s] })),
    ];
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        2 => text(2000).prop_map(|s| Some(Value::from(s))),
        3 => prop::collection::vec(item, 0..80).prop_map(|v| Some(Value::Array(v))),
        1 => any::<f64>().prop_map(|f| Some(json!(f))),
        1 => any::<bool>().prop_map(|b| Some(json!(b))),
    ]
}

/// Huge bodies, built once.
fn megabytes() -> Vec<Arc<Vec<u8>>> {
    let long = "x".repeat(MIB);
    let many: Vec<String> = (0..4000)
        .map(|i| format!("message {i} ").repeat(25))
        .collect();
    vec![
        Arc::new(
            json!({ "statusCode": 500, "message": long })
                .to_string()
                .into_bytes(),
        ),
        Arc::new(
            json!({ "message": many, "traceId": "t".repeat(5000) })
                .to_string()
                .into_bytes(),
        ),
        Arc::new(vec![b'<'; MIB]),
        Arc::new(
            json!({ "contact": { "id": long, "dndSettings": { "x".repeat(5000): 5 } } })
                .to_string()
                .into_bytes(),
        ),
        Arc::new(json!({ "contact": long }).to_string().into_bytes()),
    ]
}

fn body() -> impl Strategy<Value = Arc<Vec<u8>>> {
    let json_error = (
        message(),
        prop::option::of(text(60)),
        prop::option::of(text(300)),
        any::<u16>(),
    )
        .prop_map(|(m, error, trace, code)| {
            let mut o = serde_json::Map::new();
            o.insert("statusCode".into(), json!(code));
            if let Some(m) = m {
                o.insert("message".into(), m);
            }
            if let Some(e) = error {
                o.insert("error".into(), json!(e.clone()));
                o.insert("error_description".into(), json!(e));
            }
            if let Some(t) = trace {
                o.insert("traceId".into(), json!(t));
            }
            Value::Object(o).to_string().into_bytes()
        });
    let success_shaped = prop_oneof![
        Just(
            json!({ "contact": { "id": 5, "tags": "one", "dnd": "yes", "dateAdded": "yesterday" } })
        ),
        Just(json!({ "contact": null })),
        Just(json!({ "contacts": "none", "total": "many" })),
        Just(json!({ "contacts": [{ "id": [1], "searchAfter": "x" }], "total": -3 })),
        Just(
            json!({ "task": { "id": "t", "title": ["a"], "completed": "maybe", "dueDate": 1e300 } })
        ),
        Just(json!({ "succeeded": "perhaps", "succeded": 1 })),
        Just(json!([1, 2, 3])),
        Just(json!("just a string")),
    ]
    .prop_map(|v| v.to_string().into_bytes());
    let html = text(300).prop_map(|s| {
        format!("<html><head><title>502</title></head><body><h1>{s}</h1>\n\n</body></html>")
            .into_bytes()
    });
    let huge = megabytes();
    prop_oneof![
        2 => Just(Vec::new()).prop_map(Arc::new),
        2 => html.prop_map(Arc::new),
        6 => json_error.prop_map(Arc::new),
        2 => success_shaped.prop_map(Arc::new),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(|mut v| { v.insert(0, 0xff); Arc::new(v) }),
        1 => prop::sample::select(huge),
    ]
}

/// Values that parse neither as a whole number nor as seconds (or parse to zero seconds).
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "abc",
            "-1",
            "-0",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "1e309",
            "0x10",
            "٣",
            "1,000",
            "5s",
            "1 2",
            "Wed, 21 Oct 2015 07:28:00 GMT",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        Just(vec![0xff, 0xfe, b'1']),
        Just(vec![b'1', 0x80]),
        Just("9".repeat(400).into_bytes()),
        "g[ -~]{0,40}".prop_map(String::into_bytes),
    ]
}

fn number(range: std::ops::RangeInclusive<u64>) -> impl Strategy<Value = Vec<u8>> {
    range.prop_map(|n| n.to_string().into_bytes())
}

/// Headers for cases that may retry: garbage, or values that never ask for a long wait.
fn calm_headers() -> impl Strategy<Value = Vec<(&'static str, Vec<u8>)>> {
    let h = |name: &'static str, valid: BoxedStrategy<Vec<u8>>| {
        prop::option::of(prop_oneof![garbage(), valid]).prop_map(move |v| v.map(|v| (name, v)))
    };
    (
        h("x-ratelimit-max", number(2..=1000).boxed()),
        h("x-ratelimit-remaining", number(1..=100).boxed()),
        h("x-ratelimit-interval-milliseconds", number(1..=50).boxed()),
        h("x-ratelimit-daily-remaining", number(0..=5).boxed()),
        h("x-ratelimit-limit-daily", number(0..=u64::MAX).boxed()),
        h(
            "retry-after",
            prop::sample::select(vec!["0", "0.01", "0.05"])
                .prop_map(|s| s.as_bytes().to_vec())
                .boxed(),
        ),
        h(
            "traceid",
            "[ -~]{0,3000}".prop_map(String::into_bytes).boxed(),
        ),
    )
        .prop_map(|(a, b, c, d, e, f, g)| [a, b, c, d, e, f, g].into_iter().flatten().collect())
}

/// Headers at the edges of what parses: huge, zero, overflowing, signed, spaced. Single
/// attempts only: a huge but well-formed wait is honoured by the next call, not this one.
fn extreme_headers() -> impl Strategy<Value = Vec<(&'static str, Vec<u8>)>> {
    let edge = prop_oneof![
        prop::sample::select(vec![
            "0",
            "1",
            " 7 ",
            "+5",
            "1.5",
            "3600",
            "4294967296",
            "99999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "1e300",
            "1e-300",
            "0.0000001",
            "-0",
            "36000000",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        garbage(),
        "[ -~]{0,12}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(
        (
            prop::sample::select(vec![
                "x-ratelimit-max",
                "x-ratelimit-remaining",
                "x-ratelimit-interval-milliseconds",
                "x-ratelimit-daily-remaining",
                "x-ratelimit-limit-daily",
                "retry-after",
            ]),
            edge,
        ),
        0..8,
    )
}

#[derive(Debug, Clone, Copy)]
enum Op {
    GetContact,
    CreateTask,
    DeleteNote,
    Search,
    CallList,
}

fn op() -> impl Strategy<Value = Op> {
    prop::sample::select(vec![
        Op::GetContact,
        Op::CreateTask,
        Op::DeleteNote,
        Op::Search,
        Op::CallList,
    ])
}

async fn run(client: &GhlClient, op: Op) -> Result<(), GhlError> {
    let loc = client.location("hostileloc");
    match op {
        Op::GetContact => loc.get_contact("c1").await.map(drop),
        Op::CreateTask => {
            let t = NewTask {
                title: "t".into(),
                body: None,
                due_date: chrono::Utc::now(),
                completed: false,
                assigned_to: None,
            };
            loc.create_task("c1", &t).await.map(drop)
        }
        Op::DeleteNote => loc.delete_note("c1", "n1").await.map(drop),
        Op::Search => loc
            .search_contacts(&SearchRequest::new().page_limit(3))
            .await
            .map(drop),
        Op::CallList => loc
            .call(
                operation("get-contacts").unwrap(),
                &[("locationId".into(), "hostileloc".into())],
                None,
            )
            .await
            .map(drop),
    }
}

fn client(base: &str, max_attempts: u32, max_rate_limited_attempts: u32) -> GhlClient {
    let mut cfg = ClientConfig::new(base.parse().unwrap());
    cfg.timeout = Duration::from_secs(5);
    cfg.max_attempts = max_attempts;
    cfg.max_rate_limited_attempts = max_rate_limited_attempts;
    cfg.backoff_base = Duration::from_millis(1);
    cfg.backoff_max = Duration::from_millis(3);
    let tokens = StaticTokens::default();
    tokens.insert(
        "hostileloc",
        SecretString::from("hostile-token".to_string()),
        None,
    );
    GhlClient::new(cfg, Arc::new(tokens)).unwrap()
}

/// Whether `err` is what a `status` answer calls for.
fn fits(status: u16, err: &GhlError) -> bool {
    use GhlError as E;
    if matches!(err, E::DailyBudgetExhausted { .. }) {
        // From a 429 saying so, or from a header saying the day is used up.
        return true;
    }
    match status {
        200..=299 => matches!(err, E::Decode { .. }),
        401 => matches!(err, E::NeedsReauth { .. } | E::ScopeMissing { .. }),
        403 => matches!(err, E::Forbidden { .. }),
        404 => matches!(err, E::NotFound { .. }),
        400 | 422 => matches!(err, E::Validation { .. }),
        429 => matches!(err, E::RateLimited { .. }),
        500..=599 => matches!(err, E::Server { .. }),
        _ => matches!(err, E::Unexpected { .. }),
    }
}

fn check(reply: &Reply, op: Op, result: Result<(), GhlError>) -> Result<(), TestCaseError> {
    let Err(err) = result else {
        prop_assert!(
            (200..300).contains(&reply.status),
            "Ok from a {} answer",
            reply.status
        );
        return Ok(());
    };
    prop_assert!(
        fits(reply.status, &err),
        "{op:?} got {err:?} from a {} answer",
        reply.status
    );
    let shown = err.to_string();
    prop_assert!(
        shown.chars().count() <= MAX_DISPLAY,
        "{} characters in the error of {op:?} from a {} answer: {}…",
        shown.chars().count(),
        reply.status,
        shown.chars().take(400).collect::<String>()
    );
    prop_assert!(
        !shown.contains("hostile-token"),
        "the token leaked: {shown}"
    );
    if let Some(t) = err.trace_id() {
        prop_assert!(t.len() <= 256, "a trace id of {} bytes was kept", t.len());
    }
    Ok(())
}

/// `GHL_HOSTILE_CASES=5000` digs deeper than the default.
fn hostile_runner(cases: u32) -> TestRunner {
    let cases = std::env::var("GHL_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 32,
        ..Config::default()
    })
}

#[test]
fn hostile_answers_never_panic_and_map_to_typed_errors() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let current = Arc::new(Mutex::new(Reply {
        status: 200,
        body: Arc::new(Vec::new()),
        headers: Vec::new(),
    }));
    let base = rt.block_on(serve(current.clone()));
    let strategy = (status(), body(), calm_headers(), op(), 1u32..=2);
    hostile_runner(96)
        .run(&strategy, |(status, body, headers, op, attempts)| {
            let reply = Reply {
                status,
                body,
                headers,
            };
            *current.lock().unwrap() = reply.clone();
            // A second 429 attempt would honour HighLevel's default 10 s interval: one is enough.
            let client = client(&base, attempts, 1);
            let result = rt
                .block_on(async {
                    tokio::time::timeout(Duration::from_secs(8), run(&client, op)).await
                })
                .map_err(|_| {
                    TestCaseError::fail(format!("{op:?} still running after 8 s against {status}"))
                })?;
            check(&reply, op, result)
        })
        .unwrap();
}

#[test]
fn extreme_rate_limit_headers_never_panic() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let current = Arc::new(Mutex::new(Reply {
        status: 200,
        body: Arc::new(Vec::new()),
        headers: Vec::new(),
    }));
    let base = rt.block_on(serve(current.clone()));
    let strategy = (
        prop::sample::select(vec![200u16, 404, 429, 500, 503]),
        prop::sample::select(vec![
            Arc::new(b"{}".to_vec()),
            Arc::new(br#"{"message":"Too many requests"}"#.to_vec()),
            Arc::new(
                br#"{"message":"The daily request limit for this location has been reached."}"#
                    .to_vec(),
            ),
        ]),
        extreme_headers(),
        op(),
    );
    hostile_runner(64)
        .run(&strategy, |(status, body, headers, op)| {
            let reply = Reply {
                status,
                body,
                headers,
            };
            *current.lock().unwrap() = reply.clone();
            // One attempt each: a huge but well-formed interval is honoured by the next call,
            // never by this one.
            let client = client(&base, 1, 1);
            let result = rt
                .block_on(async {
                    tokio::time::timeout(Duration::from_secs(8), run(&client, op)).await
                })
                .map_err(|_| {
                    TestCaseError::fail(format!("{op:?} still running after 8 s against {status}"))
                })?;
            check(&reply, op, result)?;
            // The limiter still answers (waiting or refusing), without panicking, on the next call.
            let next = rt.block_on(async {
                tokio::time::timeout(
                    Duration::from_millis(50),
                    client.limits().for_location("hostileloc").acquire(),
                )
                .await
            });
            if let Ok(r) = next {
                prop_assert!(
                    matches!(r, Ok(()) | Err(GhlError::DailyBudgetExhausted { .. })),
                    "{r:?}"
                );
            }
            Ok(())
        })
        .unwrap();
}

/// The worst case of each shape, every time (the random cases reach them only sometimes).
#[test]
fn the_longest_answers_give_short_errors() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let current = Arc::new(Mutex::new(Reply {
        status: 200,
        body: Arc::new(Vec::new()),
        headers: Vec::new(),
    }));
    let base = rt.block_on(serve(current.clone()));
    let long_trace = ("traceid", "t".repeat(4000).into_bytes());
    for status in [200u16, 400, 401, 403, 404, 422, 429, 500, 999] {
        for body in megabytes() {
            for op in [Op::GetContact, Op::CallList] {
                let reply = Reply {
                    status,
                    body: body.clone(),
                    headers: vec![long_trace.clone()],
                };
                *current.lock().unwrap() = reply.clone();
                let client = client(&base, 2, 1);
                let result = rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(8), run(&client, op))
                        .await
                        .expect("answers within 8 s")
                });
                if let Err(e) = check(&reply, op, result) {
                    panic!("{e}");
                }
            }
        }
    }
}
