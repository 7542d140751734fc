//! `/_sandbox/…`: the sandbox's own controls, for tests and for users checking a setup.
//! They are not HighLevel routes and need no token: the sandbox listens on loopback.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::body::Body;
use crate::config::ALL_SCOPES;
use crate::error::{ApiError, ApiResult};
use crate::faults::FaultSettings;
use crate::state::Sandbox;

pub async fn overview(State(sb): State<Arc<Sandbox>>) -> Json<Value> {
    let app = &sb.config.app;
    let limits = sb.limiter.lock().config;
    Json(json!({
        "app": {
            "appId": app.app_id,
            "clientId": app.client_id,
            "clientSecret": app.client_secret,
            "redirectUris": app.redirect_uris,
            "scopes": app.scopes,
        },
        "companyId": sb.read(|w| w.company_id.clone()),
        "locations": locations_json(&sb),
        "webhookUrl": *sb.webhook_url.read(),
        "webhookLegacySignature": sb.legacy_signature(),
        "webhookExtras": sb.webhook_extras(),
        "activityRate": sb.activity_rate(),
        "faults": *sb.faults.read(),
        "rateLimits": {
            "burst": limits.burst,
            "intervalMs": limits.interval.as_millis() as u64,
            "daily": limits.daily,
            "enabled": limits.enabled,
        },
        "accessTokenTtlSeconds": sb.config.access_token_ttl.as_secs(),
    }))
}

fn locations_json(sb: &Sandbox) -> Vec<Value> {
    let installs = sb.auth.lock().installs.clone();
    sb.read(|w| {
        w.locations
            .values()
            .map(|l| {
                json!({
                    "id": l.id,
                    "name": l.name,
                    "address": l.address_line(),
                    "timezone": l.profile.timezone,
                    "contacts": l.contacts.len(),
                    "appointments": l.appointments.len(),
                    "users": l.users,
                    "userDetails": l.user_profiles.iter().map(|u| u.to_json(&l.id)).collect::<Vec<_>>(),
                    "calendars": l.calendars.iter().map(|c| json!({"id": c.id, "groupId": c.group_id, "name": c.name})).collect::<Vec<_>>(),
                    "customFieldIds": l.custom_fields.iter().map(|f| &f.id).collect::<Vec<_>>(),
                    "customFields": l.custom_fields.iter().map(|f| f.to_json(&l.id)).collect::<Vec<_>>(),
                    "installed": installs.contains_key(l.id.as_str()),
                })
            })
            .collect()
    })
}

pub async fn locations(State(sb): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!({ "locations": locations_json(&sb) }))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct SeedRequest {
    seed: Option<u64>,
    locations: Option<usize>,
    contacts_per_location: Option<usize>,
}

fn parse<T: serde::de::DeserializeOwned + Default>(body: &Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::unprocessable(vec![e.to_string()]))
}

/// Back to the data, limits, faults and counters the sandbox started with; tokens stay.
pub async fn reset(State(sb): State<Arc<Sandbox>>) -> Json<Value> {
    let c = &sb.config;
    sb.reseed(c.seed, c.locations, c.contacts_per_location);
    *sb.faults.write() = c.faults.clone();
    sb.limiter.lock().config = c.rate_limit;
    sb.limiter.lock().reset();
    sb.counters.reset();
    sb.set_activity_rate(c.activity_rate);
    sb.set_webhook_extras(c.webhooks.extras);
    // The key was loaded at start when the config asks for legacy signing, so this cannot fail
    // then; off needs no key.
    if let Err(e) = sb.set_legacy_signature(c.webhooks.legacy_signature) {
        tracing::error!(error = %e, "legacy signing left off after reset");
    }
    Json(json!({ "reset": true, "locations": locations_json(&sb) }))
}

/// New data from another seed or size.
pub async fn seed(State(sb): State<Arc<Sandbox>>, body: Bytes) -> ApiResult<Json<Value>> {
    let r: SeedRequest = parse(&body)?;
    let c = &sb.config;
    let locations = r.locations.unwrap_or(c.locations);
    let per = r.contacts_per_location.unwrap_or(c.contacts_per_location);
    if locations == 0 || locations > 1000 || per > 2_000_000 {
        return Err(ApiError::unprocessable(vec![
            "locations must be 1 to 1000 and contactsPerLocation at most 2000000".into(),
        ]));
    }
    sb.reseed(r.seed.unwrap_or(c.seed), locations, per);
    Ok(Json(json!({ "locations": locations_json(&sb) })))
}

pub async fn record(
    State(sb): State<Arc<Sandbox>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    sb.read(|w| w.inspect(&id))
        .map(Json)
        .ok_or_else(|| ApiError::not_found("Record"))
}

