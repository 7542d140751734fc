//! `drivesync connect`: the install flow (or a Private Integration Token), tokens stored
//! encrypted, and a report of what was granted.

use anyhow::{bail, Context};
use axum::extract::Query;
use axum::response::Html;
use clap::builder::TypedValueParser;
use clap::Args;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use super::common::{self, StoreArgs};
use super::highlevel::{self, Credentials, HighLevelArgs, InstallArgs};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    highlevel: HighLevelArgs,
    #[command(flatten)]
    install: InstallArgs,
    /// Connect with a Private Integration Token instead of OAuth (needs --location).
    #[arg(long, env = "DRIVESYNC_PIT", hide_env_values = true)]
    token: Option<String>,
    /// The location a Private Integration Token belongs to; with `--user-type company`, the
    /// locations to mint tokens for (repeatable; default: every location the agency approved).
    #[arg(long)]
    location: Vec<String>,
    /// `location` (a sub-account approves) or `company` (an agency approves, and location
    /// tokens are minted from its token).
    #[arg(long, default_value = "location", value_parser = user_type_parser())]
    user_type: ghl::UserType,
    /// Print the authorization URL without opening a browser.
    #[arg(long)]
    no_browser: bool,
    /// How long to wait for the approval, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

/// `--user-type`: the two kinds of approval, offered (and listed in `--help`) by name.
fn user_type_parser() -> impl clap::builder::TypedValueParser<Value = ghl::UserType> {
    clap::builder::PossibleValuesParser::new(["location", "company"])
        .map(|s| ghl::UserType::parse(&s))
}

pub async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    let config = args.store.settings(args.highlevel.overrides())?;
    let store = Arc::new(common::open_store(&config).await?);
    match args.token.clone() {
        Some(pit) => connect_pit(&args, &config, store, SecretString::from(pit)).await,
        None => connect_oauth(&args, &config, store).await,
    }
}

async fn connect_pit(
    args: &ConnectArgs,
    config: &Config,
    store: Arc<store::Store>,
    pit: SecretString,
) -> anyhow::Result<()> {
    let location = match args.location.as_slice() {
        [one] => one.clone(),
        [] => {
            bail!("a Private Integration Token needs the location it belongs to: add --location ID")
        }
        _ => bail!("a Private Integration Token belongs to one location: give --location once"),
    };
    // Check the token works before keeping it.
    let tokens = ghl::StaticTokens::default();
    tokens.insert(&location, pit.clone(), None);
    let client = ghl::GhlClient::new(
        ghl::ClientConfig::new(config.highlevel.api_base.clone()),
        Arc::new(tokens),
    )?;
    let page = client
        .location(&location)
        .search_contacts(&ghl::api::SearchRequest::new().page_limit(1))
        .await
        .context("HighLevel did not accept the token for this location")?;
    store
        .save_location(&store::NewLocation {
            location_id: location.clone(),
            company_id: None,
            name: None,
            auth: store::AuthKind::PrivateIntegration,
            user_type: ghl::UserType::Location,
            scopes: Vec::new(),
            access_token: pit,
            refresh_token: None,
            expires_at_ms: None,
        })
        .await?;
    println!("Connected location {location} with a Private Integration Token.");
    println!(
        "  contacts visible: {}",
        page.total.map_or("unknown".into(), |t| t.to_string())
    );
    println!("  scopes: as set on the token in HighLevel; token does not expire");
    Ok(())
}

/// Stores the tokens of an approved location (OAuth authorization code), sealed, and returns
/// when the access token expires.
pub async fn save_oauth_location(
    store: &store::Store,
    location_id: &str,
    name: Option<&str>,
    tokens: &ghl::TokenResponse,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let expires_at =
        chrono::Utc::now() + chrono::Duration::from_std(tokens.expires_in).unwrap_or_default();
    store
        .save_location(&store::NewLocation {
            location_id: location_id.to_string(),
            company_id: tokens.company_id.clone(),
            name: name.map(str::to_string),
            auth: store::AuthKind::OAuth,
            user_type: tokens.user_type,
            scopes: tokens.scopes.clone(),
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            expires_at_ms: Some(expires_at.timestamp_millis()),
        })
        .await?;
    Ok(expires_at)
}

