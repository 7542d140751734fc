//! Property test of the ingest: envelopes and signature headers drawn by proptest (random
//! bytes, random JSON, envelopes with odd fields, mutated corpus samples; headers missing,
//! valid, signed over other bytes, random, truncated, garbled or huge) never make it panic
//! or answer 5xx (or 429: the store is healthy), every answer is one of its JSON shapes, and
//! nothing without a valid signature is ever stored. Seeded by the checked-in samples in `tests/corpus/`.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use tower::ServiceExt as _;

/// The known types, plus a few the ingest has never heard of.
const TYPES: &[&str] = &[
    "ContactCreate",
    "ContactUpdate",
    "ContactDelete",
    "ContactTagUpdate",
    "ContactDndUpdate",
    "TaskCreate",
    "TaskComplete",
    "TaskDelete",
    "NoteCreate",
    "NoteUpdate",
    "NoteDelete",
    "AppointmentCreate",
    "AppointmentUpdate",
    "AppointmentDelete",
    "INSTALL",
    "UNINSTALL",
    "OpportunityCreate",
    "",
    "Contact",
];

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .map(|e| {
            let p = e.expect("entry").path();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), std::fs::read(&p).expect("read"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the corpus is checked in");
    files
}

/// How one signature header is set.
#[derive(Debug, Clone)]
enum Header {
    Absent,
    Valid,
    /// A genuine signature, of other bytes.
    OtherBody,
    /// A genuine signature by a key the ingest does not know.
    Stranger,
    Truncated(usize),
    /// One character replaced.
    Garbled(usize, u8),
    Random(Vec<u8>),
    /// Base64 characters far beyond any signature's length.
    Huge(usize),
}

fn header() -> impl Strategy<Value = Header> {
    prop_oneof![
        3 => Just(Header::Absent),
        4 => Just(Header::Valid),
        1 => Just(Header::OtherBody),
        1 => Just(Header::Stranger),
        1 => (0usize..100).prop_map(Header::Truncated),
        1 => (0usize..100, any::<u8>()).prop_map(|(i, c)| Header::Garbled(i, c)),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Header::Random),
        1 => (2_000usize..200_000).prop_map(Header::Huge),
    ]
}

/// A JSON value of any shape.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An id-ish field: usually a string, sometimes anything.
fn field() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        2 => Just(None),
        4 => "[a-zA-Z0-9-]{0,24}".prop_map(|s| Some(json!(s))),
        1 => json_value().prop_map(Some),
        // What a database may refuse: NUL and other control characters, very long ids.
        1 => "[a-z\\x00\\x01\\n]{1,12}".prop_map(|s| Some(json!(s))),
        1 => "[a-z]{250,3000}".prop_map(|s| Some(json!(s))),
    ]
}

fn timestamp() -> impl Strategy<Value = Option<Value>> {
    let now = chrono::Utc::now().timestamp_millis();
    prop_oneof![
        1 => Just(None),
        3 => (-3 * 3_600_000i64..3_600_000).prop_map(move |d| Some(json!(common::timestamp(d)))),
        1 => (-3 * 3_600_000i64..3_600_000).prop_map(move |d| Some(json!(now + d))),
        1 => json_value().prop_map(Some),
        1 => ".{0,30}".prop_map(|s| Some(json!(s))),
    ]
}

/// An envelope close to HighLevel's, any of whose fields may be missing or odd.
fn envelope() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            4 => prop::sample::select(TYPES).prop_map(|t| Some(json!(t))),
            1 => field(),
        ],
        field(),
        field(),
        field(),
        field(),
        field(),
        timestamp(),
        prop::option::of(json_value()),
    )
        .prop_map(|(ty, location, company, webhook, id, contact, ts, extra)| {
            let mut m = serde_json::Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            };
            put("type", ty);
            put("locationId", location);
            put("companyId", company);
            put("webhookId", webhook);
            put("id", id.clone());
            put("contactId", contact);
            put("timestamp", ts);
            put("appointment", id.map(|i| json!({ "id": i })));
            put("extra", extra);
            serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
        })
}

/// An envelope HighLevel could have sent now, with random extra fields: these get stored.
fn good_envelope() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(&TYPES[..16]),
        "[a-zA-Z0-9]{1,24}",
        prop::collection::btree_map("[a-z]{1,8}", json_value(), 0..4),
    )
        .prop_map(|(ty, id, extra)| {
            let mut m: serde_json::Map<String, Value> = extra.into_iter().collect();
            m.insert("type".into(), json!(ty));
            m.insert("locationId".into(), json!("loc-fuzz"));
            m.insert("id".into(), json!(id));
            m.insert("webhookId".into(), json!(common::webhook_id()));
            m.insert("timestamp".into(), json!(common::timestamp(0)));
            serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
        })
}

