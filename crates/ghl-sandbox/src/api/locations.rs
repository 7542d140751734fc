//! The location's context from the Locations API (`shared/ghl/apps/locations.json`): the
//! location itself, its custom field definitions, and task search across the location.

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::guard::Ctx;
use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::model::{Contact, Str, Task};
use crate::state::Sandbox;
use crate::world::LocationData;

/// The most tasks one search returns (`limit`); HighLevel's default is 25.
pub const MAX_TASK_LIMIT: i64 = 100;
pub const DEFAULT_TASK_LIMIT: i64 = 25;

pub async fn get(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(location_id): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.check_location(&location_id)?;
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        Ok(Json(json!({ "location": loc.to_json() })))
    })
}

const FIELD_MODELS: &[&str] = &["contact", "opportunity", "all"];

/// The location's custom field definitions; every one is a contact field, so
/// `model=opportunity` lists none.
pub async fn custom_fields(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(location_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    ctx.check_location(&location_id)?;
    let model = q.get("model").map(String::as_str).unwrap_or("all");
    if !FIELD_MODELS.contains(&model) {
        return Err(ApiError::unprocessable(vec![format!(
            "model must be one of the following values: {}",
            FIELD_MODELS.join(", ")
        )]));
    }
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        let fields: Vec<Value> = if model == "opportunity" {
            Vec::new()
        } else {
            loc.custom_fields
                .iter()
                .map(|f| f.to_json(&loc.id))
                .collect()
        };
        Ok(Json(json!({ "customFields": fields })))
    })
}

/// What `POST /locations/{locationId}/tasks/search` filters on (`TaskSearchParamsDto`). An
/// empty list filters nothing, as a list left out.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub contact_ids: Vec<Str>,
    pub assigned_to: Vec<Str>,
    pub completed: Option<bool>,
    /// Matched, ignoring case, anywhere in a task's title or body.
    pub query: Option<String>,
    /// Tasks of contacts of this business.
    pub business_id: Option<Str>,
    pub skip: usize,
    pub limit: usize,
}

impl TaskQuery {
    fn parse(body: &Bytes) -> ApiResult<TaskQuery> {
        let mut b = Body::parse(body)?;
        let contact_ids = b.strings_opt("contactId").unwrap_or_default();
        let assigned_to = b.strings_opt("assignedTo").unwrap_or_default();
        let completed = b.bool_opt("completed");
        let query = b.str_opt("query");
        let business_id = b.str_opt("businessId");
        let skip = b.int_opt("skip", 0, i64::MAX).unwrap_or(0);
        let limit = b
            .int_opt("limit", 1, MAX_TASK_LIMIT)
            .unwrap_or(DEFAULT_TASK_LIMIT);
        b.finish()?;
        Ok(TaskQuery {
            contact_ids,
            assigned_to,
            completed,
            query: query
                .map(|q| q.trim().to_lowercase())
                .filter(|q| !q.is_empty()),
            business_id,
            skip: usize::try_from(skip).unwrap_or(usize::MAX),
            limit: usize::try_from(limit).unwrap_or(0),
        })
    }

    fn contact_matches(&self, c: &Contact) -> bool {
        self.business_id
            .as_ref()
            .is_none_or(|b| c.business_id.as_ref() == Some(b))
    }

    fn task_matches(&self, t: &Task) -> bool {
        let assignee = self.assigned_to.is_empty()
            || t.assigned_to
                .as_ref()
                .is_some_and(|a| self.assigned_to.contains(a));
        let text = self.query.as_ref().is_none_or(|q| {
            t.title.to_lowercase().contains(q)
                || t.body
                    .as_ref()
                    .is_some_and(|b| b.to_lowercase().contains(q))
        });
        assignee && text && self.completed.is_none_or(|c| t.completed == c)
    }
}

/// Oldest first: by `dateAdded`, then by id. A task created later sorts after every task there
/// was, so paging with `skip` and `limit` sees each task once while tasks are being added.
fn task_order(a: &&Task, b: &&Task) -> Ordering {
    (a.date_added, &a.id).cmp(&(b.date_added, &b.id))
}

/// The page of the location's tasks that `q` asks for.
pub fn search_tasks<'a>(loc: &'a LocationData, q: &TaskQuery) -> Vec<&'a Task> {
    let contacts: Vec<&Contact> = if q.contact_ids.is_empty() {
        loc.contacts.values().map(|c| &**c).collect()
    } else {
        let ids: BTreeSet<&str> = q.contact_ids.iter().map(Str::as_str).collect();
        ids.into_iter()
            .filter_map(|id| loc.contacts.get(id).map(|c| &**c))
            .collect()
    };
    let mut hits: Vec<&Task> = contacts
        .into_iter()
        .filter(|c| q.contact_matches(c))
        .flat_map(|c| c.tasks.iter())
        .filter(|t| q.task_matches(t))
        .collect();
    // Only the first skip + limit need sorting: a search scans every contact, and a location
    // may hold a million.
    let end = q.skip.saturating_add(q.limit);
    if hits.len() > end {
        hits.select_nth_unstable_by(end, task_order);
        hits.truncate(end);
    }
    hits.sort_by(task_order);
    hits.into_iter().skip(q.skip).collect()
}

pub async fn tasks_search(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    Path(location_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    ctx.check_location(&location_id)?;
    let q = TaskQuery::parse(&body)?;
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        let tasks: Vec<Value> = search_tasks(loc, &q)
            .into_iter()
            .map(Task::to_json)
            .collect();
        Ok(Json(json!({ "tasks": tasks })))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{seed_world, SeedSpec};

    fn location() -> LocationData {
        let mut w = seed_world(&SeedSpec {
            seed: 3,
            locations: 1,
            contacts_per_location: 60,
            anchor: 1_700_006_400_000,
        });
        let id = w.locations.keys().next().cloned().unwrap();
        w.locations.remove(&id).unwrap()
    }

    fn all_tasks(loc: &LocationData) -> Vec<&Task> {
        let mut all: Vec<&Task> = loc.contacts.values().flat_map(|c| c.tasks.iter()).collect();
        all.sort_by(task_order);
        all
    }

    #[test]
    fn pages_cover_every_task_once_in_order() {
        let loc = location();
        let all = all_tasks(&loc);
        assert!(all.len() > 20, "the seed has tasks to page through");
        let mut seen = Vec::new();
        for skip in (0..all.len() + 7).step_by(7) {
            let q = TaskQuery {
                skip,
                limit: 7,
                ..TaskQuery::default()
            };
            seen.extend(search_tasks(&loc, &q).into_iter().map(|t| t.id.clone()));
        }
        let want: Vec<Str> = all.iter().map(|t| t.id.clone()).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn filters_combine() {
        let loc = location();
        let all = all_tasks(&loc);
        let t = all.iter().find(|t| t.assigned_to.is_some()).unwrap();
        let q = TaskQuery {
            contact_ids: vec![t.contact_id.clone()],
            assigned_to: vec![t.assigned_to.clone().unwrap()],
            completed: Some(t.completed),
            query: Some(t.title.to_lowercase().to_string()),
            limit: 100,
            ..TaskQuery::default()
        };
        let got = search_tasks(&loc, &q);
        assert!(got.iter().any(|x| x.id == t.id));
        assert!(got.iter().all(|x| x.contact_id == t.contact_id
            && x.assigned_to == t.assigned_to
            && x.completed == t.completed
            && x.title == t.title));
        let none = TaskQuery {
            business_id: Some("no-such-business".into()),
            limit: 100,
            ..TaskQuery::default()
        };
        assert!(search_tasks(&loc, &none).is_empty());
    }
}
