//! OAuth 2.0 with HighLevel: the install URL (with a random `state`), the code exchange, the
//! refresh (single-use, rotating refresh tokens) and company-to-location tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use url::Url;

use crate::error::{GhlError, Result};
use crate::http::{join_path, message_of, snippet, API_VERSION};

pub const DEFAULT_API_BASE: &str = "https://services.leadconnectorhq.com";
pub const DEFAULT_AUTHORIZE_BASE: &str = "https://marketplace.gohighlevel.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    Location,
    Company,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Location => "Location",
            UserType::Company => "Company",
        }
    }

    pub fn parse(s: &str) -> UserType {
        if s.eq_ignore_ascii_case("company") {
            UserType::Company
        } else {
            UserType::Location
        }
    }
}

/// A registered HighLevel app. `Debug` shows no secret.
#[derive(Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: SecretString,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    /// Where `/oauth/token` lives (the API base).
    pub api_base: Url,
    /// Where `/oauth/chooselocation` lives (HighLevel's marketplace, or the sandbox).
    pub authorize_base: Url,
    http: reqwest::Client,
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("api_base", &self.api_base.as_str())
            .finish()
    }
}

/// What the token endpoint returned. `Debug` shows no token.
#[derive(Clone)]
pub struct TokenResponse {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Duration,
    pub scopes: Vec<String>,
    pub user_type: UserType,
    pub location_id: Option<String>,
    pub company_id: Option<String>,
    pub user_id: Option<String>,
    /// For a Company token: the locations the agency approved the app for.
    pub approved_locations: Vec<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .field("user_type", &self.user_type)
            .field("location_id", &self.location_id)
            .field("company_id", &self.company_id)
            .finish()
    }
}

#[derive(Deserialize)]
struct RawToken {
    access_token: String,
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "crate::models::de::opt_u64")]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default, rename = "userType")]
    user_type: Option<String>,
    #[serde(default, rename = "locationId")]
    location_id: Option<String>,
    #[serde(default, rename = "companyId")]
    company_id: Option<String>,
    #[serde(default, rename = "userId")]
    user_id: Option<String>,
    #[serde(
        default,
        rename = "approvedLocations",
        deserialize_with = "crate::models::de::strings"
    )]
    approved_locations: Vec<String>,
}

/// A started authorization: send the person to `url`, keep `state` to check the callback.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub url: Url,
    pub state: String,
}

impl OAuthApp {
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretString,
        redirect_uri: impl Into<String>,
        scopes: Vec<String>,
        api_base: Url,
        authorize_base: Url,
    ) -> Result<OAuthApp> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| GhlError::InvalidInput(format!("HTTP client: {e}")))?;
        Ok(OAuthApp {
            client_id: client_id.into(),
            client_secret,
            redirect_uri: redirect_uri.into(),
            scopes,
            api_base,
            authorize_base,
            http,
        })
    }

    /// The install URL, with a fresh unguessable `state`.
    pub fn authorization_url(&self) -> AuthorizationRequest {
        let mut bytes = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let state = URL_SAFE_NO_PAD.encode(bytes);
        let mut url = join_path(&self.authorize_base, "/oauth/chooselocation")
            .unwrap_or_else(|_| self.authorize_base.clone());
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("client_id", &self.client_id)
            .append_pair("scope", &self.scopes.join(" "))
            .append_pair("state", &state);
        AuthorizationRequest { url, state }
    }

    /// Checks the callback's `state` against the one sent, in constant time.
    pub fn check_state(expected: &str, got: &str) -> Result<()> {
        let (a, b) = (expected.as_bytes(), got.as_bytes());
        let same =
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same {
            Ok(())
        } else {
            Err(GhlError::StateMismatch)
        }
    }

    pub async fn exchange_code(&self, code: &str, user_type: UserType) -> Result<TokenResponse> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("user_type", user_type.as_str()),
            ("redirect_uri", &self.redirect_uri),
        ])
        .await
    }

    /// Spends `refresh_token`: HighLevel answers a new pair and the old refresh token dies.
    pub async fn refresh(
        &self,
        refresh_token: &SecretString,
        user_type: UserType,
    ) -> Result<TokenResponse> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
            ("user_type", user_type.as_str()),
        ])
        .await
    }

    async fn token_request(&self, fields: &[(&str, &str)]) -> Result<TokenResponse> {
        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", &self.client_id),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        form.extend_from_slice(fields);
        let url = self.endpoint("/oauth/token");
        let r = self
            .http
            .post(url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| GhlError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        read_token(r).await
    }

    /// A location token from a company (agency) token.
    pub async fn location_token(
        &self,
        company_token: &SecretString,
        company_id: &str,
        location_id: &str,
    ) -> Result<TokenResponse> {
        let url = self.endpoint("/oauth/locationToken");
        let r = self
            .http
            .post(url.clone())
            .header("Version", API_VERSION)
            .bearer_auth(company_token.expose_secret())
            .form(&[("companyId", company_id), ("locationId", location_id)])
            .send()
            .await
            .map_err(|e| GhlError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        let mut t = read_token(r).await?;
        t.user_type = UserType::Location;
        t.location_id.get_or_insert_with(|| location_id.to_string());
        Ok(t)
    }

    fn endpoint(&self, path: &str) -> Url {
        join_path(&self.api_base, path).unwrap_or_else(|_| self.api_base.clone())
    }
}

async fn read_token(r: reqwest::Response) -> Result<TokenResponse> {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(token_error(status.as_u16(), &text));
    }
    let raw: RawToken = serde_json::from_str(&text).map_err(|e| GhlError::Decode {
        operation: "oauth token".into(),
        path: String::new(),
        reason: e.to_string(),
    })?;
    Ok(TokenResponse {
        access_token: SecretString::from(raw.access_token),
        refresh_token: raw.refresh_token.map(SecretString::from),
        expires_in: Duration::from_secs(raw.expires_in.unwrap_or(86_399)),
        scopes: raw
            .scope
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        user_type: UserType::parse(raw.user_type.as_deref().unwrap_or("Location")),
        location_id: raw.location_id,
        company_id: raw.company_id,
        user_id: raw.user_id,
        approved_locations: raw.approved_locations,
    })
}

/// Reads `{error, error_description}` (OAuth) or `{statusCode, message, error}` (HighLevel).
fn token_error(status: u16, text: &str) -> GhlError {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let error = s("error").unwrap_or_else(|| format!("http_{status}"));
    let description = s("error_description")
        .or_else(|| message_of(&v))
        .unwrap_or_else(|| snippet(text));
    GhlError::OAuth { error, description }
}

impl GhlError {
    /// HighLevel no longer accepts this refresh token (spent, revoked, or never issued).
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, GhlError::OAuth { error, .. } if error == "invalid_grant")
    }
}