fn body(corpus: Arc<Vec<(String, Vec<u8>)>>) -> impl Strategy<Value = Vec<u8>> {
    let n = corpus.len();
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..2048),
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        5 => envelope(),
        3 => good_envelope(),
        3 => (0..n, prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4), any::<prop::sample::Index>(), any::<bool>())
            .prop_map(move |(i, flips, cut, truncate)| {
                let mut b = corpus[i].1.clone();
                for (at, byte) in flips {
                    if !b.is_empty() {
                        let at = at.index(b.len());
                        b[at] = byte;
                    }
                }
                if truncate && !b.is_empty() {
                    b.truncate(cut.index(b.len()));
                }
                b
            }),
        1 => (256 * 1024usize..300 * 1024).prop_map(|n| vec![b'{'; n]),
    ]
}

/// The header value to send, from the body and the choice; `None` for no header.
fn header_value(h: &Header, genuine: &str, other: &str, stranger: &str) -> Option<HeaderValue> {
    let text = match h {
        Header::Absent => return None,
        Header::Valid => genuine.to_string(),
        Header::OtherBody => other.to_string(),
        Header::Stranger => stranger.to_string(),
        // Cut inside the signature itself: dropping only `=` padding leaves it valid.
        Header::Truncated(n) => {
            let core = genuine.trim_end_matches('=');
            core[..*n % core.len().max(1)].to_string()
        }
        Header::Garbled(i, c) => {
            let mut b = genuine.as_bytes().to_vec();
            if b.is_empty() {
                return None;
            }
            let at = i % b.len();
            // A visible ASCII character other than the one it replaces.
            let mut c = 0x21 + (c % 0x5e);
            if c == b[at] {
                c = if c == b'A' { b'B' } else { b'A' };
            }
            b[at] = c;
            String::from_utf8_lossy(&b).into_owned()
        }
        Header::Random(bytes) => {
            // Header values cannot hold control characters; everything else goes.
            let clean: Vec<u8> = bytes
                .iter()
                .map(|&b| {
                    if (b < 0x20 && b != b'\t') || b == 0x7f {
                        b'A'
                    } else {
                        b
                    }
                })
                .collect();
            return HeaderValue::from_bytes(&clean).ok();
        }
        Header::Huge(n) => "QUJD".repeat(n / 4 + 1),
    };
    HeaderValue::from_str(&text).ok()
}

/// Whether the ingest should find the signature good: the Ed25519 header decides when
/// present (the ingest has an Ed25519 key), else the RSA one.
fn genuinely_signed(ghl: &Header, wh: &Header) -> bool {
    match (ghl, wh) {
        (Header::Absent, Header::Valid) => true,
        (Header::Absent, _) => false,
        (Header::Valid, _) => true,
        _ => false,
    }
}

struct Harness {
    router: axum::Router,
    store: store::Store,
    corpus: Arc<Vec<(String, Vec<u8>)>>,
    _db: testkit::TestDb,
}

async fn harness() -> Harness {
    harness_on(testkit::TestDb::sqlite()).await
}

async fn harness_on(db: testkit::TestDb) -> Harness {
    let store = db.connect(store::Keyring::generate()).await;
    common::connect_locations(&store).await.expect("connect");
    let state = sync::ingest::IngestState::new(store.clone(), common::config());
    Harness {
        router: sync::ingest::router(state),
        store,
        corpus: Arc::new(corpus()),
        _db: db,
    }
}

