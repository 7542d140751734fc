//! INSTALL and UNINSTALL: HighLevel telling drivesync a location (or an agency) added or
//! removed the app. An uninstall removes the location and its tokens (for an agency: the
//! agency's connection and every location token minted from it); an install of a location
//! under a connected agency mints that location's token at once; an install of a location
//! drivesync has no way to get a token for is reported, so a person can run `connect`.

use ghl::models::{WebhookEnvelope, WebhookEvent};
use ghl::token::TokenProvider;
use std::sync::Arc;

/// What an app event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppEventOutcome {
    /// The location's tokens were deleted.
    Removed { location: String },
    /// An agency's connection and the locations minted from it were deleted.
    RemovedCompany { company: String, locations: usize },
    /// A token for the newly installed location was minted from the agency connection.
    Minted { location: String },
    /// The location is already connected.
    AlreadyConnected { location: String },
    /// drivesync holds nothing that can mint a token for it: `drivesync connect` is needed.
    AwaitingConnect { location: String },
    /// Not an app event, or one naming nothing drivesync knows.
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum AppEventError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Ghl(#[from] ghl::GhlError),
}

pub async fn apply_app_event(
    store: &Arc<store::Store>,
    app: &ghl::OAuthApp,
    env: &WebhookEnvelope,
) -> Result<AppEventOutcome, AppEventError> {
    match &env.event {
        WebhookEvent::Uninstall(u) => match (&env.location_id, &u.company_id) {
            (Some(location), _) => {
                store.remove_location(location).await?;
                tracing::info!(location, "app uninstalled; location removed");
                Ok(AppEventOutcome::Removed {
                    location: location.clone(),
                })
            }
            (None, Some(company)) => {
                let mut n = 0;
                for l in store.locations().await? {
                    if l.company_id.as_deref() == Some(company.as_str())
                        && l.location_id != *company
                    {
                        store.remove_location(&l.location_id).await?;
                        n += 1;
                    }
                }
                store.remove_location(company).await?;
                tracing::info!(
                    company,
                    locations = n,
                    "app uninstalled by the agency; its locations removed"
                );
                Ok(AppEventOutcome::RemovedCompany {
                    company: company.clone(),
                    locations: n,
                })
            }
            (None, None) => Ok(AppEventOutcome::Ignored),
        },
        WebhookEvent::Install(i) => {
            let Some(location) = env.location_id.clone() else {
                return Ok(AppEventOutcome::Ignored);
            };
            if let Some(rec) = store.location(&location).await? {
                if rec.state == store::LocationState::Ok {
                    return Ok(AppEventOutcome::AlreadyConnected { location });
                }
            }
            let Some(company) = i.company_id.clone() else {
                return Ok(AppEventOutcome::AwaitingConnect { location });
            };
            let agency = store.location(&company).await?;
            if agency.is_none_or(|a| a.user_type != ghl::UserType::Company) {
                tracing::warn!(location, "app installed on a location drivesync cannot get a token for; run `drivesync connect`");
                return Ok(AppEventOutcome::AwaitingConnect { location });
            }
            let tokens =
                ghl::OAuthTokens::new(Arc::new(store::GhlTokens::new(store.clone())), app.clone());
            let company_token = tokens.token(&company).await?;
            mint_location(store, app, &company_token.secret, &company, &location).await?;
            tracing::info!(
                location,
                company,
                "app installed; location token minted from the agency connection"
            );
            Ok(AppEventOutcome::Minted { location })
        }
        _ => Ok(AppEventOutcome::Ignored),
    }
}

/// Mints a location token from an agency's token and stores it as a company-derived
/// connection, which the token provider mints again whenever it expires.
pub async fn mint_location(
    store: &store::Store,
    app: &ghl::OAuthApp,
    company_token: &secrecy::SecretString,
    company: &str,
    location: &str,
) -> Result<(), AppEventError> {
    let t = app.location_token(company_token, company, location).await?;
    store
        .save_location(&store::NewLocation {
            location_id: location.to_string(),
            company_id: Some(company.to_string()),
            name: None,
            auth: store::AuthKind::CompanyDerived,
            user_type: ghl::UserType::Location,
            scopes: t.scopes.clone(),
            access_token: t.access_token.clone(),
            refresh_token: None,
            expires_at_ms: Some(
                chrono::Utc::now().timestamp_millis() + t.expires_in.as_millis() as i64,
            ),
        })
        .await?;
    Ok(())
}
