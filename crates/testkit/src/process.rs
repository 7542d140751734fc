//! The drivesync binary as a process under test. The kit cannot name the binary itself (only
//! the test that builds it knows `env!("CARGO_BIN_EXE_drivesync")`), so it takes the path.

use std::ffi::OsStr;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// `bin` with no `DRIVESYNC_*` setting of the developer's shell (a config file, a master key,
/// a database URL): only what the test sets reaches the process.
pub fn drivesync(bin: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("DRIVESYNC_") {
            c.env_remove(k);
        }
    }
    c
}

/// `drivesync serve` in another process, on a port it binds itself (see
/// [`crate::free_port`]); killed with SIGKILL when dropped, so a failing assertion does not
/// leave it running.
pub struct ServeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// `drivesync serve` did not answer `/healthz` in time.
#[derive(Debug, thiserror::Error)]
#[error("drivesync serve at {url} did not become healthy within {within:?}")]
pub struct NotHealthy {
    pub url: String,
    pub within: Duration,
}

impl ServeProcess {
    /// Spawns `command` — `drivesync serve …`, configured by the test to listen on
    /// 127.0.0.1:`port`.
    pub fn spawn(mut command: Command, port: u16) -> ServeProcess {
        let child = command.spawn().expect("drivesync serve starts");
        ServeProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until `/healthz` answers 2xx.
    pub async fn wait_healthy(&self, within: Duration) -> Result<(), NotHealthy> {
        let health = format!("{}/healthz", self.url);
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(&health).await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(NotHealthy {
            url: self.url.clone(),
            within,
        })
    }

    /// SIGKILL: no shutdown path runs. Then reaps the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
