//! Where access tokens come from. A `TokenProvider` hands the client a valid token per
//! location; `OAuthTokens` keeps them fresh over any `TokenRepository` with at most one refresh
//! per location in flight across tasks and across processes sharing the repository.

use async_trait::async_trait;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{GhlError, Result};
use crate::oauth::{OAuthApp, UserType};

/// A bearer for one location. `Debug` shows no secret.
#[derive(Clone)]
pub struct AccessToken {
    pub secret: SecretString,
    /// Granted scopes, when known (a Private Integration Token's may not be).
    pub scopes: Option<Vec<String>>,
    /// Storage version the token was read at; a refresh after a 401 compares against it.
    pub version: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field("scopes", &self.scopes)
            .field("version", &self.version)
            .finish()
    }
}

#[async_trait]
pub trait TokenProvider: Send + Sync + 'static {
    /// A token for `location`, refreshed first if it is about to expire.
    async fn token(&self, location: &str) -> Result<AccessToken>;
    /// HighLevel answered 401 to `rejected`: a newer token (refreshed here or by another
    /// worker), or an error saying why there is none.
    async fn refresh(&self, location: &str, rejected: &AccessToken) -> Result<AccessToken>;
}

/// Fixed tokens, e.g. Private Integration Tokens; a 401 is final.
#[derive(Default)]
pub struct StaticTokens {
    tokens: std::sync::RwLock<HashMap<String, AccessToken>>,
}

impl StaticTokens {
    pub fn insert(&self, location: &str, secret: SecretString, scopes: Option<Vec<String>>) {
        let mut m = self.tokens.write().unwrap_or_else(|p| p.into_inner());
        m.insert(
            location.to_string(),
            AccessToken {
                secret,
                scopes,
                version: 0,
            },
        );
    }
}

#[async_trait]
impl TokenProvider for StaticTokens {
    async fn token(&self, location: &str) -> Result<AccessToken> {
        let m = self.tokens.read().unwrap_or_else(|p| p.into_inner());
        m.get(location)
            .cloned()
            .ok_or_else(|| GhlError::NotConnected {
                location: location.to_string(),
            })
    }

    async fn refresh(&self, location: &str, _rejected: &AccessToken) -> Result<AccessToken> {
        Err(GhlError::NeedsReauth {
            location: location.to_string(),
        })
    }
}

/// What a repository holds for a location. `Debug` shows no secret.
#[derive(Clone)]
pub struct StoredTokens {
    pub access_token: SecretString,
    /// `None` for Private Integration Tokens and location tokens minted from a company token.
    pub refresh_token: Option<SecretString>,
    pub expires_at_ms: Option<i64>,
    pub scopes: Vec<String>,
    pub user_type: UserType,
    pub needs_reauth: bool,
    pub version: i64,
    /// Set for a location token minted from this company's (agency) connection: it has no
    /// refresh token and is minted again through `/oauth/locationToken` when it expires.
    pub minted_from: Option<String>,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTokens")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("scopes", &self.scopes)
            .field("needs_reauth", &self.needs_reauth)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A refreshed pair to commit.
#[derive(Clone)]
pub struct Rotated {
    pub access_token: SecretString,
    /// `None` for a minted location token, which has no refresh token.
    pub refresh_token: Option<SecretString>,
    pub expires_at_ms: i64,
    pub scopes: Vec<String>,
}

/// Durable token storage with a refresh lease (see `store`).
#[async_trait]
pub trait TokenRepository: Send + Sync + 'static {
    async fn load(&self, location: &str) -> Result<Option<StoredTokens>>;
    /// Takes the location's refresh lease if it is free or expired.
    async fn try_lease(&self, location: &str, owner: &str, ttl: Duration) -> Result<bool>;
    /// Writes the rotated pair if `owner` still holds the lease, durably, and frees the lease.
    async fn commit(&self, location: &str, owner: &str, tokens: &Rotated) -> Result<bool>;
    async fn release(&self, location: &str, owner: &str) -> Result<()>;
    async fn mark_needs_reauth(&self, location: &str) -> Result<()>;
}

