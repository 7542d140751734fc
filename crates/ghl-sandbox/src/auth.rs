//! OAuth 2.0 as HighLevel runs it: authorization codes, access tokens that live about a day,
//! refresh tokens that work once (each refresh returns a new one and kills the old), company
//! tokens exchanged for location tokens, and Private Integration Tokens.

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

use crate::error::ApiError;
use crate::ids::{new_id, new_token};
use crate::time::{now_ms, Millis};

/// Whom a token speaks for: HighLevel's `user_type` (token request) and `userType` (answer).
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

    /// HighLevel's spelling only; the token endpoint refuses anything else.
    pub fn parse(s: &str) -> Option<UserType> {
        match s {
            "Location" => Some(UserType::Location),
            "Company" => Some(UserType::Company),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Location(String),
    Company(String),
}

impl Principal {
    pub fn user_type(&self) -> UserType {
        match self {
            Principal::Location(_) => UserType::Location,
            Principal::Company(_) => UserType::Company,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    OAuth,
    PrivateIntegration,
}

#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub app_id: String,
    pub principal: Principal,
    pub company_id: String,
    pub scopes: Vec<String>,
    pub user_id: String,
    pub kind: TokenKind,
    /// `None` never expires (Private Integration Tokens).
    pub expires_at: Option<Millis>,
}

impl TokenInfo {
    pub fn location_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::Location(l) => Some(l),
            Principal::Company(_) => None,
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[derive(Debug, Clone)]
struct AuthCode {
    client_id: String,
    redirect_uri: String,
    location_id: String,
    company_id: String,
    scopes: Vec<String>,
    user_id: String,
    expires_at: Millis,
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    app_id: String,
    principal: Principal,
    company_id: String,
    scopes: Vec<String>,
    user_id: String,
    used: bool,
}

#[derive(Debug, Clone)]
pub struct Install {
    pub location_id: String,
    pub installed_at: Millis,
}

/// What a token request carried (`POST /oauth/token`, form-encoded).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TokenRequest {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub refresh_token: Option<String>,
    pub user_type: Option<String>,
    pub redirect_uri: Option<String>,
}

pub struct Auth {
    access: HashMap<String, TokenInfo>,
    refresh: HashMap<String, RefreshGrant>,
    codes: HashMap<String, AuthCode>,
    pub installs: BTreeMap<String, Install>,
    rng: StdRng,
}

const CODE_TTL_MS: Millis = 10 * 60 * 1000;

fn oauth_error(status: u16, error: &str, description: &str) -> ApiError {
    let status =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    ApiError::new(status, description)
        .with_error(error)
        .with("error_description", json!(description))
}

pub fn invalid_grant(description: &str) -> ApiError {
    oauth_error(401, "invalid_grant", description)
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            installs: BTreeMap::new(),
            rng: StdRng::from_entropy(),
        }
    }
}

impl Auth {
    #[allow(clippy::too_many_arguments)]
    pub fn issue_code(
        &mut self,
        client_id: &str,
        redirect_uri: &str,
        location_id: &str,
        company_id: &str,
        scopes: Vec<String>,
        user_id: &str,
    ) -> String {
        let code = new_token(&mut self.rng, "sbx-code-");
        // A location without users (none is seeded so) still gets a user id in its tokens.
        let user_id = if user_id.is_empty() {
            new_id(&mut self.rng).to_string()
        } else {
            user_id.to_string()
        };
        self.codes.insert(
            code.clone(),
            AuthCode {
                client_id: client_id.to_string(),
                redirect_uri: redirect_uri.to_string(),
                location_id: location_id.to_string(),
                company_id: company_id.to_string(),
                scopes,
                user_id,
                expires_at: now_ms() + CODE_TTL_MS,
            },
        );
        self.installs
            .entry(location_id.to_string())
            .or_insert(Install {
                location_id: location_id.to_string(),
                installed_at: now_ms(),
            });
        code
    }

