//! The task board at 100,000 tasks shows the right rows: a workspace with 10,000 contacts and
//! 100,000 tasks (the seed of `benches/seed`), then board pages through the server — the first
//! page of every filter and sort, the pages its "next page" link leads to, pages deep into the
//! list by cursor and the last one — each compared with the page worked out here from the
//! seeded tasks, the count shown (exact under the cap, "1000+" over it), and a contact page
//! listing that contact's tasks.
//!
//! It checks what the pages contain, not how fast they come: page times at this size are
//! measured by `cargo bench -p drivechat --bench pages` and recorded in BENCHMARKS.md.

mod common;
#[path = "../benches/seed/mod.rs"]
mod seed;

use std::cmp::Reverse;

use common::*;
use drivechat::Config;
use seed::Task;
use store::chat::{BoardOrder, BoardQuery};

/// Matches the store's key for undated tasks: they sort after every dated one.
const NO_DATE: i64 = 9_007_199_254_740_991;
const PAGE: usize = 50;
const COUNT_CAP: usize = 1000;

fn today() -> i64 {
    now_ms().div_euclid(DAY) * DAY
}

/// A board query string, and the tasks it should list in order, worked out from the seed
/// the way the page means it (at `today`).
fn expected(tasks: &[Task], query: &str, today: i64) -> Vec<String> {
    let params: Vec<(String, String)> = serde_urlencoded_pairs(query);
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let due = get("due");
    let status = match (due, get("status")) {
        (Some("overdue"), _) | (_, None | Some("open")) => Some(false),
        (_, Some("done")) => Some(true),
        (_, Some("all")) => None,
        (_, Some(s)) => panic!("unknown status {s}"),
    };
    let (from, before) = match due {
        None => (None, None),
        Some("overdue") => (None, Some(today)),
        Some("today") => (Some(today), Some(today + DAY)),
        Some("week") => (Some(today), Some(today + 7 * DAY)),
        Some(d) => panic!("unknown due {d}"),
    };
    let mut rows: Vec<&Task> = tasks
        .iter()
        .filter(|t| status.is_none_or(|done| t.done == done))
        .filter(|t| get("assignee").is_none_or(|a| t.assignee == a))
        .filter(|t| from.is_none_or(|f| t.due.is_some_and(|d| d >= f)))
        .filter(|t| before.is_none_or(|b| t.due.is_some_and(|d| d < b)))
        .collect();
    let due_key = |t: &Task| t.due.unwrap_or(NO_DATE);
    match get("sort") {
        None | Some("due") => rows.sort_by(|a, b| (due_key(a), &a.id).cmp(&(due_key(b), &b.id))),
        Some("due_desc") => rows.sort_by_key(|t| (Reverse(due_key(t)), Reverse(t.id.clone()))),
        Some("title") => rows.sort_by_key(|t| (t.title.to_lowercase(), t.id.clone())),
        Some(s) => panic!("unknown sort {s}"),
    }
    rows.into_iter().map(|t| t.id.clone()).collect()
}

fn serde_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

struct Board {
    ids: Vec<String>,
    count: String,
    next: Option<String>,
}

