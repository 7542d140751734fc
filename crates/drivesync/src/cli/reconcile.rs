//! `drivesync reconcile`: queue a full comparison of a location with HighLevel now, instead of
//! waiting for its interval (e.g. after an outage of the webhook endpoint). A running
//! `drivesync serve` carries it out; `drivesync status` shows when it finished.

use clap::Args;

use super::common::StoreArgs;

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only this location [default: every connected location].
    #[arg(long)]
    location: Option<String>,
}

pub async fn run(args: ReconcileArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let locations = super::common::target_locations(&store, args.location.as_deref()).await?;
    for id in locations {
        let job = store::NewJob::new(
            store::JobKind::Reconcile,
            id.clone(),
            store::jobs::poll_key(&id),
            serde_json::json!({ "requested": "command line" }),
        );
        let job_id = store.enqueue(&job).await?;
        say!("{id}: reconcile queued (job {job_id}); `drivesync serve` runs it");
    }
    Ok(())
}
