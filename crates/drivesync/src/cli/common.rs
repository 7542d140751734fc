//! Options shared by the commands that talk to HighLevel and to the store.

use anyhow::Context;
use clap::Args;
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::Arc;
use url::Url;

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The config file (`drivesync init` writes one). Optional: without it, the defaults and
    /// the options below apply.
    #[arg(
        long,
        global = true,
        env = "DRIVESYNC_CONFIG",
        default_value = "drivesync.toml"
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
    /// The config file's settings (defaults when there is no file).
    pub fn load_config(&self) -> anyhow::Result<crate::config::Config> {
        crate::config::Config::load(&self.config, false)
    }

    /// The data directory: the option, else the config file's, else `drivesync-data`.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.data_dir {
            Some(d) => Ok(d.clone()),
            None => Ok(self.load_config()?.store.data_dir),
        }
    }

    pub fn url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        if self.data_dir.is_none() {
            if let Some(url) = self.load_config()?.store.database_url {
                return Ok(url);
            }
        }
        Ok(format!(
            "sqlite://{}",
            self.data_dir()?.join("drivesync.db").display()
        ))
    }

    pub async fn open(&self) -> anyhow::Result<store::Store> {
        let dir = self.data_dir()?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        let keyring = store::Keyring::from_env_or_file(&dir)?;
        Ok(store::Store::connect(&self.url()?, keyring).await?)
    }
}

#[derive(Debug, Clone, Args)]
pub struct GhlArgs {
    /// HighLevel's API base URL (the sandbox's URL to try things out).
    #[arg(long, env = "DRIVESYNC_GHL_BASE_URL", default_value = ghl::oauth::DEFAULT_API_BASE)]
    pub ghl_base_url: Url,
}

#[derive(Debug, Clone, Args)]
pub struct AppArgs {
    /// Where the install page lives: HighLevel's marketplace, or the sandbox's URL.
    #[arg(long, env = "DRIVESYNC_GHL_AUTHORIZE_URL", default_value = ghl::oauth::DEFAULT_AUTHORIZE_BASE)]
    pub ghl_authorize_url: Url,
    /// The app's OAuth client id (from HighLevel's marketplace, or printed by the sandbox).
    #[arg(long, env = "DRIVESYNC_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The app's OAuth client secret; prefer the environment variable to keep it out of
    /// shell history.
    #[arg(long, env = "DRIVESYNC_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// The redirect URI registered for the app; `connect` listens on its host and port.
    #[arg(
        long,
        env = "DRIVESYNC_REDIRECT_URI",
        default_value = "http://127.0.0.1:8080/oauth/callback"
    )]
    pub redirect_uri: Url,
    /// Scopes to ask for [default: every scope drivesync uses, `ghl::DEFAULT_SCOPES`].
    #[arg(long, value_delimiter = ' ')]
    pub scopes: Vec<String>,
}

pub const SECRET_CLIENT_ID: &str = "oauth.client_id";
pub const SECRET_CLIENT_SECRET: &str = "oauth.client_secret";

impl AppArgs {
    /// The app from flags or environment, else from what `connect` stored.
    pub async fn app(&self, ghl: &GhlArgs, store: &store::Store) -> anyhow::Result<ghl::OAuthApp> {
        use secrecy::ExposeSecret;
        let stored = |name: &'static str| async move { store.secret(name).await };
        let client_id = match &self.client_id {
            Some(c) => c.clone(),
            None => stored(SECRET_CLIENT_ID)
                .await?
                .map(|s| s.expose_secret().to_string())
                .context("no OAuth client id: pass --client-id or set DRIVESYNC_CLIENT_ID")?,
        };
        let secret = match &self.client_secret {
            Some(s) => SecretString::from(s.clone()),
            None => stored(SECRET_CLIENT_SECRET)
                .await?
                .context("no OAuth client secret: set DRIVESYNC_CLIENT_SECRET")?,
        };
        Ok(ghl::OAuthApp::new(
            client_id,
            secret,
            self.redirect_uri.as_str(),
            if self.scopes.is_empty() {
                ghl::DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
            } else {
                self.scopes.clone()
            },
            ghl.ghl_base_url.clone(),
            self.ghl_authorize_url.clone(),
        )?)
    }
}

/// A client whose tokens come from the store: OAuth tokens refreshed under the store's lease,
/// Private Integration Tokens as they are.
pub async fn client(
    ghl_args: &GhlArgs,
    app_args: &AppArgs,
    store: Arc<store::Store>,
) -> anyhow::Result<ghl::GhlClient> {
    // Without app credentials only Private Integration Tokens can be used; a refresh will
    // then say what is missing.
    let app = app_args.app(ghl_args, &store).await.ok();
    client_from(
        app,
        &ghl_args.ghl_base_url,
        &app_args.ghl_authorize_url,
        &app_args.redirect_uri,
        &store,
    )
}

/// A client whose tokens come from `store`, refreshed through `app`; without an app, a
/// placeholder one under which only Private Integration Tokens work (a refresh says what is
/// missing).
pub fn client_from(
    app: Option<ghl::OAuthApp>,
    api_base: &Url,
    authorize_base: &Url,
    redirect_uri: &Url,
    store: &store::Store,
) -> anyhow::Result<ghl::GhlClient> {
    let app = match app {
        Some(a) => a,
        None => ghl::OAuthApp::new(
            "unset",
            SecretString::from(String::new()),
            redirect_uri.as_str(),
            Vec::new(),
            api_base.clone(),
            authorize_base.clone(),
        )?,
    };
    let tokens = ghl::OAuthTokens::new(
        Arc::new(store::GhlTokens::new(Arc::new(store.clone()))),
        app,
    );
    Ok(ghl::GhlClient::new(
        ghl::ClientConfig::new(api_base.clone()),
        Arc::new(tokens),
    )?)
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
