//! What a HighLevel location's ids mean: its profile (name, time zone, address), its users
//! (what a contact's or task's `assignedTo` and a note's `userId` point at) and its custom
//! field definitions (what the ids in a contact's `customFields` are), plus the scopes whose
//! part could not be read. The sync engine reads them from HighLevel and saves them here;
//! Drive Chat reads [`Store::location_context`] to show names, labels and local times.
//!
//! Plain structs, no `ghl` types: Drive Chat does not depend on the HighLevel client. Each
//! save stamps `refreshed_at_ms`; users and definitions are replaced as a whole in one
//! transaction, so a reader sees the old list or the new one, never half of each.

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::{Store, StoreError};

/// A location's profile, as HighLevel's `GET /locations/{id}` describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocationProfile {
    pub name: Option<String>,
    /// An IANA zone name such as `America/New_York`, as HighLevel stores it.
    pub timezone: Option<String>,
    /// The address on one line.
    pub address: Option<String>,
}

/// A user of the location (a HighLevel user, not a Drive Chat member).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct HlUser {
    pub id: String,
    /// The name to show.
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

/// A custom field definition of the location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFieldDef {
    pub id: String,
    /// The label people see.
    pub name: String,
    /// e.g. `contact.birthday`.
    pub field_key: Option<String>,
    /// HighLevel's `dataType` as sent: TEXT, LARGE_TEXT, NUMERICAL, MONETORY, PHONE, DATE,
    /// CHECKBOX, SINGLE_OPTIONS, MULTIPLE_OPTIONS, RADIO, TEXTBOX_LIST, FILE_UPLOAD, ...
    pub data_type: String,
    /// The picklist's labels, in HighLevel's order (empty for fields without options).
    pub options: Vec<String>,
}

/// Everything known about a location's context. Empty (every part `None` or empty) for a
/// location nothing was saved for yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocationContext {
    /// `None` until a profile was saved.
    pub profile: Option<LocationProfile>,
    /// By name (case-insensitive), then id.
    pub users: Vec<HlUser>,
    /// In the order they were saved (HighLevel's).
    pub custom_fields: Vec<CustomFieldDef>,
    /// Scopes the location's token lacks for some part, as last set.
    pub missing_scopes: Vec<String>,
    /// When anything was last saved (Unix ms).
    pub refreshed_at_ms: Option<i64>,
}

impl LocationContext {
    /// The user with this id.
    pub fn user(&self, id: &str) -> Option<&HlUser> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The user whose email is `email`, compared case-insensitively and trimmed.
    pub fn user_by_email(&self, email: &str) -> Option<&HlUser> {
        let email = email.trim();
        if email.is_empty() {
            return None;
        }
        self.users.iter().find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(email))
        })
    }

    /// The custom field definition with this id.
    pub fn custom_field(&self, id: &str) -> Option<&CustomFieldDef> {
        self.custom_fields.iter().find(|f| f.id == id)
    }

    /// The location's time zone name, if its profile gave one.
    pub fn timezone(&self) -> Option<&str> {
        self.profile
            .as_ref()
            .and_then(|p| p.timezone.as_deref())
            .filter(|tz| !tz.trim().is_empty())
    }
}

/// Makes sure a location's context row exists and stamps it, inside a transaction (every save
/// goes through here so `refreshed_at_ms` is always set).
const TOUCH_SQL: &str = "INSERT INTO location_context (location_id, refreshed_at_ms) \
     VALUES ($1, $2) ON CONFLICT (location_id) DO UPDATE SET refreshed_at_ms = excluded.refreshed_at_ms";

/// A `location_context` row.
#[derive(sqlx::FromRow)]
struct ContextRow {
    name: Option<String>,
    timezone: Option<String>,
    address: Option<String>,
    /// Set once a profile was saved.
    profile_saved_ms: Option<i64>,
    /// A JSON list of strings.
    missing_scopes: String,
    refreshed_at_ms: i64,
}

/// A `location_context_fields` row.
#[derive(sqlx::FromRow)]
struct FieldRow {
    field_id: String,
    name: String,
    field_key: Option<String>,
    data_type: String,
    /// A JSON list of strings.
    options: String,
}

