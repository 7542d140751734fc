//! What stands in front of every API route, in HighLevel's order: trace id, `Version` header,
//! bearer token, rate limit (with its headers on every answer), injected faults, scope.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::{Principal, TokenInfo};
use crate::counters::{bump, RequestRecord};
use crate::error::{ApiError, TRACE_ID};
use crate::faults::FaultSettings;
use crate::ratelimit::{Decision, Refusal};
use crate::state::Sandbox;
use crate::time::now_ms;
use crate::webhooks::payload::new_webhook_id;

/// Who is calling: the location the token is for, and the token.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub location_id: String,
    pub token: TokenInfo,
}

impl Ctx {
    /// Refuses a request that names a location other than the token's.
    pub fn check_location(&self, location_id: &str) -> Result<(), ApiError> {
        if location_id == self.location_id {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "The token does not have access to this location.",
            ))
        }
    }
}

/// Every response carries a `traceId` header; error bodies carry it too.
pub async fn trace(req: Request, next: Next) -> Response {
    let id = new_webhook_id();
    let mut res = TRACE_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("traceid", v);
    }
    res
}

/// The scope an operation needs, as `shared/ghl/apps/*.json` lists it: contacts, tasks, notes
/// and appointments need `*.readonly` to read and `*.write` to change (contact search is a
/// read although it is a POST); the location's own context has a scope per part.
pub fn required_scope(method: &Method, route: &str) -> &'static str {
    match route {
        "/locations/{locationId}" => return "locations.readonly",
        "/locations/{locationId}/customFields" => return "locations/customFields.readonly",
        "/locations/{locationId}/tasks/search" => return "locations/tasks.readonly",
        "/users/" | "/users" => return "users.readonly",
        "/calendars/" | "/calendars" => return "calendars.readonly",
        _ => {}
    }
    let read = method == Method::GET || route == "/contacts/search";
    match (route.starts_with("/calendars"), read) {
        (true, true) => "calendars/events.readonly",
        (true, false) => "calendars/events.write",
        (false, true) => "contacts.readonly",
        (false, false) => "contacts.write",
    }
}

pub fn require_version(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("version") {
        Some(_) => Ok(()),
        None => Err(ApiError::bad_request("version header was not found")),
    }
}

pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("Invalid JWT"))
}

pub async fn api(State(sb): State<Arc<Sandbox>>, req: Request, next: Next) -> Response {
    // Stamped on arrival: that is when HighLevel counts a request against the window.
    let arrived = now_ms();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let method = req.method().clone();
    if let Err(e) = require_version(req.headers()) {
        return e.into_response();
    }
    let bearer_token = match bearer(req.headers()) {
        Ok(b) => b.to_string(),
        Err(e) => return e.into_response(),
    };
    let token = match sb.auth.lock().validate(&bearer_token) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let Principal::Location(location_id) = token.principal.clone() else {
        return ApiError::unauthorized(
            "This authClass type is not allowed to access this scope. Please reach out to the Platform team to get it added.",
        )
        .into_response();
    };
    let decision = sb.limiter.lock().check(
        &token.app_id,
        &location_id,
        Instant::now(),
        now_ms().div_euclid(86_400_000),
    );
    let mut res = serve(
        &sb,
        &method,
        &route,
        &bearer_token,
        decision,
        token.clone(),
        &location_id,
        req,
        next,
    )
    .await;
    rate_headers(res.headers_mut(), &decision);
    sb.counters.record(RequestRecord {
        at_ms: arrived,
        app_id: token.app_id,
        location_id,
        method: method.to_string(),
        route,
        status: res.status().as_u16(),
    });
    res
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    sb: &Arc<Sandbox>,
    method: &Method,
    route: &str,
    bearer_token: &str,
    decision: Decision,
    token: TokenInfo,
    location_id: &str,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(refusal) = decision.refused {
        bump(&sb.counters.rate_limited);
        return too_many(refusal);
    }
    let faults = sb.faults.read().clone();
    if faults.applies_to(location_id) {
        if let Some(res) = injected_fault(sb, &faults).await {
            return res;
        }
    }
    let scope = required_scope(method, route);
    if !token.has_scope(scope) {
        return ApiError::unauthorized("The token is not authorized for this scope.")
            .with("requiredScope", serde_json::json!(scope))
            .into_response();
    }
    req.extensions_mut().insert(Ctx {
        location_id: location_id.to_string(),
        token,
    });
    let res = next.run(req).await;
    if faults.applies_to(location_id) && FaultSettings::roll(faults.revoke) {
        sb.auth.lock().revoke_access(bearer_token);
    }
    res
}

async fn injected_fault(sb: &Sandbox, f: &FaultSettings) -> Option<Response> {
    if FaultSettings::roll(f.storm_429) {
        bump(&sb.counters.rate_limited);
        bump(&sb.counters.api_faults);
        return Some(fault_mark(too_many(Refusal::Burst), "storm429"));
    }
    if FaultSettings::roll(f.api_5xx) {
        bump(&sb.counters.api_faults);
        let e = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
        return Some(fault_mark(e.into_response(), "api5xx"));
    }
    if FaultSettings::roll(f.api_timeout) {
        bump(&sb.counters.api_faults);
        tokio::time::sleep(Duration::from_millis(f.timeout_ms)).await;
    }
    None
}

fn fault_mark(mut res: Response, fault: &'static str) -> Response {
    res.headers_mut()
        .insert("x-sandbox-fault", HeaderValue::from_static(fault));
    res
}

fn too_many(refusal: Refusal) -> Response {
    let message = match refusal {
        Refusal::Burst => "Too many requests. The rate limit for this location has been reached; retry after the interval.",
        Refusal::Daily => "Too many requests. The daily request limit for this location has been reached.",
    };
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response()
}

fn rate_headers(h: &mut HeaderMap, d: &Decision) {
    let mut put = |name: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    put("x-ratelimit-limit-daily", d.daily_limit.to_string());
    put("x-ratelimit-daily-remaining", d.daily_remaining.to_string());
    put(
        "x-ratelimit-interval-milliseconds",
        d.interval_ms.to_string(),
    );
    put("x-ratelimit-max", d.max.to_string());
    put("x-ratelimit-remaining", d.remaining.to_string());
}

/// Turns any error answer that is not JSON (from the framework itself: a body over the limit,
/// a bad path encoding) into HighLevel's JSON error shape. HTML pages (the install page's
/// refusals, which a browser shows) are left as they are.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let ctype = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let is_json = ctype.starts_with("application/json");
    let is_html = ctype.starts_with("text/html");
    if status.as_u16() < 400 || is_json || is_html {
        return res;
    }
    let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_string()
    } else {
        text
    };
    ApiError::new(status, message).into_response()
}

/// Unknown routes answer as HighLevel's NestJS services do.
pub async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("Cannot {} {}", method, uri.path()),
    )
    .into_response()
}
