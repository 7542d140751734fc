//! Loopback ports chosen by the OS.
//!
//! An in-process server gets its listener from [`listener`] or [`serve`]: the socket is bound
//! once and handed over, so no other test can take the port in between. Only a server in
//! another process, which must bind the port itself, needs [`free_port`].

use std::net::SocketAddr;

use tokio::task::JoinHandle;

/// A listener on 127.0.0.1 at a port the OS picked, and its address.
pub async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the listener's address");
    (listener, addr)
}

/// A loopback port that was free a moment ago, for a process that binds it itself (and, for
/// a server restarted on the same address, binds it again). Another process may take it in
/// between: prefer [`listener`] wherever the server runs in this process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// An axum router served on a loopback port of its own.
pub struct Served {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    task: JoinHandle<()>,
}

impl Served {
    /// Stops serving. Dropping a `Served` does not: the server then runs until the runtime
    /// ends, as a test that only keeps the URL expects.
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// Serves `router` on [`listener`], with the peer's address available to handlers
/// (`ConnectInfo<SocketAddr>`), as `drivesync serve` serves it.
pub async fn serve(router: axum::Router) -> Served {
    let (listener, addr) = listener().await;
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("the test server on {addr} stopped: {e}");
        }
    });
    Served {
        addr,
        url: format!("http://{addr}"),
        task,
    }
}
