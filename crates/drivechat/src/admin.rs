//! What an operator does from the command line (`drivesync users add`, `drivesync tokens
//! create`): create workspaces, add people to them, and mint API tokens. Each refusal is an
//! [`Error`] that says what to do instead.

use secrecy::{ExposeSecret, SecretString};
use store::{Actor, AuditEntry, Role, Store};

use crate::password::{self, MIN_PASSWORD_LEN};
use crate::secret;
use crate::Error;

/// The prefix of every Drive Chat API token, so a leaked one is recognisable in a scan.
pub const API_TOKEN_PREFIX: &str = "dct_";

/// Creates the workspace of a connected location, or renames it. The location must be
/// connected: a workspace is a view of a location's synced data.
pub async fn ensure_workspace(store: &Store, location_id: &str, name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::BadRequest("a workspace needs a name".into()));
    }
    if store.location(location_id).await?.is_none() {
        return Err(Error::NotConnected {
            location_id: location_id.into(),
        });
    }
    store.upsert_workspace(location_id, name).await?;
    tracing::info!(location_id, name, "workspace ready");
    Ok(())
}

/// Adds a person who can sign in with `email` and `password`, as a member of each workspace
/// listed (which must exist). Returns the new user's id.
pub async fn add_user(
    store: &Store,
    email: &str,
    password: SecretString,
    name: &str,
    workspaces: &[(String, Role)],
) -> Result<i64, Error> {
    let email = normalize_email(email)?;
    if password.expose_secret().chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::BadRequest(format!(
            "the password must be at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::BadRequest("a user needs a display name".into()));
    }
    for (location_id, _) in workspaces {
        if store.workspace(location_id).await?.is_none() {
            return Err(Error::UnknownWorkspace {
                location_id: location_id.clone(),
            });
        }
    }
    let hash = password::hash(&password).await?;
    let id = store
        .create_chat_user(&email, name, &hash)
        .await?
        .ok_or(Error::UserExists {
            email: email.clone(),
        })?;
    for (location_id, role) in workspaces {
        store.set_membership(id, location_id, *role).await?;
    }
    // One entry per workspace joined, so each workspace's admins see who joined theirs.
    let added = |location: Option<&str>, role: Option<Role>| {
        AuditEntry::new(Actor::command_line(), "member.add", location)
            .target(&email)
            .detail(
                serde_json::json!({ "user_id": id, "name": name, "role": role.map(Role::as_str) }),
            )
    };
    if workspaces.is_empty() {
        store.record_audit(&added(None, None)).await?;
    }
    for (location_id, role) in workspaces {
        store
            .record_audit(&added(Some(location_id), Some(*role)))
            .await?;
    }
    tracing::info!(user_id = id, workspaces = workspaces.len(), "user added");
    Ok(id)
}

/// Makes an existing user a member of a workspace with `role` (or changes their role).
pub async fn add_membership(
    store: &Store,
    email: &str,
    location_id: &str,
    role: Role,
) -> Result<(), Error> {
    let user = user_by_email(store, email).await?;
    if store.workspace(location_id).await?.is_none() {
        return Err(Error::UnknownWorkspace {
            location_id: location_id.into(),
        });
    }
    store.set_membership(user.id, location_id, role).await?;
    store
        .record_audit(
            &AuditEntry::new(Actor::command_line(), "member.set_role", Some(location_id))
                .target(&user.email)
                .detail(serde_json::json!({ "user_id": user.id, "role": role.as_str() })),
        )
        .await?;
    Ok(())
}

/// Mints an API token for a member of `location_id`. The token is returned once and only its
/// hash is stored: show it to the person now; it cannot be shown again.
pub async fn create_api_token(
    store: &Store,
    email: &str,
    location_id: &str,
) -> Result<SecretString, Error> {
    let user = user_by_email(store, email).await?;
    let by = Actor::command_line();
    mint_api_token(
        store,
        &by,
        user.id,
        &user.email,
        location_id,
        "command line",
    )
    .await
}

/// Mints a token for a user known by id (the settings page uses this for the signed-in user),
/// recording in the audit trail that `by` did.
pub(crate) async fn mint_api_token(
    store: &Store,
    by: &Actor,
    user_id: i64,
    email: &str,
    location_id: &str,
    label: &str,
) -> Result<SecretString, Error> {
    if store.membership(user_id, location_id).await?.is_none() {
        return Err(Error::NotAMember {
            email: email.into(),
            location_id: location_id.into(),
        });
    }
    let token = format!("{API_TOKEN_PREFIX}{}", secret::random_token());
    store
        .create_api_token(&secret::token_hash(&token), user_id, location_id, label)
        .await?;
    store
        .record_audit(
            &AuditEntry::new(by.clone(), "api_token.create", Some(location_id))
                .target(email)
                .detail(serde_json::json!({ "user_id": user_id, "label": label })),
        )
        .await?;
    tracing::info!(user_id, location_id, "API token created");
    Ok(SecretString::from(token))
}

/// The user with this email (compared trimmed and lower-cased).
pub async fn user_by_email(store: &Store, email: &str) -> Result<store::ChatUser, Error> {
    let email = normalize_email(email)?;
    store
        .chat_user_by_email(&email)
        .await?
        .ok_or(Error::UnknownUser { email })
}

/// Emails are compared trimmed and lower-cased, so `Ana@Example.com ` signs in as
/// `ana@example.com`.
pub(crate) fn normalize_email(email: &str) -> Result<String, Error> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty())
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(Error::BadRequest(format!(
            "{email:?} is not an email address"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_or_refused() {
        assert_eq!(
            normalize_email(" Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        assert!(normalize_email("ana").is_err());
        assert!(normalize_email("@x").is_err());
        assert!(normalize_email("a b@x").is_err());
    }
}
