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

pub(crate) use auth::guard;

use axum::Json;
use store::Role;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::access::{Access, Routes, Surface};
use crate::{ApiError, Error, Shared};

/// Every API route with what it needs (see [`crate::access`]): reads need a viewer, actions
/// a member.
pub(crate) fn routes(app: Shared) -> Routes {
    const READ: Access = Access::Role(Role::Viewer);
    const ACT: Access = Access::Role(Role::Member);
    Routes::new(app, Surface::Api)
        .get("/api/v1/openapi.json", Access::Public, openapi)
        .get("/api/v1/docs", Access::Public, docs::index_redirect)
        .get("/api/v1/docs/", Access::Public, docs::index)
        .get("/api/v1/docs/{*file}", Access::Public, docs::file)
        .get("/api/v1/events", READ, events::events)
        .get("/api/v1/workspace", READ, handlers::workspace)
        .get("/api/v1/users", READ, handlers::users)
        .get("/api/v1/contacts", READ, handlers::contacts)
        .get("/api/v1/contacts/{contact_id}", READ, handlers::contact)
        .post(
            "/api/v1/contacts/{contact_id}/tasks",
            ACT,
            handlers::create_task,
        )
        .post(
            "/api/v1/contacts/{contact_id}/notes",
            ACT,
            handlers::add_note,
        )
        .post(
            "/api/v1/contacts/{contact_id}/tags",
            ACT,
            handlers::add_tags,
        )
        .post(
            "/api/v1/contacts/{contact_id}/tags/remove",
            ACT,
            handlers::remove_tags,
        )
        .post(
            "/api/v1/contacts/{contact_id}/messages",
            ACT,
            handlers::post_contact_message,
        )
        .get("/api/v1/tasks", READ, handlers::tasks)
        .post(
            "/api/v1/tasks/{task_id}/complete",
            ACT,
            handlers::complete_task,
        )
        .post("/api/v1/tasks/{task_id}/reopen", ACT, handlers::reopen_task)
        .get("/api/v1/appointments", READ, handlers::appointments)
        .get("/api/v1/feed", READ, handlers::feed)
        .post("/api/v1/messages", ACT, handlers::post_message)
        .get("/api/v1/commands", READ, handlers::commands)
        .get("/api/v1/commands/{command_id}", READ, handlers::command)
        .get("/api/v1/alerts", READ, handlers::alerts)
        .get("/api/v1", Access::Public, not_found)
        .get("/api/v1/{*rest}", Access::Public, not_found)
        .post("/api/v1/{*rest}", Access::Public, not_found)
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
