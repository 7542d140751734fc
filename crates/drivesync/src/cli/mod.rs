//! The command line.

/// Prints a line to stdout, ignoring a closed pipe: a server must not die because whoever
/// started it stopped reading its banner.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod api;
mod backfill;
mod common;
mod connect;
mod demo;
mod dlq;
mod highlevel;
mod init;
mod keys;
mod locations;
mod metrics;
mod reconcile;
mod sandbox;
mod serve;
mod status;
mod users;
mod verify;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "drivesync",
    version,
    about = "Keeps a team's Drive Chat workspace in step with HighLevel (GHL)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented config file (drivesync.toml) to start from.
    Init(init::InitArgs),
    /// Connect a HighLevel location: the OAuth install flow, or a Private Integration Token.
    Connect(connect::ConnectArgs),
    /// List connected locations with their scopes, token expiry and state.
    Locations(locations::LocationsArgs),
    /// Import what connected locations already hold (resumes after an interruption).
    Backfill(backfill::BackfillArgs),
    /// Serve webhooks, the sync engine and Drive Chat from the config file.
    Serve(serve::ServeArgs),
    /// Per location: last event, lag, queue depth, dead letters, poll cursor, token state.
    Status(status::StatusArgs),
    /// Compare the local store with HighLevel record by record and print the differences.
    Verify(verify::VerifyArgs),
    /// Queue a full reconcile of locations with HighLevel now (run by `drivesync serve`).
    Reconcile(reconcile::ReconcileArgs),
    /// People who sign in to Drive Chat.
    Users(users::UsersArgs),
    /// API tokens for Drive Chat's HTTP API.
    Tokens(users::TokensArgs),
    /// Jobs that failed every attempt: list, show, replay or drop them.
    Dlq(dlq::DlqArgs),
    /// Manage the master key that encrypts stored tokens and secrets.
    Keys(keys::KeysArgs),
    /// Run any HighLevel operation and print its JSON.
    Api(api::ApiArgs),
    /// Run the HighLevel sandbox: OAuth, the Contacts API, rate limits, signed webhooks and
    /// fault injection on this machine, with seeded data.
    Sandbox(sandbox::SandboxArgs),
    /// Start everything on localhost with seeded data, ready to click.
    Demo(demo::DemoArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Connect(args) => connect::run(args).await,
        Command::Locations(args) => locations::run(args).await,
        Command::Api(args) => api::run(args).await,
        Command::Keys(args) => keys::run(args).await,
        Command::Dlq(args) => dlq::run(args).await,
        Command::Init(args) => init::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Users(args) => users::run_users(args).await,
        Command::Tokens(args) => users::run_tokens(args).await,
        Command::Backfill(args) => backfill::run(args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::Reconcile(args) => reconcile::run(args).await,
        Command::Status(args) => status::run(args).await,
    }
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Waits for Ctrl-C (or SIGTERM on Unix).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
