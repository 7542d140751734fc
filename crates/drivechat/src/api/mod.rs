//! The JSON API under `/api/v1`: the same reads and actions as the web UI, for programs.
//! Authenticated by a member's API token (`Authorization: Bearer dct_...`), which also says
//! which workspace: every id in a path is looked up in that workspace only, so another
//! workspace's ids are 404 exactly like ids that do not exist. Errors are
//! `{"error": "..."}`. The OpenAPI document is at `/api/v1/openapi.json`, rendered for people
//! at `/api/v1/docs/` (neither needs a token).

mod auth;
mod docs;
mod events;
mod handlers;
mod types;

use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{ApiError, Error, Shared};

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/docs", get(docs::index_redirect))
        .route("/api/v1/docs/", get(docs::index))
        .route("/api/v1/docs/{*file}", get(docs::file))
        .route("/api/v1/events", get(events::events))
        .route("/api/v1/workspace", get(handlers::workspace))
        .route("/api/v1/users", get(handlers::users))
        .route("/api/v1/contacts", get(handlers::contacts))
        .route("/api/v1/contacts/{contact_id}", get(handlers::contact))
        .route(
            "/api/v1/contacts/{contact_id}/tasks",
            post(handlers::create_task),
        )
        .route(
            "/api/v1/contacts/{contact_id}/notes",
            post(handlers::add_note),
        )
        .route(
            "/api/v1/contacts/{contact_id}/tags",
            post(handlers::add_tags),
        )
        .route(
            "/api/v1/contacts/{contact_id}/tags/remove",
            post(handlers::remove_tags),
        )
        .route(
            "/api/v1/contacts/{contact_id}/messages",
            post(handlers::post_contact_message),
        )
        .route("/api/v1/tasks", get(handlers::tasks))
        .route(
            "/api/v1/tasks/{task_id}/complete",
            post(handlers::complete_task),
        )
        .route(
            "/api/v1/tasks/{task_id}/reopen",
            post(handlers::reopen_task),
        )
        .route("/api/v1/appointments", get(handlers::appointments))
        .route("/api/v1/feed", get(handlers::feed))
        .route("/api/v1/messages", post(handlers::post_message))
        .route("/api/v1/commands", get(handlers::commands))
        .route("/api/v1/commands/{command_id}", get(handlers::command))
        .route("/api/v1/alerts", get(handlers::alerts))
        .route("/api/v1", get(not_found))
        .route("/api/v1/{*rest}", get(not_found).post(not_found))
}

/// Unknown API paths answer in JSON too.
async fn not_found() -> ApiError {
    ApiError(Error::NotFound("API route"))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Drive Chat API",
        description = "Contacts, tasks, meetings and the feed of a Drive Chat workspace (one \
            HighLevel location), and actions written back to HighLevel. Actions are queued: they \
            answer 202 with a command that is `pending` until HighLevel confirms it (`done`) or \
            refuses it (`failed`, with `error`); poll `/api/v1/commands/{command_id}`, list them \
            at `/api/v1/commands`, or follow `/api/v1/events`. Send an \
            `Idempotency-Key` header to make a retried request act once. Lists page with \
            `cursor` (the previous page's `next_cursor`). Times are RFC 3339 in UTC; day \
            filters use your time zone (`/api/v1/workspace`). HighLevel user ids come with \
            their names (`*_name`, the id itself when the user is not known) and contacts \
            with their custom fields labelled and typed."
    ),
    paths(
        handlers::workspace,
        handlers::users,
        handlers::contacts,
        handlers::contact,
        handlers::tasks,
        handlers::appointments,
        handlers::feed,
        handlers::alerts,
        handlers::commands,
        handlers::command,
        events::events,
        handlers::complete_task,
        handlers::reopen_task,
        handlers::create_task,
        handlers::add_note,
        handlers::add_tags,
        handlers::remove_tags,
        handlers::post_contact_message,
        handlers::post_message,
    ),
    components(schemas(types::StreamReady, types::StreamNotice)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A member's API token (dct_...), from `drivesync tokens create` or the \
                         Settings page",
                    ))
                    .build(),
            ),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
