//! A contact's tasks and notes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;

use super::guard::Ctx;
use crate::body::Body;
use crate::error::ApiResult;
use crate::state::Sandbox;
use crate::world::{NoteInput, TaskInput};

type Created = ApiResult<(StatusCode, Json<Value>)>;

pub async fn list_tasks(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(cid): Path<String>,
) -> ApiResult<Json<Value>> {
    sb.read(|w| {
        let c = w.location(&ctx.location_id)?.contact(&cid)?;
        let tasks: Vec<Value> = c.tasks.iter().map(|t| t.to_json()).collect();
        Ok(Json(json!({ "tasks": tasks })))
    })
}

fn task_input(b: &mut Body, create: bool) -> TaskInput {
    let (title, due_date, completed) = if create {
        (
            b.str_req("title"),
            b.date_req("dueDate"),
            b.bool_req("completed"),
        )
    } else {
        (
            b.str_opt("title"),
            b.date_opt("dueDate"),
            b.bool_opt("completed"),
        )
    };
    TaskInput {
        title,
        body: b.str_patch("body"),
        due_date,
        completed,
        assigned_to: b.str_patch("assignedTo"),
    }
}

pub async fn create_task(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(cid): Path<String>,
    body: Bytes,
) -> Created {
    let mut b = Body::parse(&body)?;
    let t = task_input(&mut b, true);
    b.finish()?;
    let task = sb.write(|w| w.create_task(&ctx.location_id, &cid, t))?;
    Ok((StatusCode::CREATED, Json(json!({ "task": task.to_json() }))))
}

pub async fn get_task(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, tid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    sb.read(|w| {
        let t = w.task(&ctx.location_id, &cid, &tid)?;
        Ok(Json(json!({ "task": t.to_json() })))
    })
}

pub async fn update_task(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, tid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let t = task_input(&mut b, false);
    b.finish()?;
    let task = sb.write(|w| w.update_task(&ctx.location_id, &cid, &tid, t))?;
    Ok(Json(json!({ "task": task.to_json() })))
}

pub async fn complete_task(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, tid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let completed = b.bool_req("completed");
    b.finish()?;
    let t = TaskInput {
        completed,
        ..TaskInput::default()
    };
    let task = sb.write(|w| w.update_task(&ctx.location_id, &cid, &tid, t))?;
    Ok(Json(json!({ "task": task.to_json() })))
}

pub async fn delete_task(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, tid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    sb.write(|w| w.delete_task(&ctx.location_id, &cid, &tid))?;
    Ok(Json(json!({ "succeded": true })))
}

pub async fn list_notes(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(cid): Path<String>,
) -> ApiResult<Json<Value>> {
    sb.read(|w| {
        let c = w.location(&ctx.location_id)?.contact(&cid)?;
        let notes: Vec<Value> = c.notes.iter().map(|n| n.to_json()).collect();
        Ok(Json(json!({ "notes": notes })))
    })
}

fn note_input(b: &mut Body, create: bool) -> NoteInput {
    let body = if create {
        b.str_req("body")
    } else {
        b.str_opt("body")
    };
    NoteInput {
        body,
        title: b.str_patch("title"),
        color: b.str_patch("color"),
        pinned: b.bool_opt("pinned"),
        user_id: b.str_patch("userId"),
    }
}

pub async fn create_note(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(cid): Path<String>,
    body: Bytes,
) -> Created {
    let mut b = Body::parse(&body)?;
    let n = note_input(&mut b, true);
    b.finish()?;
    let note = sb.write(|w| w.create_note(&ctx.location_id, &cid, n))?;
    Ok((StatusCode::CREATED, Json(json!({ "note": note.to_json() }))))
}

pub async fn get_note(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, nid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    sb.read(|w| {
        let n = w.note(&ctx.location_id, &cid, &nid)?;
        Ok(Json(json!({ "note": n.to_json() })))
    })
}

pub async fn update_note(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, nid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let n = note_input(&mut b, false);
    b.finish()?;
    let note = sb.write(|w| w.update_note(&ctx.location_id, &cid, &nid, n))?;
    Ok(Json(json!({ "note": note.to_json() })))
}

pub async fn delete_note(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, nid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    sb.write(|w| w.delete_note(&ctx.location_id, &cid, &nid))?;
    Ok(Json(json!({ "succeded": true })))
}
