//! The vault as the HighLevel client's token repository: tokens decrypted on load, the refresh
//! lease of the `locations` row shared by every process on this database.

use async_trait::async_trait;
use ghl::token::{Rotated, StoredTokens, TokenRepository};
use ghl::GhlError;
use std::sync::Arc;
use std::time::Duration;

use crate::{AuthKind, LocationState, RefreshedTokens, Store, StoreError};

pub struct GhlTokens {
    store: Arc<Store>,
}

impl GhlTokens {
    pub fn new(store: Arc<Store>) -> GhlTokens {
        GhlTokens { store }
    }
}

fn storage(e: StoreError) -> GhlError {
    GhlError::Storage(e.to_string())
}

#[async_trait]
impl TokenRepository for GhlTokens {
    async fn load(&self, location: &str) -> ghl::Result<Option<StoredTokens>> {
        let rec = self.store.location(location).await.map_err(storage)?;
        Ok(rec.map(|r| StoredTokens {
            minted_from: (r.auth == AuthKind::CompanyDerived)
                .then(|| r.company_id.clone())
                .flatten(),
            access_token: r.access_token,
            refresh_token: r.refresh_token,
            expires_at_ms: r.expires_at_ms,
            scopes: r.scopes,
            user_type: r.user_type,
            needs_reauth: r.state == LocationState::NeedsReauth,
            version: r.token_version,
        }))
    }

    async fn try_lease(&self, location: &str, owner: &str, ttl: Duration) -> ghl::Result<bool> {
        let got = self
            .store
            .try_lease_refresh(location, owner, ttl)
            .await
            .map_err(storage)?;
        Ok(got.is_some())
    }

    async fn commit(&self, location: &str, owner: &str, t: &Rotated) -> ghl::Result<bool> {
        let tokens = RefreshedTokens {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            expires_at_ms: t.expires_at_ms,
            scopes: t.scopes.clone(),
        };
        self.store
            .commit_refresh(location, owner, &tokens)
            .await
            .map_err(storage)
    }

    async fn release(&self, location: &str, owner: &str) -> ghl::Result<()> {
        self.store
            .release_lease(location, owner)
            .await
            .map_err(storage)
    }

    async fn mark_needs_reauth(&self, location: &str) -> ghl::Result<()> {
        self.store
            .set_state(location, LocationState::NeedsReauth)
            .await
            .map_err(storage)
    }
}
