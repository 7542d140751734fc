//! `drivesync init`: writes a commented config file to start from.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(long, default_value = crate::config::DEFAULT_PATH)]
    config: PathBuf,
    /// Replace a file that is already there.
    #[arg(long)]
    force: bool,
}

pub async fn run(args: InitArgs) -> anyhow::Result<()> {
    if args.config.exists() && !args.force {
        anyhow::bail!(
            "{} already exists; edit it, or pass --force to replace it with the commented defaults",
            args.config.display()
        );
    }
    if let Some(dir) = args.config.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    std::fs::write(&args.config, crate::config::TEMPLATE)
        .with_context(|| format!("cannot write {}", args.config.display()))?;
    say!("Wrote {}. Next:", args.config.display());
    say!("  1. set highlevel.client_id (and DRIVESYNC_CLIENT_SECRET), or use a Private Integration Token;");
    say!("  2. drivesync connect            # connect a HighLevel location");
    say!("  3. drivesync backfill           # import what is already there");
    say!("  4. drivesync serve              # webhooks, sync and Drive Chat");
    Ok(())
}
