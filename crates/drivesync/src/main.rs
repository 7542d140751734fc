//! `drivesync`: keeps a team's Drive Chat workspace in step with HighLevel.
//!
//! `main` only parses the command line and hands over to the command.

mod cli;
mod config;
mod http_server;

// mimalloc keeps the sandbox's million-contact data set well inside its memory budget (the
// system allocator fragments it by a few hundred megabytes).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{CommandFactory as _, FromArgMatches as _};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let matches = cli::Cli::command().get_matches();
    let args = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli::logging::init(cli::log_format(&args, &matches));
    match cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
