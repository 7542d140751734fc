//! `drivesync demo`: everything on localhost, seeded, ready to click — the HighLevel sandbox
//! (3 locations, activity generator on), each location connected through the real OAuth
//! flow against it, a backfill, and `serve` (webhooks, sync engine, Drive Chat) with a demo
//! login.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ghl_sandbox::SandboxConfig;
use secrecy::SecretString;

use super::common;
use super::highlevel::{self, Credentials};
use crate::config::{self, Config};

/// The demo's sign-in.
const DEMO_EMAIL: &str = "demo@drivesync.local";
const DEMO_PASSWORD: &str = "drivesync-demo";
/// How long Ctrl-C waits for the server and the sandbox to finish what they are doing.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Do not open a browser.
    #[arg(long)]
    no_browser: bool,
    /// Where the demo keeps its files (database, keys).
    #[arg(long, default_value_os_t = config::Store::default().data_dir.join("demo"))]
    data_dir: PathBuf,
    /// Where Drive Chat (and the webhook endpoint) listens.
    #[arg(long, default_value_t = config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Address of the HighLevel sandbox.
    #[arg(long, default_value = "127.0.0.1:8090")]
    sandbox_addr: SocketAddr,
    /// Changes per second made in the sandbox.
    #[arg(long, default_value_t = 1.0)]
    activity_rate: f64,
    /// Seeded contacts per location.
    ///
    /// Each costs about 1.2 requests of the sandbox's real limit (100 per 10 s per location)
    /// to import, so 60 are in within a few seconds and a first click on Complete is not
    /// queued behind the import for long.
    #[arg(long, default_value_t = 60)]
    contacts: usize,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    store::private_fs::create_dir(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    start_over(&args.data_dir)?;
    let listen = resolve_port(args.listen)?;
    let public = format!("http://{listen}");
    let mut config = Config::default();
    config.server.listen = listen;
    config.server.public_url = public.parse()?;
    let redirect = config.server.oauth_redirect()?;
    let mut sandbox_config = SandboxConfig {
        addr: args.sandbox_addr,
        locations: 3,
        contacts_per_location: args.contacts,
        activity_rate: args.activity_rate,
        key_dir: args.data_dir.join("sandbox-keys"),
        ..SandboxConfig::default()
    };
    sandbox_config.app.redirect_uris = vec![redirect.to_string()];
    sandbox_config.webhooks.url = Some(format!("{public}/webhooks/ghl"));
    let sandbox = ghl_sandbox::start(sandbox_config)
        .await
        .context("starting the HighLevel sandbox (is --sandbox-addr free?)")?;
    let base: url::Url = sandbox.base_url().parse()?;
    // The sandbox's own banner: its first line is the one scripts wait for.
    super::sandbox::print_banner(&sandbox);

    config.store.data_dir = args.data_dir.clone();
    let store = common::open_store(&config).await?;
    // The sandbox's registered app, as a user would configure it for `connect`.
    let registered = &sandbox.sandbox.config.app;
    config.highlevel.api_base = base.clone();
    config.highlevel.authorize_url = base.clone();
    config.highlevel.client_id = Some(registered.client_id.clone());
    let client_secret = SecretString::from(registered.client_secret.clone());
    let app = Credentials::resolve(&config.highlevel, Some(client_secret.clone()), &store)
        .await?
        .require(&config.highlevel, &redirect, highlevel::every_scope())?;
    highlevel::remember(&store, &app).await?;
    let locations: Vec<(String, String)> = sandbox.sandbox.read(|w| {
        w.locations
            .values()
            .map(|l| (l.id.to_string(), l.name.to_string()))
            .collect()
    });
    for (id, name) in &locations {
        connect(&store, &app, id, name).await?;
        say!("Connected {name} ({id}) through OAuth");
    }

    // The demo's locations change every second: poll often so a dropped webhook is seen soon.
    config.sync.poll_interval = std::time::Duration::from_secs(20);
    config.sync.reconcile_interval = std::time::Duration::from_secs(30 * 60);
    // The backfill below is each location's import. A location never reconciled would also
    // get a full reconcile the moment the engine starts: a second walk of every contact,
    // halving the backfill's pace under the 100-per-10-s limit and keeping the newcomer's
    // first clicks waiting behind it. Its first reconcile comes one interval from now.
    for (id, _) in &locations {
        common::count_import_as_reconcile(&store, id, &config.sync).await?;
    }
    let running = super::serve::start(super::serve::Options {
        config,
        store: store.clone(),
        client_secret: Some(client_secret),
        // The sandbox signs like HighLevel today: x-ghl-signature (Ed25519) only.
        extra_webhook_keys: vec![sandbox.sandbox.signer.ed25519_public_pem()],
        alerts_webhook_secret: None,
        metrics_token: None,
    })
    .await?;
    // `serve::start` made each location's workspace, named as saved by `connect` above.
    demo_user(&store, &locations).await?;
    backfill_in_background(&store, &running, &locations);

    let url = format!("http://{}/", running.addr);
    say!();
    say!("Drive Chat is ready: {url}");
    say!("  sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}");
    say!(
        "  the sandbox makes {} change(s) a second; watch them arrive in the feed",
        args.activity_rate
    );
    say!("  sandbox controls: {base}_sandbox/");
    // The demo writes no config file: other commands need its data directory and, when they
    // call HighLevel, the sandbox's address (else they would call HighLevel itself).
    let dir = args.data_dir.display();
    say!("  in another terminal: drivesync status --data-dir {dir}");
    say!("                       drivesync verify --data-dir {dir} --ghl-base-url {base}");
    say!("Press Ctrl-C to stop.");
    if !args.no_browser {
        common::open_browser(&url);
    }
    super::shutdown_signal().await;
    say!("stopping…");
    // An open Drive Chat page holds its event stream open, and a graceful stop waits for
    // every connection to end: with a browser tab open, Ctrl-C would never return. The
    // demo's database starts over on the next run, so nothing is lost by not waiting.
    let stopped = tokio::time::timeout(STOP_GRACE, async {
        running.shutdown().await;
        sandbox.shutdown().await;
    })
    .await;
    if stopped.is_err() {
        say!("pages were still open; stopped without waiting for them");
    }
    store.close().await;
    Ok(())
}

