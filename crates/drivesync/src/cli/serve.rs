//! `drivesync serve`: the webhook endpoint, the sync engine (workers, poller, write-back) and
//! Drive Chat, in one process, from the config file. Several processes may serve one
//! PostgreSQL database: jobs are leased, polls are queued once per location.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum::routing::get;
use clap::Args;
use secrecy::SecretString;

use super::common::{self, StoreArgs};
use crate::config::Config;

/// A webhook body must arrive within this: a client trickling bytes must not hold a
/// connection (and an ingest slot) open; HighLevel sends bodies of a few kB at once.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stop waits for open connections (requests in flight, live pages) to end.
const CONNECTION_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on [default: the config's server.listen].
    #[arg(long, env = "DRIVESYNC_LISTEN")]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub highlevel: HighLevelArgs,
}

/// How to reach HighLevel, over what the config file says.
#[derive(Debug, Clone, Args)]
pub struct HighLevelArgs {
    /// HighLevel's API base URL [default: the config's highlevel.api_base].
    #[arg(long, env = "DRIVESYNC_GHL_BASE_URL")]
    pub ghl_base_url: Option<url::Url>,
    /// The app's OAuth client id [default: the config's, else the one `connect` stored].
    #[arg(long, env = "DRIVESYNC_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The app's OAuth client secret [default: the one `connect` stored].
    #[arg(long, env = "DRIVESYNC_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
}

impl HighLevelArgs {
    /// The config file with these options applied.
    pub fn apply(&self, mut config: Config) -> Config {
        if let Some(u) = &self.ghl_base_url {
            config.highlevel.api_base = u.clone();
        }
        if let Some(c) = &self.client_id {
            config.highlevel.client_id = Some(c.clone());
        }
        config
    }

    /// The OAuth app (when its credentials are known) and a client whose tokens come from
    /// `store`.
    pub async fn connect(
        &self,
        config: &Config,
        store: &store::Store,
    ) -> anyhow::Result<(ghl::GhlClient, Option<ghl::OAuthApp>)> {
        let secret = self.client_secret.clone().map(SecretString::from);
        let app = oauth_app(config, store, config.highlevel.client_id.clone(), secret).await?;
        Ok((ghl_client(config, store, app.clone())?, app))
    }
}

/// Everything `serve` needs, resolved: what `demo` builds too.
pub struct Options {
    pub config: Config,
    pub store: store::Store,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// Extra webhook keys (PEM text) beyond the config's files, e.g. the sandbox's.
    pub extra_webhook_keys: Vec<String>,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// The HighLevel client the engine uses (its rate limiter is shared with whoever clones it).
    pub client: ghl::GhlClient,
    engine: sync::engine::Engine,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Running {
    /// Stops taking requests, lets the engine finish or hand back its jobs, and returns.
    /// Open Drive Chat pages hold their event streams open and a graceful stop waits for
    /// every connection: after [`CONNECTION_GRACE`] the rest are cut, so Ctrl-C always
    /// returns (the pages reconnect to whichever server answers next).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(CONNECTION_GRACE, &mut self.server)
            .await
            .is_err()
        {
            tracing::info!("connections still open after the grace period; closing them");
            self.server.abort();
        }
        self.engine.shutdown().await;
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = args.highlevel.apply(args.store.load_config()?);
    if let Some(l) = args.listen {
        config.server.listen = l;
    }
    let store = args.store.open().await?;
    let running = start(Options {
        client_id: config.highlevel.client_id.clone(),
        config,
        store,
        client_secret: args.highlevel.client_secret.clone().map(SecretString::from),
        extra_webhook_keys: Vec::new(),
    })
    .await?;
    say!("drivesync is serving on http://{}", running.addr);
    say!("  Drive Chat       http://{}/", running.addr);
    say!("  webhooks         http://{}/webhooks/ghl", running.addr);
    super::shutdown_signal().await;
    say!("stopping…");
    running.shutdown().await;
    Ok(())
}

/// Starts the server: binds, starts the engine and Drive Chat's live feed, and serves.
pub async fn start(opts: Options) -> anyhow::Result<Running> {
    let Options {
        config,
        store,
        client_id,
        client_secret,
        extra_webhook_keys,
    } = opts;
    let app = oauth_app(&config, &store, client_id, client_secret).await?;
    let client = ghl_client(&config, &store, app.clone())?;

    let ingest =
        sync::ingest::IngestState::new(store.clone(), ingest_config(&config, &extra_webhook_keys)?);
    let engine_config = engine_config(&config).wake_on(ingest.notifier());
    let engine = sync::engine::Engine::start(store.clone(), client.clone(), app, engine_config)
        .await
        .context("starting the sync engine")?;

    super::users::ensure_workspaces(&store).await?;
    let drivechat = drivechat::DriveChat::new(
        store.clone(),
        drivechat::Config {
            secure_cookies: config.server.secure_cookies,
            ..drivechat::Config::default()
        },
    );
    drivechat
        .spawn_live_feed()
        .await
        .context("starting Drive Chat's live feed")?;

    let metrics = super::metrics::Metrics::new(store.clone(), ingest.clone());
    let mut router = axum::Router::new()
        .merge(sync::ingest::router(ingest).layer(
            tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_TIMEOUT),
        ))
        .route("/healthz", get(|| async { "ok" }))
        .merge(drivechat.router());
    if let Some(m) = metrics {
        router = router.route("/metrics", get(super::metrics::scrape).with_state(m));
    }

    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; stop what uses it or set server.listen / --listen",
                config.server.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await
    });
    tracing::info!(%addr, "serving");
    Ok(Running {
        addr,
        client,
        engine,
        server,
        stop,
    })
}

