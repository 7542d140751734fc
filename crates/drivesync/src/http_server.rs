//! The one HTTP server every drivesync listener runs on (`serve`: Drive Chat and webhooks;
//! `connect`: the OAuth callback), so each gets the same protection from slow and numerous
//! clients:
//!
//! - **header-read timeout**: a request's headers must all arrive within `header_read`,
//!   so a client sending one header line every few seconds (slowloris) is cut;
//! - **whole-request deadline**: the handler, including reading the body, must answer
//!   within `request`, so a body trickled one byte at a time is cut (a per-read timeout
//!   never fires on it). A response that streams afterwards (Drive Chat's live feed) is not
//!   limited: its deadline is met once its headers are sent;
//! - **connection limit**: at most `max_connections` at once; further clients wait in the
//!   kernel's accept queue until one closes;
//! - the client's address as axum's `ConnectInfo` (Drive Chat's sign-in limit uses it), and
//!   a graceful stop that lets requests in flight finish.
//!
//! axum::serve offers none of the three limits (it sets no timer, so hyper's header timeout
//! never runs), hence this accept loop over hyper's HTTP/1 connection builder. HTTP/1 only:
//! browsers speak HTTP/2 only over TLS, which a proxy in front terminates.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt as _;

/// The limits of a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub header_read: Duration,
    pub request: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `stop` completes, then waits for open connections to
/// finish their requests (the caller bounds that wait).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: Limits,
    stop: impl Future<Output = ()> + Send,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            () = &mut stop => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            handle(router.clone(), req, remote, limits.request)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%remote, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// One request, with the client's address, under the whole-request deadline.
async fn handle(
    router: axum::Router,
    mut req: Request<Incoming>,
    remote: SocketAddr,
    deadline: Duration,
) -> Result<Response, Infallible> {
    req.extensions_mut().insert(ConnectInfo(remote));
    let req = req.map(axum::body::Body::new);
    match tokio::time::timeout(deadline, router.oneshot(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::info!(%remote, "request cut: not answered within {deadline:?}");
            let mut r = (
                StatusCode::REQUEST_TIMEOUT,
                "The request took too long to arrive; send it again.",
            )
                .into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Ok(r)
        }
    }
}
