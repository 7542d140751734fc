//! `drivesync api <operationId>`: any operation of HighLevel's Contacts API (and the
//! appointment operations), printed as JSON. The support and scripting door.

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;

use super::common::{self, StoreArgs};
use super::highlevel::{self, Credentials, HighLevelArgs, InstallArgs};

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The operation, e.g. get-contact, search-contacts-advanced, create-task.
    operation: String,
    /// The location (default: the only connected one).
    #[arg(long)]
    location: Option<String>,
    /// Path or query parameter, e.g. --param contactId=abc (repeatable).
    #[arg(long = "param", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// JSON body from a file, or `-` for standard input.
    #[arg(long)]
    body: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    highlevel: HighLevelArgs,
    #[command(flatten)]
    install: InstallArgs,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))
}

pub async fn run(args: ApiArgs) -> anyhow::Result<()> {
    let Some(op) = ghl::operations::operation(&args.operation) else {
        let known: Vec<&str> = ghl::operations::OPERATIONS.iter().map(|o| o.id).collect();
        bail!(
            "unknown operation `{}`; known operations: {}",
            args.operation,
            known.join(", ")
        );
    };
    let body = match &args.body {
        None => None,
        Some(p) => Some(read_body(p)?),
    };
    let config = args.store.settings(args.highlevel.overrides())?;
    let store = common::open_store(&config).await?;
    let location = common::pick_location(&store, args.location.clone()).await?;
    let redirect = &args.install.redirect_uri;
    let app = Credentials::resolve(&config.highlevel, args.highlevel.client_secret(), &store)
        .await?
        .app(&config.highlevel, redirect, args.install.scopes())?;
    let client = highlevel::client(&config.highlevel, app, redirect, &store)?;
    // Operations that take the location in the query or path get it from the handle
    // (`ghl::api::Location::call`).
    let params = args.params.clone();
    let result = client
        .location(&location)
        .call(op, &params, body.as_ref())
        .await;
    // `drivesync locations` shows a spent daily budget until a call goes through again.
    match &result {
        Err(ghl::GhlError::DailyBudgetExhausted { .. }) => {
            store
                .set_state(&location, store::LocationState::BudgetExhausted)
                .await?;
        }
        Ok(_) => {
            if let Some(rec) = store.location(&location).await? {
                if rec.state == store::LocationState::BudgetExhausted {
                    store.set_state(&location, store::LocationState::Ok).await?;
                }
            }
        }
        Err(_) => {}
    }
    let out = result?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn read_body(p: &PathBuf) -> anyhow::Result<Value> {
    let mut text = String::new();
    if p.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    }
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", p.display()))
}
