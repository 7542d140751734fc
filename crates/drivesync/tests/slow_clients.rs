//! `drivesync serve` against slow and numerous clients (issue #13), with raw TCP clients
//! doing exactly what the probe did: one header line every 2 s (slowloris), and a webhook
//! body one byte every 2 s. Each is cut within the configured limit; a client over the
//! connection limit waits until a place frees up; and the server still answers the rest.

use std::process::Stdio;
use std::time::{Duration, Instant};

use testkit::process::ServeProcess;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: usize = 4;
/// Scheduling slack on a busy machine.
const SLACK: Duration = Duration::from_secs(3);

struct Server {
    process: ServeProcess,
    addr: String,
    _dir: tempfile::TempDir,
}

fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let config = dir.path().join("drivesync.toml");
    std::fs::write(
        &config,
        format!(
            r#"[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
header_timeout = "{h}s"
request_timeout = "{r}s"
max_connections = {MAX_CONNECTIONS}
[store]
data_dir = "{data}"
[highlevel]
client_id = "slow-clients-test"
"#,
            h = HEADER_TIMEOUT.as_secs(),
            r = REQUEST_TIMEOUT.as_secs(),
            data = dir.path().join("data").display(),
        ),
    )
    .unwrap();
    let mut c = testkit::process::drivesync(env!("CARGO_BIN_EXE_drivesync"));
    c.args(["serve", "--config"])
        .arg(&config)
        .env("DRIVESYNC_CLIENT_SECRET", "not-used")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    Server {
        process: ServeProcess::spawn(c, port),
        addr: format!("127.0.0.1:{port}"),
        _dir: dir,
    }
}

/// Writes `chunks` one every `every` until the server closes the connection; how long that
/// took, or `None` if every chunk went out and the server still had not closed it.
async fn trickle(addr: &str, chunks: Vec<Vec<u8>>, every: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    for chunk in chunks {
        if s.write_all(&chunk).await.is_err() {
            return Some(started.elapsed());
        }
        // Closed (EOF or an answer followed by the close) while we wait?
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::sleep(every);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                n = s.read(&mut buf) => match n {
                    Ok(0) | Err(_) => return Some(started.elapsed()),
                    Ok(_) => continue,
                },
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_and_the_rest_served() {
    let server = serve();
    server
        .process
        .wait_healthy(Duration::from_secs(30))
        .await
        .expect("serve starts");

    // Slowloris: a request line, then one header line every 2 s, never the blank line.
    let mut lines = vec![b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec()];
    lines.extend((0..40).map(|i| format!("X-Slow-{i}: y\r\n").into_bytes()));
    let slowloris = tokio::spawn(trickle_owned(
        server.addr.clone(),
        lines,
        Duration::from_secs(2),
    ));

    // A webhook whose body comes one byte every 2 s.
    let body_len = 40;
    let mut parts = vec![format!(
        "POST /webhooks/ghl HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {body_len}\r\n\r\n"
    )
    .into_bytes()];
    parts.extend((0..body_len).map(|_| b" ".to_vec()));
    let trickled_body = tokio::spawn(trickle_owned(
        server.addr.clone(),
        parts,
        Duration::from_secs(2),
    ));

    // Meanwhile the server answers others.
    let started = Instant::now();
    let r = reqwest::get(format!("http://{}/healthz", server.addr))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2));

    let cut = slowloris.await.unwrap().expect("the slow headers were cut");
    assert!(
        cut <= HEADER_TIMEOUT + SLACK,
        "slow headers cut after {cut:?}, the limit is {HEADER_TIMEOUT:?}"
    );
    let cut = trickled_body.await.unwrap().expect("the slow body was cut");
    assert!(
        cut <= REQUEST_TIMEOUT + SLACK,
        "slow body cut after {cut:?}, the limit is {REQUEST_TIMEOUT:?}"
    );

    // The connection limit: with every place held by a silent client, the next one waits
    // (kept in the accept queue) until the header timeout frees a place, then is served.
    let mut silent = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        silent.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(format!("http://{}/healthz", server.addr))
        .timeout(HEADER_TIMEOUT + SLACK * 2)
        .send()
        .await
        .expect("served once a place frees up");
    assert_eq!(r.status(), 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1),
        "answered after {waited:?}: the limit of {MAX_CONNECTIONS} connections did not hold"
    );
    drop(silent);
}

async fn trickle_owned(addr: String, chunks: Vec<Vec<u8>>, every: Duration) -> Option<Duration> {
    trickle(&addr, chunks, every).await
}
