//! A faithful HighLevel (GHL) emulator: OAuth with single-use refresh tokens, every operation
//! of the Contacts API, the calendar list and appointment operations of the Calendars API, the
//! location's context (the location, its custom fields, its users, task search), HighLevel's
//! rate limits and headers, webhooks shaped exactly as HighLevel's schemas and signed as
//! HighLevel signs them today, with HighLevel's retry rule, an activity generator, and fault
//! injection. It is held against HighLevel's own files in `shared/ghl/` by its tests.
//!
//! ```no_run
//! # async fn run() -> Result<(), ghl_sandbox::SandboxError> {
//! let running = ghl_sandbox::start(ghl_sandbox::SandboxConfig::default()).await?;
//! println!("HighLevel sandbox at {}", running.base_url());
//! # Ok(()) }
//! ```

pub mod activity;
pub mod api;
pub mod auth;
pub mod body;
pub mod config;
pub mod context;
pub mod counters;
pub mod error;
pub mod faults;
pub mod ids;
pub mod model;
pub mod ratelimit;
pub mod seed;
pub mod state;
pub mod time;
pub mod webhooks;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

pub use config::{AppConfig, RateLimitConfig, SandboxConfig, WebhookConfig};
pub use faults::FaultSettings;
pub use state::Sandbox;
pub use webhooks::Signer;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "cannot listen on {addr}: {source}; pick a free address with --addr (port 0 picks one)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Keys(#[from] webhooks::KeyError),
}

/// A sandbox serving on its address, with its dispatcher and activity generator running.
pub struct RunningSandbox {
    pub addr: SocketAddr,
    pub sandbox: Arc<Sandbox>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<()>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningSandbox {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the server stops (it stops on `shutdown` or when its task is aborted).
    pub async fn wait(mut self) {
        let server = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        let _ = server.await;
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for t in &self.tasks {
            t.abort();
        }
        let server = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        let _ = server.await;
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.server.abort();
    }
}

/// Seeds the data, loads (or creates) the signing keys, binds, and serves.
pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
    let signer = Signer::load_or_create(&config.key_dir)?;
    if config.webhooks.legacy_signature {
        // A bad RSA key file is reported now, not at the first webhook.
        signer.load_rsa()?;
    }
    let addr = config.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SandboxError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SandboxError::Bind { addr, source })?;
    let (sandbox, events) = Sandbox::new(config, signer);
    start_on(listener, addr, sandbox, events)
}

fn start_on(
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    sandbox: Arc<Sandbox>,
    events: tokio::sync::mpsc::UnboundedReceiver<world::Event>,
) -> Result<RunningSandbox, SandboxError> {
    let dispatcher = webhooks::Dispatcher::new(sandbox.clone());
    let tasks = vec![
        tokio::spawn(dispatcher.run(events)),
        tokio::spawn(activity::run(sandbox.clone())),
    ];
    let app = api::router(sandbox.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    });
    Ok(RunningSandbox {
        addr,
        sandbox,
        tasks,
        server,
        shutdown: Some(tx),
    })
}
