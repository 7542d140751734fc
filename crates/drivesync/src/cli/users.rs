//! `drivesync users add|list|remove|set-role|reset-password` and `drivesync tokens
//! create|list|revoke`: people who use Drive Chat, and their API tokens. The same changes as
//! the settings page, by the operator (the same rules hold: a workspace keeps an admin).

use std::io::BufRead as _;

use anyhow::Context;
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use drivechat::team::Actor;

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
        /// A workspace (HighLevel location id) to join, as `ID` (member), `ID:admin` or
        /// `ID:viewer`. Repeat for several. Default: every connected location, as admin.
        #[arg(long = "workspace")]
        workspaces: Vec<String>,
    },
    /// List people and their workspaces and roles.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Only the members of this workspace.
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Remove a person from a workspace: their sessions end and their tokens there are
    /// revoked. The last admin of a workspace cannot be removed.
    Remove {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        workspace: String,
    },
    /// Change a member's role: admin, member or viewer.
    SetRole {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        role: String,
    },
    /// Set a new password (read like `add` reads it); every session of theirs ends.
    ResetPassword {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        email: String,
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
    /// List API tokens (never the tokens themselves: an id, whose, and when used).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        workspace: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke an API token by the id `tokens list` shows; programs using it are refused.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The token's id, from `tokens list`.
        id: String,
    },
}

pub async fn run_users(args: UsersArgs) -> anyhow::Result<()> {
    match args.command {
        UsersCommand::Add {
            store,
            email,
            name,
            workspaces,
        } => add_user(store, email, name, workspaces).await,
        UsersCommand::List { store, workspace } => list_users(store, workspace).await,
        UsersCommand::Remove {
            store,
            email,
            workspace,
        } => {
            let store = store.open().await?;
            let user = drivechat::admin::user_by_email(&store, &email).await?;
            drivechat::team::remove(&store, &workspace, Actor::Operator, user.id).await?;
            say!("Removed {} from {workspace}: their sessions ended and their tokens there were revoked.", user.email);
            Ok(())
        }
        UsersCommand::SetRole {
            store,
            email,
            workspace,
            role,
        } => {
            let role = parse_role(&role)?;
            let store = store.open().await?;
            let user = drivechat::admin::user_by_email(&store, &email).await?;
            drivechat::team::set_role(&store, &workspace, Actor::Operator, user.id, role).await?;
            say!("{} is now {role} in {workspace}.", user.email);
            Ok(())
        }
        UsersCommand::ResetPassword { store, email } => {
            let store = store.open().await?;
            let password = read_password()?;
            drivechat::team::reset_password(&store, &email, &password).await?;
            say!("Password of {} reset; their sessions ended.", email.trim());
            Ok(())
        }
    }
}

async fn add_user(
    store: StoreArgs,
    email: String,
    name: String,
    workspaces: Vec<String>,
) -> anyhow::Result<()> {
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

async fn list_users(store: StoreArgs, workspace: Option<String>) -> anyhow::Result<()> {
    let store = store.open().await?;
    let mut shown = 0;
    for u in store.chat_users().await? {
        let memberships = store.memberships(u.id).await?;
        let roles: Vec<String> = memberships
            .iter()
            .filter(|m| {
                workspace
                    .as_ref()
                    .is_none_or(|w| *w == m.workspace.location_id)
            })
            .map(|m| format!("{}:{}", m.workspace.location_id, m.role))
            .collect();
        if workspace.is_some() && roles.is_empty() {
            continue;
        }
        shown += 1;
        let roles = if roles.is_empty() {
            "no workspace".to_string()
        } else {
            roles.join(" ")
        };
        say!("{}\t{}\t{}", u.email, u.display_name, roles);
    }
    if shown == 0 {
        say!("No users.");
    }
    Ok(())
}

pub async fn run_tokens(args: TokensArgs) -> anyhow::Result<()> {
    match args.command {
        TokensCommand::Create {
            store,
            email,
            workspace,
        } => {
            let store = store.open().await?;
            let token = drivechat::admin::create_api_token(&store, &email, &workspace).await?;
            say!("{}", token.expose_secret());
            eprintln!("Keep this token now: it is not shown again. Send it as `Authorization: Bearer <token>` to /api/v1.");
            Ok(())
        }
        TokensCommand::List {
            store,
            workspace,
            email,
        } => {
            let store = store.open().await?;
            let owner = match &email {
                Some(e) => Some(drivechat::admin::user_by_email(&store, e).await?.id),
                None => None,
            };
            let tokens = store.api_tokens(workspace.as_deref(), owner).await?;
            for t in &tokens {
                let used = t.last_used_ms.map_or_else(
                    || "never used".to_string(),
                    |u| format!("last used {}", rfc3339(u)),
                );
                say!(
                    "{}\t{}\t{}\t{}\tcreated {}\t{used}",
                    t.id,
                    t.email,
                    t.location_id,
                    t.label,
                    rfc3339(t.created_at_ms)
                );
            }
            if tokens.is_empty() {
                say!("No API tokens.");
            }
            Ok(())
        }
        TokensCommand::Revoke { store, id } => {
            let store = store.open().await?;
            drivechat::team::revoke_token(&store, None, None, Actor::Operator, id.trim()).await?;
            say!("Token {} revoked.", id.trim());
            Ok(())
        }
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn parse_role(role: &str) -> anyhow::Result<store::Role> {
    store::Role::parse(role.trim())
        .ok_or_else(|| anyhow::anyhow!("unknown role `{role}`: use admin, member or viewer"))
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
        Some((id, role)) => match store::Role::parse(role) {
            Some(role) => Ok((id.to_string(), role)),
            None => anyhow::bail!(
                "unknown role `{role}` in --workspace {s}: use admin, member or viewer"
            ),
        },
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
