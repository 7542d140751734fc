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

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing();
    match cli::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
