//! Task search across a location (`POST /locations/{locationId}/tasks/search`, scope
//! `locations/tasks.readonly`): every task of every contact without reading contact by
//! contact, as a page or as a stream that pages by `skip`/`limit` to the end.
//!
//! The spec gives the request body (`contactId`, `assignedTo`, `completed`, `query`, `skip`,
//! `limit`) but leaves the items of the answer's `tasks` untyped; they are read as the
//! contact task routes' [`Task`], with the id also accepted as `_id`.

use futures::stream::{self, Stream, TryStreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{encode, Location};
use crate::error::{GhlError, Result};
use crate::models::Task;

/// HighLevel's own page size when the body names none (the spec's default for `limit`).
pub const DEFAULT_TASK_PAGE: u32 = 25;

/// Which tasks, and which page of them. Builds the spec's `TaskSearchParamsDto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSearchRequest {
    /// How many tasks to skip: the offset of the page.
    pub skip: u32,
    /// Tasks per page; a page shorter than this is the last.
    pub limit: u32,
    /// Only tasks of these contacts (all when empty).
    pub contact_ids: Vec<String>,
    /// Only tasks assigned to these users (all when empty).
    pub assigned_to: Vec<String>,
    /// Only completed (`true`) or only open (`false`) tasks; both when `None`.
    pub completed: Option<bool>,
    /// HighLevel's free-text search over the tasks.
    pub query: Option<String>,
}

impl Default for TaskSearchRequest {
    fn default() -> Self {
        TaskSearchRequest {
            skip: 0,
            limit: DEFAULT_TASK_PAGE,
            contact_ids: Vec::new(),
            assigned_to: Vec::new(),
            completed: None,
            query: None,
        }
    }
}

impl TaskSearchRequest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn skip(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }

    pub fn limit(mut self, n: u32) -> Self {
        self.limit = n;
        self
    }

    pub fn contact_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.contact_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    pub fn assigned_to<I, S>(mut self, users: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.assigned_to = users.into_iter().map(Into::into).collect();
        self
    }

    pub fn completed(mut self, completed: bool) -> Self {
        self.completed = Some(completed);
        self
    }

    pub fn query(mut self, q: impl Into<String>) -> Self {
        self.query = Some(q.into());
        self
    }

    /// The request body; filters left open are left out rather than sent empty.
    pub fn body(&self) -> Value {
        let mut b = json!({ "skip": self.skip, "limit": self.limit });
        let o = b.as_object_mut().expect("literal object");
        if !self.contact_ids.is_empty() {
            o.insert("contactId".into(), json!(self.contact_ids));
        }
        if !self.assigned_to.is_empty() {
            o.insert("assignedTo".into(), json!(self.assigned_to));
        }
        if let Some(c) = self.completed {
            o.insert("completed".into(), json!(c));
        }
        if let Some(q) = &self.query {
            o.insert("query".into(), json!(q));
        }
        b
    }
}

/// One task of the answer: the contact routes' fields, with Mongo's `_id` where `id` is
/// missing.
#[derive(Deserialize)]
struct FoundTask {
    #[serde(flatten)]
    task: Task,
    #[serde(
        default,
        rename = "_id",
        deserialize_with = "crate::models::de::opt_string"
    )]
    underscore_id: Option<String>,
}

#[derive(Deserialize)]
struct Found {
    #[serde(default)]
    tasks: Vec<FoundTask>,
}

impl Location {
    /// One page of the location's tasks matching `req`. Each task's `contact_id` is the
    /// answer's `contactId`, or the searched contact when the search named exactly one.
    pub async fn search_tasks(&self, req: &TaskSearchRequest) -> Result<Vec<Task>> {
        if req.limit == 0 {
            return Err(GhlError::InvalidInput(
                "a task search needs a limit of at least 1".into(),
            ));
        }
        let path = format!("/locations/{}/tasks/search", encode(&self.id));
        let found: Found = self.with_body("task-search", path, req.body()).await?;
        let only_contact = match req.contact_ids.as_slice() {
            [one] => Some(one),
            _ => None,
        };
        Ok(found
            .tasks
            .into_iter()
            .map(|f| {
                let mut t = f.task;
                if t.id.is_empty() {
                    t.id = f.underscore_id.unwrap_or_default();
                }
                if t.contact_id.is_none() {
                    t.contact_id = only_contact.cloned();
                }
                t
            })
            .collect())
    }

    /// Every task matching `req` from `req.skip` on, page after page of `req.limit` until a
    /// short page; memory holds one page. Paging is by offset: a task created or deleted
    /// while the stream runs can shift the pages, so a task may be met twice or missed — a
    /// caller that must see every task reads again (the next poll does).
    pub fn task_search_stream(
        &self,
        req: TaskSearchRequest,
    ) -> impl Stream<Item = Result<Task>> + Send + 'static {
        let loc = self.clone();
        stream::try_unfold(Some(req), move |state| {
            let loc = loc.clone();
            async move {
                let Some(req) = state else { return Ok(None) };
                let page = loc.search_tasks(&req).await?;
                let got = page.len() as u32;
                let next = (got >= req.limit).then(|| TaskSearchRequest {
                    skip: req.skip.saturating_add(got),
                    ..req
                });
                Ok(Some((page, next)))
            }
        })
        .map_ok(|v| stream::iter(v.into_iter().map(Ok)))
        .try_flatten()
    }
}
