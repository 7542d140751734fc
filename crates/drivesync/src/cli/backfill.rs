//! `drivesync backfill`: imports what a location already holds, with a progress bar, resuming
//! from its checkpoint after an interruption.

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::common::{self, StoreArgs};
use super::highlevel::{self, HighLevelArgs};

#[derive(Debug, Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    highlevel: HighLevelArgs,
    /// Only this location [default: every connected location].
    #[arg(long)]
    location: Option<String>,
    /// Forget the checkpoint and import everything again.
    #[arg(long)]
    restart: bool,
    /// Contacts imported at once.
    #[arg(long, default_value_t = sync::backfill::BackfillOptions::default().concurrency)]
    concurrency: usize,
}

pub async fn run(args: BackfillArgs) -> anyhow::Result<()> {
    let config = args.store.settings(args.highlevel.overrides())?;
    let store = common::open_store(&config).await?;
    let (client, _) =
        highlevel::from_config(&config, args.highlevel.client_secret(), &store).await?;
    let locations = super::common::target_locations(&store, args.location.as_deref()).await?;
    for id in locations {
        let bar = Bar::new(&id);
        let opts = sync::backfill::BackfillOptions {
            restart: args.restart,
            concurrency: args.concurrency.clamp(1, 64),
            ..Default::default()
        };
        let report = sync::backfill::backfill(&store, &client.location(&id), &bar, opts).await;
        bar.bar.finish_and_clear();
        let r = report?;
        if r.already_complete {
            say!("{id}: already imported (pass --restart to import again)");
            continue;
        }
        // A finished import is a full walk of the location: it stands in for the first
        // reconcile.
        super::common::count_import_as_reconcile(&store, &id, &config.sync).await?;
        let n = &r.imported;
        say!(
            "{id}: {} contacts, {} tasks, {} notes, {} appointments, {} appointment notes in {:.1?} \
             ({} requests, {} rate-limited)",
            n.contacts,
            n.tasks,
            n.notes,
            n.appointments,
            n.appointment_notes,
            r.wall,
            r.requests,
            r.rate_limited
        );
    }
    Ok(())
}

/// The progress bar: per phase (contacts with their notes, tasks, appointments with their
/// notes) the items imported, rate, ETA, and requests used of the rate-limit budget.
struct Bar {
    bar: ProgressBar,
    location: String,
}

impl Bar {
    fn new(location: &str) -> Bar {
        let bar = ProgressBar::new_spinner();
        bar.set_style(style("contacts", true));
        bar.set_prefix(location.to_string());
        Bar {
            bar,
            location: location.to_string(),
        }
    }
}

/// A bar with a length when the phase's total is known (contacts), a counter otherwise
/// (tasks and appointments: HighLevel's listings do not say how many).
fn style(what: &str, known_total: bool) -> ProgressStyle {
    let template = if known_total {
        format!(
            "{{prefix}} {{bar:30}} {{pos}}/{{len}} {what} · {{per_sec}} · ETA {{eta}} · {{msg}}"
        )
    } else {
        format!("{{prefix}} {{spinner}} {{pos}} {what} · {{per_sec}} · {{msg}}")
    };
    ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl sync::backfill::Progress for Bar {
    fn phase_started(&self, phase: &str, total: Option<u64>, done_before: u64) {
        self.bar.set_style(style(phase, total.is_some()));
        if let Some(t) = total {
            self.bar.set_length(t);
        }
        self.bar.set_position(done_before);
        if done_before > 0 {
            self.bar.println(format!(
                "{}: resuming after {done_before} {phase} imported earlier",
                self.location
            ));
        }
    }

    fn advanced(&self, items: u64) {
        self.bar.inc(items);
    }

    fn budget(&self, b: sync::backfill::Budget) {
        let daily = b
            .daily_remaining
            .map(|d| format!(", {d} left today"))
            .unwrap_or_default();
        self.bar.set_message(format!(
            "{} requests ({} per {:?} allowed{daily}), {} rate-limited",
            b.requests, b.max, b.interval, b.rate_limited
        ));
    }
}
