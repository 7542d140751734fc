//! Contacts: create, get, update, delete, upsert, duplicate search, by business, and the
//! contact's appointments.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

use super::guard::Ctx;
use super::input::contact_input;
use super::params::{parse_num, query_location, text_matches};
use crate::body::Body;
use crate::error::{current_trace_id, ApiError, ApiResult};
use crate::state::Sandbox;

type Q = Query<HashMap<String, String>>;

pub async fn create(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut b = Body::parse(&body)?;
    let input = contact_input(&mut b);
    let loc = b.str_req("locationId");
    b.finish()?;
    ctx.check_location(&loc.unwrap_or_default())?;
    let c = sb.write(|w| w.create_contact(&ctx.location_id, input))?;
    Ok((StatusCode::CREATED, Json(json!({ "contact": c.to_json() }))))
}

pub async fn get(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    sb.read(|w| {
        let c = w.location(&ctx.location_id)?.contact(&id)?;
        Ok(Json(json!({ "contact": c.to_json() })))
    })
}

pub async fn update(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let input = contact_input(&mut b);
    b.finish()?;
    let c = sb.write(|w| w.update_contact(&ctx.location_id, &id, input))?;
    Ok(Json(json!({ "succeded": true, "contact": c.to_json() })))
}

pub async fn delete(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    sb.write(|w| w.delete_contact(&ctx.location_id, &id))?;
    Ok(Json(json!({ "succeded": true })))
}

pub async fn upsert(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let input = contact_input(&mut b);
    let loc = b.str_req("locationId");
    b.bool_opt("createNewIfDuplicateAllowed");
    b.finish()?;
    ctx.check_location(&loc.unwrap_or_default())?;
    let (new, c) = sb.write(|w| w.upsert_contact(&ctx.location_id, input))?;
    Ok(Json(json!({
        "new": new,
        "contact": c.to_json(),
        "traceId": current_trace_id().unwrap_or_default(),
    })))
}

pub async fn duplicate(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Q,
) -> ApiResult<Json<Value>> {
    query_location(&ctx, &q)?;
    let email = q.get("email").filter(|s| !s.is_empty());
    let number = q.get("number").filter(|s| !s.is_empty());
    if email.is_none() && number.is_none() {
        return Err(ApiError::unprocessable(vec![
            "either email or number should not be empty".into(),
        ]));
    }
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        let found = email
            .and_then(|e| loc.find_by_email(e))
            .or_else(|| number.and_then(|n| loc.find_by_phone(n)));
        Ok(Json(json!({ "contact": found.map(|c| c.to_json()) })))
    })
}

pub async fn by_business(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(business_id): Path<String>,
    Query(q): Q,
) -> ApiResult<Json<Value>> {
    query_location(&ctx, &q)?;
    let limit = parse_num(&q, "limit", 25, 1, 100)?;
    let skip = parse_num(&q, "skip", 0, 0, usize::MAX)?;
    let query = q.get("query").map(|s| s.to_lowercase());
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        let matching: Vec<&crate::model::Contact> = loc
            .by_added
            .iter()
            .filter_map(|(_, id)| loc.contacts.get(id).map(|c| &**c))
            .filter(|c| c.business_id.as_deref() == Some(business_id.as_str()))
            .filter(|c| query.as_deref().is_none_or(|q| text_matches(c, q)))
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(skip)
            .take(limit)
            .map(|c| c.to_json())
            .collect();
        Ok(Json(json!({ "contacts": page, "count": matching.len() })))
    })
}

pub async fn appointments(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        loc.contact(&id)?;
        let mut events: Vec<&crate::model::Appointment> = loc
            .appointments
            .values()
            .filter(|a| a.contact_id == id)
            .collect();
        events.sort_by_key(|a| (a.start_time, a.id.clone()));
        let events: Vec<Value> = events.iter().map(|a| a.to_event_json()).collect();
        Ok(Json(json!({ "events": events })))
    })
}
