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

mod actions;
pub mod admin;
mod api;
mod context;
mod error;
mod fields;
mod live;
mod meeting;
mod password;
mod reads;
mod records;
mod secret;
mod session;
mod time;
mod ui;
mod zone;

use std::sync::Arc;
use std::time::Duration;

pub use error::{ApiError, Error};
pub use secret::constant_time_eq;
pub use store::Role;

/// How Drive Chat behaves. `Default` suits a local install behind no proxy.
#[derive(Clone, Debug)]
pub struct Config {
    /// Mark cookies `Secure` (sent over HTTPS only). Turn on when served over HTTPS.
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Failed sign-ins allowed per email and client address within `login_window`; the next
    /// attempt is refused with 429 until the window has passed.
    pub login_attempts: u32,
    pub login_window: Duration,
    /// Take the client address from the first `X-Forwarded-For` entry (only behind a proxy
    /// that sets it; otherwise any client could pick the address it is limited under).
    pub trust_forwarded_for: bool,
    /// How often the live feed looks for new changes and messages in the database. Polling
    /// the database (not an in-process signal) is what lets several replicas on one
    /// PostgreSQL all see every change.
    pub live_poll_interval: Duration,
    /// Rows per page of lists (contacts, the board, the feed).
    pub page_size: u32,
    /// HighLevel's own web app, for "Open in HighLevel" links: `https://app.gohighlevel.com`,
    /// or an agency's white-label domain.
    pub highlevel_app_url: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            secure_cookies: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            login_attempts: 5,
            login_window: Duration::from_secs(15 * 60),
            trust_forwarded_for: false,
            live_poll_interval: Duration::from_millis(250),
            page_size: 50,
            highlevel_app_url: "https://app.gohighlevel.com".into(),
        }
    }
}

/// What every handler shares.
pub(crate) struct App {
    pub(crate) store: store::Store,
    pub(crate) config: Config,
    pub(crate) live: live::Hub,
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
                store,
                config,
                live: live::Hub::new(),
            }),
        }
    }

    /// Every route: the web UI at `/` (sign-in at `/signin`, workspaces under `/w/{id}/`),
    /// its assets under `/assets/`, and the JSON API under `/api/v1`.
    pub fn router(&self) -> axum::Router {
        ui::routes(self.app.clone())
            .merge(api::routes())
            .with_state(self.app.clone())
    }

    /// Starts following the database for changes and messages to push to open pages. Starts
    /// by itself when the first page subscribes; call it at boot to fail early if the
    /// database cannot be read. Idempotent. The follower stops when every clone of this
    /// `DriveChat` (and every router made from it) is dropped.
    pub async fn spawn_live_feed(&self) -> Result<(), Error> {
        live::ensure_started(&self.app).await
    }
}
