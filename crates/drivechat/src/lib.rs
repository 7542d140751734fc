//! Drive Chat: the team's web workspace over drivesync's HighLevel mirror.
//!
//! One workspace per connected HighLevel location; a person may belong to several, and data
//! never crosses workspaces (every read and write names the workspace and the store filters
//! on it). The web UI is server-rendered (maud, which escapes everything it interpolates)
//! with htmx for partial updates, and live updates arrive by server-sent events. Actions
//! (complete a task, add a note, ...) go to the store's write-back outbox and show as
//! pending until the sync engine settles them. The same reads and actions are a JSON API
//! under `/api/v1`, authenticated by per-member API tokens, documented at
//! `/api/v1/openapi.json`.
//!
//! ```no_run
//! # async fn run(store: store::Store) -> Result<(), Box<dyn std::error::Error>> {
//! let chat = drivechat::DriveChat::new(store, drivechat::Config::default());
//! chat.spawn_live_feed().await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // The client address is used to rate-limit sign-ins, so serve with connect info.
//! axum::serve(
//!     listener,
//!     chat.router()
//!         .into_make_service_with_connect_info::<std::net::SocketAddr>(),
//! )
//! .await?;
//! # Ok(()) }
//! ```

mod access;
mod actions;
pub mod admin;
mod api;
mod context;
mod error;
mod feed_filter;
mod fields;
mod headers;
mod live;
mod meeting;
mod password;
mod presession;
mod reads;
mod records;
mod secret;
mod session;
pub mod team;
mod time;
mod ui;
mod zone;

use std::sync::Arc;
use std::time::Duration;

pub use access::{Access, Declared};
pub use error::{ApiError, Error};
pub use secret::constant_time_eq;
pub use store::Role;

/// How Drive Chat behaves. `Default` suits a local install behind no proxy.
#[derive(Clone, Debug)]
pub struct Config {
    /// Mark cookies `Secure` (sent over HTTPS only) and send `Strict-Transport-Security`.
    /// On whenever the public URL is https (drivesync derives it).
    pub secure_cookies: bool,
    /// How long a sign-in lasts at most, used or not (the absolute lifetime).
    pub session_ttl: Duration,
    /// A session unused for this long has ended (the idle lifetime).
    pub session_idle: Duration,
    /// Sign-in attempts allowed per email and client address within `login_window`, counted
    /// before the password is checked (a successful one clears the count); the next attempt
    /// is refused with 429 until the window has passed.
    pub login_attempts: u32,
    pub login_window: Duration,
    /// Passwords checked at once, server-wide. Each argon2id check takes 19 MiB and tens of
    /// milliseconds of a core; a sign-in arriving when all are busy is refused at once with
    /// 429 and `Retry-After`, so a flood of sign-ins cannot exhaust memory or starve other
    /// requests.
    pub password_checks: usize,
    /// Take the client address from the first `X-Forwarded-For` entry (only behind a proxy
    /// that sets it; otherwise any client could pick the address it is limited under).
    pub trust_forwarded_for: bool,
    /// How often the live feed looks for new changes and messages in the database. Polling
    /// the database (not an in-process signal) is what lets several replicas on one
    /// PostgreSQL all see every change.
    pub live_poll_interval: Duration,
    /// How often an API event stream (`/api/v1/events`) checks that its token still holds
    /// when no event arrives (it also checks before passing events on): a token revoked or
    /// deleted ends its streams within this long.
    pub api_stream_recheck: Duration,
    /// Rows per page of lists (contacts, the board, the feed).
    pub page_size: u32,
    /// How long an invitation link works.
    pub invite_ttl: Duration,
    /// How often an open live stream checks its session and membership still stand (besides
    /// at each event), so a signed-out or removed member's page stops within this long,
    /// whichever replica serves it.
    pub live_recheck_interval: Duration,
    /// HighLevel's own web app, for "Open in HighLevel" links: `https://app.gohighlevel.com`,
    /// or an agency's white-label domain.
    pub highlevel_app_url: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            secure_cookies: false,
            session_ttl: DEFAULT_SESSION_TTL,
            session_idle: DEFAULT_SESSION_IDLE,
            login_attempts: 5,
            login_window: Duration::from_secs(15 * 60),
            password_checks: default_password_checks(),
            trust_forwarded_for: false,
            live_poll_interval: Duration::from_millis(250),
            api_stream_recheck: Duration::from_secs(5),
            page_size: 50,
            invite_ttl: Duration::from_secs(7 * 24 * 3600),
            live_recheck_interval: Duration::from_secs(2),
            highlevel_app_url: "https://app.gohighlevel.com".into(),
        }
    }
}

/// The absolute lifetime of a session unless configured: two weeks.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
/// The idle lifetime unless configured: a working day's pause (a page left open over lunch
/// stays signed in; one left over a night does not).
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);

/// Two password checks per core: enough to keep every core busy with sign-ins, while their
/// memory (19 MiB each) stays bounded.
pub fn default_password_checks() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

impl Config {
    /// The idle lifetime in milliseconds, as the store takes it.
    pub(crate) fn idle_ms(&self) -> i64 {
        i64::try_from(self.session_idle.as_millis()).unwrap_or(i64::MAX)
    }
}

/// What every handler shares.
pub(crate) struct App {
    pub(crate) store: store::Store,
    pub(crate) config: Config,
    pub(crate) live: live::Hub,
    /// Permits for password checks (`Config::password_checks`).
    pub(crate) password_checks: password::Gate,
    /// The key that signs pre-session cookies, read from the store on first use.
    pub(crate) form_key: presession::FormKey,
}

pub(crate) type Shared = Arc<App>;

/// Drive Chat, ready to be served. Cloning shares everything.
#[derive(Clone)]
pub struct DriveChat {
    app: Shared,
}

impl DriveChat {
    pub fn new(store: store::Store, config: Config) -> DriveChat {
        DriveChat {
            app: Arc::new(App {
                password_checks: password::Gate::new(config.password_checks),
                form_key: presession::FormKey::default(),
                store,
                config,
                live: live::Hub::new(),
            }),
        }
    }

    /// Every route: the web UI at `/` (sign-in at `/signin`, workspaces under `/w/{id}/`),
    /// its assets under `/assets/`, and the JSON API under `/api/v1`.
    pub fn router(&self) -> axum::Router {
        let (ui, _) = ui::routes(self.app.clone()).finish();
        let (api, _) = api::routes(self.app.clone()).finish();
        ui.merge(api)
            .layer(axum::middleware::from_fn_with_state(
                self.app.clone(),
                headers::security,
            ))
            .with_state(self.app.clone())
    }

    /// Every route the router serves, with what each needs of the caller: the table its
    /// guards enforce (the rules are in `access`), for tests that walk every route with every role.
    pub fn access_rules(&self) -> Vec<Declared> {
        let (_, mut ui) = ui::routes(self.app.clone()).finish();
        let (_, api) = api::routes(self.app.clone()).finish();
        ui.extend(api);
        ui
    }

    /// Starts following the database for changes and messages to push to open pages. Starts
    /// by itself when the first page subscribes; call it at boot to fail early if the
    /// database cannot be read. Idempotent. The follower stops when every clone of this
    /// `DriveChat` (and every router made from it) is dropped.
    pub async fn spawn_live_feed(&self) -> Result<(), Error> {
        live::ensure_started(&self.app).await
    }
}