/// The OAuth app, when its credentials are known (else only Private Integration Tokens
/// work, and a refresh says what is missing).
async fn oauth_app(
    config: &Config,
    store: &store::Store,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
) -> anyhow::Result<Option<ghl::OAuthApp>> {
    use secrecy::ExposeSecret;
    let id = match client_id.or_else(|| config.highlevel.client_id.clone()) {
        Some(id) => Some(id),
        None => store
            .secret(common::SECRET_CLIENT_ID)
            .await?
            .map(|s| s.expose_secret().to_string()),
    };
    let secret = match client_secret {
        Some(s) => Some(s),
        None => store.secret(common::SECRET_CLIENT_SECRET).await?,
    };
    let (Some(id), Some(secret)) = (id, secret) else {
        tracing::info!("no OAuth app credentials: only Private Integration Tokens can be used");
        return Ok(None);
    };
    let redirect = config
        .server
        .public_url
        .join("oauth/callback")
        .context("server.public_url cannot carry a path")?;
    Ok(Some(ghl::OAuthApp::new(
        id,
        secret,
        redirect.as_str(),
        Vec::new(),
        config.highlevel.api_base.clone(),
        config.highlevel.authorize_url.clone(),
    )?))
}

fn ghl_client(
    config: &Config,
    store: &store::Store,
    app: Option<ghl::OAuthApp>,
) -> anyhow::Result<ghl::GhlClient> {
    let redirect = config
        .server
        .public_url
        .join("oauth/callback")
        .context("server.public_url cannot carry a path")?;
    common::client_from(
        app,
        &config.highlevel.api_base,
        &config.highlevel.authorize_url,
        &redirect,
        store,
    )
}

fn ingest_config(
    config: &Config,
    extra_pems: &[String],
) -> anyhow::Result<sync::ingest::IngestConfig> {
    let mut keys = ghl::webhook::WebhookKeys::highlevel();
    if config.webhooks.legacy_rsa {
        keys.add_rsa_pem(ghl::webhook::HIGHLEVEL_RSA_PEM)
            .context("HighLevel's built-in RSA key does not parse")?;
    }
    for path in &config.webhooks.keys {
        let pem = read_key(path)?;
        keys.add_pem(&pem).with_context(|| {
            format!("the webhook key {} is not a PEM public key", path.display())
        })?;
    }
    for pem in extra_pems {
        keys.add_pem(pem)
            .context("a webhook key is not a PEM public key")?;
    }
    log_keys(&keys, config.webhooks.legacy_rsa);
    let mut c = sync::ingest::IngestConfig::new(keys);
    c.replay_window = config.webhooks.replay_window;
    Ok(c)
}

/// Says which signatures this server accepts: the first thing to check when webhooks are
/// refused.
fn log_keys(keys: &ghl::webhook::WebhookKeys, legacy_rsa: bool) {
    let schemes = if legacy_rsa {
        "x-ghl-signature (Ed25519) and the legacy x-wh-signature (RSA)"
    } else {
        "x-ghl-signature (Ed25519) only; x-wh-signature is refused (webhooks.legacy_rsa = false)"
    };
    let described: Vec<String> = keys.describe().iter().map(ToString::to_string).collect();
    tracing::info!(
        keys = %described.join(", "),
        "webhook signatures accepted: {schemes}"
    );
}

fn read_key(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the webhook key {} named in webhooks.keys",
            path.display()
        )
    })
}

fn engine_config(config: &Config) -> sync::config::EngineConfig {
    let mut e = sync::config::EngineConfig {
        workers: config.sync.workers,
        // A process killed mid-job holds its jobs (and their contacts' later events) until
        // the lease runs out: short leases bound that wait; heartbeats renew at a third.
        lease: Duration::from_secs(15),
        poll_interval: config.sync.poll_interval,
        reconcile_interval: config.sync.reconcile_interval,
        task_poll_interval: Some(config.sync.task_poll_interval).filter(|d| !d.is_zero()),
        ..sync::config::EngineConfig::default()
    };
    for (id, s) in &config.sync.locations {
        e.per_location.insert(
            id.clone(),
            sync::config::LocationSchedule {
                poll_interval: s.poll_interval.unwrap_or(config.sync.poll_interval),
                reconcile_interval: s
                    .reconcile_interval
                    .unwrap_or(config.sync.reconcile_interval),
            },
        );
    }
    e
}
