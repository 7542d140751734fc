//! Drive Chat pages and live feed at scale: a workspace with 10,000 contacts, 100,000 tasks,
//! 20,000 notes and 5,000 appointments (the seed of `tests/scale.rs`, plus notes and
//! appointments), on a SQLite file and, when `DRIVESYNC_TEST_PG_URL` is set, in a PostgreSQL
//! schema of its own. The real router is served on 127.0.0.1:0 and a signed-in member loads
//! pages one after another over loopback (one kept-alive connection, after a warm-up); the
//! time reported is the client's, from sending the request to the last byte of the page.
//!
//! Then the live feed: 200 clients hold `/w/{ws}/live` open, a change is written into the
//! store as the sync engine writes it (`Store::write_record` with a `NewChange`), and the
//! time until every client has received it is measured, over several repetitions spaced at
//! random so they fall at different points of the follower's poll. Peak RSS is the whole
//! process's (server, store and the 200 clients).
//!
//! ```sh
//! cargo bench -p drivechat --bench pages
//! BENCH_ITERS=1000 BENCH_SSE_CLIENTS=500 BENCH_SSE_REPS=50 cargo bench -p drivechat --bench pages
//! ```

#[path = "../tests/common/mod.rs"]
mod common;
mod seed;

use std::time::{Duration, Instant};

use common::*;
use drivechat::Config;
use futures::StreamExt as _;
use store::chat::{BoardQuery, Channel, NewMessage};
use store::{Expect, RecordKind, Written};
use testkit::bench::{env_usize, peak_rss_mib, reset_peak_rss, rss_mib};
use tokio::sync::mpsc;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The nearest-rank percentile of sorted samples.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A cheap deterministic jitter.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The contact the contact page is measured on, and what is written around it.
const CONTACT: &str = "c00042";

/// Gives `CONTACT` a name and tags, 20 notes, 3 past and 3 upcoming appointments with 2
/// appointment notes each, and 10 messages in its thread — written through the store as the
/// sync engine and people write them, so the thread has their changes too.
async fn dress_contact(env: &Env, today: i64) {
    env.put(
        contact(A, CONTACT, "Dana", "Reyes", &["vip", "roofing", "q4"]),
        &[change("updated", "Dana Reyes updated")],
    )
    .await;
    for i in 0..20 {
        let at = today - i * 3 * DAY + 9 * 3600 * 1000;
        env.put(
            note(
                A,
                &format!("{CONTACT}-n{i}"),
                CONTACT,
                &format!("Call {i}: asked about the roof estimate; sending a revised quote."),
                at,
            ),
            &[change("created", "Note added by Ana")],
        )
        .await;
    }
    for i in 0..6i64 {
        let start = today + (i - 3) * 5 * DAY + (i + 1) * DAY + 10 * 3600 * 1000;
        let id = format!("{CONTACT}-a{i}");
        env.put(
            appointment(A, &id, CONTACT, &format!("Site visit {i}"), start),
            &[change("created", "Appointment confirmed")],
        )
        .await;
        for j in 0..2 {
            env.put(
                appointment_note(
                    A,
                    &format!("{id}-n{j}"),
                    &id,
                    CONTACT,
                    &format!("Bring ladder and drone ({j})."),
                ),
                &[change("created", "Appointment note added")],
            )
            .await;
        }
    }
    for i in 0..10 {
        env.store
            .post_message(&NewMessage {
                location_id: A.into(),
                channel: Channel::Contact(CONTACT.into()),
                author_id: None,
                author_name: "Alice Archer".into(),
                body: format!("Message {i} about Dana's quote."),
                idempotency_key: None,
            })
            .await
            .expect("post a message");
    }
}

