//! Write-back against the HighLevel sandbox (started in-process on an OS-chosen loopback
//! port), on SQLite and on PostgreSQL (`DRIVESYNC_TEST_PG_URL`): every command kind carried
//! out and checked through the sandbox's own API, refusals settled with a sentence a member
//! can act on, transient failures left pending and then done, a command run twice acting
//! once, a lost answer never turned into a duplicate, and the webhook echo of our own write
//! recognised (no second feed line, nothing queued).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Env;
use ghl::api::Location;
use ghl_sandbox::{RunningSandbox, SandboxConfig};
use secrecy::SecretString;
use serde_json::{json, Value};
use store::{CommandState, HighLevelCommand, NewCommand, RecordKind, Store};
use sync::converge::{self, Outcome};
use sync::describe::Origin;
use sync::records;
use sync::writeback::execute;

const MEMBER: &str = "member-ana";

struct Sandbox {
    running: RunningSandbox,
    base: String,
    location: String,
    /// A Private Integration Token with every scope.
    token: String,
    http: reqwest::Client,
}

impl Sandbox {
    async fn start() -> Sandbox {
        let cfg = SandboxConfig {
            locations: 1,
            contacts_per_location: 30,
            ..testkit::sandbox::config(testkit::key_dir!())
        };
        let running = testkit::sandbox::start(cfg).await;
        let base = running.base_url();
        let http = common::client();
        let location = testkit::sandbox::location_ids(&http, &base).await[0].clone();
        let mut sb = Sandbox {
            running,
            base,
            location,
            token: String::new(),
            http,
        };
        sb.token = sb.pit(None).await;
        sb
    }

    async fn pit(&self, scopes: Option<&[&str]>) -> String {
        testkit::sandbox::mint_pit(&self.http, &self.base, &self.location, scopes)
            .await
            .token
    }

    /// The client drivesync would use, with short backoffs so retries end quickly.
    fn location_with(&self, token: &str, timeout: Duration) -> Location {
        self.client_for(&self.base, token, timeout)
    }

    /// The same, through another address (a proxy in front of the sandbox).
    fn location_with_base(&self, base: &str, timeout: Duration) -> Location {
        self.client_for(base, &self.token, timeout)
    }

    fn client_for(&self, base: &str, token: &str, timeout: Duration) -> Location {
        let tokens = ghl::StaticTokens::default();
        // Scopes unknown (as for a Private Integration Token): HighLevel decides.
        tokens.insert(&self.location, SecretString::from(token.to_string()), None);
        let mut cfg = ghl::ClientConfig::new(url::Url::parse(base).expect("url"));
        cfg.timeout = timeout;
        cfg.max_attempts = 3;
        cfg.backoff_base = Duration::from_millis(10);
        cfg.backoff_max = Duration::from_millis(100);
        ghl::GhlClient::new(cfg, Arc::new(tokens))
            .expect("client")
            .location(self.location.clone())
    }

    fn location(&self) -> Location {
        self.location_with(&self.token, Duration::from_secs(10))
    }

    /// A record as the sandbox holds it, through its API (`None`: no such record).
    async fn record(&self, id: &str) -> Option<Value> {
        let res = self
            .http
            .get(format!("{}/_sandbox/records/{id}", self.base))
            .send()
            .await
            .expect("record");
        if res.status() == 404 {
            return None;
        }
        let v: Value = res.json().await.expect("json");
        Some(v["record"].clone())
    }

    async fn faults(&self, f: Value) {
        let res = self
            .http
            .post(format!("{}/_sandbox/faults", self.base))
            .json(&f)
            .send()
            .await
            .expect("faults");
        assert!(res.status().is_success(), "{}", res.status());
    }

    /// A contact with an open task: (contact id, task id).
    fn open_task(&self) -> (String, String) {
        self.running.sandbox.read(|w| {
            let loc = w.locations.values().next().expect("a location");
            let mut ids: Vec<_> = loc.contacts.keys().collect();
            ids.sort();
            ids.into_iter()
                .find_map(|id| {
                    loc.contacts[id]
                        .tasks
                        .iter()
                        .find(|t| !t.completed)
                        .map(|t| (id.to_string(), t.id.to_string()))
                })
                .expect("a seeded open task")
        })
    }