impl Store {
    /// Saves the location's profile (replacing the previous one).
    pub async fn save_location_profile(
        &self,
        location_id: &str,
        p: &LocationProfile,
    ) -> Result<(), StoreError> {
        require_location(location_id)?;
        let now = now_ms();
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO location_context (location_id, name, timezone, address, \
             profile_saved_ms, refreshed_at_ms) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (location_id) DO UPDATE SET name = excluded.name, \
             timezone = excluded.timezone, address = excluded.address, \
             profile_saved_ms = excluded.profile_saved_ms, \
             refreshed_at_ms = excluded.refreshed_at_ms"
        )
        .bind(location_id)
        .bind(&p.name)
        .bind(&p.timezone)
        .bind(&p.address)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("saving a location's profile"))
    }

    /// Replaces the location's users with `users` (one transaction).
    pub async fn replace_location_users(
        &self,
        location_id: &str,
        users: &[HlUser],
    ) -> Result<(), StoreError> {
        require_location(location_id)?;
        if let Some(u) = users.iter().find(|u| u.id.is_empty()) {
            return Err(StoreError::InvalidArgument(format!(
                "a HighLevel user without an id (named {:?}) cannot be saved",
                u.name
            )));
        }
        let now = now_ms();
        with_pool!(&self.db, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM location_context_users WHERE location_id = $1")
                .bind(location_id)
                .execute(&mut *tx)
                .await?;
            for u in users {
                // A list with the same id twice keeps the last: HighLevel's lists do not
                // repeat ids, and refusing the whole refresh over it would help nobody.
                sqlx::query(
                    "INSERT INTO location_context_users (location_id, user_id, name, \
                     first_name, last_name, email) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (location_id, user_id) DO UPDATE SET name = excluded.name, \
                     first_name = excluded.first_name, last_name = excluded.last_name, \
                     email = excluded.email",
                )
                .bind(location_id)
                .bind(&u.id)
                .bind(&u.name)
                .bind(&u.first_name)
                .bind(&u.last_name)
                .bind(&u.email)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(TOUCH_SQL)
                .bind(location_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)
        .map_err(StoreError::db("replacing a location's users"))
    }

    /// Replaces the location's custom field definitions with `defs`, keeping their order
    /// (one transaction).
    pub async fn replace_custom_field_defs(
        &self,
        location_id: &str,
        defs: &[CustomFieldDef],
    ) -> Result<(), StoreError> {
        require_location(location_id)?;
        if let Some(d) = defs.iter().find(|d| d.id.is_empty()) {
            return Err(StoreError::InvalidArgument(format!(
                "a custom field definition without an id (named {:?}) cannot be saved",
                d.name
            )));
        }
        let now = now_ms();
        let rows: Vec<(&CustomFieldDef, String)> =
            defs.iter().map(|d| (d, json_list(&d.options))).collect();
        with_pool!(&self.db, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM location_context_fields WHERE location_id = $1")
                .bind(location_id)
                .execute(&mut *tx)
                .await?;
            for (position, (d, options)) in rows.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO location_context_fields (location_id, field_id, position, \
                     name, field_key, data_type, options) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (location_id, field_id) DO UPDATE SET \
                     position = excluded.position, name = excluded.name, \
                     field_key = excluded.field_key, data_type = excluded.data_type, \
                     options = excluded.options",
                )
                .bind(location_id)
                .bind(&d.id)
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(&d.name)
                .bind(&d.field_key)
                .bind(&d.data_type)
                .bind(options)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(TOUCH_SQL)
                .bind(location_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)
        .map_err(StoreError::db(
            "replacing a location's custom field definitions",
        ))
    }

    /// Records which scopes the location's token lacks for its context (empty: none).
    pub async fn set_context_missing_scopes(
        &self,
        location_id: &str,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        require_location(location_id)?;
        let mut scopes: Vec<String> = scopes.to_vec();
        scopes.sort_unstable();
        scopes.dedup();
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO location_context (location_id, missing_scopes, refreshed_at_ms) \
             VALUES ($1, $2, $3) ON CONFLICT (location_id) DO UPDATE SET \
             missing_scopes = excluded.missing_scopes, refreshed_at_ms = excluded.refreshed_at_ms"
        )
        .bind(location_id)
        .bind(json_list(&scopes))
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("saving a location's missing scopes"))
    }

    /// Everything saved about the location's context (empty when nothing was).
    pub async fn location_context(&self, location_id: &str) -> Result<LocationContext, StoreError> {
        let (row, users, fields): (Option<ContextRow>, Vec<HlUser>, Vec<FieldRow>) =
            with_pool!(&self.db, |pool| async {
                // One read transaction, so the three parts come from one moment.
                let mut tx = pool.begin().await?;
                let row = sqlx::query_as(
                    "SELECT name, timezone, address, profile_saved_ms, missing_scopes, \
                     refreshed_at_ms FROM location_context WHERE location_id = $1",
                )
                .bind(location_id)
                .fetch_optional(&mut *tx)
                .await?;
                let users = sqlx::query_as(
                    "SELECT user_id AS id, name, first_name, last_name, email \
                     FROM location_context_users WHERE location_id = $1 \
                     ORDER BY LOWER(name), user_id",
                )
                .bind(location_id)
                .fetch_all(&mut *tx)
                .await?;
                let fields = sqlx::query_as(
                    "SELECT field_id, name, field_key, data_type, options \
                     FROM location_context_fields WHERE location_id = $1 \
                     ORDER BY position, field_id",
                )
                .bind(location_id)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>((row, users, fields))
            }
            .await)
            .map_err(StoreError::db("reading a location's context"))?;

        let mut context = LocationContext {
            users,
            custom_fields: fields
                .into_iter()
                .map(|f| {
                    Ok(CustomFieldDef {
                        options: parse_list(&f.options, || {
                            format!("custom field {} of location {location_id}", f.field_id)
                        })?,
                        id: f.field_id,
                        name: f.name,
                        field_key: f.field_key,
                        data_type: f.data_type,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            ..LocationContext::default()
        };
        if let Some(row) = row {
            context.missing_scopes = parse_list(&row.missing_scopes, || {
                format!("missing scopes of location {location_id}")
            })?;
            context.refreshed_at_ms = Some(row.refreshed_at_ms);
            context.profile = row.profile_saved_ms.map(|_| LocationProfile {
                name: row.name,
                timezone: row.timezone,
                address: row.address,
            });
        }
        Ok(context)
    }
}

fn require_location(location_id: &str) -> Result<(), StoreError> {
    if location_id.is_empty() {
        return Err(StoreError::InvalidArgument(
            "a location's context needs its location id".into(),
        ));
    }
    Ok(())
}

fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn parse_list(text: &str, what: impl FnOnce() -> String) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: what(),
        reason: format!("not a JSON list of strings: {e}"),
    })
}
