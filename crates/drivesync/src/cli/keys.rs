//! `drivesync keys rotate`: a new master key, every stored secret re-encrypted under it.

use clap::{Args, Subcommand};

use super::common::{self, StoreArgs};
use crate::config::Overrides;

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a new master key, re-encrypt everything under it, and (with --remove-old) drop
    /// the old keys. Safe while `drivesync serve` runs: each value is rewritten on its own.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
        /// Remove the previous keys once everything is re-encrypted.
        #[arg(long)]
        remove_old: bool,
    },
}

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::Rotate { store, remove_old } => rotate(store, remove_old).await,
    }
}

async fn rotate(args: StoreArgs, remove_old: bool) -> anyhow::Result<()> {
    let config = args.settings(Overrides::default())?;
    let data_dir = config.store.data_dir.clone();
    if std::env::var_os("DRIVESYNC_MASTER_KEY").is_some() {
        anyhow::bail!(
            "the master key comes from DRIVESYNC_MASTER_KEY: put the new key first in it (`NEWID:KEY,OLDID:OLDKEY`), then run `drivesync keys rotate` again without a key file change"
        );
    }
    let old = store::Keyring::from_env_or_file(&data_dir)?;
    let old_ids: Vec<String> = old.ids().iter().map(|s| s.to_string()).collect();
    let rotated = store::Keyring::rotate_file(&data_dir)?;
    let new_id = rotated.current_id().to_string();
    let store = common::open_store(&config).await?;
    let n = store.reencrypt_all().await?;
    println!("New master key {new_id}; {n} values re-encrypted under it.");
    let mut removed = Vec::new();
    if remove_old {
        for id in old_ids {
            if id != new_id {
                store::Keyring::remove_key(&data_dir, &id)?;
                println!("Removed key {id}.");
                removed.push(id);
            }
        }
    }
    // Key ids only: never a key.
    store
        .record_audit(
            &store::AuditEntry::new(store::Actor::command_line(), "keys.rotate", None)
                .target(&new_id)
                .detail(serde_json::json!({ "reencrypted": n, "removed": removed })),
        )
        .await?;
    Ok(())
}
