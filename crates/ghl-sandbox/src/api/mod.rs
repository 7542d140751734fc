//! The HTTP surface: HighLevel's routes (contacts, appointments, OAuth) behind the guard, and
//! the sandbox's own `/_sandbox/` controls.

pub mod admin;
pub mod calendars;
pub mod contacts;
pub mod guard;
pub mod input;
pub mod locations;
pub mod oauth;
pub mod params;
pub mod search;
pub mod tags;
pub mod tasks;
pub mod users;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post, put};
use axum::Router;
use std::sync::Arc;

use crate::state::Sandbox;

/// HighLevel's API routes: every operation of `shared/ghl/apps/contacts.json`, the calendar
/// list and appointment operations of `calendars.json`, and the location's context from
/// `locations.json` (the location, custom fields, task search) and `users.json`.
fn highlevel(sb: &Arc<Sandbox>) -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/contacts/", get(search::list).post(contacts::create))
        .route("/contacts", get(search::list).post(contacts::create))
        .route("/contacts/search", post(search::search))
        .route("/contacts/search/duplicate", get(contacts::duplicate))
        .route("/contacts/upsert", post(contacts::upsert))
        .route(
            "/contacts/business/{businessId}",
            get(contacts::by_business),
        )
        .route("/contacts/bulk/tags/update/{type}", post(tags::bulk_tags))
        .route("/contacts/bulk/business", post(tags::bulk_business))
        .route(
            "/contacts/{contactId}",
            get(contacts::get)
                .put(contacts::update)
                .delete(contacts::delete),
        )
        .route(
            "/contacts/{contactId}/tasks",
            get(tasks::list_tasks).post(tasks::create_task),
        )
        .route(
            "/contacts/{contactId}/tasks/{taskId}",
            get(tasks::get_task)
                .put(tasks::update_task)
                .delete(tasks::delete_task),
        )
        .route(
            "/contacts/{contactId}/tasks/{taskId}/completed",
            put(tasks::complete_task),
        )
        .route(
            "/contacts/{contactId}/appointments",
            get(contacts::appointments),
        )
        .route(
            "/contacts/{contactId}/tags",
            post(tags::add_tags).delete(tags::remove_tags),
        )
        .route(
            "/contacts/{contactId}/notes",
            get(tasks::list_notes).post(tasks::create_note),
        )
        .route(
            "/contacts/{contactId}/notes/{id}",
            get(tasks::get_note)
                .put(tasks::update_note)
                .delete(tasks::delete_note),
        )
        .route(
            "/contacts/{contactId}/followers",
            post(tags::add_followers).delete(tags::remove_followers),
        )
        .route(
            "/contacts/{contactId}/campaigns/removeAll",
            delete(tags::remove_all_campaigns),
        )
        .route(
            "/contacts/{contactId}/campaigns/{campaignId}",
            post(tags::add_campaign).delete(tags::remove_campaign),
        )
        .route(
            "/contacts/{contactId}/workflow/{workflowId}",
            post(tags::add_workflow).delete(tags::remove_workflow),
        )
        .route("/locations/{locationId}", get(locations::get))
        .route(
            "/locations/{locationId}/customFields",
            get(locations::custom_fields),
        )
        .route(
            "/locations/{locationId}/tasks/search",
            post(locations::tasks_search),
        )
        .route("/users/", get(users::by_location))
        .route("/users", get(users::by_location))
        .route("/calendars/", get(calendars::list))
        .route("/calendars", get(calendars::list))
        .route("/calendars/events/appointments", post(calendars::create))
        .route(
            "/calendars/events/appointments/{eventId}",
            get(calendars::get).put(calendars::edit),
        )
        .route("/calendars/events", get(calendars::events))
        .route("/calendars/events/{eventId}", delete(calendars::delete))
        .route(
            "/calendars/appointments/{appointmentId}/notes",
            get(calendars::list_notes).post(calendars::create_note),
        )
        .route(
            "/calendars/appointments/{appointmentId}/notes/{noteId}",
            put(calendars::update_note).delete(calendars::delete_note),
        )
        .route_layer(from_fn_with_state(sb.clone(), guard::api))
}

fn oauth() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/oauth/chooselocation", get(oauth::choose_location))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/locationToken", post(oauth::location_token))
        .route("/oauth/installedLocations", get(oauth::installed_locations))
}

fn admin() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/_sandbox", get(admin::overview))
        .route("/_sandbox/", get(admin::overview))
        .route("/_sandbox/locations", get(admin::locations))
        .route("/_sandbox/reset", post(admin::reset))
        .route("/_sandbox/seed", post(admin::seed))
        .route("/_sandbox/records/{id}", get(admin::record))
        .route("/_sandbox/counters", get(admin::counters))
        .route("/_sandbox/counters/reset", post(admin::reset_counters))
        .route("/_sandbox/requests", get(admin::requests))
        .route(
            "/_sandbox/faults",
            get(admin::get_faults).post(admin::set_faults),
        )
        .route("/_sandbox/pit", post(admin::pit))
        .route("/_sandbox/revoke", post(admin::revoke))
        .route("/_sandbox/expire-tokens", post(admin::expire_tokens))
        .route("/_sandbox/webhook", post(admin::set_webhook))
        .route(
            "/_sandbox/webhook-options",
            get(admin::get_webhook_options).post(admin::set_webhook_options),
        )
        .route("/_sandbox/activity", post(admin::set_activity))
        .route("/_sandbox/limits", post(admin::set_limits))
        .route("/_sandbox/events", get(admin::events))
        .route("/_sandbox/deliveries", get(admin::deliveries))
        .route("/_sandbox/keys", get(admin::keys))
        .route("/_sandbox/tokens", get(admin::tokens))
}

pub fn router(sb: Arc<Sandbox>) -> Router {
    let limit = sb.config.body_limit;
    Router::new()
        .merge(highlevel(&sb))
        .merge(oauth())
        .merge(admin())
        .fallback(guard::not_found)
        .method_not_allowed_fallback(guard::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(from_fn(guard::json_errors))
        .layer(from_fn(guard::trace))
        .with_state(sb)
}
