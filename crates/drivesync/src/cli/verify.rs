//! `drivesync verify`: the local store compared with HighLevel, record by record.

use clap::Args;

use super::common::{self, StoreArgs};
use super::highlevel::{self, HighLevelArgs};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    highlevel: HighLevelArgs,
    /// Only this location [default: every connected location].
    #[arg(long)]
    location: Option<String>,
    /// List at most this many differences per location.
    #[arg(long, default_value_t = 50)]
    show: usize,
    /// Seconds to wait before checking each difference again; a difference that settles or
    /// whose sides are still changing by then is a change in flight, not a difference.
    #[arg(long, default_value_t = sync::verify::VerifyOptions::default().recheck_after.as_secs())]
    recheck_after: u64,
}

/// Exits non-zero when any location differs, so scripts and CI can rely on it.
pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let config = args.store.settings(args.highlevel.overrides())?;
    let store = common::open_store(&config).await?;
    let (client, _) =
        highlevel::from_config(&config, args.highlevel.client_secret(), &store).await?;
    let locations = super::common::target_locations(&store, args.location.as_deref()).await?;
    let mut differing = 0;
    for id in locations {
        let opts = sync::verify::VerifyOptions {
            recheck_after: std::time::Duration::from_secs(args.recheck_after),
            ..sync::verify::VerifyOptions::default()
        };
        let report = sync::verify::verify_with(&store, &client.location(&id), opts).await?;
        let lines = report.lines();
        say!(
            "{id}: {} records checked, {} differences, {} changes in flight",
            report.checked,
            lines.len(),
            report.in_flight.len()
        );
        for l in lines.iter().take(args.show) {
            say!("  {l}");
        }
        if lines.len() > args.show {
            say!("  … and {} more (--show N)", lines.len() - args.show);
        }
        if !report.is_clean() {
            differing += 1;
        }
    }
    if differing > 0 {
        anyhow::bail!(
            "{differing} location(s) differ from HighLevel; the poller and the next reconcile \
             repair differences — run verify again after `drivesync status` shows the queue empty"
        );
    }
    Ok(())
}
