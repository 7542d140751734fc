//! `drivesync serve`: the webhook endpoint, the sync engine (workers, poller, write-back) and
//! Drive Chat, in one process, from the config file. Several processes may serve one
//! PostgreSQL database: jobs are leased, polls are queued once per location.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use secrecy::SecretString;

use super::common::{self, StoreArgs};
use super::highlevel::{self, HighLevelArgs};
use crate::config::{Config, Overrides};

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
    /// The `whsec_…` secret alerts sent to alerts.webhook_url are signed with (Standard
    /// Webhooks); give the receiver the same.
    #[arg(long, env = "DRIVESYNC_ALERTS_WEBHOOK_SECRET", hide_env_values = true)]
    pub alerts_webhook_secret: Option<String>,
    /// Serve /metrics to requests carrying `Authorization: Bearer <this>` (see the config's
    /// [metrics]); prefer the environment variable to keep it out of shell history.
    #[arg(long, env = "DRIVESYNC_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

/// Everything `serve` needs, resolved: what `demo` builds too.
pub struct Options {
    /// The settings, overrides applied (the app's client id among them).
    pub config: Config,
    pub store: store::Store,
    /// The app's client secret when given (flag, variable); else the one `connect` stored.
    pub client_secret: Option<SecretString>,
    /// Extra webhook keys (PEM text) beyond the config's files, e.g. the sandbox's.
    pub extra_webhook_keys: Vec<String>,
    /// What outbound alert webhooks are signed with (never from the file).
    pub alerts_webhook_secret: Option<SecretString>,
    /// `DRIVESYNC_METRICS_TOKEN`: `/metrics` asks for it as a bearer token.
    pub metrics_token: Option<SecretString>,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `metrics.listen` serves `/metrics`, when it is set.
    pub metrics_addr: Option<SocketAddr>,
    /// The HighLevel client the engine uses (its rate limiter is shared with whoever clones it).
    pub client: ghl::GhlClient,
    engine: sync::engine::Engine,
    alerts: sync::alerts::Alerts,
    server: tokio::task::JoinHandle<()>,
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
        self.alerts.shutdown();
        self.engine.shutdown().await;
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.store.settings(Overrides {
        listen: args.listen,
        ..args.highlevel.overrides()
    })?;
    let store = common::open_store(&config).await?;
    let running = start(Options {
        config,
        store,
        client_secret: args.highlevel.client_secret(),
        extra_webhook_keys: Vec::new(),
        alerts_webhook_secret: args.alerts_webhook_secret.map(SecretString::from),
        metrics_token: args.metrics_token.map(SecretString::from),
    })
    .await?;
    say!("drivesync is serving on http://{}", running.addr);
    say!("  Drive Chat       http://{}/", running.addr);
    say!("  webhooks         http://{}/webhooks/ghl", running.addr);
    if let Some(m) = running.metrics_addr {
        say!("  metrics          http://{m}/metrics");
    }
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
        client_secret,
        extra_webhook_keys,
        alerts_webhook_secret,
        metrics_token,
    } = opts;
    let (client, app) = highlevel::from_config(&config, client_secret, &store).await?;

    let ingest =
        sync::ingest::IngestState::new(store.clone(), ingest_config(&config, &extra_webhook_keys)?);
    let engine_config = engine_config(&config).wake_on(ingest.notifier());
    let engine = sync::engine::Engine::start(store.clone(), client.clone(), app, engine_config)
        .await
        .context("starting the sync engine")?;
    let alerts = sync::alerts::Alerts::start(
        store.clone(),
        client.clone(),
        config.alerts.rules(),
        alert_sender(&config.alerts, alerts_webhook_secret)?,
    );

    super::users::ensure_workspaces(&store).await?;
    let drivechat = drivechat::DriveChat::new(store.clone(), config.drivechat());
    drivechat
        .spawn_live_feed()
        .await
        .context("starting Drive Chat's live feed")?;

    let exposure = super::metrics::Exposure {
        listen: config.metrics.listen,
        token: metrics_token,
    };
    exposure.log();
    let health = super::health::routes(store.clone(), engine.probe());
    let metrics = super::metrics::Metrics::new(store.clone(), ingest.clone(), engine.probe());
    let mut router = axum::Router::new()
        .merge(sync::ingest::router(ingest).layer(
            tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_TIMEOUT),
        ))
        .merge(health.clone())
        .merge(drivechat.router());
    if let Some(m) = &metrics {
        router = router.merge(exposure.public_routes(m.clone()));
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
    let metrics_addr = match (&metrics, exposure.listen) {
        (Some(m), Some(_)) => Some(
            super::metrics::serve_apart(
                &exposure,
                m.clone(),
                health,
                limits(&config),
                stopped.clone(),
            )
            .await?,
        ),
        _ => None,
    };
    let server = tokio::spawn(crate::http_server::serve(
        listener,
        router,
        limits(&config),
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        },
    ));
    tracing::info!(%addr, "serving");
    Ok(Running {
        addr,
        metrics_addr,
        client,
        engine,
        alerts,
        server,
        stop,
    })
}

/// The listener's limits, from the settings.
pub fn limits(config: &Config) -> crate::http_server::Limits {
    crate::http_server::Limits {
        header_read: config.server.header_timeout,
        request: config.server.request_timeout,
        max_connections: config.server.max_connections,
    }
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

/// The outbound webhook alerts also go to, when `alerts.webhook_url` is set.
fn alert_sender(
    config: &crate::config::Alerts,
    secret: Option<SecretString>,
) -> anyhow::Result<Option<outbound::Sender>> {
    use secrecy::ExposeSecret as _;
    let Some(url) = config.webhook_url.clone() else {
        if secret.is_some() {
            tracing::warn!("DRIVESYNC_ALERTS_WEBHOOK_SECRET is set but alerts.webhook_url is not: alerts go to #alerts only");
        }
        tracing::info!("alerts: posted in #alerts (no alerts.webhook_url)");
        return Ok(None);
    };
    let secret = secret
        .map(|s| outbound::WebhookSecret::parse(s.expose_secret()))
        .transpose()
        .context("DRIVESYNC_ALERTS_WEBHOOK_SECRET")?;
    if secret.is_none() && config.webhook_format == outbound::BodyFormat::Standard {
        anyhow::bail!(
            "alerts.webhook_url is set with webhook_format = \"standard\", whose webhooks are \
             signed: set DRIVESYNC_ALERTS_WEBHOOK_SECRET to a whsec_ secret (e.g. \
             whsec_$(openssl rand -base64 32)) and give the receiver the same, or use \
             webhook_format = \"slack\""
        );
    }
    let signed = secret.is_some();
    let sender = outbound::Sender::new(outbound::SenderConfig::new(
        url,
        secret,
        config.webhook_format,
    ))
    .context("alerts.webhook_url")?;
    tracing::info!(to = %sender.origin(), format = ?config.webhook_format, signed, "alerts: posted in #alerts and sent to the outbound webhook");
    Ok(Some(sender))
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

/// The engine as the settings say; what they do not say (the lease, retries, housekeeping) is
/// the engine's own default.
fn engine_config(config: &Config) -> sync::config::EngineConfig {
    let mut e = sync::config::EngineConfig {
        workers: config.sync.workers,
        poll_interval: config.sync.poll_interval,
        reconcile_interval: config.sync.reconcile_interval,
        task_poll_interval: Some(config.sync.task_poll_interval).filter(|d| !d.is_zero()),
        sample_retention: Some(config.dashboard.retention),
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