async fn connect_oauth(
    args: &ConnectArgs,
    config: &Config,
    store: Arc<store::Store>,
) -> anyhow::Result<()> {
    let redirect = &args.install.redirect_uri;
    let app = Credentials::resolve(&config.highlevel, args.highlevel.client_secret(), &store)
        .await?
        .require(&config.highlevel, redirect, args.install.scopes())?;
    let host = redirect
        .host_str()
        .context("the redirect URI has no host")?;
    let port = redirect
        .port_or_known_default()
        .context("the redirect URI has no port")?;
    let listener = tokio::net::TcpListener::bind((host, port)).await.with_context(|| {
        format!("cannot listen on {host}:{port} for the OAuth callback; stop what uses it or register another --redirect-uri")
    })?;
    let request = app.authorization_url();
    println!("Open this URL to approve drivesync for a location:");
    println!("{}", request.url);
    if !args.no_browser {
        common::open_browser(request.url.as_str());
    }
    let (code, state) = wait_for_callback(
        listener,
        redirect.path(),
        Duration::from_secs(args.timeout),
        super::serve::limits(config),
    )
    .await?;
    ghl::OAuthApp::check_state(&request.state, &state)?;
    highlevel::remember(&store, &app).await?;
    if args.user_type == ghl::UserType::Company {
        let tokens = app.exchange_code(&code, ghl::UserType::Company).await?;
        return connect_company(args, &app, &store, tokens).await;
    }
    let tokens = app.exchange_code(&code, ghl::UserType::Location).await?;
    let location = tokens
        .location_id
        .clone()
        .context("HighLevel's answer names no location; connect a location, not an agency")?;
    let expires_at = save_oauth_location(&store, &location, None, &tokens).await?;
    println!("Connected location {location}.");
    println!("  scopes:  {}", tokens.scopes.join(" "));
    println!(
        "  expires: {} (refreshed automatically)",
        expires_at.to_rfc3339()
    );
    if !tokens.scopes.iter().any(|s| s == "contacts.write") {
        println!("  note: without contacts.write, actions in Drive Chat cannot be written back to HighLevel");
    }
    super::locations::say_missing_scopes(&tokens.scopes);
    Ok(())
}

/// An agency approved: its token is kept (and refreshed like any other), and a location token
/// is minted from it for each location, minted again whenever it expires.
async fn connect_company(
    args: &ConnectArgs,
    app: &ghl::OAuthApp,
    store: &store::Store,
    tokens: ghl::TokenResponse,
) -> anyhow::Result<()> {
    let company = tokens
        .company_id
        .clone()
        .context("HighLevel's answer names no company for this agency token")?;
    let expires = |t: &ghl::TokenResponse| {
        chrono::Utc::now().timestamp_millis() + t.expires_in.as_millis() as i64
    };
    store
        .save_location(&store::NewLocation {
            location_id: company.clone(),
            company_id: Some(company.clone()),
            name: None,
            auth: store::AuthKind::OAuth,
            user_type: ghl::UserType::Company,
            scopes: tokens.scopes.clone(),
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            expires_at_ms: Some(expires(&tokens)),
        })
        .await?;
    println!("Connected agency {company}.");
    println!("  scopes:  {}", tokens.scopes.join(" "));
    let locations = if args.location.is_empty() {
        tokens.approved_locations.clone()
    } else {
        args.location.clone()
    };
    if locations.is_empty() {
        println!("  no location approved yet: run connect again with --location ID to mint one");
    }
    for location in locations {
        sync::installs::mint_location(store, app, &tokens.access_token, &company, &location)
            .await
            .with_context(|| format!("minting a token for location {location}"))?;
        println!("  location {location}: token minted from the agency connection");
    }
    Ok(())
}

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=utf-8><title>drivesync connected</title></head>\
<body style=\"font:16px system-ui;margin:48px\"><h1>drivesync is connected</h1><p>You can close this tab.</p></body></html>";
const FAIL_PAGE: &str = "<!doctype html><html><head><meta charset=utf-8><title>drivesync not connected</title></head>\
<body style=\"font:16px system-ui;margin:48px\"><h1>The approval did not complete</h1><p>See the terminal for the reason.</p></body></html>";

/// Serves the redirect URI until HighLevel sends the person back with `code` and `state`.
async fn wait_for_callback(
    listener: tokio::net::TcpListener,
    path: &str,
    timeout: Duration,
    limits: crate::http_server::Limits,
) -> anyhow::Result<(String, String)> {
    let (tx, mut rx) = mpsc::channel::<Result<(String, String), String>>(1);
    let app = axum::Router::new().route(
        path,
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            let tx = tx.clone();
            async move {
                let result = match (q.get("code"), q.get("state"), q.get("error")) {
                    (_, _, Some(e)) => Err(format!("HighLevel answered {e}")),
                    (Some(c), Some(s), None) => Ok((c.clone(), s.clone())),
                    (Some(_), None, None) => Err("the callback carries no state".to_string()),
                    _ => Err("the callback carries no code".to_string()),
                };
                let page = if result.is_ok() { DONE_PAGE } else { FAIL_PAGE };
                let _ = tx.send(result).await;
                Html(page)
            }
        }),
    );
    let server = tokio::spawn(crate::http_server::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    let outcome = tokio::time::timeout(timeout, rx.recv()).await;
    // Let the browser receive its page before the listener goes away.
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.abort();
    match outcome {
        Err(_) => bail!(
            "no approval arrived within {}s; run connect again",
            timeout.as_secs()
        ),
        Ok(None) => bail!("the callback listener stopped"),
        Ok(Some(Err(e))) => bail!("the approval failed: {e}"),
        Ok(Some(Ok(pair))) => Ok(pair),
    }
}