/// Loads a board page (`path` includes the query) and reads its task ids, count and next link.
async fn load(c: &reqwest::Client, env: &Env, path: &str) -> Board {
    let r = c.get(env.at(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let html = r.text().await.unwrap();
    let count = html
        .split_once("id=\"task-count\">")
        .and_then(|(_, rest)| rest.split_once(" tasks<"))
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| panic!("{path} shows a count"));
    let next = html
        .split_once("data-testid=\"next-page\" href=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(href, _)| href.replace("&amp;", "&"));
    Board {
        ids: attr_values(&html, "data-task-id"),
        count,
        next,
    }
}

/// The count the page should show for `n` matching tasks.
fn count_text(n: usize) -> String {
    if n > COUNT_CAP {
        format!("{COUNT_CAP}+")
    } else {
        n.to_string()
    }
}

/// The store's cursor after the first `skip` tasks of `q` (walked a thousand at a time).
async fn cursor_after(env: &Env, q: &BoardQuery, mut skip: usize) -> Option<String> {
    let mut after = None;
    while skip > 0 {
        let step = skip.min(1000);
        let page = env
            .store
            .board_page(&BoardQuery {
                after: after.clone(),
                limit: step as u32,
                ..q.clone()
            })
            .await
            .unwrap();
        assert_eq!(page.task_ids.len(), step);
        after = page.next;
        skip -= step;
    }
    after
}

/// The ids inside the element with `id="{id}"`, up to the end of its table.
fn ids_in(html: &str, id: &str) -> Vec<String> {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id}"));
    let rest = &html[start..];
    let end = rest.find("</table>").unwrap_or(rest.len());
    attr_values(&rest[..end], "data-task-id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_pages_are_right_at_100k_tasks() {
    run(Backend::Sqlite, Config::default(), |env| async move {
        let seeded = today();
        let tasks = seed::tasks(seeded);
        seed::insert(&env.db_url, A, &seed::rows(&tasks)).await;
        let (alice, _) = sign_in(&env, ALICE).await;
        let board = format!("/w/{A}/tasks");

        // First pages of every filter and sort, and two pages on through their next links.
        let mut exact = false;
        for q in [
            "",
            "?status=all",
            "?status=done",
            "?due=overdue",
            "?due=today",
            "?due=week",
            "?due=week&status=done",
            "?assignee=u3",
            "?due=today&assignee=u3",
            "?sort=title",
            "?sort=due_desc&status=all",
            "?sort=title&status=done&assignee=u7",
        ] {
            // The page counts "today" when it is asked; should the day turn over meanwhile,
            // ask again.
            let (want, first) = loop {
                let day = today();
                let first = load(&alice, &env, &format!("{board}{q}")).await;
                if day == today() {
                    break (expected(&tasks, q, day), first);
                }
            };
            assert_eq!(first.count, count_text(want.len()), "count of board{q}");
            exact |= want.len() <= COUNT_CAP;
            let mut page = first;
            for n in 0..3 {
                let (start, end) = (n * PAGE, want.len().min((n + 1) * PAGE));
                assert_eq!(page.ids, want[start..end], "page {} of board{q}", n + 1);
                assert_eq!(
                    page.next.is_some(),
                    end < want.len(),
                    "board{q}: a next link"
                );
                match page.next {
                    Some(href) => page = load(&alice, &env, &href).await,
                    None => break,
                }
            }
        }
        assert!(exact, "some filter is counted exactly");

        // Deep in the list by cursor: after 60,000 of all tasks by due date, after 6,000 of
        // one assignee's by title, and the last page, which has no next link.
        let all = expected(&tasks, "?status=all", seeded);
        assert_eq!(all.len(), seed::TASKS);
        let by_due = BoardQuery {
            location_id: A.into(),
            ..Default::default()
        };
        let cursor = cursor_after(&env, &by_due, 60_000).await.unwrap();
        let page = load(&alice, &env, &format!("{board}?status=all&after={cursor}")).await;
        assert_eq!(page.ids, all[60_000..60_050], "page after 60,000 tasks");
        assert_eq!(page.count, "1000+", "the count stops at its cap");
        let page = load(&alice, &env, &page.next.expect("a next page")).await;
        assert_eq!(page.ids, all[60_050..60_100], "the page after that");

        let q = "?sort=title&status=all&assignee=u3";
        let want = expected(&tasks, q, seeded);
        let by_title = BoardQuery {
            location_id: A.into(),
            assignee: Some("u3".into()),
            order: BoardOrder::TitleAsc,
            ..Default::default()
        };
        let cursor = cursor_after(&env, &by_title, 6_000).await.unwrap();
        let page = load(&alice, &env, &format!("{board}{q}&after={cursor}")).await;
        assert_eq!(
            page.ids,
            want[6_000..6_050],
            "u3's tasks by title after 6,000"
        );

        let cursor = cursor_after(&env, &by_due, seed::TASKS - PAGE)
            .await
            .unwrap();
        let page = load(&alice, &env, &format!("{board}?status=all&after={cursor}")).await;
        assert_eq!(page.ids, all[seed::TASKS - PAGE..], "the last page");
        assert_eq!(page.next, None, "the last page has no next link");

        // A contact page among 100,000 tasks lists exactly that contact's, open and done.
        let r = alice
            .get(env.at(&format!("/w/{A}/contacts/c00042")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        let mine = |done: bool| {
            let mut ids: Vec<String> = tasks
                .iter()
                .filter(|t| t.contact == "c00042" && t.done == done)
                .map(|t| t.id.clone())
                .collect();
            ids.sort();
            ids
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_eq!(
            sorted(ids_in(&html, "tasks-open")),
            mine(false),
            "open tasks"
        );
        assert_eq!(
            sorted(ids_in(&html, "tasks-done")),
            mine(true),
            "done tasks"
        );
        assert_eq!(mine(false).len() + mine(true).len(), 10);
    })
    .await;
}
