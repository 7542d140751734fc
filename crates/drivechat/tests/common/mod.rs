//! A real Drive Chat for tests: a store on a fresh database from `testkit` (a temporary SQLite
//! file, or a schema of its own on the PostgreSQL named by `DRIVESYNC_TEST_PG_URL`, skipped
//! with a notice when unset), two connected locations with a workspace each, people in them,
//! HighLevel records written through the store as the sync engine writes them, and the
//! router served on a loopback port chosen by the OS.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod context;

use std::future::Future;

use drivechat::{Config, DriveChat, Role};
use serde_json::json;
use store::{
    AuthKind, Expect, NewChange, NewLocation, Record, RecordKind, SecretString, Store, Written,
};
pub use testkit::Backend;
use testkit::TestDb;

pub const PASSWORD: &str = "correct horse battery";
pub const A: &str = "locA";
pub const B: &str = "locB";
pub const ALICE: &str = "alice@example.com";
pub const BOB: &str = "bob@example.com";
pub const DAY: i64 = 24 * 3600 * 1000;

pub struct Env {
    pub store: Store,
    /// The database the store is on.
    pub db_url: String,
    /// Where the server listens.
    pub url: String,
    pub chat: DriveChat,
    _db: TestDb,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Env {
    async fn new(db: TestDb, config: Config) -> Env {
        let store = db.connect(db.keyring()).await;
        for (loc, name) in [(A, "Acme Roofing"), (B, "Beta Dental")] {
            store
                .save_location(&NewLocation {
                    location_id: loc.into(),
                    company_id: None,
                    name: Some(name.into()),
                    auth: AuthKind::PrivateIntegration,
                    user_type: store::UserType::Location,
                    scopes: vec!["contacts.readonly".into(), "contacts.write".into()],
                    access_token: SecretString::from(format!("pit-{loc}")),
                    refresh_token: None,
                    expires_at_ms: None,
                })
                .await
                .expect("save location");
            drivechat::admin::ensure_workspace(&store, loc, name)
                .await
                .expect("workspace");
        }
        drivechat::admin::add_user(
            &store,
            ALICE,
            SecretString::from(PASSWORD),
            "Alice Archer",
            &[(A.into(), Role::Admin)],
        )
        .await
        .expect("add alice");
        drivechat::admin::add_user(
            &store,
            BOB,
            SecretString::from(PASSWORD),
            "Bob Baker",
            &[(B.into(), Role::Member)],
        )
        .await
        .expect("add bob");
        let chat = DriveChat::new(store.clone(), config);
        let url = testkit::serve(chat.router()).await.url;
        Env {
            store,
            db_url: db.url.clone(),
            url,
            chat,
            _db: db,
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Runs one SQL statement on the database behind the store's back (as another process,
    /// or a person with a SQL prompt, would).
    pub async fn exec(&self, sql: &str) {
        self._db.exec(sql).await;
    }

    /// Writes a record as the sync engine would, with the given feed entries.
    pub async fn put(&self, r: Record, changes: &[NewChange]) {
        let current = self
            .store
            .record(&r.location_id, r.kind, &r.record_id)
            .await
            .expect("read record");
        let mut r = r;
        if let Some(c) = &current {
            r.version_ms = c.version_ms + 1;
        }
        let w = self
            .store
            .write_record(&r, Expect::of(current.as_ref()), changes)
            .await
            .expect("write record");
        assert_eq!(w, Written::Written);
    }
}

pub fn change(action: &str, summary: &str) -> NewChange {
    NewChange {
        action: action.into(),
        summary: summary.into(),
        detail: json!({}),
        origin: "webhook".into(),
        actor: None,
    }
}

fn record(loc: &str, kind: RecordKind, id: &str) -> Record {
    Record {
        location_id: loc.into(),
        kind,
        record_id: id.into(),
        contact_id: None,
        parent_id: None,
        title: None,
        body: None,
        assignee: None,
        status: None,
        due_ms: None,
        search: String::new(),
        data: json!({ "id": id }),
        added_ms: Some(now_ms() - 30 * DAY),
        version_ms: 1,
        deleted_at_ms: None,
        synced_at_ms: 0,
        tags: Vec::new(),
    }
}

pub fn contact(loc: &str, id: &str, first: &str, last: &str, tags: &[&str]) -> Record {
    let mut r = record(loc, RecordKind::Contact, id);
    let name = format!("{first} {last}");
    let email = format!("{}@example.net", id.to_lowercase());
    r.title = Some(name.clone());
    r.search = format!("{name} {email}").to_lowercase();
    r.contact_id = Some(id.into());
    r.tags = tags.iter().map(|t| t.to_string()).collect();
    r.data = json!({
        "id": id, "locationId": loc, "firstName": first, "lastName": last,
        "email": email, "phone": "+15550100", "companyName": format!("{last} & Co"),
        "tags": tags,
    });
    r
}

pub fn task(loc: &str, id: &str, contact: &str, title: &str, due_ms: i64, done: bool) -> Record {
    let mut r = record(loc, RecordKind::Task, id);
    r.contact_id = Some(contact.into());
    r.title = Some(title.into());
    r.status = Some(if done { "done" } else { "open" }.into());
    r.due_ms = Some(due_ms);
    r.data = json!({ "id": id, "contactId": contact, "title": title, "completed": done });
    r
}

pub fn note(loc: &str, id: &str, contact: &str, body: &str, at_ms: i64) -> Record {
    let mut r = record(loc, RecordKind::Note, id);
    r.contact_id = Some(contact.into());
    r.body = Some(body.into());
    r.due_ms = Some(at_ms);
    r
}

pub fn appointment(loc: &str, id: &str, contact: &str, title: &str, start_ms: i64) -> Record {
    let mut r = record(loc, RecordKind::Appointment, id);
    r.contact_id = Some(contact.into());
    r.title = Some(title.into());
    r.status = Some("confirmed".into());
    r.due_ms = Some(start_ms);
    r
}

pub fn appointment_note(loc: &str, id: &str, appt: &str, contact: &str, body: &str) -> Record {
    let mut r = record(loc, RecordKind::AppointmentNote, id);
    r.contact_id = Some(contact.into());
    r.parent_id = Some(appt.into());
    r.body = Some(body.into());
    r.due_ms = Some(now_ms());
    r
}

/// A browser-like client: keeps cookies, follows redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

/// The value of the first `name="{field}" value="..."` in a page.
pub fn field_value(html: &str, field: &str) -> Option<String> {
    let marker = format!("name=\"{field}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// Every value of attribute `attr` in a page, in order.
pub fn attr_values(html: &str, attr: &str) -> Vec<String> {
    let marker = format!("{attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&marker) {
        rest = &rest[i + marker.len()..];
        if let Some(end) = rest.find('"') {
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

/// Signs in through the form; returns the client and the page it landed on.
pub async fn sign_in(env: &Env, email: &str) -> (reqwest::Client, String) {
    let c = client();
    let form = c
        .get(env.at("/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field_value(&form, "_csrf").expect("sign-in form has a CSRF token");
    let r = c
        .post(env.at("/signin"))
        .form(&[("email", email), ("password", PASSWORD), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "signed in as {email}");
    let page = r.text().await.unwrap();
    (c, page)
}

/// Runs `case` on a Drive Chat with `config` over a fresh database of `backend`.
pub async fn run<F, Fut>(backend: Backend, config: Config, case: F)
where
    F: FnOnce(Env) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    testkit::cases::run(backend, |db| async move {
        case(Env::new(db, config).await).await
    })
    .await;
}

/// Defines `mod sqlite` and `mod postgres` with one test per case (an `async fn(Env)` at the
/// root of the test file, run with `config()` from there), so both backends run each.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        testkit::on_both_backends!($crate::common::run, super::config() => $($case),*);
    };
}

/// HighLevel users of a location, as the sync engine saves them: Alice's email (in another
/// case) is `u-alice`'s, so she is that user; `u-ned` is nobody's.
pub async fn seed_users(env: &Env, loc: &str) {
    let user = |id: &str, name: &str, email: &str| store::HlUser {
        id: id.into(),
        name: name.into(),
        first_name: name.split(' ').next().map(Into::into),
        last_name: name.split(' ').nth(1).map(Into::into),
        email: Some(email.into()),
    };
    env.store
        .replace_location_users(
            loc,
            &[
                user("u-alice", "Alice Arbor", &ALICE.to_uppercase()),
                user("u-ned", "Ned Stone", "ned@example.org"),
            ],
        )
        .await
        .expect("save users");
}

/// The location's profile with time zone `tz`.
pub async fn seed_profile(env: &Env, loc: &str, tz: &str) {
    env.store
        .save_location_profile(
            loc,
            &store::LocationProfile {
                name: Some("Acme Roofing".into()),
                timezone: Some(tz.into()),
                address: None,
            },
        )
        .await
        .expect("save profile");
}

/// A task assigned to HighLevel user `assignee`.
pub fn assigned_task(
    loc: &str,
    id: &str,
    contact: &str,
    title: &str,
    due_ms: i64,
    assignee: &str,
) -> Record {
    let mut r = task(loc, id, contact, title, due_ms, false);
    r.assignee = Some(assignee.into());
    r.data["assignedTo"] = json!(assignee);
    r
}

/// The `<tr>` of task `id` in a page.
pub fn task_row_html<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("data-task-id=\"{id}\""))
        .unwrap_or_else(|| panic!("task {id} is on the page"));
    let end = html[start..]
        .find("</tr>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}
