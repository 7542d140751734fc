//! `drivesync users add` and `drivesync tokens create`: people who use Drive Chat, and their
//! API tokens.

use std::io::BufRead as _;

use anyhow::Context;
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use super::common::StoreArgs;

#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a person who can sign in to Drive Chat. The password is read from the
    /// DRIVESYNC_USER_PASSWORD variable, else from the first line of standard input.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        email: String,
        /// The name shown to the team.
        #[arg(long)]
        name: String,
        /// A workspace (HighLevel location id) to join, as `ID` (member) or `ID:admin`.
        /// Repeat for several. Default: every connected location, as admin.
        #[arg(long = "workspace")]
        workspaces: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct TokensArgs {
    #[command(subcommand)]
    command: TokensCommand,
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Mint an API token for a member of a workspace (shown once; only its hash is kept).
    Create {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        email: String,
        /// The workspace (HighLevel location id) the token reads and acts in.
        #[arg(long)]
        workspace: String,
    },
}

pub async fn run_users(args: UsersArgs) -> anyhow::Result<()> {
    let UsersCommand::Add {
        store,
        email,
        name,
        workspaces,
    } = args.command;
    let store = store.open().await?;
    ensure_workspaces(&store).await?;
    let memberships = if workspaces.is_empty() {
        store
            .locations()
            .await?
            .into_iter()
            .map(|l| (l.location_id, store::Role::Admin))
            .collect()
    } else {
        workspaces
            .iter()
            .map(|w| parse_membership(w))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let password = read_password()?;
    let id = drivechat::admin::add_user(&store, &email, password, &name, &memberships).await?;
    say!(
        "Added {email} (user {id}) to {} workspace(s).",
        memberships.len()
    );
    Ok(())
}

pub async fn run_tokens(args: TokensArgs) -> anyhow::Result<()> {
    let TokensCommand::Create {
        store,
        email,
        workspace,
    } = args.command;
    let store = store.open().await?;
    let token = drivechat::admin::create_api_token(&store, &email, &workspace).await?;
    say!("{}", token.expose_secret());
    eprintln!("Keep this token now: it is not shown again. Send it as `Authorization: Bearer <token>` to /api/v1.");
    Ok(())
}

/// Every connected location has its workspace (named after the location), so people can be
/// added to it.
pub async fn ensure_workspaces(store: &store::Store) -> anyhow::Result<()> {
    for l in store.locations().await? {
        if store.workspace(&l.location_id).await?.is_none() {
            let name = l.name.clone().unwrap_or_else(|| l.location_id.clone());
            drivechat::admin::ensure_workspace(store, &l.location_id, &name).await?;
        }
    }
    Ok(())
}

fn parse_membership(s: &str) -> anyhow::Result<(String, store::Role)> {
    match s.split_once(':') {
        None => Ok((s.to_string(), store::Role::Member)),
        Some((id, "admin")) => Ok((id.to_string(), store::Role::Admin)),
        Some((id, "member")) => Ok((id.to_string(), store::Role::Member)),
        Some((_, other)) => {
            anyhow::bail!("unknown role `{other}` in --workspace {s}: use admin or member")
        }
    }
}

fn read_password() -> anyhow::Result<SecretString> {
    if let Ok(p) = std::env::var("DRIVESYNC_USER_PASSWORD") {
        return Ok(SecretString::from(p));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        anyhow::bail!("no password: set DRIVESYNC_USER_PASSWORD or pipe it on standard input");
    }
    Ok(SecretString::from(p))
}
