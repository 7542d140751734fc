//! The ingest over real HTTP on both backends: what is stored, and every refusal with its
//! exact status and reason — with nothing stored for any of them.

mod common;

use std::time::{Duration, Instant};

// Every webhook here names a connected location (see `serve_connected`), but where a test
// says otherwise.
use common::{
    config, contact_create, post, post_signed_by, serve_connected as serve, stranger, timestamp,
    webhook_id, Env, Sig,
};
use serde_json::{json, Value};
use sync::ingest::{IngestConfig, Refusal};

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("json")
}

fn refused(reason: Refusal) -> Value {
    json!({ "error": reason.reason() })
}

/// A webhook is stored once, byte for byte, with its ordering key; the same again is a
/// duplicate with no second row; either header alone is enough.
async fn stores_once_then_answers_duplicate(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let (id, body) = contact_create();
    assert_eq!(
        post(&ingest.url, &body, Sig::Both).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(
        post(&ingest.url, &body, Sig::Both).await,
        (200, json!({"status": "duplicate"}))
    );
    assert_eq!(
        post(&ingest.url, &body, Sig::RsaOnly).await,
        (200, json!({"status": "duplicate"}))
    );
    assert_eq!(env.rows_for(&id).await, 1);
    assert!(ingest.store.webhook_stored(&id).await.expect("lookup"));

    let (id2, body2) = contact_create();
    assert_eq!(
        post(&ingest.url, &body2, Sig::RsaOnly).await,
        (200, json!({"status": "stored"}))
    );
    let (id3, body3) = contact_create();
    assert_eq!(
        post(&ingest.url, &body3, Sig::Ed25519Only).await,
        (200, json!({"status": "stored"}))
    );
    for id in [&id2, &id3] {
        assert_eq!(env.rows_for(id).await, 1);
    }

    let m = ingest.state.metrics();
    assert_eq!((m.accepted, m.duplicates, m.refused_total()), (3, 2, 0));
    assert_eq!((m.verified_ed25519, m.verified_rsa), (3, 2));

    // Stored byte for byte.
    assert_eq!(stored_event(&ingest.store, &id).await.body, body);
}

/// Each ordering key rule, read back from the inbox.
async fn ordering_keys_are_stored(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let cases = [
        (
            json!({"type": "ContactUpdate", "locationId": "L", "id": "c1"}),
            "contact:c1",
        ),
        (
            json!({"type": "TaskCreate", "locationId": "L", "id": "t1", "contactId": "c2"}),
            "contact:c2",
        ),
        (
            json!({"type": "TaskCreate", "locationId": "L", "id": "t2"}),
            "location:L",
        ),
        (
            json!({"type": "NoteUpdate", "locationId": "L", "id": "n1", "contactId": "c3"}),
            "contact:c3",
        ),
        (
            json!({"type": "AppointmentCreate", "locationId": "L",
                   "appointment": {"id": "a1", "contactId": "c4"}}),
            "appointment:a1",
        ),
        (
            json!({"type": "INSTALL", "locationId": "L", "companyId": "K"}),
            "location:L",
        ),
        (json!({"type": "UNINSTALL", "companyId": "K"}), "company:K"),
        (
            json!({"type": "OpportunityCreate", "locationId": "L", "id": "o1"}),
            "location:L",
        ),
    ];
    for (mut body, key) in cases {
        body["webhookId"] = json!(webhook_id());
        body["timestamp"] = json!(timestamp(0));
        let b = bytes(&body);
        assert_eq!(
            post(&ingest.url, &b, Sig::Both).await,
            (200, json!({"status": "stored"})),
            "{body}"
        );
        let stored = stored_event(&ingest.store, body["webhookId"].as_str().unwrap_or("")).await;
        assert_eq!(stored.ordering_key, key, "{body}");
        assert_eq!(stored.body, b, "stored byte for byte");
        assert_eq!(stored.event_type, body["type"].as_str().unwrap_or(""));
    }
    let m = ingest.state.metrics();
    assert_eq!(m.unknown_types, 1);
    assert_eq!(m.unknown_type_names.get("OpportunityCreate"), Some(&1));
}

/// The stored event with this webhook id (found by scanning event ids: the store looks
/// events up by id only).
async fn stored_event(store: &store::Store, webhook_id: &str) -> store::inbox::StoredEvent {
    for event_id in 1..10_000 {
        if let Some(e) = store.inbox_event(event_id).await.expect("read") {
            if e.webhook_id == webhook_id {
                return e;
            }
        }
    }
    panic!("webhook {webhook_id} not stored");
}

/// 401s: no signature, not base64, a key not in the set, an altered body — and a garbage
/// body without a signature is a 401, not a 400: the signature is checked first.
async fn signature_refusals(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let (id, body) = contact_create();
    let url = &ingest.url;
    assert_eq!(
        post(url, &body, Sig::None).await,
        (401, refused(Refusal::MissingSignature))
    );
    assert_eq!(
        post(url, b"\x00garbage{", Sig::None).await,
        (401, refused(Refusal::MissingSignature))
    );
    for bad in ["not base64 !!", "AAAA", "", "===="] {
        assert_eq!(
            post(
                url,
                &body,
                Sig::Custom(vec![("x-ghl-signature", bad.into())])
            )
            .await,
            (401, refused(Refusal::MalformedSignature)),
            "{bad:?}"
        );
    }
    let (ed, rsa) = stranger().sign(&body);
    assert_eq!(
        post(
            url,
            &body,
            Sig::Custom(vec![("x-ghl-signature", ed.clone())])
        )
        .await,
        (401, refused(Refusal::BadSignature))
    );
    assert_eq!(
        post(url, &body, Sig::Custom(vec![("x-wh-signature", rsa)])).await,
        (401, refused(Refusal::BadSignature))
    );
    // A present Ed25519 signature decides, even beside a good RSA one.
    let (_, good_rsa) = common::signer().sign(&body);
    assert_eq!(
        post(
            url,
            &body,
            Sig::Custom(vec![("x-ghl-signature", ed), ("x-wh-signature", good_rsa)])
        )
        .await,
        (401, refused(Refusal::BadSignature))
    );
    // Same JSON, other bytes: pretty-printed, and one space added.
    let value: Value = serde_json::from_slice(&body).expect("json");
    let pretty = serde_json::to_vec_pretty(&value).expect("json");
    let mut spaced = body.clone();
    spaced.insert(1, b' ');
    for altered in [pretty, spaced] {
        for sig in [Sig::Both, Sig::RsaOnly] {
            assert_eq!(
                post_signed_by(url, &body, &altered, sig).await,
                (401, refused(Refusal::BadSignature))
            );
        }
    }
    assert_eq!(env.rows_for(&id).await, 0, "nothing stored");
    assert_eq!(env.inbox_rows().await, 0);
    let m = ingest.state.metrics();
    assert_eq!(m.accepted, 0);
    assert_eq!(m.refused(Refusal::MissingSignature), 2);
    assert_eq!(m.refused(Refusal::MalformedSignature), 4);
    assert_eq!(m.refused(Refusal::BadSignature), 7);
}

/// The keys a real install has today: HighLevel's Ed25519 key (here the sandbox's stands in
/// for it, whose private half we hold) and no RSA key, so the retired `x-wh-signature` alone
/// is refused; a location that delivered and then only fails its signature is counted under
/// its own id, in a row, and the counts reach the store for `drivesync status`.
async fn ed25519_only_keys_refuse_the_legacy_header_and_count_a_failing_location(env: Env) {
    let mut keys = ghl::webhook::WebhookKeys::highlevel();
    keys.add_ed25519_pem(&common::signer().ed25519_public_pem())
        .expect("ed25519");
    let mut cfg = IngestConfig::new(keys);
    cfg.refusals_flush = Duration::from_millis(100);
    let ingest = serve(env.store().await, cfg).await;
    let url = &ingest.url;
    let (_, body) = contact_create();
    assert_eq!(
        post(url, &body, Sig::RsaOnly).await,
        (401, refused(Refusal::NoKeyForSignature))
    );
    assert_eq!(
        post(url, &body, Sig::Ed25519Only).await,
        (200, json!({"status": "stored"}))
    );
    let location = serde_json::from_slice::<Value>(&body).expect("json")["locationId"]
        .as_str()
        .expect("locationId")
        .to_string();
    for _ in 0..4 {
        let (_, next) = contact_create();
        let (ed, _) = stranger().sign(&next);
        assert_eq!(
            post(url, &next, Sig::Custom(vec![("x-ghl-signature", ed)])).await,
            (401, refused(Refusal::BadSignature))
        );
    }
    let watched = ingest.state.signature_watch();
    let w = &watched
        .iter()
        .find(|(l, _)| *l == location)
        .expect("the delivering location is watched")
        .1;
    assert_eq!(w.signature_refusals_in_row, 4);
    assert!(w.refused_since_ms.is_some() && w.last_verified_ms.is_some());
    // A made-up location in a forged body gets no row of its own.
    let forged = serde_json::to_vec(&json!({"type": "ContactCreate", "locationId": "made-up",
        "id": "x", "webhookId": webhook_id()}))
    .expect("json");
    let (ed, _) = stranger().sign(&forged);
    post(url, &forged, Sig::Custom(vec![("x-ghl-signature", ed)])).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counts = ingest.store.webhook_refusals().await.expect("counts");
        let of = |scope: &str, reason: &str| {
            counts
                .iter()
                .find(|c| c.scope == scope && c.reason == reason)
                .map_or(0, |c| c.count)
        };
        if of(&location, "bad_signature") == 4 && of("", "bad_signature") == 1 {
            assert!(counts.iter().all(|c| c.scope != "made-up"));
            break;
        }
        assert!(Instant::now() < deadline, "counts not stored: {counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// 400s, for signed bodies only: not JSON, not an object, no type / locationId / webhookId,
/// an unreadable timestamp. INSTALL and UNINSTALL may name only a company.
async fn envelope_refusals(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let url = &ingest.url;
    let ts = timestamp(0);
    let cases: Vec<(Vec<u8>, Refusal)> = vec![
        (b"this is not json".to_vec(), Refusal::InvalidJson),
        (
            b"{\"type\": \"ContactCreate\",".to_vec(),
            Refusal::InvalidJson,
        ),
        (b"[]".to_vec(), Refusal::NotAnObject),
        (
            bytes(&json!({"locationId": "L", "webhookId": webhook_id(), "timestamp": ts})),
            Refusal::MissingType,
        ),
        (
            bytes(&json!({"type": 7, "locationId": "L", "webhookId": webhook_id()})),
            Refusal::InvalidField,
        ),
        (
            bytes(&json!({"type": "ContactCreate", "locationId": "L",
                          "webhookId": "w".repeat(300), "timestamp": ts})),
            Refusal::InvalidField,
        ),
        (
            bytes(&json!({"type": "ContactCreate", "locationId": "L\u{0}",
                          "webhookId": webhook_id(), "timestamp": ts})),
            Refusal::InvalidField,
        ),
        (
            bytes(&json!({"type": "ContactCreate", "webhookId": webhook_id(), "timestamp": ts})),
            Refusal::MissingLocationId,
        ),
        (
            bytes(&json!({"type": "ContactCreate", "companyId": "K", "webhookId": webhook_id()})),
            Refusal::MissingLocationId,
        ),
        (
            bytes(&json!({"type": "ContactCreate", "locationId": "L", "timestamp": ts})),
            Refusal::MissingWebhookId,
        ),
        (
            bytes(
                &json!({"type": "ContactCreate", "locationId": "L", "webhookId": "",
                          "timestamp": ts}),
            ),
            Refusal::MissingWebhookId,
        ),
        (
            bytes(
                &json!({"type": "ContactCreate", "locationId": "L", "webhookId": webhook_id(),
                          "timestamp": "yesterday-ish"}),
            ),
            Refusal::InvalidTimestamp,
        ),
    ];
    for (body, reason) in &cases {
        assert_eq!(
            post(url, body, Sig::Both).await,
            (400, refused(*reason)),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert_eq!(env.inbox_rows().await, 0);

    for t in ["INSTALL", "UNINSTALL"] {
        let body = bytes(&json!({"type": t, "appId": "app", "companyId": "K",
                                 "webhookId": webhook_id(), "timestamp": ts}));
        assert_eq!(
            post(url, &body, Sig::Both).await,
            (200, json!({"status": "stored"})),
            "{t}"
        );
    }
    assert_eq!(env.inbox_rows().await, 2);
}

/// 413 over 256 KiB, declared or streamed without a length; exactly 256 KiB is fine.
async fn body_limit(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let limit = sync::ingest::DEFAULT_MAX_BODY;
    let body_of = |size: usize| {
        let id = webhook_id();
        let head = json!({"type": "ContactUpdate", "locationId": "L", "id": "c",
                          "webhookId": id, "timestamp": timestamp(0), "zz_pad": ""});
        let mut v = bytes(&head);
        let pad = size - v.len();
        // Keys are written sorted, so the padding goes inside `zz_pad`, the last value.
        let mut b = v.split_off(v.len() - 2); // `"}`
        v.extend(std::iter::repeat_n(b'x', pad));
        v.append(&mut b);
        assert_eq!(v.len(), size);
        (id, v)
    };
    let (id, exact) = body_of(limit);
    assert_eq!(
        post(&ingest.url, &exact, Sig::Both).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(env.rows_for(&id).await, 1);

    // One byte over, sent whole with its Content-Length.
    let (id, over) = body_of(limit + 1);
    let (ed, rsa) = common::signer().sign(&over);
    let headers = [("x-ghl-signature", ed), ("x-wh-signature", rsa)];
    let chunks: Vec<Vec<u8>> = over.chunks(16 * 1024).map(<[u8]>::to_vec).collect();
    assert_eq!(
        common::raw_post(&ingest.url, &headers, Some(over.len()), chunks.clone()).await,
        Some((413, refused(Refusal::BodyTooLarge)))
    );
    // Streamed in chunks with no Content-Length: refused once the limit is crossed.
    assert_eq!(
        common::raw_post(&ingest.url, &headers, None, chunks).await,
        Some((413, refused(Refusal::BodyTooLarge)))
    );
    // A huge declared length is refused before a byte of it is read.
    assert_eq!(
        common::raw_post(&ingest.url, &headers, Some(1 << 30), vec![]).await,
        Some((413, refused(Refusal::BodyTooLarge)))
    );
    // The same within the limit, chunked, is stored.
    let (chunked_id, fits) = body_of(limit - 10);
    let (ed, rsa) = common::signer().sign(&fits);
    let headers = [("x-ghl-signature", ed), ("x-wh-signature", rsa)];
    let chunks: Vec<Vec<u8>> = fits.chunks(10_000).map(<[u8]>::to_vec).collect();
    assert_eq!(
        common::raw_post(&ingest.url, &headers, None, chunks).await,
        Some((200, json!({"status": "stored"})))
    );
    assert_eq!(env.rows_for(&chunked_id).await, 1);
    assert_eq!(env.rows_for(&id).await, 0);
    assert_eq!(ingest.state.metrics().refused(Refusal::BodyTooLarge), 3);
}

/// 401 for a timestamp older than the replay window or too far ahead; a webhook an hour old
/// (HighLevel still retrying) and one without a timestamp are stored.
async fn timestamp_window(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let url = &ingest.url;
    let body_at = |ts: Value| {
        let id = webhook_id();
        (
            id.clone(),
            bytes(
                &json!({"type": "ContactUpdate", "locationId": "L", "id": "c",
                          "webhookId": id, "timestamp": ts}),
            ),
        )
    };
    const MIN: i64 = 60_000;
    for (ts, status) in [
        (json!(timestamp(-121 * MIN)), 401),
        (json!(timestamp(6 * MIN)), 401),
        (json!(timestamp(-70 * MIN)), 200),
        (json!(timestamp(4 * MIN)), 200),
        (json!(chrono::Utc::now().timestamp_millis()), 200),
        // Epoch milliseconds at the ends of the range: refused, without overflow.
        (json!(i64::MIN), 401),
        (json!(i64::MAX), 401),
    ] {
        let (id, body) = body_at(ts.clone());
        let (got, answer) = post(url, &body, Sig::Both).await;
        assert_eq!(got, status, "{ts}: {answer}");
        assert_eq!(env.rows_for(&id).await, i64::from(status == 200), "{ts}");
    }
    let m = ingest.state.metrics();
    assert_eq!(m.refused(Refusal::StaleTimestamp), 2);
    assert_eq!(m.refused(Refusal::FutureTimestamp), 2);
    let (_, body) = body_at(json!(timestamp(-121 * MIN)));
    assert_eq!(
        post(url, &body, Sig::Both).await,
        (401, refused(Refusal::StaleTimestamp))
    );
    let (_, body) = body_at(json!(timestamp(6 * MIN)));
    assert_eq!(
        post(url, &body, Sig::Both).await,
        (401, refused(Refusal::FutureTimestamp))
    );

    let id = webhook_id();
    let body = bytes(
        &json!({"type": "ContactUpdate", "locationId": "L", "id": "c",
                             "webhookId": id}),
    );
    assert_eq!(
        post(url, &body, Sig::Both).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(env.rows_for(&id).await, 1);
    assert_eq!(ingest.state.metrics().missing_timestamps, 1);

    // A shorter replay window, as configured.
    let mut cfg = config();
    cfg.replay_window = Duration::from_secs(5 * 60);
    let strict = serve(env.store().await, cfg).await;
    let (_, body) = body_at(json!(timestamp(-6 * MIN)));
    assert_eq!(
        post(&strict.url, &body, Sig::Both).await,
        (401, refused(Refusal::StaleTimestamp))
    );
}

/// A store that cannot write answers 429 at once: here its pool is closed.
async fn closed_store_is_429(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    ingest.store.close().await;
    let (id, body) = contact_create();
    let started = Instant::now();
    assert_eq!(
        post(&ingest.url, &body, Sig::Both).await,
        (429, refused(Refusal::StoreUnavailable))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let reopened = env.store().await;
    assert!(!reopened.webhook_stored(&id).await.expect("lookup"));
}

/// A store that does not answer (its write lock held elsewhere) answers 429 within
/// `store_timeout`; once the lock is gone the same webhook is stored — or found stored, when
/// the write the first request gave up on committed after all — and never twice.
async fn locked_store_is_429_then_recovers(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let (warm_id, warm) = contact_create();
    assert_eq!(post(&ingest.url, &warm, Sig::Both).await.0, 200);
    let lock = env.lock_writes().await;
    let (id, body) = contact_create();
    let started = Instant::now();
    assert_eq!(
        post(&ingest.url, &body, Sig::Both).await,
        (429, refused(Refusal::StoreTimeout))
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(2),
        "{took:?}"
    );
    lock.release().await;
    let (status, answer) = post(&ingest.url, &body, Sig::Both).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer == json!({"status": "stored"}) || answer == json!({"status": "duplicate"}),
        "{answer}"
    );
    assert_eq!(env.rows_for(&id).await, 1);
    assert_eq!(env.rows_for(&warm_id).await, 1);
    assert_eq!(ingest.state.metrics().refused(Refusal::StoreTimeout), 1);
}

/// A short store timeout is honoured too.
async fn store_timeout_is_configurable(env: Env) {
    let mut cfg: IngestConfig = config();
    cfg.store_timeout = Duration::from_millis(200);
    let ingest = serve(env.store().await, cfg).await;
    let lock = env.lock_writes().await;
    let (_, body) = contact_create();
    let started = Instant::now();
    assert_eq!(
        post(&ingest.url, &body, Sig::Both).await,
        (429, refused(Refusal::StoreTimeout))
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    lock.release().await;
}

/// Many concurrent webhooks, each sent twice at once: every one stored exactly once, in
/// fewer transactions than webhooks (group commit).
async fn concurrent_deliveries_are_group_committed(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let bodies: Vec<(String, Vec<u8>)> = (0..100).map(|_| contact_create()).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (_, body) in &bodies {
        for _ in 0..2 {
            let (url, body) = (ingest.url.clone(), body.clone());
            tasks.spawn(async move { post(&url, &body, Sig::Ed25519Only).await });
        }
    }
    let mut stored = 0;
    let mut duplicate = 0;
    while let Some(r) = tasks.join_next().await {
        match r.expect("task") {
            (200, v) if v == json!({"status": "stored"}) => stored += 1,
            (200, v) if v == json!({"status": "duplicate"}) => duplicate += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((stored, duplicate), (100, 100));
    for (id, _) in &bodies {
        assert_eq!(env.rows_for(id).await, 1);
    }
    let m = ingest.state.metrics();
    assert_eq!((m.accepted, m.duplicates), (100, 100));
    assert!(
        m.batches < 200,
        "{} transactions for 200 webhooks",
        m.batches
    );
}

on_both_backends!(
    stores_once_then_answers_duplicate,
    ordering_keys_are_stored,
    signature_refusals,
    ed25519_only_keys_refuse_the_legacy_header_and_count_a_failing_location,
    envelope_refusals,
    body_limit,
    timestamp_window,
    closed_store_is_429,
    locked_store_is_429_then_recovers,
    store_timeout_is_configurable,
    concurrent_deliveries_are_group_committed,
    unconnected_locations_are_acknowledged_and_dropped,
);

/// A validly signed webhook for a location that is not connected is answered 200, counted
/// and dropped: no inbox row, no job (which could never apply and would retry forever). An
/// INSTALL for a new location is stored as ever, and the webhooks after it too.
async fn unconnected_locations_are_acknowledged_and_dropped(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let jobs = || env.scalar("SELECT COUNT(*) FROM jobs");
    let jobs_before = jobs().await;
    let for_location = |location: &str, ty: &str| {
        let id = webhook_id();
        let body = bytes(&json!({"type": ty, "locationId": location, "id": "c-1",
            "companyId": "K", "webhookId": id, "timestamp": timestamp(0)}));
        (id, body)
    };

    let (id, body) = for_location("not-connected", "ContactCreate");
    assert_eq!(
        post(&ingest.url, &body, Sig::Both).await,
        (200, json!({"status": "ignored"}))
    );
    assert_eq!(env.rows_for(&id).await, 0, "not stored");
    assert_eq!(jobs().await, jobs_before, "no job");
    let m = ingest.state.metrics();
    assert_eq!((m.unconnected, m.accepted), (1, 0));

    // An INSTALL for a new location is stored, and so are its webhooks while it connects.
    let (install, body) = for_location("new-location", "INSTALL");
    assert_eq!(
        post(&ingest.url, &body, Sig::Both).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(env.rows_for(&install).await, 1);
    let (id, body) = for_location("new-location", "ContactCreate");
    assert_eq!(
        post(&ingest.url, &body, Sig::Both).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(env.rows_for(&id).await, 1);
    // A connected location's webhooks are stored.
    let (id, body) = for_location("L", "ContactUpdate");
    assert_eq!(
        post(&ingest.url, &body, Sig::Both).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(env.rows_for(&id).await, 1);
    let m = ingest.state.metrics();
    assert_eq!((m.unconnected, m.accepted), (1, 3));
}

/// A SQLite file opened read-only (as after `chmod 0444`, which root would ignore) cannot
/// take the write: 429 at once; the same webhook is stored once a writable store serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_sqlite_is_429_then_stored_when_writable() {
    common::run(common::Backend::Sqlite, |env: Env| async move {
        // Creates the file and its tables, and connects the locations.
        let rw = env.store().await;
        common::connect_locations(&rw).await.expect("connect");
        rw.close().await;
        let ro = store::Store::connect(&format!("{}?mode=ro", env.url), store::Keyring::generate())
            .await
            .expect("open read-only");
        let ingest = serve(ro, config()).await;
        let (id, body) = contact_create();
        let started = Instant::now();
        assert_eq!(
            post(&ingest.url, &body, Sig::Both).await,
            (429, refused(Refusal::StoreUnavailable))
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        let writable = serve(env.store().await, config()).await;
        assert_eq!(
            post(&writable.url, &body, Sig::Both).await,
            (200, json!({"status": "stored"}))
        );
        assert_eq!(env.rows_for(&id).await, 1);
    })
    .await;
}