/// Loads `path` `iters` times after a warm-up; returns the sorted times and the page size.
async fn time_page(
    c: &reqwest::Client,
    env: &Env,
    path: &str,
    iters: usize,
) -> (Vec<Duration>, usize) {
    let url = env.at(path);
    let mut size = 0;
    let mut times = Vec::with_capacity(iters);
    for i in 0..iters + iters / 10 + 5 {
        let t = Instant::now();
        let r = c.get(&url).send().await.expect("request");
        assert_eq!(r.status(), 200, "{path}");
        let body = r.bytes().await.expect("body");
        let took = t.elapsed();
        size = body.len();
        if i >= iters / 10 + 5 {
            times.push(took);
        }
    }
    times.sort();
    (times, size)
}

async fn time_store<F, Fut, T>(iters: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::with_capacity(iters);
    for i in 0..iters + 5 {
        let t = Instant::now();
        std::hint::black_box(f().await);
        if i >= 5 {
            times.push(t.elapsed());
        }
    }
    times.sort();
    times
}

fn row(label: &str, what: &str, times: &[Duration], note: &str) {
    println!(
        "{label:<11} {what:<44} p50 {:>7.2} ms  p99 {:>7.2} ms  {note}",
        ms(pct(times, 0.50)),
        ms(pct(times, 0.99)),
    );
}

