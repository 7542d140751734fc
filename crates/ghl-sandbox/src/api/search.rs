//! `POST /contacts/search` (filters, sort, page/pageLimit and a `searchAfter` cursor) and the
//! deprecated `GET /contacts/` (startAfter/startAfterId/limit with `meta.nextPageUrl`).
//!
//! A cursor is the sort values of the last record returned plus its id, so it stays correct
//! while records are added, changed or deleted: the next page starts strictly after it.

use axum::extract::{OriginalUri, Query, State};
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use super::guard::Ctx;
use super::params::{parse_num, query_location, text_matches};
use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::model::{Contact, Str};
use crate::state::Sandbox;
use crate::time::{self, Millis};
use crate::world::LocationData;

/// HighLevel serves at most this many records through page numbers; deeper needs a cursor.
const PAGE_WINDOW: usize = 10_000;
const MAX_PAGE_LIMIT: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    DateAdded,
    DateUpdated,
    FirstName,
    LastName,
    Email,
}

const SORT_FIELDS: &str = "dateAdded, dateUpdated, firstNameLowerCase, lastNameLowerCase, email";

impl Field {
    fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "dateAdded" => Field::DateAdded,
            "dateUpdated" => Field::DateUpdated,
            "firstNameLowerCase" | "firstName" => Field::FirstName,
            "lastNameLowerCase" | "lastName" => Field::LastName,
            "email" => Field::Email,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Num(i64),
    Text(String),
}

impl Key {
    fn of(c: &Contact, f: Field) -> Key {
        let text = |v: &Option<Str>| Key::Text(v.as_deref().unwrap_or("").to_lowercase());
        match f {
            Field::DateAdded => Key::Num(c.date_added),
            Field::DateUpdated => Key::Num(c.date_updated),
            Field::FirstName => text(&c.first_name),
            Field::LastName => text(&c.last_name),
            Field::Email => text(&c.email),
        }
    }

    fn json(&self) -> Value {
        match self {
            Key::Num(n) => json!(n),
            Key::Text(s) => json!(s),
        }
    }

