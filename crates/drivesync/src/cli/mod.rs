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
mod doctor;
mod health;
mod highlevel;
mod init;
mod keys;
mod locations;
pub mod logging;
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
    /// How log lines are written to stderr: text, or JSON one object a line [default: the
    /// config's log.format, else text].
    #[arg(long, global = true, env = "DRIVESYNC_LOG_FORMAT", value_enum)]
    log_format: Option<crate::config::LogFormat>,
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
    /// Check the clock, the store, every location's token, HighLevel, webhook keys and the
    /// public URL, and say what to fix (exits non-zero when something needs fixing).
    Doctor(doctor::DoctorArgs),
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

/// What the command's outcome means for the exit code: most commands fail only by error;
/// `doctor` also when it found something to fix.
pub async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    if let Command::Doctor(args) = cli.command {
        return doctor::run(args).await;
    }
    run_command(cli.command)
        .await
        .map(|()| std::process::ExitCode::SUCCESS)
}

async fn run_command(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Doctor(_) => unreachable!("doctor is run by `run`"),
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

/// The log format: `--log-format` (or its variable), else the config file's `log.format`
/// (the file the command names with `--config`), else text. Read before the command runs, so
/// its first line is already in the right format; a config file that does not parse is the
/// command's to report.
pub fn log_format(cli: &Cli, matches: &clap::ArgMatches) -> crate::config::LogFormat {
    if let Some(f) = cli.log_format {
        return f;
    }
    let mut m = matches;
    let mut path = None;
    while let Some((_, sub)) = m.subcommand() {
        if let Ok(Some(p)) = sub.try_get_one::<std::path::PathBuf>("config") {
            path = Some(p.clone());
        }
        m = sub;
    }
    let path = path.unwrap_or_else(|| crate::config::DEFAULT_PATH.into());
    crate::config::Config::load(&path, &crate::config::Overrides::default())
        .map(|c| c.log.format)
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogFormat;
    use clap::{CommandFactory as _, FromArgMatches as _};

    fn format_of(args: &[&str]) -> LogFormat {
        let matches = Cli::command().try_get_matches_from(args).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        log_format(&cli, &matches)
    }

    /// The flag wins over the file the command names; without the flag the file's
    /// `log.format` holds; without either, text.
    #[test]
    fn the_log_format_comes_from_the_flag_then_the_named_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.toml");
        std::fs::write(&path, "[log]\nformat = \"json\"\n").unwrap();
        let file = path.to_str().unwrap();
        assert_eq!(
            format_of(&["drivesync", "status", "--config", file]),
            LogFormat::Json
        );
        assert_eq!(
            format_of(&[
                "drivesync",
                "--log-format",
                "text",
                "status",
                "--config",
                file
            ]),
            LogFormat::Text
        );
        assert_eq!(
            format_of(&[
                "drivesync",
                "status",
                "--config",
                file,
                "--log-format",
                "text"
            ]),
            LogFormat::Text
        );
        let none = dir.path().join("none.toml");
        assert_eq!(
            format_of(&["drivesync", "status", "--config", none.to_str().unwrap()]),
            LogFormat::Text
        );
    }
}