/// Called between the token endpoint's answer and the commit: a fault point for crash tests.
pub type CrashPoint = Arc<dyn Fn() + Send + Sync>;

pub struct OAuthTokens<R> {
    repo: Arc<R>,
    app: OAuthApp,
    owner: String,
    /// Refresh this long before expiry.
    pub skew: Duration,
    pub lease_ttl: Duration,
    locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    crash_point: Option<CrashPoint>,
}

impl<R: TokenRepository> OAuthTokens<R> {
    pub fn new(repo: Arc<R>, app: OAuthApp) -> Self {
        let owner = format!("{}-{}", std::process::id(), rand::random::<u64>());
        OAuthTokens {
            repo,
            app,
            owner,
            skew: Duration::from_secs(300),
            lease_ttl: Duration::from_secs(30),
            locks: std::sync::Mutex::new(HashMap::new()),
            crash_point: None,
        }
    }

    pub fn with_crash_point(mut self, f: CrashPoint) -> Self {
        self.crash_point = Some(f);
        self
    }

    fn lock_for(&self, location: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(location.to_string()).or_default().clone()
    }

    fn fresh(&self, s: &StoredTokens) -> bool {
        let now = chrono::Utc::now().timestamp_millis();
        s.expires_at_ms
            .is_none_or(|t| t - self.skew.as_millis() as i64 > now)
    }

    async fn load(&self, location: &str) -> Result<StoredTokens> {
        let s = self
            .repo
            .load(location)
            .await?
            .ok_or_else(|| GhlError::NotConnected {
                location: location.to_string(),
            })?;
        if s.needs_reauth {
            return Err(GhlError::NeedsReauth {
                location: location.to_string(),
            });
        }
        Ok(s)
    }