    fn from_json(v: &Value, f: Field) -> Option<Key> {
        match f {
            Field::DateAdded | Field::DateUpdated => v
                .as_i64()
                .or_else(|| v.as_str().and_then(time::parse))
                .map(Key::Num),
            _ => v.as_str().map(|s| Key::Text(s.to_lowercase())),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sort {
    field: Field,
    desc: bool,
}

/// One filter of the search body.
#[derive(Debug, Clone)]
enum Filter {
    Range {
        field: Field,
        gt: Option<Millis>,
        gte: Option<Millis>,
        lt: Option<Millis>,
        lte: Option<Millis>,
    },
    Eq {
        field: &'static str,
        value: String,
        negate: bool,
    },
    Tags {
        tags: Vec<String>,
        negate: bool,
    },
    Exists {
        field: &'static str,
        negate: bool,
    },
    Group {
        any: bool,
        filters: Vec<Filter>,
    },
}

const FILTER_FIELDS: &str = "dateAdded, dateUpdated, email, phone, tags, firstNameLowerCase, lastNameLowerCase, assignedTo, businessId, type, dnd, id";

fn text_field(c: &Contact, field: &str) -> Option<String> {
    let lower = |v: &Option<Str>| v.as_ref().map(|s| s.as_str().to_lowercase());
    let plain = |v: &Option<Str>| v.as_ref().map(|s| s.to_string());
    match field {
        "email" => lower(&c.email),
        "phone" => c
            .phone
            .as_deref()
            .map(|p| crate::world::normalize_phone(p).to_string()),
        "firstNameLowerCase" => lower(&c.first_name),
        "lastNameLowerCase" => lower(&c.last_name),
        "assignedTo" => plain(&c.assigned_to),
        "businessId" => plain(&c.business_id),
        "type" => Some(c.contact_type.to_string()),
        "dnd" => Some(c.dnd.to_string()),
        "id" => Some(c.id.to_string()),
        _ => None,
    }
}

/// `text_field(c, field) == value` without allocating: searches scan every contact.
fn field_eq(c: &Contact, field: &str, value: &str) -> bool {
    let lower_eq = |v: &Option<Str>| {
        v.as_deref()
            .is_some_and(|s| s.chars().flat_map(char::to_lowercase).eq(value.chars()))
    };
    match field {
        "email" => lower_eq(&c.email),
        "firstNameLowerCase" => lower_eq(&c.first_name),
        "lastNameLowerCase" => lower_eq(&c.last_name),
        "phone" => c
            .phone
            .as_deref()
            .is_some_and(|p| p.chars().filter(char::is_ascii_digit).eq(value.chars())),
        "assignedTo" => c.assigned_to.as_deref() == Some(value),
        "businessId" => c.business_id.as_deref() == Some(value),
        "type" => c.contact_type == value,
        "id" => c.id == value,
        _ => text_field(c, field).as_deref() == Some(value),
    }
}

fn static_field(f: &str) -> Option<&'static str> {
    [
        "email",
        "phone",
        "firstNameLowerCase",
        "lastNameLowerCase",
        "assignedTo",
        "businessId",
        "type",
        "dnd",
        "id",
    ]
    .into_iter()
    .find(|x| *x == f)
}

impl Filter {
    fn matches(&self, c: &Contact) -> bool {
        match self {
            Filter::Range {
                field,
                gt,
                gte,
                lt,
                lte,
            } => {
                let v = match field {
                    Field::DateUpdated => c.date_updated,
                    _ => c.date_added,
                };
                gt.is_none_or(|x| v > x)
                    && gte.is_none_or(|x| v >= x)
                    && lt.is_none_or(|x| v < x)
                    && lte.is_none_or(|x| v <= x)
            }
            Filter::Eq {
                field,
                value,
                negate,
            } => field_eq(c, field, value) != *negate,
            Filter::Tags { tags, negate } => {
                tags.iter().all(|t| c.tags.iter().any(|x| x == t)) != *negate
            }
            Filter::Exists { field, negate } => {
                let present = if *field == "tags" {
                    !c.tags.is_empty()
                } else {
                    text_field(c, field).is_some_and(|v| !v.is_empty())
                };
                present != *negate
            }
            Filter::Group { any, filters } => {
                if *any {
                    filters.iter().any(|f| f.matches(c))
                } else {
                    filters.iter().all(|f| f.matches(c))
                }
            }
        }
    }
}

fn parse_filter(v: &Value, at: &str, errors: &mut Vec<String>) -> Option<Filter> {
    if let Some(group) = v.get("group").and_then(Value::as_str) {
        let any = match group {
            "OR" => true,
            "AND" => false,
            _ => {
                errors.push(format!(
                    "{at}.group must be one of the following values: AND, OR"
                ));
                return None;
            }
        };
        let items = v
            .get("filters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let filters = items
            .iter()
            .enumerate()
            .filter_map(|(i, f)| parse_filter(f, &format!("{at}.filters.{i}"), errors))
            .collect();
        return Some(Filter::Group { any, filters });
    }
    let field = v.get("field").and_then(Value::as_str).unwrap_or_default();
    let op = v
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let value = v.get("value");
    let bad = |errors: &mut Vec<String>, why: String| {
        errors.push(format!("{at}: {why}"));
        None
    };
    match (field, op) {
        ("dateAdded" | "dateUpdated", "range") => {
            let bound = |k: &str| {
                value
                    .and_then(|v| v.get(k))
                    .and_then(|b| b.as_i64().or_else(|| b.as_str().and_then(time::parse)))
            };
            let f = Filter::Range {
                field: Field::parse(field).unwrap_or(Field::DateAdded),
                gt: bound("gt"),
                gte: bound("gte"),
                lt: bound("lt"),
                lte: bound("lte"),
            };
            if let Filter::Range {
                gt: None,
                gte: None,
                lt: None,
                lte: None,
                ..
            } = f
            {
                return bad(errors, "a range needs at least one of gt, gte, lt, lte as an ISO date or epoch milliseconds".into());
            }
            Some(f)
        }
        ("tags", "contains" | "not_contains" | "eq") => {
            let tags: Vec<String> = match value {
                Some(Value::String(s)) => vec![s.to_lowercase()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_lowercase)
                    .collect(),
                _ => return bad(errors, "tags filters take a tag or an array of tags".into()),
            };
            Some(Filter::Tags {
                tags,
                negate: op == "not_contains",
            })
        }
        (f, "exists" | "not_exists") if f == "tags" || static_field(f).is_some() => {
            Some(Filter::Exists {
                field: static_field(f).unwrap_or("tags"),
                negate: op == "not_exists",
            })
        }
        (f, "eq" | "not_eq") if static_field(f).is_some() => {
            let raw = match value {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return bad(errors, format!("{f} {op} needs a value")),
            };
            let value = match f {
                "phone" => crate::world::normalize_phone(&raw).to_string(),
                "email" | "firstNameLowerCase" | "lastNameLowerCase" => raw.to_lowercase(),
                _ => raw,
            };
            Some(Filter::Eq {
                field: static_field(f).unwrap_or("id"),
                value,
                negate: op == "not_eq",
            })
        }
        ("", _) => bad(errors, "field should not be empty".into()),
        (f, op) if Field::parse(f).is_some() || static_field(f).is_some() || f == "tags" => {
            bad(errors, format!("operator `{op}` is not supported for {f}"))
        }
        (f, _) => bad(
            errors,
            format!("field `{f}` is not supported; supported fields: {FILTER_FIELDS}"),
        ),
    }
}

struct Search {
    filters: Vec<Filter>,
    query: Option<Str>,
    sort: Vec<Sort>,
    after: Option<(Vec<Key>, String)>,
    page: usize,
    limit: usize,
}

fn parse_search(ctx: &Ctx, body: &Bytes) -> ApiResult<Search> {
    let mut b = Body::parse(body)?;
    let mut errors = Vec::new();
    let loc = b.str_req("locationId");
    let query = b.str_opt("query").map(|s| s.to_lowercase());
    let num = |v: Option<&Value>, key: &str, default: usize, errors: &mut Vec<String>| match v {
        None | Some(Value::Null) => default,
        Some(v) => match v.as_u64() {
            Some(n) => n as usize,
            None => {
                errors.push(format!("{key} must be a positive number"));
                default
            }
        },
    };
    let page = num(b.raw("page"), "page", 1, &mut errors);
    let limit = num(b.raw("pageLimit"), "pageLimit", 20, &mut errors);
    if page < 1 {
        errors.push("page must not be less than 1".into());
    }
    if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
        errors.push(format!(
            "pageLimit must be a number between 1 and {MAX_PAGE_LIMIT}"
        ));
    }
    let filters = match b.raw("filters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, f)| parse_filter(f, &format!("filters.{i}"), &mut errors))
            .collect(),
        Some(_) => {
            errors.push("filters must be an array".into());
            Vec::new()
        }
    };
    let sort = parse_sort(b.raw("sort"), &mut errors);
    let after = match b.raw("searchAfter") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.len() == sort.len() + 1 => {
            let keys: Option<Vec<Key>> = sort
                .iter()
                .zip(a.iter())
                .map(|(s, v)| Key::from_json(v, s.field))
                .collect();
            match (keys, a.last().and_then(Value::as_str)) {
                (Some(k), Some(id)) => Some((k, id.to_string())),
                _ => {
                    errors.push("searchAfter does not match the sort; pass the searchAfter of the last contact of the previous page".into());
                    None
                }
            }
        }
        Some(_) => {
            errors.push("searchAfter must be the searchAfter array of the last contact of the previous page".into());
            None
        }
    };
    if after.is_none() && page.saturating_mul(limit) > PAGE_WINDOW {
        errors.push(format!(
            "page and pageLimit can reach the first {PAGE_WINDOW} records only; use searchAfter to go deeper"
        ));
    }
    for e in errors {
        b.error(e);
    }
    b.finish()?;
    ctx.check_location(&loc.unwrap_or_default())?;
    Ok(Search {
        filters,
        query,
        sort,
        after,
        page,
        limit,
    })
}

fn parse_sort(v: Option<&Value>, errors: &mut Vec<String>) -> Vec<Sort> {
    let default = vec![Sort {
        field: Field::DateAdded,
        desc: true,
    }];
    let items = match v {
        None | Some(Value::Null) => return default,
        Some(Value::Array(a)) if a.is_empty() => return default,
        Some(Value::Array(a)) if a.len() <= 2 => a,
        Some(_) => {
            errors.push("sort must be an array of at most 2 {field, direction}".into());
            return default;
        }
    };
    let mut out = Vec::new();
    for (i, s) in items.iter().enumerate() {
        let f = s.get("field").and_then(Value::as_str).unwrap_or_default();
        let Some(field) = Field::parse(f) else {
            errors.push(format!(
                "sort.{i}.field `{f}` is not sortable; use one of {SORT_FIELDS}"
            ));
            continue;
        };
        let desc = match s.get("direction").and_then(Value::as_str).unwrap_or("asc") {
            "asc" => false,
            "desc" => true,
            _ => {
                errors.push(format!(
                    "sort.{i}.direction must be one of the following values: asc, desc"
                ));
                false
            }
        };
        out.push(Sort { field, desc });
    }
    if out.is_empty() {
        default
    } else {
        out
    }
}

fn compare(a: &(Vec<Key>, &str), b: &(Vec<Key>, &str), sort: &[Sort]) -> Ordering {
    for (i, s) in sort.iter().enumerate() {
        let o = a.0[i].partial_cmp(&b.0[i]).unwrap_or(Ordering::Equal);
        let o = if s.desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    // Ties break on id, in the direction of the first sort field.
    let o = a.1.cmp(b.1);
    if sort.first().is_some_and(|s| s.desc) {
        o.reverse()
    } else {
        o
    }
}

type Bound = std::ops::Bound<(Millis, Str)>;

/// An id greater than any real id, so `(t, TOP)` sorts after every record at time `t`.
const TOP: &str = "\u{10FFFF}";

/// The part of a date index a top-level range filter on that field allows.
fn range_bounds(filters: &[Filter], field: Field) -> (Bound, Bound) {
    use std::ops::Bound::*;
    let (mut lo, mut hi): (Bound, Bound) = (Unbounded, Unbounded);
    for f in filters {
        if let Filter::Range {
            field: rf,
            gt,
            gte,
            lt,
            lte,
        } = f
        {
            if *rf != field {
                continue;
            }
            if let Some(t) = gte {
                lo = tighter_lo(lo, Included((*t, Str::default())));
            }
            if let Some(t) = gt {
                lo = tighter_lo(lo, Excluded((*t, Str::from(TOP))));
            }
            if let Some(t) = lte {
                hi = tighter_hi(hi, Included((*t, Str::from(TOP))));
            }
            if let Some(t) = lt {
                hi = tighter_hi(hi, Excluded((*t, Str::default())));
            }
        }
    }
    (lo, hi)
}

fn bound_key(b: &Bound) -> Option<&(Millis, Str)> {
    match b {
        std::ops::Bound::Included(k) | std::ops::Bound::Excluded(k) => Some(k),
        std::ops::Bound::Unbounded => None,
    }
}

fn tighter_lo(a: Bound, b: Bound) -> Bound {
    match (bound_key(&a), bound_key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) if y > x => b,
        (Some(x), Some(y)) if y == x && matches!(b, std::ops::Bound::Excluded(_)) => b,
        _ => a,
    }
}

fn tighter_hi(a: Bound, b: Bound) -> Bound {
    match (bound_key(&a), bound_key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) if y < x => b,
        (Some(x), Some(y)) if y == x && matches!(b, std::ops::Bound::Excluded(_)) => b,
        _ => a,
    }
}