/// The repetition number in an SSE event written by `live`, if it is one.
fn marker(event: &[u8]) -> Option<usize> {
    const M: &[u8] = b"bench change ";
    let at = event.windows(M.len()).position(|w| w == M)? + M.len();
    let digits: Vec<u8> = event[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

async fn bench(env: Env, label: &'static str) {
    let iters = env_usize("BENCH_ITERS", 300);
    let clients = env_usize("BENCH_SSE_CLIENTS", 200);
    let reps = env_usize("BENCH_SSE_REPS", 20);
    let today = now_ms().div_euclid(DAY) * DAY;

    let t = Instant::now();
    let tasks = seed::tasks(today);
    let mut rows = seed::rows(&tasks);
    rows.extend(seed::notes(20_000, today));
    rows.extend(seed::appointments(5_000, today));
    seed::insert(&env.db_url, A, &rows).await;
    drop(rows);
    dress_contact(&env, today).await;
    println!(
        "{label:<11} seeded {} contacts, {} tasks, 20,000 notes, 5,000 appointments in {:.1} s; RSS {:.0} MiB",
        seed::CONTACTS,
        seed::TASKS,
        t.elapsed().as_secs_f64(),
        rss_mib()
    );
    env.chat.spawn_live_feed().await.expect("live feed");
    let (alice, _) = sign_in(&env, ALICE).await;

    // Pages.
    let board = format!("/w/{A}/tasks");
    let deep = {
        let mut after = None;
        for _ in 0..60 {
            let page = env
                .store
                .board_page(&BoardQuery {
                    location_id: A.into(),
                    after,
                    limit: 1000,
                    ..Default::default()
                })
                .await
                .expect("board page");
            after = page.next;
        }
        after.expect("more than 60,000 tasks")
    };
    let mut pages: Vec<(String, String)> = vec![
        (
            format!("contact page ({CONTACT}: 10 tasks, 26 notes, 6 appts)"),
            format!("/w/{A}/contacts/{CONTACT}"),
        ),
        (
            "contact page (c00043: 10 tasks, 2 notes)".into(),
            format!("/w/{A}/contacts/c00043"),
        ),
    ];
    for q in [
        "",
        "?status=all",
        "?status=done",
        "?due=overdue",
        "?due=today",
        "?due=week",
        "?assignee=u3",
        "?sort=title",
        "?sort=due_desc&status=all",
    ] {
        pages.push((
            format!("board {}", if q.is_empty() { "(open, due)" } else { q }),
            format!("{board}{q}"),
        ));
    }
    pages.push((
        "board ?status=all after 60,000 (cursor)".into(),
        format!("{board}?status=all&after={deep}"),
    ));
    for (what, path) in &pages {
        let (times, size) = time_page(&alice, &env, path, iters).await;
        row(label, what, &times, &format!("{} KiB", size / 1024));
    }

    // What one board page asks the store, each call alone.
    let q = BoardQuery {
        location_id: A.into(),
        status: Some("open".into()),
        limit: 50,
        ..Default::default()
    };
    let s = &env.store;
    let n = iters.min(200);
    row(
        label,
        "  store: board_page (open, due, 50)",
        &time_store(n, || s.board_page(&q)).await,
        "",
    );
    row(
        label,
        "  store: board_count (cap 1000)",
        &time_store(n, || s.board_count(&q, 1000)).await,
        "",
    );
    row(
        label,
        "  store: assignees(task)",
        &time_store(n, || s.assignees(A, RecordKind::Task)).await,
        "",
    );
    row(
        label,
        "  store: commands (recent 300)",
        &time_store(n, || s.commands(A, None, None, 300)).await,
        "",
    );

    // The live feed.
    let rss_before = rss_mib();
    reset_peak_rss();
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut readers = Vec::with_capacity(clients);
    let live = env.at(&format!("/w/{A}/live"));
    for _ in 0..clients {
        let r = alice.get(&live).send().await.expect("open the live feed");
        assert_eq!(r.status(), 200);
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            let mut body = r.bytes_stream();
            let mut buf: Vec<u8> = Vec::new();
            while let Some(Ok(chunk)) = body.next().await {
                buf.extend_from_slice(&chunk);
                while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                    let event: Vec<u8> = buf.drain(..end + 2).collect();
                    if let Some(k) = marker(&event) {
                        let _ = tx.send((k, Instant::now()));
                    }
                }
            }
        }));
    }
    let rss_open = rss_mib();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut all, mut first, mut spread, mut write) = (vec![], vec![], vec![], vec![]);
    for k in 0..reps {
        tokio::time::sleep(Duration::from_millis(100 + rng.next() % 300)).await;
        let current = env
            .store
            .record(A, RecordKind::Task, "t000042")
            .await
            .expect("read")
            .expect("seeded task");
        let mut next = current.clone();
        let done = current.status.as_deref() != Some("done");
        next.status = Some(if done { "done" } else { "open" }.into());
        next.version_ms = current.version_ms + 1;
        let change = store::NewChange {
            action: if done { "completed" } else { "reopened" }.into(),
            summary: format!("bench change {k}"),
            detail: serde_json::json!({}),
            origin: "webhook".into(),
            actor: None,
        };
        let t0 = Instant::now();
        let w = env
            .store
            .write_record(&next, Expect::of(Some(&current)), &[change])
            .await
            .expect("write");
        assert_eq!(w, Written::Written);
        write.push(t0.elapsed());
        let mut arrivals = Vec::with_capacity(clients);
        while arrivals.len() < clients {
            let (got, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("every client receives the change within 10 s")
                .expect("readers alive");
            assert_eq!(got, k, "changes arrive in order");
            arrivals.push(at - t0);
        }
        arrivals.sort();
        first.push(arrivals[0]);
        all.push(arrivals[clients - 1]);
        spread.push(arrivals[clients - 1] - arrivals[0]);
    }
    for v in [&mut all, &mut first, &mut spread, &mut write] {
        v.sort();
    }
    let what = format!("live: write → all {clients} clients ({reps} reps)");
    row(label, &what, &all, "");
    row(label, "live: write → first client", &first, "");
    row(label, "live: first → last client (fan-out)", &spread, "");
    row(label, "live: write_record itself", &write, "");
    println!(
        "{label:<11} RSS {rss_before:.0} MiB before the live clients, {rss_open:.0} MiB with {clients} open, peak {:.0} MiB during the live runs",
        peak_rss_mib()
    );
    for r in readers {
        r.abort();
    }
}

fn config() -> Config {
    Config::default()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        run(Backend::Sqlite, config(), |env| bench(env, "SQLite")).await;
        run(Backend::Postgres, config(), |env| bench(env, "PostgreSQL")).await;
    });
}