pub async fn counters(State(sb): State<Arc<Sandbox>>) -> Json<Value> {
    Json(sb.counters.to_json())
}

pub async fn reset_counters(State(sb): State<Arc<Sandbox>>) -> Json<Value> {
    sb.counters.reset();
    Json(sb.counters.to_json())
}

pub async fn requests(
    State(sb): State<Arc<Sandbox>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let since = q.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
    let recs = sb
        .counters
        .requests_for(q.get("locationId").map(String::as_str), since);
    Json(json!({ "requests": recs }))
}

pub async fn get_faults(State(sb): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!(*sb.faults.read()))
}

/// Sets faults: the fields given replace the current ones; `{}` changes nothing and
/// `{"reset": true}` clears every fault.
pub async fn set_faults(State(sb): State<Arc<Sandbox>>, body: Bytes) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let reset = b.bool_opt("reset").unwrap_or(false);
    let patch = b.finish()?;
    let mut current = if reset {
        json!(FaultSettings::default())
    } else {
        json!(*sb.faults.read())
    };
    if let Some(o) = current.as_object_mut() {
        for (k, v) in patch.into_iter().filter(|(k, _)| k != "reset") {
            o.insert(k, v);
        }
    }
    let f: FaultSettings = serde_json::from_value(current)
        .map_err(|e| ApiError::unprocessable(vec![e.to_string()]))?;
    f.validate()
        .map_err(|e| ApiError::unprocessable(vec![e.to_string()]))?;
    *sb.faults.write() = f.clone();
    Ok(Json(json!(f)))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct PitRequest {
    location_id: String,
    scopes: Option<Vec<String>>,
}

/// Mints a Private Integration Token for a location.
pub async fn pit(
    State(sb): State<Arc<Sandbox>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r: PitRequest = parse(&body)?;
    let company = sb.read(|w| w.location(&r.location_id).map(|l| l.company_id.clone()));
    let company = company.map_err(|_| {
        ApiError::unprocessable(vec!["locationId is not a location of this sandbox".into()])
    })?;
    let scopes = r
        .scopes
        .unwrap_or_else(|| ALL_SCOPES.iter().map(|s| s.to_string()).collect());
    if let Some(bad) = scopes.iter().find(|s| !ALL_SCOPES.contains(&s.as_str())) {
        return Err(ApiError::unprocessable(vec![format!(
            "unknown scope `{bad}`"
        )]));
    }
    let token = sb
        .auth
        .lock()
        .mint_pit(&r.location_id, &company, scopes.clone());
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "locationId": r.location_id, "scopes": scopes })),
    ))
}

fn location_arg(sb: &Sandbox, body: &Bytes) -> ApiResult<String> {
    let mut b = Body::parse(body)?;
    let loc = b.str_req("locationId");
    b.finish()?;
    let loc = loc.unwrap_or_default();
    sb.read(|w| w.location(&loc).map(drop))?;
    Ok(loc.to_string())
}

/// The app is uninstalled from a location: its tokens die and an UNINSTALL webhook goes out.
pub async fn revoke(State(sb): State<Arc<Sandbox>>, body: Bytes) -> ApiResult<Json<Value>> {
    let loc = location_arg(&sb, &body)?;
    let revoked = sb.auth.lock().revoke_location(&loc);
    let app_id = sb.config.app.app_id.clone();
    sb.write(|w| {
        let company = w.location(&loc).map(|l| l.company_id.clone()).ok();
        let mut m = serde_json::Map::new();
        m.insert("appId".into(), json!(app_id));
        if let Some(c) = company {
            m.insert("companyId".into(), json!(c));
        }
        m.insert("locationId".into(), json!(loc));
        w.emit("UNINSTALL", &loc, m);
    });
    Ok(Json(json!({ "revokedTokens": revoked })))
}

/// Every access token of a location expires now, so a client must refresh.
pub async fn expire_tokens(State(sb): State<Arc<Sandbox>>, body: Bytes) -> ApiResult<Json<Value>> {
    let loc = location_arg(&sb, &body)?;
    let n = sb.auth.lock().expire_location(&loc);
    Ok(Json(json!({ "expiredTokens": n })))
}

pub async fn set_webhook(State(sb): State<Arc<Sandbox>>, body: Bytes) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let url = b.str_opt("url");
    b.finish()?;
    if let Some(u) = &url {
        url::Url::parse(u)
            .map_err(|e| ApiError::unprocessable(vec![format!("url is not a URL: {e}")]))?;
    }
    *sb.webhook_url.write() = url.as_ref().map(|u| u.to_string());
    Ok(Json(json!({ "url": url })))
}

