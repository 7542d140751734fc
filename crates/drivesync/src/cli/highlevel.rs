//! How every command reaches HighLevel: the flags over the config's `[highlevel]`, the OAuth
//! app's credentials (resolved here and nowhere else), and the client.

use anyhow::Context;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use url::Url;

use crate::config::{self, Config, Overrides};

/// Where `connect` keeps the app's credentials in the store's vault, sealed.
pub const SECRET_CLIENT_ID: &str = "oauth.client_id";
pub const SECRET_CLIENT_SECRET: &str = "oauth.client_secret";

/// Every command that calls HighLevel takes these, over the config's `[highlevel]`.
#[derive(Debug, Clone, Args)]
pub struct HighLevelArgs {
    /// HighLevel's API base URL (the sandbox's URL to try things out) [default: the config's
    /// highlevel.api_base, else HighLevel's].
    #[arg(long, env = "DRIVESYNC_GHL_BASE_URL")]
    pub ghl_base_url: Option<Url>,
    /// Where the install page lives: HighLevel's marketplace, or the sandbox's URL [default:
    /// the config's highlevel.authorize_url, else HighLevel's marketplace].
    #[arg(long, env = "DRIVESYNC_GHL_AUTHORIZE_URL")]
    pub ghl_authorize_url: Option<Url>,
    /// The app's OAuth client id (from HighLevel's marketplace, or printed by the sandbox)
    /// [default: the config's highlevel.client_id, else the one `connect` stored].
    #[arg(long, env = "DRIVESYNC_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The app's OAuth client secret [default: the one `connect` stored]; prefer the
    /// environment variable to keep it out of shell history.
    #[arg(long, env = "DRIVESYNC_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
}

impl HighLevelArgs {
    /// The settings these set over the file (the secret is not one: see [`Credentials`]).
    pub fn overrides(&self) -> Overrides {
        Overrides {
            api_base: self.ghl_base_url.clone(),
            authorize_url: self.ghl_authorize_url.clone(),
            client_id: self.client_id.clone(),
            ..Overrides::default()
        }
    }

    pub fn client_secret(&self) -> Option<SecretString> {
        self.client_secret.clone().map(SecretString::from)
    }
}

/// What `connect` asks HighLevel for, and where it is sent back (`api` takes them too, for the
/// app it refreshes tokens with).
#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// The redirect URI registered for the app; `connect` listens on its host and port.
    #[arg(long, env = "DRIVESYNC_REDIRECT_URI", default_value_t = default_redirect_uri())]
    pub redirect_uri: Url,
    /// Scopes to ask for [default: every scope drivesync uses, `ghl::DEFAULT_SCOPES`].
    #[arg(long, value_delimiter = ' ')]
    pub scopes: Vec<String>,
}

/// The redirect of a server at the default address: `connect` on the machine `serve` runs on.
fn default_redirect_uri() -> Url {
    config::Server::default()
        .oauth_redirect()
        .expect("the default public URL takes a path")
}

impl InstallArgs {
    pub fn scopes(&self) -> Vec<String> {
        if self.scopes.is_empty() {
            every_scope()
        } else {
            self.scopes.clone()
        }
    }
}

/// Every scope drivesync uses: what `connect` (and the demo) ask for unless told otherwise.
pub fn every_scope() -> Vec<String> {
    ghl::DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
}

/// The OAuth app's credentials. The client id is a setting (flag, variable, file), else the
/// one `connect` stored; the secret comes from its flag or variable, else the one `connect`
/// stored — never from the file.
pub struct Credentials {
    client_id: Option<String>,
    client_secret: Option<SecretString>,
}

impl Credentials {
    pub async fn resolve(
        highlevel: &config::HighLevel,
        client_secret: Option<SecretString>,
        store: &store::Store,
    ) -> anyhow::Result<Credentials> {
        let client_id = match &highlevel.client_id {
            Some(id) => Some(id.clone()),
            None => store
                .secret(SECRET_CLIENT_ID)
                .await?
                .map(|s| s.expose_secret().to_string()),
        };
        let client_secret = match client_secret {
            Some(s) => Some(s),
            None => store.secret(SECRET_CLIENT_SECRET).await?,
        };
        Ok(Credentials {
            client_id,
            client_secret,
        })
    }

