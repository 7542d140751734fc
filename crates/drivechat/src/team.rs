//! Changing a team, from the settings page and the command line alike: inviting, changing
//! roles, removing members, revoking invitations and API tokens, resetting passwords, and
//! each person's own name, password and sessions.
//!
//! Every change an admin (or the operator at the command line) makes to someone else ends in
//! [`performed`], the one place such changes are reported. The rules, kept here (and the
//! "always an admin" one in the store's transaction):
//! - a workspace always has an admin: the last one cannot be removed or demoted (make
//!   someone else admin first);
//! - an invitation names an email and a role, works once, expires after
//!   [`crate::Config::invite_ttl`], and only the newest one per email is valid; inviting an
//!   existing member is refused (change their role instead). Someone who already has an
//!   account joins by typing their own password, so an invitation cannot take over an
//!   account;
//! - removing a member ends all their sessions (everywhere) and their tokens of the workspace;
//! - changing one's password needs the current one and ends one's other sessions.

use secrecy::{ExposeSecret as _, SecretString};
use store::{Member, MemberChange, Role, Store};

use crate::admin::normalize_email;
use crate::password::{self, MIN_PASSWORD_LEN};
use crate::{secret, Error};

/// Who made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in admin (user id).
    Member(i64),
    /// The operator, at the command line.
    Operator,
}

/// A change made to someone else's access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Invited { email: String, role: Role },
    InviteRevoked { invite_id: i64 },
    RoleChanged { user_id: i64, role: Role },
    Removed { user_id: i64 },
    TokenRevoked { token_id: String },
    PasswordReset { user_id: i64 },
}

/// Reports a change to someone's access: every such change ends here, once it is done, and is
/// recorded in the audit trail.
pub(crate) async fn performed(
    store: &Store,
    location_id: Option<&str>,
    by: Actor,
    change: &Change,
) -> Result<(), Error> {
    tracing::info!(?location_id, ?by, ?change, "team changed");
    let actor = match by {
        Actor::Member(id) => {
            let name = store
                .chat_user(id)
                .await?
                .map(|u| u.display_name)
                .unwrap_or_default();
            store::Actor::member(id, &name)
        }
        Actor::Operator => store::Actor::command_line(),
    };
    let (kind, target, detail) = match change {
        Change::Invited { email, role } => (
            "member.invite",
            email.clone(),
            serde_json::json!({ "role": role.as_str() }),
        ),
        Change::InviteRevoked { invite_id } => (
            "invite.revoke",
            invite_id.to_string(),
            serde_json::json!({ "invite_id": invite_id }),
        ),
        Change::RoleChanged { user_id, role } => (
            "member.set_role",
            user_id.to_string(),
            serde_json::json!({ "user_id": user_id, "role": role.as_str() }),
        ),
        Change::Removed { user_id } => (
            "member.remove",
            user_id.to_string(),
            serde_json::json!({ "user_id": user_id }),
        ),
        Change::TokenRevoked { token_id } => (
            "api_token.revoke",
            token_id.clone(),
            serde_json::json!({ "token_id": token_id }),
        ),
        Change::PasswordReset { user_id } => (
            "password.reset",
            user_id.to_string(),
            serde_json::json!({ "user_id": user_id }),
        ),
    };
    let entry = store::AuditEntry::new(actor, kind, location_id)
        .target(&target)
        .detail(detail);
    store.record_audit(&entry).await?;
    Ok(())
}

/// A new invitation: the link's token (shown once, only its hash is kept) and its expiry.
pub struct Invitation {
    pub token: SecretString,
    pub expires_at_ms: i64,
}

/// The path of an invitation's link.
pub fn invite_path(token: &SecretString) -> String {
    format!("/invite/{}", token.expose_secret())
}

/// Invites `email` into workspace `location_id` with `role`.
pub async fn invite(
    store: &Store,
    ttl: std::time::Duration,
    location_id: &str,
    by: Actor,
    email: &str,
    role: Role,
) -> Result<Invitation, Error> {
    let email = normalize_email(email)?;
    let ws = workspace(store, location_id).await?;
    if let Some(m) = member_by_email(store, location_id, &email).await? {
        return Err(Error::Conflict(format!(
            "{email} is already a member of {} ({}); change their role in the members list \
             instead of inviting them",
            ws.name, m.role
        )));
    }
    let token = SecretString::from(secret::random_token());
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at_ms = crate::time::now_ms().saturating_add(ttl_ms);
    let inviter = match by {
        Actor::Member(id) => Some(id),
        Actor::Operator => None,
    };
    store
        .create_invite(
            &secret::token_hash(token.expose_secret()),
            location_id,
            &email,
            role,
            inviter,
            expires_at_ms,
        )
        .await?;
    performed(
        store,
        Some(location_id),
        by,
        &Change::Invited { email, role },
    )
    .await?;
    Ok(Invitation {
        token,
        expires_at_ms,
    })
}

/// Revokes a pending invitation.
pub async fn revoke_invite(
    store: &Store,
    location_id: &str,
    by: Actor,
    invite_id: i64,
) -> Result<(), Error> {
    if !store.revoke_invite(location_id, invite_id).await? {
        return Err(Error::NotFound("pending invitation"));
    }
    performed(
        store,
        Some(location_id),
        by,
        &Change::InviteRevoked { invite_id },
    )
    .await?;
    Ok(())
}