pub async fn set_activity(State(sb): State<Arc<Sandbox>>, body: Bytes) -> ApiResult<Json<Value>> {
    let b = Body::parse(&body)?;
    let rate = b.raw("rate").and_then(Value::as_f64);
    let Some(rate) = rate.filter(|r| (0.0..=10_000.0).contains(r)) else {
        return Err(ApiError::unprocessable(vec![
            "rate must be a number of changes per second from 0 to 10000".into(),
        ]));
    };
    sb.set_activity_rate(rate);
    Ok(Json(json!({ "rate": rate })))
}

/// Changes the rate limits at runtime: `{burst, intervalMs, daily, enabled}`, any subset.
pub async fn set_limits(State(sb): State<Arc<Sandbox>>, body: Bytes) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let enabled = b.bool_opt("enabled");
    let num = |b: &Body, k: &str| b.raw(k).and_then(Value::as_u64);
    let (burst, interval, daily) = (num(&b, "burst"), num(&b, "intervalMs"), num(&b, "daily"));
    for (k, v) in [("burst", burst), ("intervalMs", interval), ("daily", daily)] {
        if b.has(k) && v.is_none_or(|v| v == 0) {
            b.error(format!("{k} must be a positive whole number"));
        }
    }
    b.finish()?;
    let mut l = sb.limiter.lock();
    if let Some(v) = burst {
        l.config.burst = v.min(u32::MAX as u64) as u32;
    }
    if let Some(v) = interval {
        l.config.interval = Duration::from_millis(v);
    }
    if let Some(v) = daily {
        l.config.daily = v;
    }
    if let Some(v) = enabled {
        l.config.enabled = v;
    }
    l.reset();
    let c = l.config;
    Ok(Json(json!({
        "burst": c.burst, "intervalMs": c.interval.as_millis() as u64,
        "daily": c.daily, "enabled": c.enabled,
    })))
}

/// The ids of webhooks the receiver answered 2xx, oldest first.
pub async fn deliveries(State(sb): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!({ "delivered": sb.delivered_ids() }))
}

pub async fn events(State(sb): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!({ "events": sb.recent_events() }))
}

/// Every token issued for a location, spent ones included: for leak checks in tests.
pub async fn tokens(
    State(sb): State<Arc<Sandbox>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let loc = q.get("locationId").cloned().unwrap_or_default();
    Json(json!({ "tokens": sb.auth.lock().issued_for(&loc) }))
}

/// Both public keys as PEM. The RSA key is only made when something needs it, and this is
/// such a thing (generating it takes a moment, off the async threads).
pub async fn keys(State(sb): State<Arc<Sandbox>>) -> ApiResult<Json<Value>> {
    let signer = sb.clone();
    let rsa = tokio::task::spawn_blocking(move || signer.signer.try_rsa_public_pem())
        .await
        .map_err(|e| key_failure(&e))?
        .map_err(|e| key_failure(&e))?;
    Ok(Json(json!({
        "ed25519": sb.signer.ed25519_public_pem(),
        "rsa": rsa,
    })))
}

fn key_failure(e: &dyn std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn webhook_options_json(sb: &Sandbox) -> Value {
    json!({
        "legacySignature": sb.legacy_signature(),
        "extras": sb.webhook_extras(),
    })
}

/// How webhooks are built: `legacySignature` (also sign with the legacy RSA `x-wh-signature`)
/// and `extras` (keep fields beyond HighLevel's schemas).
pub async fn get_webhook_options(State(sb): State<Arc<Sandbox>>) -> Json<Value> {
    Json(webhook_options_json(&sb))
}

/// Changes how webhooks built from now on look: the fields given replace, `{}` changes
/// nothing. Turning `legacySignature` on loads (or first generates) the RSA key; a key that
/// cannot be loaded is a 500 naming the file, and signing stays as it was.
pub async fn set_webhook_options(
    State(sb): State<Arc<Sandbox>>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut b = Body::parse(&body)?;
    let legacy = b.bool_opt("legacySignature");
    let extras = b.bool_opt("extras");
    let rest = b.finish()?;
    if let Some(k) = rest
        .keys()
        .find(|k| *k != "legacySignature" && *k != "extras")
    {
        return Err(ApiError::unprocessable(vec![format!(
            "unknown field `{k}`; known: legacySignature, extras"
        )]));
    }
    if let Some(on) = legacy {
        let target = sb.clone();
        tokio::task::spawn_blocking(move || target.set_legacy_signature(on))
            .await
            .map_err(|e| key_failure(&e))?
            .map_err(|e| key_failure(&e))?;
    }
    if let Some(on) = extras {
        sb.set_webhook_extras(on);
    }
    Ok(Json(webhook_options_json(&sb)))
}