    /// The app when both credentials are known; else `None`, under which only Private
    /// Integration Tokens work (a refresh then says what is missing).
    pub fn app(
        self,
        highlevel: &config::HighLevel,
        redirect: &Url,
        scopes: Vec<String>,
    ) -> anyhow::Result<Option<ghl::OAuthApp>> {
        match (self.client_id, self.client_secret) {
            (Some(id), Some(secret)) => {
                Ok(Some(oauth_app(highlevel, id, secret, redirect, scopes)?))
            }
            _ => Ok(None),
        }
    }

    /// The app, or an error saying which credential to give.
    pub fn require(
        self,
        highlevel: &config::HighLevel,
        redirect: &Url,
        scopes: Vec<String>,
    ) -> anyhow::Result<ghl::OAuthApp> {
        let id = self.client_id.context(
            "no OAuth client id: pass --client-id or set DRIVESYNC_CLIENT_ID (or highlevel.client_id \
             in the config file)",
        )?;
        let secret = self
            .client_secret
            .context("no OAuth client secret: set DRIVESYNC_CLIENT_SECRET")?;
        oauth_app(highlevel, id, secret, redirect, scopes)
    }
}

/// Sealed in the store, for the commands and servers that refresh tokens later.
pub async fn remember(store: &store::Store, app: &ghl::OAuthApp) -> anyhow::Result<()> {
    store
        .put_secret(SECRET_CLIENT_ID, &SecretString::from(app.client_id.clone()))
        .await?;
    store
        .put_secret(SECRET_CLIENT_SECRET, &app.client_secret)
        .await?;
    Ok(())
}

fn oauth_app(
    highlevel: &config::HighLevel,
    client_id: String,
    client_secret: SecretString,
    redirect: &Url,
    scopes: Vec<String>,
) -> anyhow::Result<ghl::OAuthApp> {
    Ok(ghl::OAuthApp::new(
        client_id,
        client_secret,
        redirect.as_str(),
        scopes,
        highlevel.api_base.clone(),
        highlevel.authorize_url.clone(),
    )?)
}

/// What `serve`, `backfill` and `verify` call HighLevel with: the app (when its credentials
/// are known), sent back to `<public_url>/oauth/callback`, and a client whose tokens come from
/// `store`.
pub async fn from_config(
    config: &Config,
    client_secret: Option<SecretString>,
    store: &store::Store,
) -> anyhow::Result<(ghl::GhlClient, Option<ghl::OAuthApp>)> {
    let redirect = config.server.oauth_redirect()?;
    let app = Credentials::resolve(&config.highlevel, client_secret, store)
        .await?
        .app(&config.highlevel, &redirect, Vec::new())?;
    if app.is_none() {
        tracing::info!("no OAuth app credentials: only Private Integration Tokens can be used");
    }
    let client = client(&config.highlevel, app.clone(), &redirect, store)?;
    Ok((client, app))
}

/// A client whose tokens come from `store`: OAuth tokens refreshed through `app` under the
/// store's lease, Private Integration Tokens as they are. Without an app, a placeholder one
/// under which only Private Integration Tokens work (a refresh says what is missing).
pub fn client(
    highlevel: &config::HighLevel,
    app: Option<ghl::OAuthApp>,
    redirect: &Url,
    store: &store::Store,
) -> anyhow::Result<ghl::GhlClient> {
    let app = match app {
        Some(a) => a,
        None => oauth_app(
            highlevel,
            "unset".into(),
            SecretString::from(String::new()),
            redirect,
            Vec::new(),
        )?,
    };
    let tokens = ghl::OAuthTokens::new(
        Arc::new(store::GhlTokens::new(Arc::new(store.clone()))),
        app,
    );
    Ok(ghl::GhlClient::new(
        ghl::ClientConfig::new(highlevel.api_base.clone()),
        Arc::new(tokens),
    )?)
}