    /// Exchanges an authorization code. Codes work once, expire in ten minutes, and must come
    /// back with the redirect URI they were issued for.
    pub fn exchange_code(
        &mut self,
        app_id: &str,
        req: &TokenRequest,
        ttl_s: u64,
    ) -> Result<Value, ApiError> {
        let code = req
            .code
            .as_deref()
            .ok_or_else(|| ApiError::unprocessable(vec!["code should not be empty".into()]))?;
        let grant = self
            .codes
            .remove(code)
            .ok_or_else(|| invalid_grant("Invalid grant: authorization code is invalid"))?;
        if grant.expires_at < now_ms() {
            return Err(invalid_grant(
                "Invalid grant: authorization code has expired",
            ));
        }
        if Some(grant.client_id.as_str()) != req.client_id.as_deref() {
            return Err(invalid_grant(
                "Invalid grant: authorization code was issued to another client",
            ));
        }
        if let Some(uri) = &req.redirect_uri {
            if uri != &grant.redirect_uri {
                return Err(invalid_grant(
                    "Invalid grant: redirect_uri does not match the authorization request",
                ));
            }
        }
        let principal = match req.user_type.as_deref().and_then(UserType::parse) {
            Some(UserType::Company) => Principal::Company(grant.company_id.clone()),
            _ => Principal::Location(grant.location_id.clone()),
        };
        Ok(self.issue_pair(
            app_id,
            &grant.client_id,
            principal,
            &grant.company_id,
            grant.scopes,
            &grant.user_id,
            ttl_s,
        ))
    }