/// `--listen` with port 0 gets a free port now: the sandbox must be told Drive Chat's
/// address (the OAuth redirect, the webhook URL) before Drive Chat binds it.
fn resolve_port(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    if listen.port() != 0 {
        return Ok(listen);
    }
    let probe = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    Ok(probe.local_addr()?)
}

/// Marks a data directory as the demo's, so that starting over never deletes anything else.
const MARKER: &str = "DRIVESYNC-DEMO";

/// The sandbox keeps its world in memory and starts from its seed on every run, with tokens
/// of its own: a database kept from an earlier run would hold tokens this sandbox never
/// issued (every location would turn `needs_reauth`) and records it no longer has. So each
/// run starts with a new database. Only a directory the demo created is cleared: a
/// `--data-dir` pointing at a real installation is refused, not wiped.
fn start_over(dir: &std::path::Path) -> anyhow::Result<()> {
    let marker = dir.join(MARKER);
    let db = dir.join("drivesync.db");
    if db.exists() && !marker.exists() {
        anyhow::bail!(
            "{} holds a drivesync database that the demo did not create; the demo starts \
             from a new database on every run, so give it a --data-dir of its own (or delete \
             that database if it is an old demo's)",
            dir.display()
        );
    }
    std::fs::write(
        &marker,
        "This directory belongs to `drivesync demo`, which clears its database on every run.\n",
    )
    .with_context(|| format!("cannot write {}", marker.display()))?;
    for name in ["drivesync.db", "drivesync.db-wal", "drivesync.db-shm"] {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove the demo's old {name}"))
            }
        }
    }
    Ok(())
}

/// The OAuth install flow, as an agency admin would click it: the install page approves the
/// location and redirects with a code, which is exchanged for tokens.
async fn connect(
    store: &store::Store,
    app: &ghl::OAuthApp,
    id: &str,
    name: &str,
) -> anyhow::Result<()> {
    let request = app.authorization_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let approved = http
        .get(format!("{}&location_id={id}&approve=1", request.url))
        .send()
        .await
        .context("the sandbox's install page did not answer")?;
    let to = approved
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .context("the install page did not redirect back with a code")?;
    let to = url::Url::parse(to)?;
    let query: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    let (code, state) = (
        query.get("code").context("the redirect carries no code")?,
        query
            .get("state")
            .context("the redirect carries no state")?,
    );
    ghl::OAuthApp::check_state(&request.state, state)?;
    let tokens = app.exchange_code(code, ghl::UserType::Location).await?;
    super::connect::save_oauth_location(store, id, Some(name), &tokens).await?;
    Ok(())
}

async fn demo_user(store: &store::Store, locations: &[(String, String)]) -> anyhow::Result<()> {
    let memberships: Vec<(String, store::Role)> = locations
        .iter()
        .map(|(id, _)| (id.clone(), store::Role::Admin))
        .collect();
    match drivechat::admin::add_user(
        store,
        DEMO_EMAIL,
        SecretString::from(DEMO_PASSWORD.to_string()),
        "Demo Admin",
        &memberships,
    )
    .await
    {
        Ok(_) | Err(drivechat::Error::UserExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Imports each location while Drive Chat is already up; a line says when each is done.
fn backfill_in_background(
    store: &store::Store,
    running: &super::serve::Running,
    locations: &[(String, String)],
) {
    let client = running.client.clone();
    for (id, name) in locations {
        let (store, name) = (store.clone(), name.clone());
        let location = client.location(id);
        tokio::spawn(async move {
            let r = sync::backfill::backfill(
                &store,
                &location,
                &sync::backfill::NoProgress,
                sync::backfill::BackfillOptions::default(),
            )
            .await;
            match r {
                Ok(r) if r.already_complete => {}
                Ok(r) => say!(
                    "Imported {name}: {} contacts, {} tasks, {} notes, {} appointments in {:.0?}",
                    r.imported.contacts,
                    r.imported.tasks,
                    r.imported.notes,
                    r.imported.appointments,
                    r.wall
                ),
                Err(e) => eprintln!("importing {name} stopped: {e}"),
            }
        });
    }
}