    /// Refreshes unless someone already did since `seen_version`.
    async fn refresh_from(
        &self,
        location: &str,
        seen_version: i64,
        force: bool,
    ) -> Result<AccessToken> {
        let lock = self.lock_for(location);
        let _held = lock.lock().await;
        let deadline = tokio::time::Instant::now() + self.lease_ttl + Duration::from_secs(5);
        loop {
            let s = self.load(location).await?;
            if s.version > seen_version && self.fresh(&s) {
                return Ok(access(&s));
            }
            if !force && self.fresh(&s) {
                return Ok(access(&s));
            }
            let grant = match (s.refresh_token.clone(), s.minted_from.clone()) {
                (Some(r), _) => Grant::Refresh(r),
                (None, Some(company)) => Grant::Mint(company),
                (None, None) => {
                    // Nothing to refresh with (a Private Integration Token): it was revoked.
                    self.repo.mark_needs_reauth(location).await?;
                    return Err(GhlError::NeedsReauth {
                        location: location.to_string(),
                    });
                }
            };
            // A fresh owner per attempt: a lease is never mistaken for one of our earlier ones.
            let owner = format!("{}-{}", self.owner, rand::random::<u32>());
            if !self
                .repo
                .try_lease(location, &owner, self.lease_ttl)
                .await?
            {
                if tokio::time::Instant::now() > deadline {
                    return Err(GhlError::Storage(format!(
                        "another worker has held the refresh of location {location} for over {:?}",
                        self.lease_ttl
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            // Holding the lease: re-read, another worker may have finished just before.
            let now = self.load(location).await?;
            if now.version != s.version {
                self.repo.release(location, &owner).await?;
                continue;
            }
            let renewed = match &grant {
                Grant::Refresh(r) => self.rotate(location, &owner, &s, r).await?,
                Grant::Mint(company) => self.mint(location, &owner, &s, company).await?,
            };
            match renewed {
                Some(token) => return Ok(token),
                // The lease expired under us and another worker took over: HighLevel has
                // already spent our refresh token, so theirs is the pair that counts.
                None => continue,
            }
        }
    }

    /// Spends the refresh token and commits the new pair; `None` when the lease was lost.
    async fn rotate(
        &self,
        location: &str,
        owner: &str,
        s: &StoredTokens,
        refresh_token: &SecretString,
    ) -> Result<Option<AccessToken>> {
        match self.app.refresh(refresh_token, s.user_type).await {
            Ok(t) => {
                if let Some(crash) = &self.crash_point {
                    crash();
                }
                let refresh = t
                    .refresh_token
                    .clone()
                    .unwrap_or_else(|| refresh_token.clone());
                let token = self
                    .commit_new(location, owner, s, &t, Some(refresh))
                    .await?;
                if token.is_some() {
                    tracing::info!(location, "access token refreshed");
                }
                Ok(token)
            }
            Err(e) if e.is_invalid_grant() => {
                self.repo.release(location, owner).await?;
                let again = self.load(location).await?;
                if again.version != s.version {
                    return Ok(Some(access(&again)));
                }
                tracing::warn!(
                    location,
                    "refresh token refused; location needs to be reconnected"
                );
                self.repo.mark_needs_reauth(location).await?;
                Err(GhlError::NeedsReauth {
                    location: location.to_string(),
                })
            }
            Err(e) => {
                self.repo.release(location, owner).await?;
                Err(e)
            }
        }
    }
}

impl<R: TokenRepository> OAuthTokens<R> {
    /// Commits what the token endpoint answered, if the lease is still ours; `None` if not.
    async fn commit_new(
        &self,
        location: &str,
        owner: &str,
        s: &StoredTokens,
        t: &crate::oauth::TokenResponse,
        refresh_token: Option<SecretString>,
    ) -> Result<Option<AccessToken>> {
        let rotated = Rotated {
            access_token: t.access_token.clone(),
            refresh_token,
            expires_at_ms: chrono::Utc::now().timestamp_millis() + t.expires_in.as_millis() as i64,
            scopes: if t.scopes.is_empty() {
                s.scopes.clone()
            } else {
                t.scopes.clone()
            },
        };
        if !self.repo.commit(location, owner, &rotated).await? {
            return Ok(None);
        }
        Ok(Some(AccessToken {
            secret: rotated.access_token,
            scopes: known(rotated.scopes),
            version: s.version + 1,
        }))
    }
}

enum Grant {
    Refresh(SecretString),
    Mint(String),
}

impl<R: TokenRepository> OAuthTokens<R> {
    /// Mints a new location token from the company connection (refreshing that one first if
    /// it needs it) and commits it.
    async fn mint(
        &self,
        location: &str,
        owner: &str,
        s: &StoredTokens,
        company: &str,
    ) -> Result<Option<AccessToken>> {
        let company_token = match self.token(company).await {
            Ok(t) => t,
            Err(e) => {
                self.repo.release(location, owner).await?;
                return Err(e);
            }
        };
        match self
            .app
            .location_token(&company_token.secret, company, location)
            .await
        {
            Ok(t) => {
                let token = self.commit_new(location, owner, s, &t, None).await?;
                if token.is_some() {
                    tracing::info!(
                        location,
                        company,
                        "location token minted from the company connection"
                    );
                }
                Ok(token)
            }
            Err(e) => {
                self.repo.release(location, owner).await?;
                Err(e)
            }
        }
    }
}

fn access(s: &StoredTokens) -> AccessToken {
    AccessToken {
        secret: s.access_token.clone(),
        scopes: known(s.scopes.clone()),
        version: s.version,
    }
}

/// No scopes recorded means unknown (a Private Integration Token's are set in HighLevel).
fn known(scopes: Vec<String>) -> Option<Vec<String>> {
    (!scopes.is_empty()).then_some(scopes)
}

#[async_trait]
impl<R: TokenRepository> TokenProvider for OAuthTokens<R> {
    async fn token(&self, location: &str) -> Result<AccessToken> {
        let s = self.load(location).await?;
        if self.fresh(&s) {
            return Ok(access(&s));
        }
        self.refresh_from(location, s.version, false).await
    }

    async fn refresh(&self, location: &str, rejected: &AccessToken) -> Result<AccessToken> {
        self.refresh_from(location, rejected.version, true).await
    }
}