fn empty_range(lo: &Bound, hi: &Bound) -> bool {
    use std::ops::Bound::*;
    match (lo, hi) {
        (Included(a), Included(b)) => a > b,
        (Included(a) | Excluded(a), Included(b) | Excluded(b)) => a >= b,
        _ => false,
    }
}

/// A top-level `email eq` or `phone eq` names at most one contact: the index finds it, so
/// such a search never scans the location.
fn indexed_candidates<'a>(loc: &'a LocationData, filters: &[Filter]) -> Option<Vec<&'a Contact>> {
    filters.iter().find_map(|f| match f {
        Filter::Eq {
            field: "email",
            value,
            negate: false,
        } => Some(loc.find_by_email(value).into_iter().collect()),
        Filter::Eq {
            field: "phone",
            value,
            negate: false,
        } => Some(loc.find_by_phone(value).into_iter().collect()),
        _ => None,
    })
}

fn run_search(loc: &LocationData, s: &Search) -> (Vec<Value>, usize) {
    let keep = |c: &Contact| {
        s.filters.iter().all(|f| f.matches(c))
            && s.query.as_deref().is_none_or(|q| text_matches(c, q))
    };
    let skip = if s.after.is_some() {
        0
    } else {
        (s.page - 1) * s.limit
    };
    if let Some(candidates) = indexed_candidates(loc, &s.filters) {
        return sorted_page(
            candidates.into_iter().filter(|c| keep(c)).collect(),
            s,
            skip,
        );
    }
    // Fast path: one date sort walks its index, within the range filters on that date.
    if let [Sort {
        field: f @ (Field::DateAdded | Field::DateUpdated),
        desc,
    }] = s.sort[..]
    {
        let index = if f == Field::DateAdded {
            &loc.by_added
        } else {
            &loc.by_updated
        };
        let (range_lo, range_hi) = range_bounds(&s.filters, f);
        let (mut lo, mut hi) = (range_lo.clone(), range_hi.clone());
        if let Some((keys, id)) = &s.after {
            if let Some(Key::Num(n)) = keys.first() {
                let at = std::ops::Bound::Excluded((*n, Str::from(id.as_str())));
                if desc {
                    hi = tighter_hi(hi, at);
                } else {
                    lo = tighter_lo(lo, at);
                }
            }
        }
        let page: Vec<Value> = if empty_range(&lo, &hi) {
            Vec::new()
        } else {
            let range = index.range((lo, hi));
            let ids: Box<dyn Iterator<Item = &(Millis, Str)>> = if desc {
                Box::new(range.rev())
            } else {
                Box::new(range)
            };
            ids.filter_map(|(_, id)| loc.contacts.get(id).map(|c| &**c))
                .filter(|c| keep(c))
                .skip(skip)
                .take(s.limit)
                .map(|c| with_cursor(c, &s.sort))
                .collect()
        };
        let only_ranges_on_f = s.query.is_none()
            && s.filters
                .iter()
                .all(|x| matches!(x, Filter::Range { field, .. } if *field == f));
        let total = if s.filters.is_empty() && s.query.is_none() {
            loc.contacts.len()
        } else if only_ranges_on_f {
            if empty_range(&range_lo, &range_hi) {
                0
            } else {
                index.range((range_lo, range_hi)).count()
            }
        } else {
            loc.contacts.values().filter(|c| keep(c)).count()
        };
        return (page, total);
    }
    let matching: Vec<&Contact> = loc
        .contacts
        .values()
        .map(|c| &**c)
        .filter(|c| keep(c))
        .collect();
    sorted_page(matching, s, skip)
}

