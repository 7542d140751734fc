//! Saving, reading, changing the state of and removing locations. Tokens are sealed before
//! they reach a query and opened only after a row is read, so plaintext never touches SQL.

use secrecy::SecretString;

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::model::{AuthKind, LocationRecord, LocationState, NewLocation};
use crate::vault::{access_aad, refresh_aad};
use crate::{Store, StoreError};

/// The columns a [`LocationRow`] is read from.
const LOCATION_COLUMNS: &str = "location_id, company_id, name, auth_kind, user_type, scopes, \
     access_token_enc, refresh_token_enc, expires_at_ms, state, token_version, lease_owner, \
     lease_until_ms, updated_at_ms";

/// One `locations` row as stored (tokens still sealed); [`Store::open_row`] opens it.
#[derive(sqlx::FromRow)]
struct LocationRow {
    location_id: String,
    company_id: Option<String>,
    name: Option<String>,
    auth_kind: String,
    user_type: String,
    /// A JSON array of strings.
    scopes: String,
    access_token_enc: String,
    refresh_token_enc: Option<String>,
    expires_at_ms: Option<i64>,
    state: String,
    token_version: i64,
    lease_owner: Option<String>,
    lease_until_ms: Option<i64>,
    updated_at_ms: i64,
}

/// Insert, or replace everything but `created_at_ms`. A new authorization makes the location
/// usable again (state `ok`), supersedes any refresh in flight (the lease is cleared, so that
/// refresher's `commit_refresh` is refused), and counts as a new token version.
const SAVE: &str = "INSERT INTO locations (location_id, company_id, name, auth_kind, user_type, \
         scopes, access_token_enc, refresh_token_enc, expires_at_ms, state, token_version, \
         lease_owner, lease_until_ms, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'ok', 1, NULL, NULL, $10, $10) \
     ON CONFLICT (location_id) DO UPDATE SET \
         company_id = excluded.company_id, name = excluded.name, \
         auth_kind = excluded.auth_kind, user_type = excluded.user_type, \
         scopes = excluded.scopes, access_token_enc = excluded.access_token_enc, \
         refresh_token_enc = excluded.refresh_token_enc, \
         expires_at_ms = excluded.expires_at_ms, state = 'ok', \
         token_version = locations.token_version + 1, \
         lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = excluded.updated_at_ms";

impl Store {
    /// Inserts a location or replaces its tokens and metadata, sealing the tokens. The state
    /// goes back to `ok`, any refresh lease is cleared, and `token_version` is bumped.
    pub async fn save_location(&self, rec: &NewLocation) -> Result<(), StoreError> {
        let id = rec.location_id.as_str();
        validate_location_id(id)?;
        if rec.auth == AuthKind::OAuth && rec.refresh_token.is_none() {
            return Err(StoreError::InvalidArgument(format!(
                "location {id}: an OAuth location needs a refresh token"
            )));
        }
        if rec.auth == AuthKind::CompanyDerived && rec.company_id.is_none() {
            return Err(StoreError::InvalidArgument(format!(
                "location {id}: a company-derived token needs the company it comes from"
            )));
        }
        let access = self
            .keyring()
            .encrypt_str(&rec.access_token, &access_aad(id))?;
        let refresh = rec
            .refresh_token
            .as_ref()
            .map(|token| self.keyring().encrypt_str(token, &refresh_aad(id)))
            .transpose()?;
        let scopes = scopes_json(&rec.scopes);
        let now = now_ms();
        with_pool!(&self.db, |pool| sqlx::query(SAVE)
            .bind(id)
            .bind(&rec.company_id)
            .bind(&rec.name)
            .bind(rec.auth.as_str())
            .bind(rec.user_type.as_str())
            .bind(&scopes)
            .bind(&access)
            .bind(&refresh)
            .bind(rec.expires_at_ms)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::db("saving a location"))?;
        tracing::debug!(
            location_id = id,
            auth = rec.auth.as_str(),
            "saved location tokens"
        );
        Ok(())
    }

