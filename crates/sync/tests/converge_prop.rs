//! Property: whatever order HighLevel's states of some records arrive in, however often each
//! arrives, the store ends at each record's final state — its last update, or its tombstone
//! when the history ends in a deletion. States are webhook-shaped (envelope keys included,
//! `dateUpdated` as the version) and go through the same conversion the workers use. On
//! SQLite, and on PostgreSQL when `DRIVESYNC_TEST_PG_URL` is set.

use proptest::prelude::*;
use serde_json::{json, Value};
use store::{RecordKind, Store};
use sync::converge;
use sync::describe::Origin;
use sync::records;

/// One state of a record's history, or its deletion.
#[derive(Debug, Clone)]
enum Step {
    State {
        version: i64,
        title: String,
        done: bool,
        tags: Vec<String>,
    },
    Delete {
        version: i64,
    },
}

/// A record's history: states at strictly increasing versions, perhaps ending in a deletion.
fn history() -> impl Strategy<Value = Vec<Step>> {
    (
        prop::collection::vec(
            (
                "[a-z]{1,6}",
                any::<bool>(),
                prop::collection::vec("[a-c]", 0..3),
            ),
            1..6,
        ),
        any::<bool>(),
    )
        .prop_map(|(states, deleted)| {
            let mut out: Vec<Step> = states
                .into_iter()
                .enumerate()
                .map(|(i, (title, done, tags))| Step::State {
                    version: 1_750_000_000_000 + (i as i64 + 1) * 1000,
                    title,
                    done,
                    tags,
                })
                .collect();
            if deleted {
                out.push(Step::Delete {
                    version: 1_750_000_000_000 + (out.len() as i64 + 1) * 1000,
                });
            }
            out
        })
}

/// Several records' histories, delivered shuffled with duplicates: (record, step) indices.
fn delivery() -> impl Strategy<Value = (Vec<Vec<Step>>, Vec<(usize, usize)>)> {
    prop::collection::vec(history(), 1..4).prop_flat_map(|hs| {
        let all: Vec<(usize, usize)> = hs
            .iter()
            .enumerate()
            .flat_map(|(r, h)| (0..h.len()).map(move |s| (r, s)))
            .collect();
        let n = all.len();
        // Every step at least once, some again (duplicates), in any order.
        let extra = prop::collection::vec(0..n, 0..n + 1);
        (Just(hs), Just(all), extra).prop_flat_map(|(hs, all, extra)| {
            let mut seq = all.clone();
            seq.extend(extra.iter().map(|&i| all[i]));
            (Just(hs), Just(seq).prop_shuffle())
        })
    })
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The webhook body of a step: contacts for even records, tasks for odd ones.
fn body(
    kind: RecordKind,
    location: &str,
    id: &str,
    version: i64,
    title: &str,
    done: bool,
    tags: &[String],
) -> Value {
    match kind {
        RecordKind::Contact => json!({
            "type": "ContactUpdate", "locationId": location, "id": id,
            "firstName": title, "tags": tags, "dnd": done,
            "dateUpdated": iso(version), "timestamp": iso(version + 5),
            "webhookId": format!("wh-{id}-{version}"),
        }),
        _ => json!({
            "type": "TaskComplete", "locationId": location, "id": id, "contactId": "c-1",
            "title": title, "completed": done,
            "dateUpdated": iso(version), "timestamp": iso(version + 5),
            "webhookId": format!("wh-{id}-{version}"),
        }),
    }
}

fn record(kind: RecordKind, location: &str, body: &Value) -> store::Record {
    let data = records::strip_envelope(body);
    match kind {
        RecordKind::Contact => records::contact(location, data, 0),
        _ => records::task(location, None, data, 0),
    }
    .expect("a record")
}

async fn check(store: &Store, location: &str, hs: &[Vec<Step>], seq: &[(usize, usize)]) {
    let kind_of = |r: usize| {
        if r.is_multiple_of(2) {
            RecordKind::Contact
        } else {
            RecordKind::Task
        }
    };
    for &(r, s) in seq {
        let id = format!("rec-{r}");
        match &hs[r][s] {
            Step::State {
                version,
                title,
                done,
                tags,
            } => {
                let b = body(kind_of(r), location, &id, *version, title, *done, tags);
                converge::apply_state(
                    store,
                    record(kind_of(r), location, &b),
                    Origin::Webhook,
                    true,
                )
                .await
                .expect("apply a state");
            }
            Step::Delete { version } => {
                converge::apply_delete(store, location, kind_of(r), &id, *version, Origin::Webhook)
                    .await
                    .expect("apply a deletion");
            }
        }
    }
    for (r, h) in hs.iter().enumerate() {
        let id = format!("rec-{r}");
        let got = store
            .record(location, kind_of(r), &id)
            .await
            .expect("read")
            .expect("the record was seen");
        match h.last().expect("a history") {
            Step::Delete { .. } => assert!(got.is_deleted(), "{id} must end deleted"),
            Step::State {
                version,
                title,
                done,
                tags,
            } => {
                let b = body(kind_of(r), location, &id, *version, title, *done, tags);
                let want = record(kind_of(r), location, &b);
                assert!(!got.is_deleted(), "{id} must end live");
                assert_eq!(got.version_ms, want.version_ms, "{id}: the final version");
                assert_eq!(got.data, want.data, "{id}: the final state");
                if kind_of(r) == RecordKind::Contact {
                    let mut t = got.tags.clone();
                    t.sort();
                    t.dedup();
                    assert_eq!(
                        t,
                        store::mirror::tags_of(&want.data),
                        "{id}: the final tags"
                    );
                }
            }
        }
    }
}

fn run_on(url: String) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = rt
        .block_on(Store::connect(&url, store::Keyring::generate()))
        .expect("store");
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |((hs, seq) in delivery())| {
        // A location of its own per case: one database serves every case.
        let location = format!("loc-{:016x}", rand::random::<u64>());
        rt.block_on(check(&store, &location, &hs, &seq));
    });
}

#[test]
fn shuffled_duplicated_histories_end_in_the_final_state_on_sqlite() {
    let db = testkit::TestDb::sqlite();
    run_on(db.url.clone());
}

#[test]
fn shuffled_duplicated_histories_end_in_the_final_state_on_postgres() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = rt.block_on(testkit::TestDb::postgres()) else {
        return;
    };
    run_on(db.url.clone());
}