    /// Refreshes: the refresh token is spent, a new pair is returned. A spent token answers
    /// `invalid_grant`, exactly as HighLevel does when two workers race.
    pub fn refresh(
        &mut self,
        app_id: &str,
        req: &TokenRequest,
        ttl_s: u64,
    ) -> Result<Value, ApiError> {
        let token = req.refresh_token.as_deref().ok_or_else(|| {
            ApiError::unprocessable(vec!["refresh_token should not be empty".into()])
        })?;
        let grant = self
            .refresh
            .get_mut(token)
            .ok_or_else(|| invalid_grant("Invalid grant: refresh token is invalid"))?;
        if grant.used {
            return Err(invalid_grant(
                "Invalid grant: refresh token has already been used",
            ));
        }
        if Some(grant.client_id.as_str()) != req.client_id.as_deref() {
            return Err(invalid_grant(
                "Invalid grant: refresh token was issued to another client",
            ));
        }
        grant.used = true;
        let g = grant.clone();
        debug_assert_eq!(g.app_id, app_id);
        Ok(self.issue_pair(
            &g.app_id,
            &g.client_id,
            g.principal,
            &g.company_id,
            g.scopes,
            &g.user_id,
            ttl_s,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn issue_pair(
        &mut self,
        app_id: &str,
        client_id: &str,
        principal: Principal,
        company_id: &str,
        scopes: Vec<String>,
        user_id: &str,
        ttl_s: u64,
    ) -> Value {
        let access = new_token(&mut self.rng, "sbx-at-");
        let refresh = new_token(&mut self.rng, "sbx-rt-");
        self.access.insert(
            access.clone(),
            TokenInfo {
                app_id: app_id.to_string(),
                principal: principal.clone(),
                company_id: company_id.to_string(),
                scopes: scopes.clone(),
                user_id: user_id.to_string(),
                kind: TokenKind::OAuth,
                expires_at: Some(now_ms() + ttl_s as i64 * 1000),
            },
        );
        self.refresh.insert(
            refresh.clone(),
            RefreshGrant {
                client_id: client_id.to_string(),
                app_id: app_id.to_string(),
                principal: principal.clone(),
                company_id: company_id.to_string(),
                scopes: scopes.clone(),
                user_id: user_id.to_string(),
                used: false,
            },
        );
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl_s,
            "refresh_token": refresh,
            "scope": scopes.join(" "),
            "companyId": company_id,
            "userId": user_id,
            "isBulkInstallation": false,
        });
        let o = body.as_object_mut().expect("literal object");
        o.insert("userType".into(), json!(principal.user_type().as_str()));
        match principal {
            Principal::Location(l) => {
                o.insert("locationId".into(), json!(l));
            }
            Principal::Company(_) => {
                let approved: Vec<&String> = self.installs.keys().collect();
                o.insert("approvedLocations".into(), json!(approved));
            }
        }
        body
    }

    /// A location token minted from a company token (`POST /oauth/locationToken`).
    pub fn location_token(&mut self, company: &TokenInfo, location_id: &str, ttl_s: u64) -> Value {
        let access = new_token(&mut self.rng, "sbx-at-");
        let scopes = company.scopes.clone();
        self.access.insert(
            access.clone(),
            TokenInfo {
                app_id: company.app_id.clone(),
                principal: Principal::Location(location_id.to_string()),
                company_id: company.company_id.clone(),
                scopes: scopes.clone(),
                user_id: company.user_id.clone(),
                kind: TokenKind::OAuth,
                expires_at: Some(now_ms() + ttl_s as i64 * 1000),
            },
        );
        json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl_s,
            "scope": scopes.join(" "),
            "locationId": location_id,
            "userId": company.user_id,
            "appId": company.app_id,
        })
    }

    pub fn mint_pit(&mut self, location_id: &str, company_id: &str, scopes: Vec<String>) -> String {
        let token = new_token(&mut self.rng, "pit-");
        let user_id = new_id(&mut self.rng).to_string();
        self.access.insert(
            token.clone(),
            TokenInfo {
                app_id: format!("pit-{location_id}"),
                principal: Principal::Location(location_id.to_string()),
                company_id: company_id.to_string(),
                scopes,
                user_id,
                kind: TokenKind::PrivateIntegration,
                expires_at: None,
            },
        );
        token
    }

    /// The token behind a bearer, or HighLevel's 401.
    pub fn validate(&self, bearer: &str) -> Result<TokenInfo, ApiError> {
        let info = self
            .access
            .get(bearer)
            .ok_or_else(|| ApiError::unauthorized("Invalid JWT"))?;
        if info.expires_at.is_some_and(|t| t <= now_ms()) {
            return Err(ApiError::unauthorized(
                "Invalid JWT: the access token has expired",
            ));
        }
        Ok(info.clone())
    }

    pub fn revoke_access(&mut self, bearer: &str) {
        self.access.remove(bearer);
    }

    /// Uninstall: every token of the location stops working, refresh tokens included.
    pub fn revoke_location(&mut self, location_id: &str) -> usize {
        let is_loc = |p: &Principal| matches!(p, Principal::Location(l) if l == location_id);
        let before = self.access.len() + self.refresh.len();
        self.access.retain(|_, t| !is_loc(&t.principal));
        self.refresh.retain(|_, g| !is_loc(&g.principal));
        self.installs.remove(location_id);
        before - self.access.len() - self.refresh.len()
    }

    /// Makes every access token of the location expire now (refresh tokens still work).
    pub fn expire_location(&mut self, location_id: &str) -> usize {
        let now = now_ms();
        let mut n = 0;
        for t in self.access.values_mut() {
            if t.location_id() == Some(location_id) && t.kind == TokenKind::OAuth {
                t.expires_at = Some(now - 1);
                n += 1;
            }
        }
        n
    }

    /// Every access and refresh token issued for a location (spent ones too), for tests that
    /// check no token leaks into a log or a database.
    pub fn issued_for(&self, location_id: &str) -> Vec<String> {
        let is_loc = |p: &Principal| matches!(p, Principal::Location(l) if l == location_id);
        let mut out: Vec<String> = self
            .access
            .iter()
            .filter(|(_, t)| is_loc(&t.principal))
            .map(|(k, _)| k.clone())
            .chain(
                self.refresh
                    .iter()
                    .filter(|(_, g)| is_loc(&g.principal))
                    .map(|(k, _)| k.clone()),
            )
            .collect();
        out.sort();
        out
    }

    pub fn reset(&mut self) {
        self.access.clear();
        self.refresh.clear();
        self.codes.clear();
        self.installs.clear();
    }
}