/// Sends one request and checks every property of the answer.
async fn check(
    h: &Harness,
    body: Vec<u8>,
    ghl: &Header,
    wh: &Header,
) -> Result<u16, TestCaseError> {
    let signer = common::signer();
    let (ed, rsa) = signer.sign(&body);
    let (other_ed, other_rsa) = signer.sign(b"some other body");
    let (stranger_ed, stranger_rsa) = common::stranger().sign(&body);
    let mut req = Request::post(sync::ingest::PATH);
    if let Some(v) = header_value(ghl, &ed, &other_ed, &stranger_ed) {
        req = req.header("x-ghl-signature", v);
    }
    if let Some(v) = header_value(wh, &rsa, &other_rsa, &stranger_rsa) {
        req = req.header("x-wh-signature", v);
    }
    let request = req.body(Body::from(body.clone())).expect("request");
    let response = h
        .router
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| TestCaseError::fail(format!("router error {e}")))?;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .map_err(|e| TestCaseError::fail(format!("answer body: {e}")))?;
    let answer: Value = serde_json::from_slice(&bytes)
        .map_err(|_| TestCaseError::fail(format!("{status} answer is not JSON: {bytes:?}")))?;
    // The store is healthy here, so a 429 would mean a body it cannot take got past the
    // envelope checks (and would be refused, and retried, forever).
    prop_assert!(
        [200, 400, 401, 413].contains(&status),
        "status {} for {:?}",
        status,
        answer
    );
    let shape_ok = match status {
        200 => {
            answer == json!({"status": "stored"})
                || answer == json!({"status": "duplicate"})
                || answer == json!({"status": "ignored"})
        }
        _ => {
            answer.get("error").and_then(Value::as_str).is_some()
                && answer.as_object().map(|o| o.len()) == Some(1)
        }
    };
    prop_assert!(shape_ok, "{} {}", status, answer);
    if !genuinely_signed(ghl, wh) {
        prop_assert!(
            status == 401 || status == 413,
            "unsigned or badly signed body answered {} {}",
            status,
            answer
        );
    }
    if status == 200 {
        let v: Value = serde_json::from_slice(&body).expect("a stored body is JSON");
        let id = match &v["webhookId"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // Stored, unless its location is not connected (then acknowledged and dropped).
        let stored = h.store.webhook_stored(&id).await.unwrap_or(false);
        if answer == json!({"status": "ignored"}) {
            prop_assert!(!stored, "an ignored webhook was stored");
        } else {
            prop_assert!(stored);
        }
    }
    Ok(status)
}

#[test]
fn corpus_samples_with_every_kind_of_header() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let h = rt.block_on(harness());
    let headers = [
        Header::Valid,
        Header::Absent,
        Header::OtherBody,
        Header::Stranger,
        Header::Truncated(20),
        Header::Garbled(5, 7),
        Header::Random(b"\xff\xfe not base64".to_vec()),
        Header::Huge(100_000),
    ];
    let mut seen = BTreeMap::<u16, u32>::new();
    for (name, sample) in h.corpus.iter() {
        // As checked in (stale timestamps), and refreshed so the signed ones are stored.
        let mut bodies = vec![sample.clone()];
        if let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(sample) {
            if m.contains_key("timestamp") {
                m.insert("timestamp".into(), json!(common::timestamp(0)));
            }
            m.insert("webhookId".into(), json!(common::webhook_id()));
            bodies.push(serde_json::to_vec(&Value::Object(m)).expect("json"));
        }
        for body in bodies {
            for ghl in &headers {
                for wh in [&Header::Absent, &Header::Valid, &Header::Stranger] {
                    let status = rt
                        .block_on(check(&h, body.clone(), ghl, wh))
                        .unwrap_or_else(|e| panic!("{name} with {ghl:?}/{wh:?}: {e}"));
                    *seen.entry(status).or_insert(0) += 1;
                }
            }
        }
    }
    for status in [200, 400, 401] {
        assert!(seen.contains_key(&status), "no {status} among {seen:?}");
    }
}

/// Runs `cases` random requests against `h`; every status seen, with its count.
fn run_random(rt: &tokio::runtime::Runtime, h: &Harness, cases: u32) -> BTreeMap<u16, u32> {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (body(h.corpus.clone()), header(), header());
    let seen = std::sync::Mutex::new(BTreeMap::<u16, u32>::new());
    runner
        .run(&strategy, |(body, ghl, wh)| {
            let status = rt.block_on(check(h, body, &ghl, &wh))?;
            *seen.lock().expect("lock").entry(status).or_insert(0) += 1;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = seen.into_inner().expect("lock");
    // The cases reached every stage: stored, refused as malformed, refused unsigned.
    for status in [200, 400, 401] {
        assert!(seen.contains_key(&status), "no {status} among {seen:?}");
    }
    seen
}

#[test]
fn random_envelopes_and_headers_never_panic_or_5xx() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let h = rt.block_on(harness());
    run_random(&rt, &h, 256);
}

/// The same on PostgreSQL, whose text columns refuse what SQLite takes (NUL characters):
/// nothing a signed body holds may turn into a store failure.
#[test]
fn random_envelopes_on_postgres() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = rt.block_on(testkit::TestDb::postgres()) else {
        return;
    };
    // The schema is dropped with the harness's database, after a panic too.
    let h = rt.block_on(harness_on(db));
    run_random(&rt, &h, 128);
    rt.block_on(h.store.close());
}
