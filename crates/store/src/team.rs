//! Changing a team: invitations (one-time links, stored as hashes), roles, and removing a
//! member, with the one rule the store keeps itself because only a transaction can keep it
//! under concurrency: a workspace always has an admin.
//!
//! Removing a member ends everything they held: their API tokens of the workspace (which
//! cascade with the membership) and every session they have (a removed person's open tabs
//! and streams must stop at once, whichever workspace they were looking at; they sign in
//! again for the workspaces they still belong to).

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::members::{parse_role, Role};
use crate::{Store, StoreError};

/// What came of a change to a membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    /// The user is not a member of the workspace.
    NotAMember,
    /// Refused: the workspace would be left without an admin.
    LastAdmin,
}

/// A pending or spent invitation, as listed to admins (never its token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    pub id: i64,
    pub location_id: String,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<i64>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

impl Invite {
    /// Why the invitation cannot be used at `now`, if it cannot.
    pub fn unusable(&self, now: i64) -> Option<InviteState> {
        if self.used_at_ms.is_some() {
            Some(InviteState::Used)
        } else if self.revoked_at_ms.is_some() {
            Some(InviteState::Revoked)
        } else if self.expires_at_ms <= now {
            Some(InviteState::Expired)
        } else {
            None
        }
    }
}

/// Why an invitation cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteState {
    Used,
    Revoked,
    Expired,
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    id: i64,
    location_id: String,
    email: String,
    role: String,
    invited_by: Option<i64>,
    created_at_ms: i64,
    expires_at_ms: i64,
    used_at_ms: Option<i64>,
    revoked_at_ms: Option<i64>,
}

impl InviteRow {
    fn into_invite(self) -> Result<Invite, StoreError> {
        Ok(Invite {
            role: parse_role(&self.role)?,
            id: self.id,
            location_id: self.location_id,
            email: self.email,
            invited_by: self.invited_by,
            created_at_ms: self.created_at_ms,
            expires_at_ms: self.expires_at_ms,
            used_at_ms: self.used_at_ms,
            revoked_at_ms: self.revoked_at_ms,
        })
    }
}

const INVITE_COLUMNS: &str = "id, location_id, email, role, invited_by, created_at_ms, \
     expires_at_ms, used_at_ms, revoked_at_ms";

/// Who joins through an invitation: a new account, or an existing user (who proved it).
pub enum Joiner<'a> {
    New {
        display_name: &'a str,
        password_hash: &'a str,
    },
    Existing {
        user_id: i64,
    },
}

/// What came of using an invitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Joined {
    /// The user (new or existing) is now a member of the invitation's workspace.
    Member { user_id: i64, location_id: String },
    /// The invitation could not be used (any more).
    Refused(InviteState),
    /// No invitation has this token.
    Unknown,
    /// A new account was asked for, but the email now belongs to a user.
    EmailTaken,
}

impl Store {
    /// Changes a member's role; refused when it would leave the workspace without an admin.
    pub async fn change_role(
        &self,
        location_id: &str,
        user_id: i64,
        role: Role,
    ) -> Result<MemberChange, StoreError> {
        self.change_membership(location_id, user_id, Some(role))
            .await
    }

    /// Removes a member: their tokens of the workspace go with the membership, and every
    /// session of theirs ends. Refused when they are the workspace's last admin.
    pub async fn remove_member(
        &self,
        location_id: &str,
        user_id: i64,
    ) -> Result<MemberChange, StoreError> {
        self.change_membership(location_id, user_id, None).await
    }