/// Sorts the matching contacts and cuts the page after the cursor.
fn sorted_page(matching: Vec<&Contact>, s: &Search, skip: usize) -> (Vec<Value>, usize) {
    let total = matching.len();
    let mut keyed: Vec<(Vec<Key>, &Contact)> = matching
        .into_iter()
        .map(|c| (s.sort.iter().map(|x| Key::of(c, x.field)).collect(), c))
        .collect();
    keyed.sort_by(|a, b| compare(&(a.0.clone(), &a.1.id), &(b.0.clone(), &b.1.id), &s.sort));
    let cursor = s.after.as_ref().map(|(k, id)| (k.clone(), id.as_str()));
    let page = keyed
        .iter()
        .filter(|(k, c)| {
            cursor
                .as_ref()
                .is_none_or(|cur| compare(&(k.clone(), &c.id), cur, &s.sort) == Ordering::Greater)
        })
        .skip(skip)
        .take(s.limit)
        .map(|(_, c)| with_cursor(c, &s.sort))
        .collect();
    (page, total)
}

fn with_cursor(c: &Contact, sort: &[Sort]) -> Value {
    let mut v = c.to_json();
    let mut cursor: Vec<Value> = sort.iter().map(|s| Key::of(c, s.field).json()).collect();
    cursor.push(json!(c.id));
    if let Some(o) = v.as_object_mut() {
        o.insert("searchAfter".into(), Value::Array(cursor));
    }
    v
}

