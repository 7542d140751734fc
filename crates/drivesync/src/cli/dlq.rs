//! `drivesync dlq list|show|replay|drop`: jobs that failed every attempt, with their last error.

use anyhow::bail;
use clap::{Args, Subcommand};

use super::common::StoreArgs;

#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Dead jobs, newest first.
    List {
        /// Only this location's.
        #[arg(long)]
        location: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One dead job in full: its payload and last error.
    Show { id: i64 },
    /// Put a dead job back in its queue (at the back of its contact's line), attempts reset.
    Replay { id: i64 },
    /// Forget a dead job.
    Drop { id: i64 },
}

pub async fn run(args: DlqArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.command {
        DlqCommand::List { location, limit } => {
            let jobs = store.dead_jobs(location.as_deref(), limit).await?;
            if jobs.is_empty() {
                println!("No dead letters.");
                return Ok(());
            }
            println!(
                "{:<8} {:<10} {:<22} {:<9} LAST ERROR",
                "ID", "KIND", "LOCATION", "ATTEMPTS"
            );
            for j in jobs {
                let err = j
                    .last_error
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("");
                let err: String = err.chars().take(80).collect();
                println!(
                    "{:<8} {:<10} {:<22} {:<9} {err}",
                    j.id, j.kind, j.location_id, j.attempts
                );
            }
        }
        DlqCommand::Show { id } => {
            let Some(j) = store.dead_job(id).await? else {
                bail!("no dead letter {id}; `drivesync dlq list` shows them");
            };
            println!("id:           {}", j.id);
            println!("kind:         {}", j.kind);
            println!("location:     {}", j.location_id);
            println!("ordering key: {}", j.ordering_key);
            println!("attempts:     {}", j.attempts);
            if let Some(e) = j.event_id {
                println!("webhook:      event {e}");
            }
            println!(
                "payload:      {}",
                serde_json::to_string_pretty(&j.payload)?
            );
            println!("last error:   {}", j.last_error.unwrap_or_default());
        }
        DlqCommand::Replay { id } => {
            if !store.replay_dead(id).await? {
                bail!("no dead letter {id}; `drivesync dlq list` shows them");
            }
            println!("Dead letter {id} is queued again.");
        }
        DlqCommand::Drop { id } => {
            if !store.drop_dead(id).await? {
                bail!("no dead letter {id}; `drivesync dlq list` shows them");
            }
            println!("Dead letter {id} dropped.");
        }
    }
    Ok(())
}
