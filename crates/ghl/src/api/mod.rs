//! One method per HighLevel operation, on a handle bound to a location.

mod calendars;
mod contacts;
mod locations;
mod search;
mod tags;
mod task_search;
mod tasks;
mod users;

pub use crate::ratelimit::Priority;
pub use calendars::EventsQuery;
pub use search::{ContactPage, ListPage, SearchRequest};
pub use tags::{BulkResult, BulkTagAction};
pub use task_search::TaskSearchRequest;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{Answer, GhlClient};
use crate::error::{GhlError, Result};
use crate::operations::{op, Operation};

/// Operations on one location, at one [`Priority`] in the location's limiter.
#[derive(Clone)]
pub struct Location {
    client: GhlClient,
    id: String,
    priority: Priority,
}

/// Handles are made here, beside the type they make, so that the request pipeline in
/// `client` needs nothing from the operations built on it.
impl GhlClient {
    /// Operations on one location.
    pub fn location(&self, location_id: impl Into<String>) -> Location {
        Location {
            client: self.clone(),
            id: location_id.into(),
            priority: Priority::default(),
        }
    }
}

impl Location {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This handle with every call (and every retry of it, and every page of a stream made
    /// from it) queued at `priority` in the location's limiter: [`Priority::Interactive`] for
    /// what a person waits on, [`Priority::Bulk`] for backfills. The default is
    /// [`Priority::Sync`].
    pub fn with_priority(mut self, priority: Priority) -> Location {
        self.priority = priority;
        self
    }

    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// This location's limiter (shared with every other handle on it): its limits and what
    /// has been spent, for progress reports.
    pub fn limiter(&self) -> std::sync::Arc<crate::ratelimit::LocationLimiter> {
        self.client.limits().for_location(&self.id)
    }

    /// Runs any operation of the table: `params` fill the path's `{…}` and the rest go to the
    /// query string. The scripting door behind `drivesync api`. The location itself need not
    /// be given: a `{locationId}` in the path, and a `locationId` query parameter the
    /// operation requires ([`Operation::location_in_query`]), are this handle's id unless
    /// `params` say otherwise.
    pub async fn call(
        &self,
        op: &Operation,
        params: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let names = op.path_params();
        let mut path = op.path.to_string();
        for n in &names {
            let v = params
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .or((*n == "locationId").then_some(self.id.as_str()))
                .ok_or_else(|| {
                    GhlError::InvalidInput(format!("{} needs --param {n}=VALUE", op.id))
                })?;
            path = path.replace(&format!("{{{n}}}"), &encode(v));
        }
        let mut query: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| !names.contains(&k.as_str()))
            .cloned()
            .collect();
        if op.location_in_query() && !query.iter().any(|(k, _)| k == "locationId") {
            query.push(("locationId".into(), self.id.clone()));
        }
        let a = self
            .client
            .execute_with_priority(&self.id, self.priority, op, &path, &query, body)
            .await?;
        a.json(op.id)
    }

    async fn send(
        &self,
        op_id: &str,
        path: String,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Answer> {
        self.client
            .execute_with_priority(&self.id, self.priority, op(op_id), &path, query, body)
            .await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        op_id: &str,
        path: String,
        query: &[(String, String)],
    ) -> Result<T> {
        self.send(op_id, path, query, None).await?.json(op_id)
    }

    async fn with_body<T: DeserializeOwned>(
        &self,
        op_id: &str,
        path: String,
        body: Value,
    ) -> Result<T> {
        self.send(op_id, path, &[], Some(&body)).await?.json(op_id)
    }

    async fn no_body<T: DeserializeOwned>(&self, op_id: &str, path: String) -> Result<T> {
        self.send(op_id, path, &[], None).await?.json(op_id)
    }
}

/// Path segments come from callers and from HighLevel: encode them.
pub(crate) fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| GhlError::InvalidInput(e.to_string()))
}

/// `{"succeded": true}` or `{"succeeded": true}` or `{"success": true}`: HighLevel spells it
/// every way.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct Succeeded {
    #[serde(
        default,
        alias = "succeded",
        alias = "success",
        deserialize_with = "crate::models::de::bool"
    )]
    pub succeeded: bool,
}
