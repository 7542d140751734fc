//! Backfill against the HighLevel sandbox (in-process, OS-chosen loopback port, rate limits
//! on), on SQLite and on PostgreSQL (`DRIVESYNC_TEST_PG_URL`): a seeded location imported
//! whole equals the sandbox record for record without a 429 or a feed line; a backfill killed
//! after some pages resumes from its checkpoint with fewer requests than a full run and ends
//! in the same store; a finished backfill is not repeated unless restarted.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Env;
use ghl::api::Location;
use ghl_sandbox::{RunningSandbox, SandboxConfig};
use secrecy::SecretString;
use serde_json::Value;
use store::{RecordKind, Store};
use sync::backfill::{backfill, BackfillOptions, BackfillReport, Budget, NoProgress, Progress};
use sync::records;

const CONTACTS: usize = 300;
const PAGE: u32 = 50;

/// One backfill at a time in this binary: the client's limiter keeps a 50 ms margin per
/// window, and four backfills with their sandboxes on two cores delay requests by more than
/// that between the limiter and the sandbox (seen: three 429s), which is load, not the
/// backfill's pacing.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn sandbox() -> RunningSandbox {
    let mut cfg = SandboxConfig {
        locations: 1,
        contacts_per_location: CONTACTS,
        seed: 7,
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    // HighLevel's burst of 100, in a window a twentieth as long, so the suite stays quick
    // while the limit is still met and enforced (a 429 would show in the report).
    cfg.rate_limit.interval = Duration::from_millis(500);
    testkit::sandbox::start(cfg).await
}

fn location(sb: &RunningSandbox) -> Location {
    let (loc, company) = sb.sandbox.read(|w| {
        (
            w.locations.keys().next().expect("a location").to_string(),
            w.company_id.to_string(),
        )
    });
    let token = sb.sandbox.auth.lock().mint_pit(
        &loc,
        &company,
        vec![
            "contacts.readonly".into(),
            "calendars.readonly".into(),
            "calendars/events.readonly".into(),
            "locations/tasks.readonly".into(),
            "locations.readonly".into(),
            "locations/customFields.readonly".into(),
            "users.readonly".into(),
        ],
    );
    let tokens = ghl::StaticTokens::default();
    tokens.insert(&loc, SecretString::from(token), None);
    let cfg = ghl::ClientConfig::new(url::Url::parse(&sb.base_url()).expect("url"));
    ghl::GhlClient::new(cfg, Arc::new(tokens))
        .expect("client")
        .location(loc)
}

/// Every record of the location as the sandbox holds it, in canonical form, by kind and id.
fn sandbox_records(sb: &RunningSandbox) -> BTreeMap<(RecordKind, String), Value> {
    sb.sandbox.read(|w| {
        let loc = w.locations.values().next().expect("a location");
        let mut out = BTreeMap::new();
        let mut put = |kind, id: &str, json: Value| {
            out.insert((kind, id.to_string()), records::canonical(kind, &json));
        };
        for c in loc.contacts.values() {
            put(RecordKind::Contact, &c.id, c.to_json());
            for t in &c.tasks {
                put(RecordKind::Task, &t.id, t.to_json());
            }
            for n in &c.notes {
                put(RecordKind::Note, &n.id, n.to_json());
            }
        }
        for a in loc.appointments.values() {
            put(RecordKind::Appointment, &a.id, a.to_event_json());
            for n in loc.appointment_notes.get(&a.id).into_iter().flatten() {
                put(RecordKind::AppointmentNote, &n.id, n.to_json(&a.contact_id));
            }
        }
        out
    })
}

async fn store_records(store: &Store, location: &str) -> BTreeMap<(RecordKind, String), Value> {
    let mut out = BTreeMap::new();
    for kind in RecordKind::ALL {
        for id in store.record_ids(location, kind).await.expect("ids") {
            let r = store
                .record(location, kind, &id)
                .await
                .expect("read")
                .expect("listed");
            out.insert((kind, id), r.data);
        }
    }
    out
}

/// The store holds exactly the sandbox's records, field for field.
async fn assert_same(store: &Store, sb: &RunningSandbox, location: &str) {
    let want = sandbox_records(sb);
    let got = store_records(store, location).await;
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (k, v) in &want {
        assert_eq!(&got[k], v, "{k:?} differs");
    }
    for kind in RecordKind::ALL {
        assert!(
            want.keys().any(|(k, _)| *k == kind),
            "the seed has no {kind}: the comparison would prove nothing for it"
        );
    }
}

#[derive(Default)]
struct Seen {
    total: AtomicU64,
    done_before: AtomicU64,
    advanced: AtomicU64,
    pages: AtomicU64,
    budget_max: AtomicU64,
    finished: AtomicU64,
    phases: AtomicU64,
    in_contacts: std::sync::atomic::AtomicBool,
}