pub async fn search(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let s = parse_search(&ctx, &body)?;
    sb.read(|w| {
        let (contacts, total) = run_search(w.location(&ctx.location_id)?, &s);
        Ok(Json(json!({ "contacts": contacts, "total": total })))
    })
}

/// The deprecated listing: by dateAdded ascending, `startAfter` (epoch ms) and `startAfterId`
/// continue after the last contact of the previous page.
pub async fn list(
    State(sb): State<Arc<Sandbox>>,
    Extension(ctx): Extension<Ctx>,
    OriginalUri(uri): OriginalUri,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    query_location(&ctx, &q)?;
    let limit = parse_num(&q, "limit", 20, 1, 100)?;
    let start_after = match q.get("startAfter").filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            ApiError::unprocessable(vec![
                "startAfter must be a number (epoch milliseconds)".into()
            ])
        })?),
        None => None,
    };
    let start_id: Str = q
        .get("startAfterId")
        .map(|s| Str::from(s.as_str()))
        .unwrap_or_default();
    let query = q.get("query").map(|s| s.to_lowercase());
    sb.read(|w| {
        let loc = w.location(&ctx.location_id)?;
        let iter = match start_after {
            Some(t) => loc.by_added.range((
                std::ops::Bound::Excluded((t, start_id.clone())),
                std::ops::Bound::Unbounded,
            )),
            None => loc.by_added.range(..),
        };
        let page: Vec<&Contact> = iter
            .filter_map(|(_, id)| loc.contacts.get(id).map(|c| &**c))
            .filter(|c| query.as_deref().is_none_or(|q| text_matches(c, q)))
            .take(limit)
            .collect();
        let total = match &query {
            None => loc.contacts.len(),
            Some(q) => loc.contacts.values().filter(|c| text_matches(c, q)).count(),
        };
        let mut meta = json!({ "total": total, "currentPage": 1, "prevPage": null });
        if let (Some(last), true) = (page.last(), page.len() == limit) {
            let mut next: Vec<(String, String)> = q
                .iter()
                .filter(|(k, _)| *k != "startAfter" && *k != "startAfterId")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            next.sort();
            next.push(("startAfter".into(), last.date_added.to_string()));
            next.push(("startAfterId".into(), last.id.to_string()));
            let qs = serde_urlencoded::to_string(&next).unwrap_or_default();
            let m = meta.as_object_mut().expect("literal object");
            m.insert("startAfter".into(), json!(last.date_added));
            m.insert("startAfterId".into(), json!(last.id));
            m.insert("nextPage".into(), json!(2));
            // An absolute URL, as HighLevel's `ContactsMetaSchema` example shows.
            let origin = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(|h| format!("http://{h}"))
                .unwrap_or_default();
            m.insert(
                "nextPageUrl".into(),
                json!(format!("{origin}{}?{}", uri.path(), qs)),
            );
        }
        let contacts: Vec<Value> = page.iter().map(|c| c.to_json()).collect();
        Ok(Json(
            json!({ "contacts": contacts, "count": contacts.len(), "meta": meta }),
        ))
    })
}
