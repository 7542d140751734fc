//! Tags, followers, campaigns and workflows of a contact, and the bulk tag and business routes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;

use super::guard::Ctx;
use super::params::body_location;
use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::model::Str;
use crate::state::Sandbox;

type Created = ApiResult<(StatusCode, Json<Value>)>;

fn list(body: &Bytes, key: &str) -> ApiResult<Vec<Str>> {
    let mut b = Body::parse(body)?;
    let items = b.strings_req(key);
    b.finish()?;
    Ok(items.unwrap_or_default())
}

pub async fn add_tags(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(cid): Path<String>,
    body: Bytes,
) -> Created {
    let tags = list(&body, "tags")?;
    let tags = sb.write(|w| w.change_tags(&ctx.location_id, &cid, &tags, &[], false))?;
    Ok((StatusCode::CREATED, Json(json!({ "tags": tags }))))
}

pub async fn remove_tags(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let tags = list(&body, "tags")?;
    let tags = sb.write(|w| w.change_tags(&ctx.location_id, &cid, &[], &tags, false))?;
    Ok(Json(json!({ "tags": tags })))
}

pub async fn add_followers(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(cid): Path<String>,
    body: Bytes,
) -> Created {
    let add = list(&body, "followers")?;
    let mut added = Vec::new();
    let c = sb.write(|w| {
        w.change_list(&ctx.location_id, &cid, |c| {
            for f in &add {
                if !c.followers.contains(f) {
                    c.followers.push(f.clone());
                    added.push(f.clone());
                }
            }
            !added.is_empty()
        })
    })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "followers": c.followers, "followersAdded": added })),
    ))
}

pub async fn remove_followers(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let remove = list(&body, "followers")?;
    let mut removed = Vec::new();
    let c = sb.write(|w| {
        w.change_list(&ctx.location_id, &cid, |c| {
            c.followers.retain(|f| {
                let gone = remove.contains(f);
                if gone {
                    removed.push(f.clone());
                }
                !gone
            });
            !removed.is_empty()
        })
    })?;
    Ok(Json(
        json!({ "followers": c.followers, "followersRemoved": removed }),
    ))
}

pub async fn add_campaign(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, campaign)): Path<(String, String)>,
    body: Bytes,
) -> Created {
    Body::parse(&body)?.finish()?;
    sb.write(|w| {
        w.change_list(&ctx.location_id, &cid, |c| {
            insert_once(&mut c.campaigns, &campaign)
        })
    })?;
    Ok((StatusCode::CREATED, Json(json!({ "succeded": true }))))
}

pub async fn remove_campaign(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, campaign)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    sb.write(|w| {
        w.change_list(&ctx.location_id, &cid, |c| {
            remove_value(&mut c.campaigns, &campaign)
        })
    })?;
    Ok(Json(json!({ "succeded": true })))
}

pub async fn remove_all_campaigns(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(cid): Path<String>,
) -> ApiResult<Json<Value>> {
    sb.write(|w| {
        w.change_list(&ctx.location_id, &cid, |c| {
            let had = !c.campaigns.is_empty();
            c.campaigns.clear();
            had
        })
    })?;
    Ok(Json(json!({ "succeded": true })))
}

/// Adds `v` unless the list has it; whether the list changed.
fn insert_once(list: &mut Vec<Str>, v: &str) -> bool {
    let new = !list.iter().any(|x| x == v);
    if new {
        list.push(v.into());
    }
    new
}

/// Removes `v`; whether the list changed.
fn remove_value(list: &mut Vec<Str>, v: &str) -> bool {
    let before = list.len();
    list.retain(|x| x != v);
    before != list.len()
}

fn workflow_body(body: &Bytes) -> ApiResult<()> {
    let mut b = Body::parse(body)?;
    b.date_opt("eventStartTime");
    b.finish().map(drop)
}

pub async fn add_workflow(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, workflow)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    workflow_body(&body)?;
    sb.write(|w| {
        w.change_list(&ctx.location_id, &cid, |c| {
            insert_once(&mut c.workflows, &workflow)
        })
    })?;
    Ok(Json(json!({ "succeded": true })))
}

pub async fn remove_workflow(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path((cid, workflow)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    workflow_body(&body)?;
    sb.write(|w| {
        w.change_list(&ctx.location_id, &cid, |c| {
            remove_value(&mut c.workflows, &workflow)
        })
    })?;
    Ok(Json(json!({ "succeded": true })))
}

/// `POST /contacts/bulk/tags/update/{type}` with `type` `add` or `remove`.
pub async fn bulk_tags(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(kind): Path<String>,
    body: Bytes,
) -> Created {
    let mut b = Body::parse(&body)?;
    let contacts = b.strings_req("contacts");
    let tags = b.strings_req("tags");
    let remove_all = b.bool_opt("removeAllTags").unwrap_or(false);
    body_location(&ctx, &mut b)?;
    if kind != "add" && kind != "remove" {
        b.error("type must be one of the following values: add, remove".into());
    }
    b.finish()?;
    let (contacts, tags) = (contacts.unwrap_or_default(), tags.unwrap_or_default());
    let mut responses = Vec::new();
    let mut errors = 0;
    // One object per contact, as in the example of `UpdateTagsResponseDTO` in
    // `shared/ghl/apps/contacts.json`.
    sb.write(|w| {
        for cid in &contacts {
            let old = w
                .location(&ctx.location_id)
                .and_then(|l| l.contact(cid))
                .map(|c| c.tags.clone());
            let r = old.and_then(|old| {
                let new = if kind == "add" {
                    w.change_tags(&ctx.location_id, cid, &tags, &[], false)
                } else {
                    w.change_tags(&ctx.location_id, cid, &[], &tags, remove_all)
                }?;
                Ok((old, new))
            });
            match r {
                Ok((old, new)) => {
                    let added: Vec<&Str> = new.iter().filter(|t| !old.contains(t)).collect();
                    let removed: Vec<&Str> = old.iter().filter(|t| !new.contains(t)).collect();
                    responses.push(json!({
                        "contactId": cid, "message": "Tags updated", "type": "success",
                        "oldTags": old, "tagsAdded": added, "tagsRemoved": removed,
                    }));
                }
                Err(e) => {
                    errors += 1;
                    responses.push(json!({
                        "contactId": cid, "message": error_text(&e), "type": "error",
                    }));
                }
            }
        }
    });
    Ok((
        StatusCode::CREATED,
        Json(json!({ "succeded": errors == 0, "errorCount": errors, "responses": responses })),
    ))
}

fn error_text(e: &ApiError) -> String {
    match &e.message {
        crate::error::Message::One(s) => s.clone(),
        crate::error::Message::Many(v) => v.join("; "),
    }
}

pub async fn bulk_business(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let ids = b.strings_req("ids");
    body_location(&ctx, &mut b)?;
    if !b.has("businessId") {
        b.error("businessId must be a string or null".into());
    }
    let business = b.str_opt("businessId");
    if ids
        .as_ref()
        .is_some_and(|ids| ids.iter().any(|i| i.len() > 50))
    {
        b.error("each value in ids must be shorter than or equal to 50 characters".into());
    }
    b.finish()?;
    let done =
        sb.write(|w| w.set_business(&ctx.location_id, &ids.unwrap_or_default(), business))?;
    Ok(Json(json!({ "success": true, "ids": done })))
}
