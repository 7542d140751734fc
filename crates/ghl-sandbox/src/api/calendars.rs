//! The Calendars API: the location's calendars, and appointments and appointment notes: get,
//! create and edit an appointment, delete an event, events in a range, and notes (list,
//! create, update, delete).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

use super::guard::Ctx;
use super::params::{parse_num, query_location};
use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::model::Str;
use crate::state::Sandbox;
use crate::world::AppointmentInput;

const STATUSES: &[&str] = &[
    "new",
    "confirmed",
    "cancelled",
    "showed",
    "noshow",
    "invalid",
];
const MEETING_TYPES: &[&str] = &[
    "custom", "zoom", "gmeet", "phone", "address", "ms_teams", "google",
];

/// The location's calendars (`get-calendars`), those of one group with `groupId`. The
/// sandbox has no drafts, so `showDrafted` changes nothing (it must still be a boolean).
pub async fn list(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    query_location(&ctx, &q)?;
    if q.get("showDrafted")
        .is_some_and(|v| v != "true" && v != "false")
    {
        return Err(ApiError::unprocessable(vec![
            "showDrafted must be a boolean value".into(),
        ]));
    }
    let group = q.get("groupId").filter(|g| !g.is_empty());
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        let calendars: Vec<Value> = loc
            .calendars
            .iter()
            .filter(|c| group.is_none_or(|g| c.group_id == g))
            .map(|c| c.to_json(&loc.id, &loc.users))
            .collect();
        Ok(Json(json!({ "calendars": calendars })))
    })
}

fn appointment_input(b: &mut Body, create: bool) -> AppointmentInput {
    let (calendar_id, contact_id, start_time) = if create {
        (
            b.str_req("calendarId"),
            b.str_req("contactId"),
            b.date_req("startTime"),
        )
    } else {
        (b.str_opt("calendarId"), None, b.date_opt("startTime"))
    };
    let status = b.str_opt("appointmentStatus");
    b.one_of("appointmentStatus", &status, STATUSES);
    let meeting = b.str_opt("meetingLocationType");
    b.one_of("meetingLocationType", &meeting, MEETING_TYPES);
    let input = AppointmentInput {
        calendar_id,
        contact_id,
        title: b.str_opt("title"),
        status,
        assigned_user_id: b.str_opt("assignedUserId"),
        address: b.str_opt("address"),
        meeting_location_type: meeting,
        rrule: b.str_opt("rrule"),
        start_time,
        end_time: b.date_opt("endTime"),
    };
    for key in [
        "ignoreDateRange",
        "toNotify",
        "ignoreFreeSlotValidation",
        "overrideLocationConfig",
    ] {
        b.bool_opt(key);
    }
    if let (Some(s), Some(e)) = (input.start_time, input.end_time) {
        if e < s {
            b.error("endTime must be after startTime".into());
        }
    }
    input
}

pub async fn create(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let input = appointment_input(&mut b, true);
    let loc = b.str_req("locationId");
    b.finish()?;
    ctx.check_location(&loc.unwrap_or_default())?;
    let a = sb.write(|w| w.create_appointment(&ctx.location_id, input))?;
    Ok(Json(a.to_appointment_json()))
}

pub async fn edit(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let input = appointment_input(&mut b, false);
    b.finish()?;
    let a = sb.write(|w| w.update_appointment(&ctx.location_id, &id, input))?;
    Ok(Json(a.to_appointment_json()))
}

pub async fn get(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    sb.read(|w| {
        let a = w.location(&ctx.location_id)?.appointment(&id)?;
        Ok(Json(json!({ "event": a.to_event_json() })))
    })
}

/// Events overlapping [startTime, endTime] (epoch milliseconds), for a calendar, a group or a
/// user: HighLevel requires one of the three.
pub async fn events(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    query_location(&ctx, &q)?;
    let time = |k: &str| -> ApiResult<i64> {
        q.get(k).and_then(|s| crate::time::parse(s)).ok_or_else(|| {
            ApiError::unprocessable(vec![format!(
                "{k} should be epoch milliseconds or an ISO 8601 date"
            )])
        })
    };
    let (start, end) = (time("startTime")?, time("endTime")?);
    let get = |k: &str| q.get(k).filter(|s| !s.is_empty()).cloned();
    let (calendar, group, user) = (get("calendarId"), get("groupId"), get("userId"));
    if calendar.is_none() && group.is_none() && user.is_none() {
        return Err(ApiError::unprocessable(vec![
            "one of calendarId, groupId or userId is required".into(),
        ]));
    }
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        let mut events: Vec<&crate::model::Appointment> = loc
            .appointments
            .values()
            .filter(|a| a.end_time >= start && a.start_time <= end)
            .filter(|a| calendar.as_ref().is_none_or(|c| a.calendar_id == c))
            .filter(|a| group.as_ref().is_none_or(|g| a.group_id == g))
            .filter(|a| user.as_ref().is_none_or(|u| a.assigned_user_id == u))
            .collect();
        events.sort_by_key(|a| (a.start_time, a.id.clone()));
        let events: Vec<Value> = events.iter().map(|a| a.to_event_json()).collect();
        Ok(Json(json!({ "events": events })))
    })
}

pub async fn delete(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Body::parse(&body)?.finish()?;
    sb.write(|w| w.delete_appointment(&ctx.location_id, &id))?;
    Ok((StatusCode::CREATED, Json(json!({ "succeeded": true }))))
}

pub async fn list_notes(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let limit = parse_num(&q, "limit", 10, 1, 100)?;
    let offset = parse_num(&q, "offset", 0, 0, usize::MAX)?;
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        let appt = loc.appointment(&id)?;
        let all = loc
            .appointment_notes
            .get(id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let notes: Vec<Value> = all
            .iter()
            .skip(offset)
            .take(limit)
            .map(|n| n.to_json(&appt.contact_id))
            .collect();
        let has_more = offset + notes.len() < all.len();
        Ok(Json(json!({ "notes": notes, "hasMore": has_more })))
    })
}

fn note_body(body: &Bytes) -> ApiResult<(Str, Option<Str>)> {
    let mut b = Body::parse(body)?;
    let text = b.str_req("body");
    b.max_len("body", &text, 5000);
    let user = b.str_opt("userId");
    b.finish()?;
    Ok((text.unwrap_or_default(), user))
}

pub async fn create_note(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (text, user) = note_body(&body)?;
    let (n, contact) =
        sb.write(|w| w.create_appointment_note(&ctx.location_id, &id, text, user))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "note": n.to_json(&contact) })),
    ))
}

pub async fn update_note(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, note_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (text, user) = note_body(&body)?;
    let (n, contact) =
        sb.write(|w| w.update_appointment_note(&ctx.location_id, &id, &note_id, text, user))?;
    Ok(Json(json!({ "note": n.to_json(&contact) })))
}

pub async fn delete_note(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, note_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    sb.write(|w| w.delete_appointment_note(&ctx.location_id, &id, &note_id))?;
    Ok(Json(json!({ "success": true })))
}
