//! The records the store reads and writes. Tokens are `SecretString`s, so `Debug` prints
//! `[REDACTED]` for them and their memory is zeroized on drop.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// How a location's tokens were obtained, which decides whether they can be refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// OAuth 2 authorization code: an access token plus a single-use refresh token.
    OAuth,
    /// A Private Integration token: long-lived, no refresh token.
    PrivateIntegration,
    /// A location token minted from the agency (Company) connection of `company_id` through
    /// `/oauth/locationToken`: no refresh token of its own, minted again when it expires.
    CompanyDerived,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::OAuth => "oauth",
            AuthKind::PrivateIntegration => "private_integration",
            AuthKind::CompanyDerived => "company_derived",
        }
    }

    pub(crate) fn parse(value: &str, location_id: &str) -> Result<AuthKind, StoreError> {
        match value {
            "oauth" => Ok(AuthKind::OAuth),
            "private_integration" => Ok(AuthKind::PrivateIntegration),
            "company_derived" => Ok(AuthKind::CompanyDerived),
            other => Err(corrupt(location_id, format!("unknown auth kind {other:?}"))),
        }
    }
}

/// Whether drivesync can use a location's tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationState {
    /// Tokens are usable.
    Ok,
    /// The refresh token was rejected or revoked: a person must connect the location again.
    NeedsReauth,
    /// HighLevel's daily API budget for the location is used up.
    BudgetExhausted,
}

impl LocationState {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationState::Ok => "ok",
            LocationState::NeedsReauth => "needs_reauth",
            LocationState::BudgetExhausted => "budget_exhausted",
        }
    }

    pub(crate) fn parse(value: &str, location_id: &str) -> Result<LocationState, StoreError> {
        match value {
            "ok" => Ok(LocationState::Ok),
            "needs_reauth" => Ok(LocationState::NeedsReauth),
            "budget_exhausted" => Ok(LocationState::BudgetExhausted),
            other => Err(corrupt(location_id, format!("unknown state {other:?}"))),
        }
    }
}

impl std::fmt::Display for LocationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A location's tokens and metadata as obtained from a fresh authorization.
#[derive(Clone, Debug)]
pub struct NewLocation {
    pub location_id: String,
    pub company_id: Option<String>,
    pub name: Option<String>,
    pub auth: AuthKind,
    /// Whom the token speaks for (HighLevel's `userType`); stored as its name.
    pub user_type: ghl::UserType,
    pub scopes: Vec<String>,
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// When the access token expires, in Unix milliseconds (`None`: does not expire).
    pub expires_at_ms: Option<i64>,
}

/// The result of a successful token refresh (HighLevel rotates the refresh token every time).
#[derive(Clone, Debug)]
pub struct RefreshedTokens {
    pub access_token: SecretString,
    /// The rotated refresh token; `None` for a minted (company-derived) token, which has none.
    pub refresh_token: Option<SecretString>,
    pub expires_at_ms: i64,
    pub scopes: Vec<String>,
}

/// A stored location, tokens decrypted.
#[derive(Clone, Debug)]
pub struct LocationRecord {
    pub location_id: String,
    pub company_id: Option<String>,
    pub name: Option<String>,
    pub auth: AuthKind,
    pub user_type: ghl::UserType,
    pub scopes: Vec<String>,
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at_ms: Option<i64>,
    pub state: LocationState,
    /// Bumped by every write of new tokens; a refresher compares it with the value
    /// [`crate::Store::try_lease_refresh`] returned to see whether someone refreshed first.
    pub token_version: i64,
    pub lease_owner: Option<String>,
    pub lease_until_ms: Option<i64>,
    pub updated_at_ms: i64,
}

fn corrupt(location_id: &str, reason: String) -> StoreError {
    StoreError::Corrupt {
        what: format!("location {location_id}"),
        reason,
    }
}
