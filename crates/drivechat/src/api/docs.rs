//! The API's documentation page: Swagger UI rendering `/api/v1/openapi.json`, at
//! `/api/v1/docs/`. Its files are compiled into the binary (no CDN), and its start-up script
//! is a file too, so the page runs under `script-src 'self'`: no inline script, no eval.
//! Like the document itself it needs no token to read; "Authorize" takes one for "Try it out".

use std::sync::{Arc, OnceLock};

use axum::extract::Path;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use utoipa_swagger_ui::Config;

use crate::{ApiError, Error};

/// Where the page is; its files are relative to it, so it ends with a slash.
const PAGE: &str = "/api/v1/docs/";

/// What the page needs to run: its own scripts, styles and the document; Swagger UI sets
/// element styles from script and draws small icons as `data:` images.
const CSP: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(
                Config::new(["/api/v1/openapi.json"])
                    .display_request_duration(true)
                    .persist_authorization(false)
                    .filter(true),
            )
        })
        .clone()
}

/// `/api/v1/docs` without the slash: the page's relative links need it.
pub(crate) async fn index_redirect() -> Redirect {
    Redirect::permanent(PAGE)
}

pub(crate) async fn index() -> Result<Response, ApiError> {
    serve("index.html")
}

/// Swagger UI's page, titled for this API.
fn retitle(file: &str, bytes: Vec<u8>) -> Vec<u8> {
    if file != "index.html" {
        return bytes;
    }
    match String::from_utf8(bytes) {
        Ok(page) => page
            .replace("<title>Swagger UI</title>", "<title>Drive Chat API</title>")
            .into_bytes(),
        Err(e) => e.into_bytes(),
    }
}

pub(crate) async fn file(Path(file): Path<String>) -> Result<Response, ApiError> {
    serve(&file)
}

fn serve(file: &str) -> Result<Response, ApiError> {
    let found = utoipa_swagger_ui::serve(file, config())
        .map_err(|e| Error::Internal(format!("the API docs page could not be made: {e}")))?
        .ok_or(Error::NotFound("API docs file"))?;
    let response = retitle(file, found.bytes.into_owned()).into_response();
    Ok(with_headers(response, &found.content_type))
}

fn with_headers(mut response: Response, content_type: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // The files change only with the binary.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
