//! The location's context: its profile (name, time zone, address), its users (what
//! `assignedTo`, `assignedUserId` and a note's `userId` point at) and its custom field
//! definitions (what the ids in a contact's `customFields` mean) — read from HighLevel's
//! Locations and Users APIs and kept in the store, so Drive Chat shows names, labels and local
//! times instead of ids and UTC.
//!
//! Three requests. Refreshed at the start of every reconcile, when a location is imported, and
//! on demand (a [`JobKind::RefreshContext`] job, e.g. after a user or custom field was met
//! that the store does not know). HighLevel sends no webhook when users or custom fields
//! change, so between refreshes a new one shows as its id.
//!
//! **A token without a scope still syncs everything else.** Each part needs its own scope
//! (`locations.readonly`, `locations/customFields.readonly`, `users.readonly`); a part whose
//! scope was not granted — or that HighLevel refuses as unauthorized — is skipped and the
//! scope recorded as missing, which `drivesync status`, `drivesync locations` and Drive
//! Chat's settings page name so the location can be reconnected with it.

use serde_json::json;
use store::{jobs, Job, JobKind, NewJob, Store};

use crate::error::SyncError;
use crate::worker::{JobContext, JobError, JobHandler};

/// What a refresh read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refreshed {
    pub profile: bool,
    pub users: usize,
    pub custom_fields: usize,
    /// Scopes whose part was skipped.
    pub missing_scopes: Vec<String>,
}

/// Queues a refresh unless one is already waiting for the location.
pub async fn request(store: &Store, location: &str) -> Result<(), SyncError> {
    let job = NewJob::new(
        JobKind::RefreshContext,
        location,
        jobs::context_key(location),
        json!({}),
    );
    store.enqueue_if_idle(&job).await?;
    Ok(())
}

/// Runs [`JobKind::RefreshContext`] jobs: [`refresh`] of the job's location.
pub struct RefreshContextJob;

#[async_trait::async_trait]
impl JobHandler for RefreshContextJob {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError> {
        let handle = ctx.gate.location(&job.location_id).await?;
        refresh(&ctx.store, &handle).await?;
        Ok(())
    }
}

/// Reads the three parts the token may read and saves them.
pub async fn refresh(store: &Store, handle: &ghl::api::Location) -> Result<Refreshed, SyncError> {
    let location = handle.id();
    // Each part's scope, as the operation catalog (held against HighLevel's specs) gives it.
    let (profile_scope, fields_scope, users_scope) = (
        crate::scope_of("get-location"),
        crate::scope_of("get-custom-fields"),
        crate::scope_of("get-user-by-location"),
    );
    let granted = store
        .location(location)
        .await?
        .map(|l| l.scopes)
        .unwrap_or_default();
    // An empty list means the scopes are not known (an old connection): try every part.
    let may = |scope: &str| granted.is_empty() || granted.iter().any(|g| g == scope);
    let mut out = Refreshed::default();
    let missing = |scope: &str, out: &mut Refreshed| out.missing_scopes.push(scope.into());

    if may(profile_scope) {
        match handle.location_details().await {
            Ok(d) => {
                let address = [d.address, d.city, d.state, d.postal_code, d.country]
                    .into_iter()
                    .flatten()
                    .filter(|p| !p.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join(", ");
                let profile = store::context::LocationProfile {
                    name: d.name,
                    timezone: d.timezone,
                    address: (!address.is_empty()).then_some(address),
                };
                store.save_location_profile(location, &profile).await?;
                out.profile = true;
            }
            Err(e) if unauthorized(&e) => missing(profile_scope, &mut out),
            Err(e) => return Err(e.into()),
        }
    } else {
        missing(profile_scope, &mut out);
    }

    if may(fields_scope) {
        match handle.custom_fields().await {
            Ok(defs) => {
                let defs: Vec<store::context::CustomFieldDef> = defs
                    .into_iter()
                    .map(|d| store::context::CustomFieldDef {
                        id: d.id,
                        name: d.name.unwrap_or_default(),
                        field_key: d.field_key,
                        data_type: d.data_type.unwrap_or_else(|| "TEXT".into()),
                        options: d.picklist_options,
                    })
                    .collect();
                store.replace_custom_field_defs(location, &defs).await?;
                out.custom_fields = defs.len();
            }
            Err(e) if unauthorized(&e) => missing(fields_scope, &mut out),
            Err(e) => return Err(e.into()),
        }
    } else {
        missing(fields_scope, &mut out);
    }

    if may(users_scope) {
        match handle.users().await {
            Ok(users) => {
                let users: Vec<store::context::HlUser> = users
                    .into_iter()
                    .map(|u| {
                        let joined = [u.first_name.clone(), u.last_name.clone()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" ");
                        let name = u
                            .name
                            .clone()
                            .filter(|n| !n.trim().is_empty())
                            .or((!joined.is_empty()).then_some(joined))
                            .or(u.email.clone())
                            .unwrap_or_else(|| u.id.clone());
                        store::context::HlUser {
                            id: u.id,
                            name,
                            first_name: u.first_name,
                            last_name: u.last_name,
                            email: u.email,
                        }
                    })
                    .collect();
                store.replace_location_users(location, &users).await?;
                out.users = users.len();
            }
            Err(e) if unauthorized(&e) => missing(users_scope, &mut out),
            Err(e) => return Err(e.into()),
        }
    } else {
        missing(users_scope, &mut out);
    }

    store
        .set_context_missing_scopes(location, &out.missing_scopes)
        .await?;
    if !out.missing_scopes.is_empty() {
        tracing::info!(
            location,
            missing = ?out.missing_scopes,
            "location context partly read: reconnect the location granting these scopes to \
             show names, custom field labels and its time zone"
        );
    }
    Ok(out)
}

/// The token lacks this route's scope (known before sending, or said by HighLevel).
fn unauthorized(e: &ghl::GhlError) -> bool {
    matches!(e, ghl::GhlError::ScopeMissing { .. })
}
