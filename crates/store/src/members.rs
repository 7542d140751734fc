//! Drive Chat's people: workspaces (one per connected HighLevel location, with the name people
//! see), the users who sign in (a password hash, never a password: the store does no hashing
//! and no checks), and their memberships and roles.
//!
//! Every function that reads or writes workspace data takes the workspace's `location_id` and
//! puts it in the query's WHERE clause, so a caller cannot reach another workspace's rows by id.

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::{Store, StoreError};

/// A Drive Chat workspace: one connected HighLevel location, with the name people see.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Workspace {
    pub location_id: String,
    pub name: String,
}

/// What a member may do in a workspace. Each role can do everything the ones below it can:
/// a viewer reads; a member also acts (completes tasks, adds notes and tags, posts
/// messages, creates their own API tokens); an admin also manages the workspace (members,
/// invitations, other people's tokens, settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Member,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Member, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    /// Whether this role may do what `needed` may (the roles are ordered by what they allow).
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person who can sign in. `password_hash` is an argon2 PHC string.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChatUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    /// The IANA time zone the person chose for Drive Chat (e.g. `Europe/Paris`); `None`:
    /// the workspace's location time zone, then UTC.
    pub timezone: Option<String>,
}

impl std::fmt::Debug for ChatUser {
    // The hash is not a secret the way a password is, but it has no business in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("timezone", &self.timezone)
            .finish_non_exhaustive()
    }
}

/// A workspace a user belongs to, with their role there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub workspace: Workspace,
    pub role: Role,
}

/// A member of a workspace, as listed to its admins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

/// The columns a [`ChatUser`] is read from.
const USER_COLUMNS: &str = "id, email, display_name, password_hash, timezone";

/// A membership joined with its workspace.
#[derive(sqlx::FromRow)]
struct MembershipRow {
    location_id: String,
    name: String,
    role: String,
}

impl MembershipRow {
    fn into_membership(self) -> Result<Membership, StoreError> {
        Ok(Membership {
            role: parse_role(&self.role)?,
            workspace: Workspace {
                location_id: self.location_id,
                name: self.name,
            },
        })
    }
}

/// A membership joined with its user.
#[derive(sqlx::FromRow)]
struct MemberRow {
    user_id: i64,
    email: String,
    display_name: String,
    role: String,
}

