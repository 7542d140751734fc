//! `drivesync demo`: everything on localhost, seeded, ready to click.
//!
//! Today that is the HighLevel sandbox with three seeded locations and the activity generator
//! on; the sync engine and Drive Chat join it as they land.

use clap::Args;
use ghl_sandbox::SandboxConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Do not open a browser.
    #[arg(long)]
    no_browser: bool,
    /// Where the demo keeps its files.
    #[arg(long, default_value = "drivesync-data/demo")]
    data_dir: PathBuf,
    /// Address of the HighLevel sandbox.
    #[arg(long, default_value = "127.0.0.1:8090")]
    sandbox_addr: SocketAddr,
    /// Changes per second made in the sandbox.
    #[arg(long, default_value_t = 1.0)]
    activity_rate: f64,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let config = SandboxConfig {
        addr: args.sandbox_addr,
        locations: 3,
        contacts_per_location: 1000,
        activity_rate: args.activity_rate,
        key_dir: args.data_dir.join("sandbox-keys"),
        ..SandboxConfig::default()
    };
    let running = ghl_sandbox::start(config).await?;
    super::sandbox::print_banner(&running);
    let base = running.base_url();
    let first = running
        .sandbox
        .read(|w| w.locations.keys().next().cloned())
        .unwrap_or_default();
    let pit = running.sandbox.auth.lock().mint_pit(
        &first,
        &running.sandbox.read(|w| w.company_id.clone()),
        ghl_sandbox::config::ALL_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    say!();
    say!("Try it (a Private Integration Token for location {first}):");
    say!(
        "  curl -s -X POST {base}/contacts/search -H 'Version: 2021-07-28' -H 'Authorization: Bearer {pit}' \\\n       -H 'Content-Type: application/json' -d '{{\"locationId\":\"{first}\",\"pageLimit\":5}}'"
    );
    say!("  open {base}/_sandbox/ for the sandbox's state and counters");
    if !args.no_browser {
        super::common::open_browser(&format!("{base}/_sandbox/"));
    }
    say!("Press Ctrl-C to stop.");
    super::shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}