/// Changes a member's role.
pub async fn set_role(
    store: &Store,
    location_id: &str,
    by: Actor,
    user_id: i64,
    role: Role,
) -> Result<(), Error> {
    let outcome = store.change_role(location_id, user_id, role).await?;
    settled(store, location_id, user_id, outcome, "demoted").await?;
    performed(
        store,
        Some(location_id),
        by,
        &Change::RoleChanged { user_id, role },
    )
    .await?;
    Ok(())
}

/// Removes a member: their sessions and their tokens of the workspace end at once.
pub async fn remove(
    store: &Store,
    location_id: &str,
    by: Actor,
    user_id: i64,
) -> Result<(), Error> {
    let outcome = store.remove_member(location_id, user_id).await?;
    settled(store, location_id, user_id, outcome, "removed").await?;
    performed(store, Some(location_id), by, &Change::Removed { user_id }).await?;
    Ok(())
}

/// Revokes an API token of the workspace (anyone's when `owner` is `None`).
pub async fn revoke_token(
    store: &Store,
    location_id: Option<&str>,
    owner: Option<i64>,
    by: Actor,
    token_id: &str,
) -> Result<(), Error> {
    if !store.revoke_api_token(location_id, owner, token_id).await? {
        return Err(Error::NotFound("API token"));
    }
    // Revoking one's own token is not a change to someone else's access.
    if owner.is_none() {
        let change = Change::TokenRevoked {
            token_id: token_id.to_string(),
        };
        performed(store, location_id, by, &change).await?;
    }
    Ok(())
}

/// Sets a user's password (the operator's reset) and ends all their sessions.
pub async fn reset_password(
    store: &Store,
    email: &str,
    password: &SecretString,
) -> Result<(), Error> {
    let email = normalize_email(email)?;
    let user = store
        .chat_user_by_email(&email)
        .await?
        .ok_or(Error::UnknownUser { email })?;
    let hash = hash_new_password(password).await?;
    store.set_password_hash(user.id, &hash).await?;
    store.end_user_sessions(user.id, None).await?;
    performed(
        store,
        None,
        Actor::Operator,
        &Change::PasswordReset { user_id: user.id },
    )
    .await?;
    Ok(())
}

/// Changes one's own password: the current one must be right. Ends one's other sessions
/// (`keep` is the hash of the session making the change).
pub(crate) async fn change_own_password(
    app: &crate::App,
    user_id: i64,
    current: &SecretString,
    new: &SecretString,
    keep: &str,
) -> Result<(), Error> {
    let store = &app.store;
    let user = store
        .chat_user(user_id)
        .await?
        .ok_or(Error::SignInRequired)?;
    // The same cap on concurrent password checks as signing in.
    let permit = app
        .password_checks
        .try_enter()
        .ok_or_else(|| Error::RateLimited {
            message: "Drive Chat is busy checking other passwords. Try again in a moment.".into(),
            retry_after_s: 1,
        })?;
    if !password::verify(permit, current, Some(user.password_hash)).await {
        return Err(Error::BadRequest(
            "Your current password is not right, so nothing changed; type it again.".into(),
        ));
    }
    let hash = hash_new_password(new).await?;
    store.set_password_hash(user_id, &hash).await?;
    store.end_user_sessions(user_id, Some(keep)).await?;
    Ok(())
}

/// A display name as typed: trimmed, not empty, at most 100 characters.
pub(crate) fn display_name(name: &str) -> Result<&str, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::BadRequest(
            "A name must be 1 to 100 characters, on one line.".into(),
        ));
    }
    Ok(name)
}

/// The hash of a new password, refused when too short.
pub(crate) async fn hash_new_password(password: &SecretString) -> Result<String, Error> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::BadRequest(format!(
            "The password must be at least {MIN_PASSWORD_LEN} characters; choose a longer one."
        )));
    }
    password::hash(password).await
}

async fn workspace(store: &Store, location_id: &str) -> Result<store::Workspace, Error> {
    store
        .workspace(location_id)
        .await?
        .ok_or_else(|| Error::UnknownWorkspace {
            location_id: location_id.into(),
        })
}

/// The member of the workspace with this email, if any.
pub(crate) async fn member_by_email(
    store: &Store,
    location_id: &str,
    email: &str,
) -> Result<Option<Member>, Error> {
    Ok(store
        .workspace_members(location_id)
        .await?
        .into_iter()
        .find(|m| m.email == email))
}

/// The error of a membership change that did not happen.
async fn settled(
    store: &Store,
    location_id: &str,
    user_id: i64,
    outcome: MemberChange,
    verb: &str,
) -> Result<(), Error> {
    match outcome {
        MemberChange::Done => Ok(()),
        MemberChange::NotAMember => Err(Error::NotFound("member")),
        MemberChange::LastAdmin => {
            let ws = workspace(store, location_id).await?;
            let who = store
                .chat_user(user_id)
                .await?
                .map_or_else(|| "This member".to_string(), |u| u.display_name);
            Err(Error::Conflict(format!(
                "{who} is the last admin of {} and cannot be {verb}: make another member an \
                 admin first, so the workspace always has someone who can manage it.",
                ws.name
            )))
        }
    }
}
