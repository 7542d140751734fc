//! `drivesync sandbox`: the HighLevel emulator as a command.

use anyhow::Context;
use clap::{Args, Subcommand};
use ghl_sandbox::{FaultSettings, RunningSandbox, SandboxConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SandboxArgs {
    #[command(subcommand)]
    command: Option<SandboxCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// Print the webhook signing public keys (Ed25519 for x-ghl-signature, RSA for
    /// x-wh-signature) as PEM, creating them if this data directory has none yet.
    Keys {
        /// Where the sandbox keeps its signing keys.
        #[arg(long, default_value = "drivesync-data")]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub addr: SocketAddr,
    /// Number of seeded locations (sub-accounts).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub locations: u32,
    /// Seeded contacts per location.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=2_000_000))]
    pub contacts_per_location: u32,
    /// Seed of the generated data: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seeded dates hang from this UTC day (YYYY-MM-DD); by default the day the sandbox starts.
    #[arg(long)]
    pub anchor_date: Option<chrono::NaiveDate>,
    /// Where to POST signed webhooks.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Changes per second made by the activity generator (0: off).
    #[arg(long, default_value_t = 0.0)]
    pub activity_rate: f64,
    /// Faults to inject, e.g. `duplicate=0.2,reorder=0.2,drop=0.1,api5xx=0.05`.
    #[arg(long, value_parser = parse_faults)]
    pub faults: Option<FaultSettings>,
    /// OAuth client id of the registered app.
    #[arg(long)]
    pub client_id: Option<String>,
    /// OAuth client secret of the registered app.
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Registered redirect URI of the app (repeatable).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Access token lifetime in seconds (HighLevel: 86399).
    #[arg(long, default_value_t = 86_399)]
    pub token_ttl: u64,
    /// Burst limit: requests per interval per app and location.
    #[arg(long, default_value_t = 100)]
    pub burst: u32,
    /// Burst interval in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub interval_ms: u64,
    /// Daily limit per app and location.
    #[arg(long, default_value_t = 200_000)]
    pub daily: u64,
    /// Turn rate limiting off (the headers are still sent).
    #[arg(long)]
    pub no_rate_limit: bool,
    /// First retry delay of a webhook answered with 429, in milliseconds (doubles each retry).
    #[arg(long, default_value_t = 200)]
    pub webhook_retry_ms: u64,
    /// Where the sandbox keeps its signing keys.
    #[arg(long, default_value = "drivesync-data")]
    pub data_dir: PathBuf,
    /// Also sign webhooks with the legacy RSA `x-wh-signature` (HighLevel stopped on 1 July
    /// 2026), for testing an old receiver.
    #[arg(long)]
    pub legacy_signature: bool,
    /// Add fields HighLevel's webhook schemas lack (e.g. `dateUpdated`), for experiments.
    #[arg(long)]
    pub webhook_extras: bool,
}

fn parse_faults(s: &str) -> Result<FaultSettings, String> {
    FaultSettings::parse(s).map_err(|e| e.to_string())
}

impl RunArgs {
    pub fn config(&self) -> anyhow::Result<SandboxConfig> {
        let mut c = SandboxConfig {
            addr: self.addr,
            seed: self.seed,
            locations: self.locations as usize,
            contacts_per_location: self.contacts_per_location as usize,
            access_token_ttl: Duration::from_secs(self.token_ttl),
            activity_rate: self.activity_rate.max(0.0),
            faults: self.faults.clone().unwrap_or_default(),
            key_dir: self.data_dir.join("sandbox-keys"),
            ..SandboxConfig::default()
        };
        c.anchor_day = self
            .anchor_date
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis());
        if let Some(id) = &self.client_id {
            c.app.client_id = id.clone();
        }
        if let Some(s) = &self.client_secret {
            c.app.client_secret = s.clone();
        }
        if !self.redirect_uris.is_empty() {
            for u in &self.redirect_uris {
                url::Url::parse(u).with_context(|| format!("--redirect-uri {u} is not a URL"))?;
            }
            c.app.redirect_uris = self.redirect_uris.clone();
        }
        if let Some(u) = &self.webhook_url {
            url::Url::parse(u).with_context(|| format!("--webhook-url {u} is not a URL"))?;
            c.webhooks.url = Some(u.clone());
        }
        c.webhooks.retry_base = Duration::from_millis(self.webhook_retry_ms);
        anyhow::ensure!(self.burst > 0, "--burst must be at least 1");
        anyhow::ensure!(self.interval_ms > 0, "--interval-ms must be at least 1");
        anyhow::ensure!(self.daily > 0, "--daily must be at least 1");
        c.rate_limit.burst = self.burst;
        c.rate_limit.interval = Duration::from_millis(self.interval_ms);
        c.rate_limit.daily = self.daily;
        c.rate_limit.enabled = !self.no_rate_limit;
        c.webhooks.legacy_signature = self.legacy_signature;
        c.webhooks.extras = self.webhook_extras;
        Ok(c)
    }
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    match args.command {
        Some(SandboxCommand::Keys { data_dir }) => keys(data_dir),
        None => serve(args.run).await,
    }
}

fn keys(data_dir: PathBuf) -> anyhow::Result<()> {
    let signer = ghl_sandbox::Signer::load_or_create(&data_dir.join("sandbox-keys"))?;
    say!("# x-ghl-signature (Ed25519)");
    print!("{}", signer.ed25519_public_pem());
    say!("# x-wh-signature (RSA-SHA256, PKCS#1 v1.5)");
    print!("{}", signer.rsa_public_pem());
    Ok(())
}

async fn serve(args: RunArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let running = ghl_sandbox::start(config).await?;
    print_banner(&running);
    tokio::select! {
        _ = crate::cli::shutdown_signal() => {},
    }
    running.shutdown().await;
    Ok(())
}

/// What the sandbox serves, on stdout. The first line is stable for scripts and tests.
pub fn print_banner(running: &RunningSandbox) {
    let sb = &running.sandbox;
    let base = running.base_url();
    let app = &sb.config.app;
    let redirect = app.redirect_uris.first().cloned().unwrap_or_default();
    let mut install =
        url::Url::parse(&format!("{base}/oauth/chooselocation")).expect("base URL is valid");
    install
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", &app.scopes.join(" "));
    say!("HighLevel sandbox listening on {base}");
    let (locations, contacts) = sb.read(|w| {
        (
            w.locations
                .values()
                .map(|l| format!("{} ({}, {} contacts)", l.id, l.name, l.contacts.len()))
                .collect::<Vec<_>>(),
            w.locations
                .values()
                .map(|l| l.contacts.len())
                .sum::<usize>(),
        )
    });
    say!(
        "  seed {}: {} locations, {} contacts",
        sb.config.seed,
        locations.len(),
        contacts
    );
    for l in &locations {
        say!("    location {l}");
    }
    say!("  app client_id:     {}", app.client_id);
    say!("  app client_secret: {}", app.client_secret);
    say!("  redirect_uri:      {redirect}");
    say!("  install URL:       {install}");
    match &*sb.webhook_url.read() {
        Some(u) => {
            let headers = if sb.legacy_signature() {
                "x-ghl-signature + legacy x-wh-signature"
            } else {
                "x-ghl-signature, as HighLevel signs since July 2026"
            };
            say!("  webhooks:          POST {u} ({headers})")
        }
        None => say!("  webhooks:          not sent (no --webhook-url; set one at POST {base}/_sandbox/webhook)"),
    }
    say!("  activity:          {} changes/s", sb.activity_rate());
    say!("  admin:             {base}/_sandbox/");
}