    /// `Some(role)`: set it; `None`: remove the membership. One transaction that first
    /// locks the workspace's row, so two admins demoting each other at once cannot both
    /// succeed and leave nobody in charge.
    async fn change_membership(
        &self,
        location_id: &str,
        user_id: i64,
        role: Option<Role>,
    ) -> Result<MemberChange, StoreError> {
        with_pool!(&self.db, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE chat_workspaces SET name = name WHERE location_id = $1")
                .bind(location_id)
                .execute(&mut *tx)
                .await?;
            let current: Option<String> = sqlx::query_scalar(
                "SELECT role FROM chat_memberships WHERE user_id = $1 AND location_id = $2",
            )
            .bind(user_id)
            .bind(location_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(current) = current else {
                return Ok(MemberChange::NotAMember);
            };
            let stays_admin = role == Some(Role::Admin);
            if current == Role::Admin.as_str() && !stays_admin {
                let others: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM chat_memberships \
                     WHERE location_id = $1 AND role = 'admin' AND user_id <> $2",
                )
                .bind(location_id)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
                if others == 0 {
                    return Ok(MemberChange::LastAdmin);
                }
            }
            match role {
                Some(role) => {
                    sqlx::query(
                        "UPDATE chat_memberships SET role = $3 \
                         WHERE user_id = $1 AND location_id = $2",
                    )
                    .bind(user_id)
                    .bind(location_id)
                    .bind(role.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    // Tokens first: on SQLite the cascade needs foreign keys on; be explicit.
                    sqlx::query(
                        "DELETE FROM chat_api_tokens WHERE user_id = $1 AND location_id = $2",
                    )
                    .bind(user_id)
                    .bind(location_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "DELETE FROM chat_memberships WHERE user_id = $1 AND location_id = $2",
                    )
                    .bind(user_id)
                    .bind(location_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM chat_sessions WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(MemberChange::Done)
        }
        .await)
        .map_err(StoreError::db("changing a membership"))
    }

    /// Stores an invitation under the hash of its token, revoking any earlier pending one
    /// for the same email in the workspace (only the newest link works). Returns its id.
    pub async fn create_invite(
        &self,
        token_hash: &str,
        location_id: &str,
        email: &str,
        role: Role,
        invited_by: Option<i64>,
        expires_at_ms: i64,
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        with_pool!(&self.db, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE chat_invites SET revoked_at_ms = $3 WHERE location_id = $1 \
                 AND email = $2 AND used_at_ms IS NULL AND revoked_at_ms IS NULL",
            )
            .bind(location_id)
            .bind(email)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO chat_invites (token_hash, location_id, email, role, invited_by, \
                 created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(token_hash)
            .bind(location_id)
            .bind(email)
            .bind(role.as_str())
            .bind(invited_by)
            .bind(now)
            .bind(expires_at_ms)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }
        .await)
        .map_err(StoreError::db("saving an invitation"))
    }

    /// The invitation with this token hash, whatever its state.
    pub async fn invite_by_hash(&self, token_hash: &str) -> Result<Option<Invite>, StoreError> {
        let sql = format!("SELECT {INVITE_COLUMNS} FROM chat_invites WHERE token_hash = $1");
        let row: Option<InviteRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(token_hash)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading an invitation"))?;
        row.map(InviteRow::into_invite).transpose()
    }

    /// The workspace's invitations that can still be used, newest first.
    pub async fn pending_invites(&self, location_id: &str) -> Result<Vec<Invite>, StoreError> {
        let sql = format!(
            "SELECT {INVITE_COLUMNS} FROM chat_invites WHERE location_id = $1 \
             AND used_at_ms IS NULL AND revoked_at_ms IS NULL AND expires_at_ms > $2 \
             ORDER BY id DESC"
        );
        let rows: Vec<InviteRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .bind(now_ms())
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("listing invitations"))?;
        rows.into_iter().map(InviteRow::into_invite).collect()
    }

    /// Revokes a pending invitation of the workspace; false when there is none with that id.
    pub async fn revoke_invite(&self, location_id: &str, id: i64) -> Result<bool, StoreError> {
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE chat_invites SET revoked_at_ms = $3 WHERE location_id = $1 AND id = $2 \
             AND used_at_ms IS NULL AND revoked_at_ms IS NULL"
        )
        .bind(location_id)
        .bind(id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("revoking an invitation"))?;
        Ok(n == 1)
    }

    /// Uses an invitation: in one transaction, spends it (only if unused, unrevoked and
    /// unexpired), creates the account when `joiner` is new, and adds the membership with
    /// the invitation's role. Opened twice at once, the link works once.
    pub async fn join_by_invite(
        &self,
        token_hash: &str,
        joiner: Joiner<'_>,
    ) -> Result<Joined, StoreError> {
        let now = now_ms();
        let spend = "UPDATE chat_invites SET used_at_ms = $2 WHERE token_hash = $1 \
             AND used_at_ms IS NULL AND revoked_at_ms IS NULL AND expires_at_ms > $2 \
             RETURNING location_id, email, role";
        let joined = with_pool!(&self.db, |pool| async {
            let mut tx = pool.begin().await?;
            let spent: Option<(String, String, String)> = sqlx::query_as(spend)
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((location_id, email, role)) = spent else {
                return Ok(None);
            };
            let user_id: Option<i64> = match joiner {
                Joiner::New {
                    display_name,
                    password_hash,
                } => {
                    sqlx::query_scalar(
                        "INSERT INTO chat_users (email, display_name, password_hash, \
                         created_at_ms) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (email) DO NOTHING RETURNING id",
                    )
                    .bind(&email)
                    .bind(display_name)
                    .bind(password_hash)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
                }
                // Only the account the invitation was sent to.
                Joiner::Existing { user_id } => {
                    sqlx::query_scalar("SELECT id FROM chat_users WHERE id = $1 AND email = $2")
                        .bind(user_id)
                        .bind(&email)
                        .fetch_optional(&mut *tx)
                        .await?
                }
            };
            let Some(user_id) = user_id else {
                // Rolled back: the invitation stays usable by the existing account.
                return Ok(Some(Joined::EmailTaken));
            };
            sqlx::query(
                "INSERT INTO chat_memberships (user_id, location_id, role, created_at_ms) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, location_id) DO NOTHING",
            )
            .bind(user_id)
            .bind(&location_id)
            .bind(&role)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(Joined::Member {
                user_id,
                location_id,
            }))
        }
        .await)
        .map_err(StoreError::db("joining through an invitation"))?;
        match joined {
            Some(j) => Ok(j),
            None => Ok(match self.invite_by_hash(token_hash).await? {
                Some(invite) => Joined::Refused(invite.unusable(now).unwrap_or(InviteState::Used)),
                None => Joined::Unknown,
            }),
        }
    }
}
