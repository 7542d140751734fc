//! Contact search (`POST /contacts/search`) and the deprecated listing (`GET /contacts/`), as
//! single pages and as streams that follow the cursor to the end.

use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::{self, Stream, TryStreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use super::Location;
use crate::error::Result;
use crate::models::Contact;

/// A search: filters, sort, page size and a cursor. Builds the body public clients send.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub page_limit: u32,
    pub page: Option<u32>,
    pub query: Option<String>,
    pub filters: Vec<Value>,
    pub sort: Vec<Value>,
    pub search_after: Option<Vec<Value>>,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            page_limit: 100,
            page: None,
            query: None,
            filters: Vec::new(),
            sort: Vec::new(),
            search_after: None,
        }
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl SearchRequest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn page_limit(mut self, n: u32) -> Self {
        self.page_limit = n;
        self
    }

    pub fn filter(mut self, field: &str, operator: &str, value: Value) -> Self {
        self.filters
            .push(json!({ "field": field, "operator": operator, "value": value }));
        self
    }

    /// Contacts changed at or after `since`, oldest change first: the poller's query.
    pub fn updated_since(self, since: DateTime<Utc>) -> Self {
        self.filter("dateUpdated", "range", json!({ "gte": iso(since) }))
            .sort_by("dateUpdated", false)
    }

    pub fn sort_by(mut self, field: &str, descending: bool) -> Self {
        let direction = if descending { "desc" } else { "asc" };
        self.sort
            .push(json!({ "field": field, "direction": direction }));
        self
    }

    pub fn query(mut self, q: impl Into<String>) -> Self {
        self.query = Some(q.into());
        self
    }

    pub fn after(mut self, cursor: Vec<Value>) -> Self {
        self.search_after = Some(cursor);
        self
    }

    fn body(&self, location: &str) -> Value {
        let mut b = json!({ "locationId": location, "pageLimit": self.page_limit });
        let o = b.as_object_mut().expect("literal object");
        if let Some(p) = self.page {
            o.insert("page".into(), json!(p));
        }
        if let Some(q) = &self.query {
            o.insert("query".into(), json!(q));
        }
        if !self.filters.is_empty() {
            o.insert("filters".into(), json!(self.filters));
        }
        if !self.sort.is_empty() {
            o.insert("sort".into(), json!(self.sort));
        }
        if let Some(a) = &self.search_after {
            o.insert("searchAfter".into(), json!(a));
        }
        b
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContactPage {
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default, deserialize_with = "crate::models::de::opt_u64")]
    pub total: Option<u64>,
}

/// A page of the deprecated listing, with the cursor of the next.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub contacts: Vec<Contact>,
    pub total: Option<u64>,
    pub next: Option<(i64, String)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMeta {
    #[serde(default, deserialize_with = "crate::models::de::opt_u64")]
    total: Option<u64>,
    #[serde(default, deserialize_with = "crate::models::de::opt_u64")]
    start_after: Option<u64>,
    #[serde(default, deserialize_with = "crate::models::de::opt_string")]
    start_after_id: Option<String>,
    #[serde(default, deserialize_with = "crate::models::de::opt_string")]
    next_page_url: Option<String>,
}

#[derive(Deserialize)]
struct RawList {
    #[serde(default)]
    contacts: Vec<Contact>,
    meta: Option<RawMeta>,
}

impl Location {
    pub async fn search_contacts(&self, req: &SearchRequest) -> Result<ContactPage> {
        self.with_body(
            "search-contacts-advanced",
            "/contacts/search".into(),
            req.body(&self.id),
        )
        .await
    }

    /// Every contact the search finds, page after page by `searchAfter`, however many there
    /// are; memory holds one page.
    pub fn search_stream(
        &self,
        req: SearchRequest,
    ) -> impl Stream<Item = Result<Contact>> + Send + 'static {
        let loc = self.clone();
        stream::try_unfold(Some(req), move |state| {
            let loc = loc.clone();
            async move {
                let Some(req) = state else { return Ok(None) };
                let page = loc.search_contacts(&req).await?;
                let full = page.contacts.len() as u32 >= req.page_limit;
                let next = match page.contacts.last().and_then(|c| c.search_after.clone()) {
                    Some(cursor) if full => Some(SearchRequest { page: None, ..req }.after(cursor)),
                    _ => None,
                };
                Ok(Some((page.contacts, next)))
            }
        })
        .map_ok(|v| stream::iter(v.into_iter().map(Ok)))
        .try_flatten()
    }

    /// One page of `GET /contacts/` (deprecated by HighLevel in favour of search).
    pub async fn list_contacts(
        &self,
        limit: u32,
        after: Option<&(i64, String)>,
        query: Option<&str>,
    ) -> Result<ListPage> {
        let mut q = vec![
            ("locationId".to_string(), self.id.clone()),
            ("limit".to_string(), limit.to_string()),
        ];
        if let Some((t, id)) = after {
            q.push(("startAfter".into(), t.to_string()));
            q.push(("startAfterId".into(), id.clone()));
        }
        if let Some(s) = query {
            q.push(("query".into(), s.to_string()));
        }
        let r: RawList = self.get("get-contacts", "/contacts/".into(), &q).await?;
        let meta = r.meta;
        let total = meta.as_ref().and_then(|m| m.total);
        let next = meta.and_then(
            |m| match (m.start_after, m.start_after_id, m.next_page_url) {
                (Some(t), Some(id), Some(_)) => Some((t as i64, id)),
                _ => None,
            },
        );
        Ok(ListPage {
            contacts: r.contacts,
            total,
            next,
        })
    }

    /// Every contact through the deprecated listing, following `startAfter`/`startAfterId`.
    pub fn list_stream(&self, limit: u32) -> impl Stream<Item = Result<Contact>> + Send + 'static {
        let loc = self.clone();
        stream::try_unfold(Some(None::<(i64, String)>), move |state| {
            let loc = loc.clone();
            async move {
                let Some(after) = state else { return Ok(None) };
                let page = loc.list_contacts(limit, after.as_ref(), None).await?;
                Ok(Some((page.contacts, page.next.map(Some))))
            }
        })
        .map_ok(|v| stream::iter(v.into_iter().map(Ok)))
        .try_flatten()
    }
}
