//! The location's users from the Users API (`shared/ghl/apps/users.json`, `get-user-by-location`):
//! what `assignedTo`, `assignedUserId` and a note's `userId` point at.

use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

use super::guard::Ctx;
use super::params::query_location;
use crate::error::ApiResult;
use crate::state::Sandbox;

pub async fn by_location(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    query_location(&ctx, &q)?;
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        let users: Vec<Value> = loc
            .user_profiles
            .iter()
            .map(|u| u.to_json(&loc.id))
            .collect();
        Ok(Json(json!({ "users": users })))
    })
}