    /// The location with its tokens decrypted, or `None` if it is not stored.
    pub async fn location(&self, location_id: &str) -> Result<Option<LocationRecord>, StoreError> {
        let sql = format!("SELECT {LOCATION_COLUMNS} FROM locations WHERE location_id = $1");
        let row: Option<LocationRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a location"))?;
        row.map(|row| self.open_row(row)).transpose()
    }

    /// Every stored location, ordered by id, tokens decrypted.
    pub async fn locations(&self) -> Result<Vec<LocationRecord>, StoreError> {
        let sql = format!("SELECT {LOCATION_COLUMNS} FROM locations ORDER BY location_id");
        let rows: Vec<LocationRow> =
            with_pool!(&self.db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
                .map_err(StoreError::db("listing locations"))?;
        rows.into_iter().map(|row| self.open_row(row)).collect()
    }

    /// Sets a location's state. Errors with `LocationNotFound` if it is not stored.
    pub async fn set_state(
        &self,
        location_id: &str,
        state: LocationState,
    ) -> Result<(), StoreError> {
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE locations SET state = $2, updated_at_ms = $3 WHERE location_id = $1"
        )
        .bind(location_id)
        .bind(state.as_str())
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("changing a location's state"))?;
        if done == 0 {
            return Err(StoreError::LocationNotFound {
                location_id: location_id.into(),
            });
        }
        tracing::info!(
            location_id,
            state = state.as_str(),
            "location state changed"
        );
        Ok(())
    }

    /// Deletes a location and its tokens; false if it was not stored.
    pub async fn remove_location(&self, location_id: &str) -> Result<bool, StoreError> {
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM locations WHERE location_id = $1"
        )
        .bind(location_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("removing a location"))?;
        Ok(done > 0)
    }

    fn open_row(&self, row: LocationRow) -> Result<LocationRecord, StoreError> {
        let LocationRow {
            location_id,
            company_id,
            name,
            auth_kind,
            user_type,
            scopes,
            access_token_enc: access_enc,
            refresh_token_enc: refresh_enc,
            expires_at_ms,
            state,
            token_version,
            lease_owner,
            lease_until_ms,
            updated_at_ms,
        } = row;
        let access_token = self
            .keyring()
            .decrypt_string(&access_enc, &access_aad(&location_id))?;
        let refresh_token: Option<SecretString> = refresh_enc
            .map(|sealed| {
                self.keyring()
                    .decrypt_string(&sealed, &refresh_aad(&location_id))
            })
            .transpose()?;
        let scopes: Vec<String> =
            serde_json::from_str(&scopes).map_err(|_| StoreError::Corrupt {
                what: format!("location {location_id}"),
                reason: "scopes is not a JSON array of strings".into(),
            })?;
        Ok(LocationRecord {
            auth: AuthKind::parse(&auth_kind, &location_id)?,
            state: LocationState::parse(&state, &location_id)?,
            location_id,
            company_id,
            name,
            // As the token refresh always read it: "Company" (in any case) is an agency,
            // anything else a location.
            user_type: ghl::UserType::parse(&user_type),
            scopes,
            access_token,
            refresh_token,
            expires_at_ms,
            token_version,
            lease_owner,
            lease_until_ms,
            updated_at_ms,
        })
    }
}

pub(crate) fn scopes_json(scopes: &[String]) -> String {
    serde_json::to_string(scopes).expect("a list of strings always serialises")
}

/// Location ids go into associated data as `{id}:access`; an empty id, one with a `:`, or
/// `secret` (whose `secret:access` is a secret's associated data) could make two values'
/// associated data coincide, and then one could be swapped for the other undetected.
fn validate_location_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id == "secret" || id.contains(':') || id.chars().any(char::is_control) {
        return Err(StoreError::InvalidArgument(format!(
            "location id {id:?} must be non-empty, not \"secret\", without ':' or control \
             characters"
        )));
    }
    Ok(())
}