impl Progress for Seen {
    fn phase_started(&self, phase: &str, total: Option<u64>, done_before: u64) {
        let contacts = phase == sync::backfill::PHASE_CONTACTS;
        self.in_contacts.store(contacts, Ordering::SeqCst);
        self.phases.fetch_add(1, Ordering::SeqCst);
        if contacts {
            self.total.store(total.unwrap_or(0), Ordering::SeqCst);
            self.done_before.store(done_before, Ordering::SeqCst);
        }
    }
    fn advanced(&self, items: u64) {
        // Contacts only: the other phases count tasks and appointments.
        if self.in_contacts.load(Ordering::SeqCst) {
            self.advanced.fetch_add(items, Ordering::SeqCst);
            self.pages.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn budget(&self, b: Budget) {
        self.budget_max.store(u64::from(b.max), Ordering::SeqCst);
    }
    fn finished(&self, _r: &BackfillReport) {
        self.finished.fetch_add(1, Ordering::SeqCst);
    }
}

fn opts() -> BackfillOptions {
    BackfillOptions {
        page_size: PAGE,
        ..BackfillOptions::default()
    }
}

/// A whole location in one run: the store equals the sandbox, no 429, no feed line, the
/// progress told; a second run does nothing; a restart imports again and changes nothing.
async fn imports_a_location_whole(env: Env) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let store = env.store().await;
    let sb = sandbox().await;
    let loc = location(&sb);
    let seen = Seen::default();
    let r = backfill(&store, &loc, &seen, opts())
        .await
        .expect("backfill");
    assert_same(&store, &sb, loc.id()).await;
    assert_eq!(r.imported.contacts, CONTACTS as u64);
    assert_eq!(r.rate_limited, 0, "{r:?}");
    assert_eq!(sb.sandbox.counters.rate_limited.load(Ordering::SeqCst), 0);
    // A notes read per contact and per appointment; then listings: a search page per 50
    // contacts (plus the empty one that ends full pages), a task page per 100 tasks, the
    // calendar list and 8 windows per calendar, and the context's three reads.
    let calendars = sb.sandbox.read(|w| {
        w.locations
            .values()
            .next()
            .map_or(0, |l| l.calendars.len() as u64)
    });
    let min = CONTACTS as u64 + r.imported.appointments;
    let listings = r.pages + 1 + (r.imported.tasks / 100 + 1) + 1 + 8 * calendars + 3;
    assert!(
        r.requests >= min && r.requests <= min + listings,
        "{} requests for {:?} ({} pages, {calendars} calendars)",
        r.requests,
        r.imported,
        r.pages
    );
    // Issue #10's aim, on the seeded data: at most 1.4 requests per contact (from 3.2).
    assert!(
        r.requests as f64 <= 1.4 * CONTACTS as f64,
        "{} requests for {CONTACTS} contacts",
        r.requests
    );
    assert_eq!(seen.phases.load(Ordering::SeqCst), 3, "three phases");
    assert_eq!(seen.total.load(Ordering::SeqCst), CONTACTS as u64);
    assert_eq!(seen.advanced.load(Ordering::SeqCst), CONTACTS as u64);
    assert_eq!(seen.budget_max.load(Ordering::SeqCst), 100);
    assert_eq!(seen.finished.load(Ordering::SeqCst), 1);
    let feed = store
        .changes_after(loc.id(), None, 0, 1000)
        .await
        .expect("feed");
    assert!(
        feed.is_empty(),
        "a backfill announced {} changes",
        feed.len()
    );

    let again = backfill(&store, &loc, &NoProgress, opts())
        .await
        .expect("again");
    assert!(again.already_complete);
    assert_eq!(again.requests, 0);

    let restarted = backfill(
        &store,
        &loc,
        &NoProgress,
        BackfillOptions {
            restart: true,
            ..opts()
        },
    )
    .await
    .expect("restart");
    assert_eq!(restarted.imported, r.imported);
    assert_same(&store, &sb, loc.id()).await;
    assert!(store
        .changes_after(loc.id(), None, 0, 1000)
        .await
        .expect("feed")
        .is_empty());
}

/// Killed after two pages: the rerun starts after the last checkpoint (fewer requests than
/// a full run) and ends with the same store as an uninterrupted run.
async fn resumes_after_a_crash(env: Env) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let store = env.store().await;
    let sb = sandbox().await;
    let loc = location(&sb);
    let seen = Arc::new(Seen::default());
    let task = {
        let (store, loc, seen) = (store.clone(), loc.clone(), seen.clone());
        tokio::spawn(async move { backfill(&store, &loc, &*seen, opts()).await })
    };
    while seen.pages.load(Ordering::SeqCst) < 2 {
        assert!(
            !task.is_finished(),
            "the backfill ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    task.abort();
    assert!(task.await.expect_err("killed").is_cancelled());
    let cp = store
        .backfill_checkpoints(loc.id())
        .await
        .expect("checkpoints");
    assert_eq!(cp.len(), 1);
    assert!(!cp[0].done);
    let checkpointed = cp[0].items as u64;
    assert!(
        checkpointed >= 2 * u64::from(PAGE) && checkpointed < CONTACTS as u64,
        "{checkpointed}"
    );

    let seen2 = Seen::default();
    let resumed = backfill(&store, &loc, &seen2, opts())
        .await
        .expect("resume");
    assert_eq!(resumed.before.contacts, checkpointed);
    assert_eq!(seen2.done_before.load(Ordering::SeqCst), checkpointed);
    assert_eq!(
        resumed.imported.contacts + checkpointed,
        CONTACTS as u64,
        "every contact once across the two runs"
    );
    assert_same(&store, &sb, loc.id()).await;

    // The same location imported uninterrupted into a fresh store (on PostgreSQL the same
    // schema, restarted: the comparison with the sandbox above already covers it).
    let fresh_db = testkit::TestDb::sqlite();
    let fresh = match env.backend {
        common::Backend::Sqlite => fresh_db.connect(store::Keyring::generate()).await,
        common::Backend::Postgres => store.clone(),
    };
    let full = backfill(
        &fresh,
        &loc,
        &NoProgress,
        BackfillOptions {
            restart: true,
            ..opts()
        },
    )
    .await
    .expect("full");
    assert!(
        resumed.requests < full.requests,
        "resumed {} requests, full {}",
        resumed.requests,
        full.requests
    );
    assert_eq!(
        store_records(&fresh, loc.id()).await,
        store_records(&store, loc.id()).await
    );
}

on_both_backends!(imports_a_location_whole, resumes_after_a_crash);