    /// A contact with no tags.
    fn untagged_contact(&self) -> String {
        self.running.sandbox.read(|w| {
            let loc = w.locations.values().next().expect("a location");
            let mut ids: Vec<_> = loc.contacts.keys().collect();
            ids.sort();
            ids.into_iter()
                .find(|id| loc.contacts[*id].tags.is_empty())
                .expect("an untagged contact")
                .to_string()
        })
    }

    /// The contact's tasks (or notes), through the API.
    async fn list(&self, contact: &str, what: &str) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/contacts/{contact}/{what}", self.base))
            .bearer_auth(&self.token)
            .header("Version", ghl::API_VERSION)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        v[what].as_array().cloned().unwrap_or_default()
    }

    /// The webhook bodies the sandbox built for record `id` (waits until `n` exist).
    async fn echoes(&self, id: &str, n: usize) -> Vec<Value> {
        let find = || {
            self.running
                .sandbox
                .recent_events()
                .into_iter()
                .filter(|e| e["id"] == id || e.pointer("/appointment/id") == Some(&json!(id)))
                .collect::<Vec<_>>()
        };
        for _ in 0..200 {
            let found = find();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the sandbox built no webhook for {id}");
    }
}

/// A proxy in front of the sandbox that can lose answers: with `lose_posts` on, a POST is
/// passed on (HighLevel acts on it) and its answer held for 3 s, past the client's timeout.
struct LossyProxy {
    base: String,
    lose: Arc<std::sync::atomic::AtomicBool>,
    server: testkit::Served,
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl LossyProxy {
    async fn start(upstream: &str) -> LossyProxy {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, Method, StatusCode, Uri};
        let lose = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let upstream = upstream.to_string();
        let http = common::client();
        let flag = lose.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (http, upstream, flag) = (http.clone(), upstream.clone(), flag.clone());
                async move {
                    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                    let mut req = http.request(method.clone(), format!("{upstream}{path}"));
                    for (k, v) in &headers {
                        if k != "host" && k != "content-length" {
                            req = req.header(k, v);
                        }
                    }
                    let res = req.body(body.to_vec()).send().await.expect("upstream");
                    let status = StatusCode::from_u16(res.status().as_u16()).expect("status");
                    let mut out = HeaderMap::new();
                    for (k, v) in res.headers() {
                        if k.as_str().starts_with("x-ratelimit") || k == "content-type" {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                    let bytes = res.bytes().await.expect("body");
                    if method == Method::POST && flag.load(std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                    (status, out, bytes)
                }
            },
        );
        let server = testkit::serve(app).await;
        LossyProxy {
            base: server.url.clone(),
            lose,
            server,
        }
    }

    fn lose_posts(&self, on: bool) {
        self.lose.store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn enqueue(store: &Store, sb: &Sandbox, command: HighLevelCommand) -> i64 {
    let (id, new) = store
        .enqueue_command(&NewCommand {
            location_id: sb.location.clone(),
            command,
            requested_by: Some(MEMBER.into()),
            actor: None,
            idempotency_key: None,
        })
        .await
        .expect("enqueue");
    assert!(new);
    id
}

/// Puts a contact and its tasks and notes in the store, as the backfill would have: the
/// board shows them before a member acts on them.
async fn prime(store: &Store, loc: &Location, contact: &str) {
    let c = loc.get_contact(contact).await.expect("contact");
    let rec =
        records::contact(loc.id(), serde_json::to_value(&c).expect("json"), 0).expect("record");
    converge::apply_state(store, rec, Origin::Backfill, false)
        .await
        .expect("store");
    for t in loc.tasks(contact).await.expect("tasks") {
        let rec = records::task(
            loc.id(),
            Some(contact),
            serde_json::to_value(&t).expect("json"),
            0,
        )
        .expect("record");
        converge::apply_state(store, rec, Origin::Backfill, false)
            .await
            .expect("store");
    }
    for n in loc.notes(contact).await.expect("notes") {
        let rec = records::note(
            loc.id(),
            Some(contact),
            serde_json::to_value(&n).expect("json"),
            0,
        )
        .expect("record");
        converge::apply_state(store, rec, Origin::Backfill, false)
            .await
            .expect("store");
    }
}

async fn state(store: &Store, id: i64) -> store::Command {
    store.command(id).await.expect("read").expect("command")
}

/// The contact's feed, oldest first.
async fn feed(store: &Store, sb: &Sandbox, contact: &str) -> Vec<store::Change> {
    store
        .changes_after(&sb.location, Some(contact), 0, 1000)
        .await
        .expect("feed")
}

fn due_in_days(days: i64) -> String {
    let t = chrono::Utc::now() + chrono::Duration::days(days);
    let t = t.with_timezone(&chrono::Utc);
    // Whole seconds: what a date picker sends.
    chrono::DateTime::from_timestamp(t.timestamp(), 0)
        .expect("time")
        .to_rfc3339()
}

/// Every command kind, end to end: HighLevel changed (seen through the sandbox's API), the
/// store holds HighLevel's answer at once, the feed says it in plain words credited to the
/// member, and the command is done with the record id.
async fn every_command_kind(env: Env) {
    let store = env.store().await;
    let sb = Sandbox::start().await;
    let loc = sb.location();
    let (contact, task) = sb.open_task();
    let plain = sb.untagged_contact();
    prime(&store, &loc, &contact).await;
    prime(&store, &loc, &plain).await;

    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::CompleteTask {
            contact_id: contact.clone(),
            task_id: task.clone(),
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("complete");
    let c = state(&store, id).await;
    assert_eq!(c.state, CommandState::Done, "{:?}", c.error);
    assert_eq!(c.record_id.as_deref(), Some(task.as_str()));
    assert_eq!(sb.record(&task).await.expect("task")["completed"], true);
    let stored = store
        .record(&sb.location, RecordKind::Task, &task)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.status.as_deref(), Some("done"));
    let lines = feed(&store, &sb, &contact).await;
    let last = lines.last().expect("a feed line");
    assert!(last.summary.ends_with("completed"), "{}", last.summary);
    assert_eq!(last.actor.as_deref(), Some(MEMBER));
    assert_eq!(last.origin, "writeback");

    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::ReopenTask {
            contact_id: contact.clone(),
            task_id: task.clone(),
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("reopen");
    assert_eq!(state(&store, id).await.state, CommandState::Done);
    assert_eq!(sb.record(&task).await.expect("task")["completed"], false);
    let stored = store
        .record(&sb.location, RecordKind::Task, &task)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.status.as_deref(), Some("open"));

    let due = due_in_days(3);
    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::CreateTask {
            contact_id: contact.clone(),
            title: "Send the contract".into(),
            body: Some("PDF v2".into()),
            due_date: due.clone(),
            assigned_to: None,
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("create task");
    let c = state(&store, id).await;
    assert_eq!(c.state, CommandState::Done, "{:?}", c.error);
    let new_task = c.record_id.expect("the new task's id");
    let in_hl = sb.record(&new_task).await.expect("created in HighLevel");
    assert_eq!(in_hl["title"], "Send the contract");
    assert_eq!(in_hl["body"], "PDF v2");
    assert_eq!(in_hl["contactId"], contact.as_str());
    assert_eq!(
        records::time_ms(&in_hl, "dueDate"),
        records::time_ms(&json!({ "d": due }), "d")
    );
    let stored = store
        .record(&sb.location, RecordKind::Task, &new_task)
        .await
        .expect("read")
        .expect("stored at once");
    assert_eq!(stored.title.as_deref(), Some("Send the contract"));
    let last = feed(&store, &sb, &contact).await.pop().expect("line");
    assert!(
        last.summary
            .starts_with("Task 'Send the contract' created, due"),
        "{}",
        last.summary
    );
    assert_eq!(last.actor.as_deref(), Some(MEMBER));

    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::AddNote {
            contact_id: contact.clone(),
            body: "Called; wants a quote by Friday.".into(),
            user_id: None,
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("add note");
    let c = state(&store, id).await;
    assert_eq!(c.state, CommandState::Done, "{:?}", c.error);
    let note = c.record_id.expect("note id");
    assert_eq!(
        sb.record(&note).await.expect("note in HighLevel")["body"],
        "Called; wants a quote by Friday."
    );
    assert!(store
        .record(&sb.location, RecordKind::Note, &note)
        .await
        .expect("read")
        .is_some());

    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::AddTag {
            contact_id: plain.clone(),
            tags: vec!["vip".into(), "q3-renewal".into()],
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("add tags");
    assert_eq!(state(&store, id).await.state, CommandState::Done);
    let mut tags: Vec<String> =
        serde_json::from_value(sb.record(&plain).await.expect("contact")["tags"].clone())
            .expect("tags");
    tags.sort();
    assert_eq!(tags, ["q3-renewal", "vip"]);
    let stored = store
        .record(&sb.location, RecordKind::Contact, &plain)
        .await
        .expect("read")
        .expect("the contact, read whole after the partial answer");
    assert_eq!(stored.tags, ["q3-renewal", "vip"]);
    let last = feed(&store, &sb, &plain).await.pop().expect("line");
    assert_eq!(last.summary, "Tagged q3-renewal, vip");
    assert_eq!(last.actor.as_deref(), Some(MEMBER));

    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::RemoveTag {
            contact_id: plain.clone(),
            tags: vec!["vip".into()],
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("remove tag");
    assert_eq!(state(&store, id).await.state, CommandState::Done);
    assert_eq!(
        sb.record(&plain).await.expect("contact")["tags"],
        json!(["q3-renewal"])
    );
    let last = feed(&store, &sb, &plain).await.pop().expect("line");
    assert_eq!(last.summary, "Untagged vip");
    assert_eq!(last.actor.as_deref(), Some(MEMBER));

    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::UpdateContact {
            contact_id: plain.clone(),
            fields: json!({"companyName": "Harbor Law", "city": "Lisbon"})
                .as_object()
                .cloned()
                .expect("fields"),
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("update contact");
    let c = state(&store, id).await;
    assert_eq!(c.state, CommandState::Done, "{:?}", c.error);
    let in_hl = sb.record(&plain).await.expect("contact");
    assert_eq!(in_hl["companyName"], "Harbor Law");
    assert_eq!(in_hl["city"], "Lisbon");
    let stored = store
        .record(&sb.location, RecordKind::Contact, &plain)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.data["city"], "Lisbon");
    let last = feed(&store, &sb, &plain).await.pop().expect("line");
    assert!(
        last.summary.ends_with("updated: city, companyName"),
        "{}",
        last.summary
    );
}

/// A connection without `contacts.write`: HighLevel answers 401 "not authorized for this
/// scope"; the command fails at once with what to do, and HighLevel is unchanged.
async fn scope_refusal_fails_with_what_to_do(env: Env) {
    let store = env.store().await;
    let sb = Sandbox::start().await;
    let read_only = sb.pit(Some(&["contacts.readonly"])).await;
    let loc = sb.location_with(&read_only, Duration::from_secs(10));
    let (contact, task) = sb.open_task();
    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::CompleteTask {
            contact_id: contact.clone(),
            task_id: task.clone(),
        },
    )
    .await;
    execute(&store, &loc, id)
        .await
        .expect("a refusal settles the command");
    let c = state(&store, id).await;
    assert_eq!(c.state, CommandState::Failed);
    let why = c.error.expect("why");
    assert!(
        why.starts_with("HighLevel refused: this connection lacks the contacts.write scope")
            && why.contains("reconnect the location with contacts.write"),
        "{why}"
    );
    assert_eq!(sb.record(&task).await.expect("task")["completed"], false);
    // Settled: running the job again does nothing.
    execute(&store, &loc, id).await.expect("no-op");
    assert_eq!(state(&store, id).await.error.as_deref(), Some(why.as_str()));

    // A record gone from HighLevel fails too, in the member's words.
    let loc = sb.location();
    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::CompleteTask {
            contact_id: contact.clone(),
            task_id: "no-such-task-0000000".into(),
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("settled");
    let c = state(&store, id).await;
    assert_eq!(c.state, CommandState::Failed);
    assert_eq!(
        c.error.as_deref(),
        Some("The task no longer exists in HighLevel (it was deleted there)")
    );
}

/// HighLevel answering 5xx: the command stays pending with a retryable error, HighLevel is
/// unchanged; once HighLevel recovers, the retry is done.
async fn server_errors_retry_then_done(env: Env) {
    let store = env.store().await;
    let sb = Sandbox::start().await;
    let loc = sb.location();
    let (contact, task) = sb.open_task();
    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::CompleteTask {
            contact_id: contact.clone(),
            task_id: task.clone(),
        },
    )
    .await;
    sb.faults(json!({"api5xx": 1.0})).await;
    let err = execute(&store, &loc, id).await.expect_err("5xx");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(state(&store, id).await.state, CommandState::Pending);
    assert_eq!(sb.record(&task).await.expect("task")["completed"], false);

    // A creating POST answered 5xx: pending too, and not repeated blindly afterwards.
    let id2 = enqueue(
        &store,
        &sb,
        HighLevelCommand::CreateTask {
            contact_id: contact.clone(),
            title: "Retry me".into(),
            body: None,
            due_date: due_in_days(1),
            assigned_to: None,
        },
    )
    .await;
    let err = execute(&store, &loc, id2).await.expect_err("5xx");
    assert!(err.is_retryable(), "{err}");

    sb.faults(json!({"reset": true})).await;
    execute(&store, &loc, id).await.expect("retry");
    assert_eq!(state(&store, id).await.state, CommandState::Done);
    assert_eq!(sb.record(&task).await.expect("task")["completed"], true);
    execute(&store, &loc, id2).await.expect("retry");
    assert_eq!(state(&store, id2).await.state, CommandState::Done);
    let titled = sb
        .list(&contact, "tasks")
        .await
        .into_iter()
        .filter(|t| t["title"] == "Retry me")
        .count();
    assert_eq!(titled, 1);
}

/// A job run twice (a lease expired) acts once; a creating POST whose answer was lost is
/// found, not repeated; and a task that landed before the command was settled is taken as
/// the command's, while an identical second command still makes its own.
async fn twice_is_once_and_lost_answers_make_no_duplicates(env: Env) {
    let store = env.store().await;
    let sb = Sandbox::start().await;
    let loc = sb.location();
    let (contact, _) = sb.open_task();
    let before = sb.list(&contact, "notes").await.len();
    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::AddNote {
            contact_id: contact.clone(),
            body: "Once only".into(),
            user_id: None,
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("first");
    execute(&store, &loc, id).await.expect("second");
    assert_eq!(sb.list(&contact, "notes").await.len(), before + 1);

    // The answer is lost after HighLevel acted: a proxy passes the POST on and keeps the
    // answer past the client's timeout, so the client reports `Uncertain`.
    let proxy = LossyProxy::start(&sb.base).await;
    let lossy = sb.location_with_base(&proxy.base, Duration::from_secs(1));
    let due = due_in_days(2);
    let cmd = HighLevelCommand::CreateTask {
        contact_id: contact.clone(),
        title: "Lost answer".into(),
        body: None,
        due_date: due,
        assigned_to: None,
    };
    let id = enqueue(&store, &sb, cmd).await;
    proxy.lose_posts(true);
    let err = execute(&store, &lossy, id).await.expect_err("lost");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("answer was lost"), "{err}");
    let lost = |tasks: Vec<Value>| {
        tasks
            .into_iter()
            .filter(|t| t["title"] == "Lost answer")
            .count()
    };
    assert_eq!(lost(sb.list(&contact, "tasks").await), 1, "HighLevel acted");
    assert_eq!(state(&store, id).await.state, CommandState::Pending);
    proxy.lose_posts(false);
    execute(&store, &lossy, id).await.expect("retry");
    let c = state(&store, id).await;
    assert_eq!(c.state, CommandState::Done);
    assert_eq!(lost(sb.list(&contact, "tasks").await), 1, "created twice");
    assert!(store
        .record(
            &sb.location,
            RecordKind::Task,
            c.record_id.as_deref().expect("id")
        )
        .await
        .expect("read")
        .is_some());

    // The POST of an earlier attempt landed (made here directly), its answer never came back:
    // the command takes that task instead of creating another.
    let due = due_in_days(5);
    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::CreateTask {
            contact_id: contact.clone(),
            title: "Landed".into(),
            body: None,
            due_date: due.clone(),
            assigned_to: None,
        },
    )
    .await;
    let landed: Value = sb
        .http
        .post(format!("{}/contacts/{contact}/tasks", sb.base))
        .bearer_auth(&sb.token)
        .header("Version", ghl::API_VERSION)
        .json(&json!({"title": "Landed", "dueDate": due, "completed": false}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    execute(&store, &loc, id).await.expect("execute");
    let c = state(&store, id).await;
    assert_eq!(c.record_id.as_deref(), landed["task"]["id"].as_str());
    let landed_count = |tasks: Vec<Value>| tasks.iter().filter(|t| t["title"] == "Landed").count();
    assert_eq!(landed_count(sb.list(&contact, "tasks").await), 1);
    // The same request again, on purpose: its own task, not the first one's.
    let id = enqueue(
        &store,
        &sb,
        HighLevelCommand::CreateTask {
            contact_id: contact.clone(),
            title: "Landed".into(),
            body: None,
            due_date: due.clone(),
            assigned_to: None,
        },
    )
    .await;
    execute(&store, &loc, id).await.expect("execute");
    assert_eq!(landed_count(sb.list(&contact, "tasks").await), 2);
    assert_ne!(
        state(&store, id).await.record_id,
        landed["task"]["id"].as_str().map(str::to_string)
    );
}

/// Applies a webhook body the way the apply worker does (the payload laid over the stored
/// state; `TaskComplete` means completed; the version is the webhook's timestamp).
async fn apply_echo(store: &Store, body: &Value) -> Outcome {
    let event = body["type"].as_str().expect("type");
    let location = body["locationId"].as_str().expect("location");
    let version = records::time_ms(body, "timestamp").expect("timestamp");
    let mut payload = records::strip_envelope(body);
    let kind = match event {
        e if e.starts_with("Contact") => RecordKind::Contact,
        e if e.starts_with("Task") => RecordKind::Task,
        e if e.starts_with("Note") => RecordKind::Note,
        other => panic!("unexpected echo {other}"),
    };
    if event == "TaskComplete" {
        payload["completed"] = json!(true);
    }
    let id = payload["id"].as_str().expect("id").to_string();
    let old = store
        .record(location, kind, &id)
        .await
        .expect("read")
        .expect("the write-back stored it");
    let mut data = old.data.as_object().cloned().expect("object");
    data.remove("dateUpdated");
    for (k, v) in payload.as_object().expect("object") {
        data.insert(k.clone(), v.clone());
    }
    let data = Value::Object(data);
    let rec = match kind {
        RecordKind::Contact => records::contact(location, data, version),
        RecordKind::Task => records::task(location, old.contact_id.as_deref(), data, version),
        _ => records::note(location, old.contact_id.as_deref(), data, version),
    }
    .expect("record");
    converge::apply_state(store, rec, Origin::Webhook, true)
        .await
        .expect("apply")
}

/// The webhook HighLevel sends for our own write changes nothing and says nothing: the feed
/// keeps exactly one line per change, and nothing is queued back to HighLevel.
async fn echo_is_recognised(env: Env) {
    let store = env.store().await;
    let sb = Sandbox::start().await;
    let loc = sb.location();
    let (contact, task) = sb.open_task();
    let plain = sb.untagged_contact();
    prime(&store, &loc, &contact).await;
    prime(&store, &loc, &plain).await;
    let cmds = [
        HighLevelCommand::CompleteTask {
            contact_id: contact.clone(),
            task_id: task.clone(),
        },
        HighLevelCommand::AddTag {
            contact_id: plain.clone(),
            tags: vec!["echo-check".into()],
        },
        HighLevelCommand::CreateTask {
            contact_id: contact.clone(),
            title: "Echo me".into(),
            body: None,
            due_date: due_in_days(4),
            assigned_to: None,
        },
        HighLevelCommand::AddNote {
            contact_id: contact.clone(),
            body: "Echo note".into(),
            user_id: None,
        },
    ];
    let mut ids = Vec::new();
    for command in cmds {
        let id = enqueue(&store, &sb, command).await;
        execute(&store, &loc, id).await.expect("execute");
        let cmd = state(&store, id).await;
        assert_eq!(cmd.state, CommandState::Done, "{:?}", cmd.error);
        ids.push(cmd.record_id.expect("record"));
    }
    let feed_before: Vec<String> = store
        .changes_after(&sb.location, None, 0, 1000)
        .await
        .expect("feed")
        .into_iter()
        .map(|c| c.summary)
        .collect();
    assert!(feed_before.contains(&format!(
        "Task {} completed",
        store
            .record(&sb.location, RecordKind::Task, &task)
            .await
            .expect("read")
            .and_then(|r| r.title)
            .map(|t| format!("'{t}'"))
            .expect("title")
    )));
    assert_eq!(
        feed_before
            .iter()
            .filter(|s| *s == "Tagged echo-check")
            .count(),
        1
    );
    let queued = store.queue_depth(Some(&sb.location)).await.expect("depth");
    let commands = store
        .commands(&sb.location, None, None, 1000)
        .await
        .expect("commands")
        .len();

    let mut applied = 0;
    for id in &ids {
        for body in sb.echoes(id, 1).await {
            let outcome = apply_echo(&store, &body).await;
            assert_eq!(
                outcome,
                Outcome::Unchanged,
                "the echo {} of {id} was taken for news",
                body["type"]
            );
            applied += 1;
        }
    }
    assert!(applied >= ids.len());
    let feed_after: Vec<String> = store
        .changes_after(&sb.location, None, 0, 1000)
        .await
        .expect("feed")
        .into_iter()
        .map(|c| c.summary)
        .collect();
    assert_eq!(feed_after, feed_before, "an echo added feed lines");
    assert_eq!(
        store.queue_depth(Some(&sb.location)).await.expect("depth"),
        queued
    );
    assert_eq!(
        store
            .commands(&sb.location, None, None, 1000)
            .await
            .expect("commands")
            .len(),
        commands,
        "an echo queued a write-back"
    );
}

/// Every settled write-back is in the audit trail once, as the member who asked, with
/// HighLevel's status and traceId: a task completed (ok) and a task gone (refused, 404).
async fn write_backs_are_audited_with_highlevels_answer(env: Env) {
    let store = env.store().await;
    let sb = Sandbox::start().await;
    let loc = sb.location();
    let (contact, task) = sb.open_task();
    prime(&store, &loc, &contact).await;
    let done = enqueue(
        &store,
        &sb,
        HighLevelCommand::CompleteTask {
            contact_id: contact.clone(),
            task_id: task.clone(),
        },
    )
    .await;
    execute(&store, &loc, done).await.expect("done");
    let gone = enqueue(
        &store,
        &sb,
        HighLevelCommand::CompleteTask {
            contact_id: contact.clone(),
            task_id: "no-such-task-0000000".into(),
        },
    )
    .await;
    execute(&store, &loc, gone).await.expect("settled");
    // Running a settled command again records nothing more.
    execute(&store, &loc, done).await.expect("no-op");
    let page = store
        .audit_page(&store::AuditQuery {
            scope: store::AuditScope {
                locations: vec![sb.location.clone()],
                instance: false,
            },
            limit: 10,
            ..store::AuditQuery::default()
        })
        .await
        .expect("audit");
    assert_eq!(page.entries.len(), 2, "{page:?}");
    let (refused, ok) = (&page.entries[0], &page.entries[1]);
    assert_eq!(ok.kind, "highlevel.complete_task");
    assert_eq!(ok.actor_name, MEMBER);
    assert_eq!(ok.outcome, store::Outcome::Ok);
    assert!(ok.status.is_some_and(|s| (200..300).contains(&s)), "{ok:?}");
    assert!(
        ok.trace_id.as_deref().is_some_and(|t| !t.is_empty()),
        "{ok:?}"
    );
    assert_eq!(ok.target.as_deref(), Some(task.as_str()));
    assert_eq!(ok.detail["command_id"], json!(done));
    assert_eq!(refused.outcome, store::Outcome::Refused);
    assert_eq!(refused.status, Some(404));
    assert!(
        refused.trace_id.as_deref().is_some_and(|t| !t.is_empty()),
        "{refused:?}"
    );
    assert_eq!(
        refused.message.as_deref(),
        Some("The task no longer exists in HighLevel (it was deleted there)")
    );
}

on_both_backends!(
    write_backs_are_audited_with_highlevels_answer,
    every_command_kind,
    scope_refusal_fails_with_what_to_do,
    server_errors_retry_then_done,
    twice_is_once_and_lost_answers_make_no_duplicates,
    echo_is_recognised,
);
