//! OAuth routes: the install page (`/oauth/chooselocation`), the token endpoint, company to
//! location tokens, and installed locations.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use maud::{html, Markup, DOCTYPE};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

use super::guard::{bearer, require_version};
use crate::auth::{Principal, TokenRequest, UserType};
use crate::counters::bump;
use crate::error::{ApiError, ApiResult};
use crate::state::Sandbox;
use crate::time::{format, now_ms};

fn page(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · HighLevel sandbox" }
                    style { (STYLE) }
                }
                body { main { (body) } }
            }
        }
        .into_string(),
    )
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;background:#f4f6fb;color:#1d2433;margin:0}\
main{max-width:560px;margin:48px auto;background:#fff;border-radius:12px;padding:32px;box-shadow:0 2px 12px #0001}\
h1{font-size:22px;margin:0 0 8px}p.muted{color:#5b6478}ul{list-style:none;padding:0}\
li{display:flex;justify-content:space-between;align-items:center;border:1px solid #e3e7ef;border-radius:8px;padding:12px 16px;margin:8px 0}\
button{background:#155eef;color:#fff;border:0;border-radius:6px;padding:8px 14px;font-size:15px;cursor:pointer}\
code{background:#eef1f6;padding:2px 6px;border-radius:4px}.error{color:#b42318}";

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = page(
        "Cannot authorize",
        html! {
            h1 { "This app cannot be installed" }
            p.error { (message) }
            p.muted { "Check the app's client_id, redirect_uri and scopes against the sandbox's registered app (printed when the sandbox starts)." }
        },
    );
    (status, body).into_response()
}

/// `GET /oauth/chooselocation`: the page where an agency admin picks a location and approves.
/// With `location_id=ID&approve=1` it approves at once (for scripts and tests).
pub async fn choose_location(
    State(sb): State<Arc<Sandbox>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let app = &sb.config.app;
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code" {
        return error_page(StatusCode::BAD_REQUEST, "response_type must be `code`.");
    }
    if get("client_id") != app.client_id {
        return error_page(StatusCode::BAD_REQUEST, "Unknown client_id.");
    }
    let redirect_uri = get("redirect_uri");
    if !app.redirect_uris.contains(&redirect_uri) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not one of the app's registered redirect URIs.",
        );
    }
    let requested: Vec<String> = get("scope")
        .split([' ', '+'])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if requested.is_empty() {
        return error_page(StatusCode::BAD_REQUEST, "scope should not be empty.");
    }
    if let Some(bad) = requested.iter().find(|s| !app.scopes.contains(s)) {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("The app is not allowed the scope `{bad}`."),
        );
    }
    if q.get("approve").map(String::as_str) == Some("1") {
        return approve(&sb, &q, &redirect_uri, requested);
    }
    let locations: Vec<(String, String, String)> = sb.read(|w| {
        w.locations
            .values()
            .map(|l| (l.id.to_string(), l.name.clone(), l.address_line()))
            .collect()
    });
    page(
        "Choose a location",
        html! {
            h1 { "Install drivesync" }
            p.muted { "The app asks for: " @for s in &requested { code { (s) } " " } }
            p { "Choose the sub-account (location) to connect:" }
            ul {
                @for (id, name, address) in &locations {
                    li {
                        div { strong { (name) } br; small.muted { (address) } }
                        form method="get" action="/oauth/chooselocation" {
                            @for (k, v) in &q {
                                @if k != "location_id" && k != "approve" {
                                    input type="hidden" name=(k) value=(v);
                                }
                            }
                            input type="hidden" name="location_id" value=(id);
                            input type="hidden" name="approve" value="1";
                            button type="submit" { "Approve" }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

fn approve(
    sb: &Sandbox,
    q: &HashMap<String, String>,
    redirect_uri: &str,
    scopes: Vec<String>,
) -> Response {
    let location_id = q.get("location_id").cloned().unwrap_or_default();
    let company_id = sb.read(|w| w.company_id.clone());
    let company_name = sb.read(|w| w.company_name.clone());
    // The admin approving the install is the location's first user (its admin), so the
    // INSTALL webhook's and the token's `userId` are a user `GET /users/` lists.
    let installer = sb.read(|w| {
        w.location(&location_id)
            .ok()
            .map(|l| l.users.first().cloned().unwrap_or_default())
    });
    let Some(installer) = installer else {
        return error_page(StatusCode::BAD_REQUEST, "Unknown location_id.");
    };
    let app = &sb.config.app;
    let code = sb.auth.lock().issue_code(
        &app.client_id,
        redirect_uri,
        &location_id,
        &company_id,
        scopes,
        &installer,
    );
    let mut m = Map::new();
    for (k, v) in [
        ("appId", app.app_id.as_str()),
        ("locationId", location_id.as_str()),
        ("companyId", company_id.as_str()),
        ("userId", installer.as_str()),
        ("planId", "sandbox-plan"),
        ("companyName", company_name.as_str()),
    ] {
        m.insert(k.into(), json!(v));
    }
    m.insert(
        "trial".into(),
        json!({"onTrial": false, "trialDuration": 0, "trialStartDate": format(now_ms())}),
    );
    m.insert("isWhitelabelCompany".into(), json!(false));
    m.insert("whitelabelDetails".into(), json!({}));
    sb.write(|w| w.emit("INSTALL", &location_id, m));
    let mut target = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "redirect_uri is not a URL."),
    };
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = q.get("state") {
        target.query_pairs_mut().append_pair("state", state);
    }
    // 302, as HighLevel's install flow and RFC 6749 §4.1.2 answer.
    (
        StatusCode::FOUND,
        [(axum::http::header::LOCATION, target.as_str().to_string())],
    )
        .into_response()
}

fn form_body(headers: &HeaderMap, body: &Bytes) -> ApiResult<TokenRequest> {
    let ctype = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ctype.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::bad_request(
            "Send the token request form-encoded (Content-Type: application/x-www-form-urlencoded).",
        ));
    }
    serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::bad_request(format!("Malformed form body: {e}")))
}

/// `POST /oauth/token`: `authorization_code` and `refresh_token` grants.
pub async fn token(
    State(sb): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req = form_body(&headers, &body)?;
    let mut missing = Vec::new();
    for (k, v) in [
        ("client_id", &req.client_id),
        ("client_secret", &req.client_secret),
        ("grant_type", &req.grant_type),
    ] {
        if v.as_deref().is_none_or(str::is_empty) {
            missing.push(format!("{k} should not be empty"));
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::unprocessable(missing));
    }
    if let Some(t) = req.user_type.as_deref() {
        if UserType::parse(t).is_none() {
            return Err(ApiError::unprocessable(vec![
                "user_type must be one of the following values: Company, Location".into(),
            ]));
        }
    }
    let app = &sb.config.app;
    if req.client_id.as_deref() != Some(&app.client_id)
        || req.client_secret.as_deref() != Some(&app.client_secret)
    {
        return Err(ApiError::unauthorized("Invalid client credentials")
            .with_error("invalid_client")
            .with("error_description", json!("Invalid client credentials")));
    }
    let ttl = sb.config.access_token_ttl.as_secs();
    match req.grant_type.as_deref() {
        Some("authorization_code") => {
            let r = sb.auth.lock().exchange_code(&app.app_id, &req, ttl);
            if r.is_ok() {
                bump(&sb.counters.token_exchanges);
            }
            r.map(Json)
        }
        Some("refresh_token") => {
            let r = sb.auth.lock().refresh(&app.app_id, &req, ttl);
            match &r {
                Ok(_) => bump(&sb.counters.refreshes),
                Err(_) => bump(&sb.counters.refresh_refused),
            }
            r.map(Json)
        }
        _ => Err(ApiError::unprocessable(vec![
            "grant_type must be one of the following values: authorization_code, refresh_token"
                .into(),
        ])
        .with_error("unsupported_grant_type")),
    }
}

fn company_token(sb: &Sandbox, headers: &HeaderMap) -> ApiResult<crate::auth::TokenInfo> {
    require_version(headers)?;
    let t = sb.auth.lock().validate(bearer(headers)?)?;
    match t.principal {
        Principal::Company(_) => Ok(t),
        Principal::Location(_) => Err(ApiError::unauthorized(
            "This route needs an agency (Company) token; exchange the code with user_type=Company.",
        )),
    }
}

/// `POST /oauth/locationToken`: a location token from a company token.
pub async fn location_token(
    State(sb): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let company = company_token(&sb, &headers)?;
    if !company.has_scope("oauth.write") {
        return Err(ApiError::unauthorized(
            "The token is not authorized for this scope.",
        ));
    }
    let form: HashMap<String, String> = {
        let ctype = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if ctype.starts_with("application/json") {
            serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?
        } else {
            serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::bad_request(e.to_string()))?
        }
    };
    let mut missing = Vec::new();
    for k in ["companyId", "locationId"] {
        if form.get(k).is_none_or(|v| v.is_empty()) {
            missing.push(format!("{k} should not be empty"));
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::unprocessable(missing));
    }
    if form["companyId"] != company.company_id {
        return Err(ApiError::forbidden(
            "The token does not have access to this company.",
        ));
    }
    let loc = &form["locationId"];
    if !sb.auth.lock().installs.contains_key(loc) {
        return Err(ApiError::bad_request(
            "The app is not installed on this location.",
        ));
    }
    let ttl = sb.config.access_token_ttl.as_secs();
    Ok(Json(sb.auth.lock().location_token(&company, loc, ttl)))
}

/// `GET /oauth/installedLocations`.
pub async fn installed_locations(
    State(sb): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let company = company_token(&sb, &headers)?;
    if !company.has_scope("oauth.readonly") {
        return Err(ApiError::unauthorized(
            "The token is not authorized for this scope.",
        ));
    }
    let mut missing = Vec::new();
    for k in ["companyId", "appId"] {
        if q.get(k).is_none_or(|v| v.is_empty()) {
            missing.push(format!("{k} should not be empty"));
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::unprocessable(missing));
    }
    if q["companyId"] != company.company_id {
        return Err(ApiError::forbidden(
            "The token does not have access to this company.",
        ));
    }
    let skip = super::params::parse_num(&q, "skip", 0, 0, usize::MAX)?;
    let limit = super::params::parse_num(&q, "limit", 20, 1, 500)?;
    let query = q.get("query").map(|s| s.to_lowercase());
    let only = q.get("isInstalled").map(|s| s == "true");
    let installs = sb.auth.lock().installs.clone();
    let all: Vec<Value> = sb.read(|w| {
        w.locations
            .values()
            .filter(|l| {
                query
                    .as_deref()
                    .is_none_or(|s| l.name.to_lowercase().contains(s))
            })
            .filter_map(|l| {
                let inst = installs.get(l.id.as_str());
                if only.is_some_and(|o| o != inst.is_some()) {
                    return None;
                }
                let mut v = json!({
                    "_id": l.id, "name": l.name, "address": l.address_line(),
                    "isInstalled": inst.is_some(),
                });
                if let (Some(i), Some(o)) = (inst, v.as_object_mut()) {
                    o.insert("installedAt".into(), json!(format(i.installed_at)));
                }
                Some(v)
            })
            .collect()
    });
    let count = all.len();
    let page: Vec<Value> = all.into_iter().skip(skip).take(limit).collect();
    Ok(Json(
        json!({ "locations": page, "count": count, "installToFutureLocations": false }),
    ))
}
