//! What the commands share: the store's options, which read the settings, and opening it;
//! which locations to act on.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

use crate::config::{self, Config, Overrides};

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The config file (`drivesync init` writes one). Optional: without it, the defaults and
    /// the options below apply.
    #[arg(
        long,
        global = true,
        env = "DRIVESYNC_CONFIG",
        default_value = config::DEFAULT_PATH
    )]
    pub config: PathBuf,
    /// Where drivesync keeps its files (database, master key) [default: the config's
    /// store.data_dir, else drivesync-data].
    #[arg(long, global = true, env = "DRIVESYNC_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database: `sqlite://FILE` (default: drivesync.db in the data directory) or `postgres://…`.
    #[arg(long, global = true, env = "DRIVESYNC_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreArgs {
    /// The settings, read once at the start of a command: the config file, then `more` and
    /// these options (each a flag over its `DRIVESYNC_*` variable), checked.
    pub fn settings(&self, more: Overrides) -> anyhow::Result<Config> {
        let overrides = Overrides {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..more
        };
        Ok(Config::load(&self.config, &overrides)?)
    }

    /// The store, for commands whose only settings are these.
    pub async fn open(&self) -> anyhow::Result<store::Store> {
        open_store(&self.settings(Overrides::default())?).await
    }
}

/// The store the settings name, its data directory created if need be.
pub async fn open_store(config: &Config) -> anyhow::Result<store::Store> {
    let keyring = keyring(config)?;
    Ok(store::Store::connect(&config.store.database(), keyring).await?)
}

/// The master key: `DRIVESYNC_MASTER_KEY`, else the data directory's key file (created, with
/// the directory, if need be).
pub fn keyring(config: &Config) -> anyhow::Result<store::Keyring> {
    let dir = &config.store.data_dir;
    store::private_fs::create_dir(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(store::Keyring::from_env_or_file(dir)?)
}

/// The locations a command acts on: the one given (which must be connected), else every
/// connected location (agency connections aside: they hold no records).
pub async fn target_locations(
    store: &store::Store,
    given: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    if let Some(l) = given {
        if store.location(l).await?.is_none() {
            anyhow::bail!("location {l} is not connected; see `drivesync locations`");
        }
        return Ok(vec![l.to_string()]);
    }
    let all: Vec<String> = store
        .locations()
        .await?
        .into_iter()
        .filter(|l| l.user_type != ghl::UserType::Company)
        .map(|l| l.location_id)
        .collect();
    if all.is_empty() {
        anyhow::bail!("no location is connected; run `drivesync connect` first");
    }
    Ok(all)
}

/// Counts a full import of `location` as its first reconcile, unless it has had one: `serve`
/// would otherwise start with a reconcile, a second walk of every contact. Creates the
/// location's sync state, with the configured intervals, if it has none.
pub async fn count_import_as_reconcile(
    store: &store::Store,
    location: &str,
    sync: &crate::config::Sync,
) -> anyhow::Result<()> {
    let state = store.sync_state(location).await?;
    if state
        .as_ref()
        .is_some_and(|s| s.last_reconcile_ms.is_some())
    {
        return Ok(());
    }
    if state.is_none() {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        store
            .ensure_sync_state(
                location,
                ms(sync.poll_interval),
                ms(sync.reconcile_interval),
            )
            .await?;
    }
    store.record_reconcile(location, None, None).await?;
    Ok(())
}

/// The location to act on: the one given, or the only one connected.
pub async fn pick_location(store: &store::Store, given: Option<String>) -> anyhow::Result<String> {
    if let Some(l) = given {
        return Ok(l);
    }
    let all = store.locations().await?;
    match all.as_slice() {
        [one] => Ok(one.location_id.clone()),
        [] => anyhow::bail!("no location is connected; run `drivesync connect` first"),
        many => anyhow::bail!(
            "several locations are connected ({}); say which with --location",
            many.iter()
                .map(|l| l.location_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Best effort: a missing opener is not an error, the URL is printed anyway.
pub fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}