impl Store {
    /// Creates the workspace of a location, or renames it.
    pub async fn upsert_workspace(&self, location_id: &str, name: &str) -> Result<(), StoreError> {
        if location_id.is_empty() || name.trim().is_empty() {
            return Err(StoreError::InvalidArgument(
                "a workspace needs a location id and a name".into(),
            ));
        }
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO chat_workspaces (location_id, name, created_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (location_id) DO UPDATE SET name = excluded.name"
        )
        .bind(location_id)
        .bind(name.trim())
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("saving a workspace"))
    }

    pub async fn workspace(&self, location_id: &str) -> Result<Option<Workspace>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT location_id, name FROM chat_workspaces WHERE location_id = $1"
        )
        .bind(location_id)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("reading a workspace"))
    }

    /// Creates a user; `None` when the email is taken. `email` should already be normalised
    /// (trimmed, lower-cased) by the caller, which is what sign-in looks up.
    pub async fn create_chat_user(
        &self,
        email: &str,
        display_name: &str,
        password_hash: &str,
    ) -> Result<Option<i64>, StoreError> {
        let id: Option<i64> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "INSERT INTO chat_users (email, display_name, password_hash, created_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING RETURNING id"
        )
        .bind(email)
        .bind(display_name)
        .bind(password_hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("creating a user"))?;
        Ok(id)
    }

    /// Replaces a user's display name and password hash.
    pub async fn update_chat_user(
        &self,
        user_id: i64,
        display_name: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE chat_users SET display_name = $2, password_hash = $3 WHERE id = $1"
        )
        .bind(user_id)
        .bind(display_name)
        .bind(password_hash)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("updating a user"))?;
        Ok(n == 1)
    }

    /// Renames a user. False when there is no such user.
    pub async fn set_display_name(&self, user_id: i64, name: &str) -> Result<bool, StoreError> {
        self.set_user_column(user_id, "display_name", name).await
    }

    /// Replaces a user's password hash. False when there is no such user.
    pub async fn set_password_hash(&self, user_id: i64, hash: &str) -> Result<bool, StoreError> {
        self.set_user_column(user_id, "password_hash", hash).await
    }

    async fn set_user_column(
        &self,
        user_id: i64,
        column: &'static str,
        value: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!("UPDATE chat_users SET {column} = $2 WHERE id = $1");
        let n = with_pool!(&self.db, |pool| sqlx::query(&sql)
            .bind(user_id)
            .bind(value)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::db("updating a user"))?;
        Ok(n == 1)
    }

    /// Every user, by email.
    pub async fn chat_users(&self) -> Result<Vec<ChatUser>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM chat_users ORDER BY email");
        with_pool!(&self.db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
            .map_err(StoreError::db("listing users"))
    }

    /// Sets (or with `None` clears) the user's time zone. The caller checks the name is a
    /// zone it knows. False when there is no such user.
    pub async fn set_chat_user_timezone(
        &self,
        user_id: i64,
        timezone: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE chat_users SET timezone = $2 WHERE id = $1"
        )
        .bind(user_id)
        .bind(timezone)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("saving a user's time zone"))?;
        Ok(n == 1)
    }

    pub async fn chat_user_by_email(&self, email: &str) -> Result<Option<ChatUser>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM chat_users WHERE email = $1");
        with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(email)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a user"))
    }

    pub async fn chat_user(&self, user_id: i64) -> Result<Option<ChatUser>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM chat_users WHERE id = $1");
        with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a user"))
    }

    /// Makes the user a member of the workspace with `role` (changing the role if already one).
    pub async fn set_membership(
        &self,
        user_id: i64,
        location_id: &str,
        role: Role,
    ) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO chat_memberships (user_id, location_id, role, created_at_ms) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, location_id) DO UPDATE SET role = excluded.role"
        )
        .bind(user_id)
        .bind(location_id)
        .bind(role.as_str())
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("saving a membership"))
    }

    /// The user's role in the workspace, or `None` when they are not a member.
    pub async fn membership(
        &self,
        user_id: i64,
        location_id: &str,
    ) -> Result<Option<Membership>, StoreError> {
        let row: Option<MembershipRow> = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT w.location_id AS location_id, w.name AS name, m.role AS role \
                 FROM chat_memberships m \
                 JOIN chat_workspaces w ON w.location_id = m.location_id \
                 WHERE m.user_id = $1 AND m.location_id = $2",
            )
            .bind(user_id)
            .bind(location_id)
            .fetch_optional(pool)
            .await
        })
        .map_err(StoreError::db("reading a membership"))?;
        row.map(MembershipRow::into_membership).transpose()
    }

    /// Every workspace the user belongs to, by name.
    pub async fn memberships(&self, user_id: i64) -> Result<Vec<Membership>, StoreError> {
        let rows: Vec<MembershipRow> = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT w.location_id AS location_id, w.name AS name, m.role AS role \
                 FROM chat_memberships m \
                 JOIN chat_workspaces w ON w.location_id = m.location_id \
                 WHERE m.user_id = $1 ORDER BY w.name, w.location_id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
        .map_err(StoreError::db("listing memberships"))?;
        rows.into_iter()
            .map(MembershipRow::into_membership)
            .collect()
    }

    /// The members of a workspace, by name.
    pub async fn workspace_members(&self, location_id: &str) -> Result<Vec<Member>, StoreError> {
        let rows: Vec<MemberRow> = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT u.id AS user_id, u.email AS email, u.display_name AS display_name, \
                 m.role AS role FROM chat_memberships m \
                 JOIN chat_users u ON u.id = m.user_id WHERE m.location_id = $1 \
                 ORDER BY u.display_name, u.id",
            )
            .bind(location_id)
            .fetch_all(pool)
            .await
        })
        .map_err(StoreError::db("listing members"))?;
        rows.into_iter()
            .map(|row| {
                Ok(Member {
                    role: parse_role(&row.role)?,
                    user_id: row.user_id,
                    email: row.email,
                    display_name: row.display_name,
                })
            })
            .collect()
    }
}

pub(crate) fn parse_role(role: &str) -> Result<Role, StoreError> {
    Role::parse(role).ok_or_else(|| StoreError::Corrupt {
        what: "a workspace membership".into(),
        reason: format!("unknown role {role:?}"),
    })
}
