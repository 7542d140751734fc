//! `drivesync.toml`: what `drivesync serve` runs from. `drivesync init` writes [`TEMPLATE`],
//! every setting commented; options on the command line and `DRIVESYNC_*` variables win.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// The commented file `drivesync init` writes. It parses to [`Config::default`] plus the
/// values uncommented in it, and a test holds the two together.
pub const TEMPLATE: &str = r#"# drivesync configuration — read by `drivesync serve` (and status, verify, backfill).
# Command-line options and DRIVESYNC_* environment variables override what is here.
# Durations are written like "30s", "5m", "2h", "1day".

[server]
# Where Drive Chat and the webhook endpoint (/webhooks/ghl) listen.
listen = "127.0.0.1:8080"
# The address people and HighLevel reach this server at (behind a proxy: its https URL).
# The OAuth redirect is <public_url>/oauth/callback.
public_url = "http://127.0.0.1:8080"
# Cookies only over HTTPS: turn on when public_url is https.
secure_cookies = false

[store]
# Files: the SQLite database and the master key (unless DRIVESYNC_MASTER_KEY is set).
data_dir = "drivesync-data"
# Use PostgreSQL instead of SQLite (several drivesync replicas can share it):
# database_url = "postgres://drivesync@db.internal/drivesync"

[highlevel]
# HighLevel's API; point both at a `drivesync sandbox` to try things out.
api_base = "https://services.leadconnectorhq.com"
authorize_url = "https://marketplace.gohighlevel.com"
# Your marketplace app's client id. Keep the client secret out of this file: set
# DRIVESYNC_CLIENT_SECRET, or `drivesync connect` stores it encrypted.
# client_id = "..."

[webhooks]
# Webhooks older than this are refused. HighLevel re-sends a webhook answered 429 for about
# 70 minutes with its original timestamp, so keep this above that.
replay_window = "2h"
# HighLevel's published Ed25519 key (x-ghl-signature) is built in. Extra public keys (PEM
# files, Ed25519 or RSA) accepted besides it: old and new together while HighLevel rotates,
# or a sandbox's (`drivesync sandbox keys`).
# keys = ["keys/ghl-ed25519.pem"]
# Also accept the legacy x-wh-signature (RSA-SHA256) with HighLevel's RSA key. HighLevel has
# signed with x-ghl-signature only since 1 July 2026: leave this off unless something still
# sends the old header, since a scheme nobody uses only widens what a forger can try.
legacy_rsa = false

[sync]
# Jobs (webhooks to apply, polls, write-backs) run at once by this process.
workers = 4
# How often each location's contacts changed since the last poll are fetched. Polling repairs
# webhooks HighLevel never delivered; it costs one request per page of changes.
poll_interval = "1m"
# How often every record of a location is compared with HighLevel, to find deletions whose
# webhook was lost. A full pass costs about 1.2 requests per contact of the daily budget
# (`drivesync status` shows what it cost last time).
reconcile_interval = "1day"
# How often each location's open tasks are searched: HighLevel sends no webhook when a task is
# edited (title, due date, assignee) or reopened. One request per 100 open tasks. "0s": never
# (such edits then wait for the reconcile).
task_poll_interval = "5m"

# Per-location overrides, e.g. a location without webhooks polled more often:
# [sync.locations.ve9EPM428h8vShlRW1KT]
# poll_interval = "20s"
# reconcile_interval = "6h"
"#;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: Server,
    pub store: Store,
    pub highlevel: HighLevel,
    pub webhooks: Webhooks,
    pub sync: Sync,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    pub listen: SocketAddr,
    pub public_url: url::Url,
    pub secure_cookies: bool,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: url::Url::parse("http://127.0.0.1:8080").expect("a valid literal URL"),
            secure_cookies: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Store {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            data_dir: PathBuf::from("drivesync-data"),
            database_url: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HighLevel {
    pub api_base: url::Url,
    pub authorize_url: url::Url,
    pub client_id: Option<String>,
}

impl Default for HighLevel {
    fn default() -> Self {
        HighLevel {
            api_base: ghl::oauth::DEFAULT_API_BASE
                .parse()
                .expect("a valid literal URL"),
            authorize_url: ghl::oauth::DEFAULT_AUTHORIZE_BASE
                .parse()
                .expect("a valid literal URL"),
            client_id: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Webhooks {
    #[serde(with = "humantime_serde")]
    pub replay_window: Duration,
    pub keys: Vec<PathBuf>,
    /// Accept `x-wh-signature` with HighLevel's RSA key too.
    pub legacy_rsa: bool,
}

impl Default for Webhooks {
    fn default() -> Self {
        Webhooks {
            replay_window: sync::ingest::DEFAULT_REPLAY_WINDOW,
            keys: Vec::new(),
            legacy_rsa: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sync {
    pub workers: usize,
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub reconcile_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub task_poll_interval: Duration,
    pub locations: BTreeMap<String, LocationSchedule>,
}

impl Default for Sync {
    fn default() -> Self {
        Sync {
            workers: 4,
            poll_interval: Duration::from_secs(60),
            reconcile_interval: Duration::from_secs(24 * 3600),
            task_poll_interval: Duration::from_secs(5 * 60),
            locations: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocationSchedule {
    #[serde(with = "humantime_serde::option")]
    pub poll_interval: Option<Duration>,
    #[serde(with = "humantime_serde::option")]
    pub reconcile_interval: Option<Duration>,
}

impl Config {
    /// Reads `path`; a missing file is the defaults only when `required` is false.
    pub fn load(path: &Path, required: bool) -> anyhow::Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Config::default())
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot read the config file {}; create one with `drivesync init`",
                        path.display()
                    )
                })
            }
        };
        Config::parse(&text).with_context(|| format!("in the config file {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.sync.workers == 0 || self.sync.workers > 256 {
            anyhow::bail!("sync.workers must be between 1 and 256");
        }
        let min = Duration::from_secs(5);
        let schedules = self
            .sync
            .locations
            .values()
            .flat_map(|l| [l.poll_interval, l.reconcile_interval])
            .flatten()
            .chain([self.sync.poll_interval, self.sync.reconcile_interval]);
        for d in schedules {
            if d < min {
                anyhow::bail!(
                    "poll and reconcile intervals must be at least 5s (got {}): shorter would \
                     spend HighLevel's rate limit on polling",
                    humantime::format_duration(d)
                );
            }
        }
        if !self.sync.task_poll_interval.is_zero() && self.sync.task_poll_interval < min {
            anyhow::bail!(
                "sync.task_poll_interval must be 0s (off) or at least 5s (got {})",
                humantime::format_duration(self.sync.task_poll_interval)
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_to_the_defaults() {
        let c = Config::parse(TEMPLATE).unwrap();
        let d = Config::default();
        assert_eq!(c.server.listen, d.server.listen);
        assert_eq!(c.server.public_url, d.server.public_url);
        assert_eq!(c.store.data_dir, d.store.data_dir);
        assert_eq!(c.highlevel.api_base, d.highlevel.api_base);
        assert_eq!(c.webhooks.replay_window, d.webhooks.replay_window);
        assert_eq!(c.sync.workers, d.sync.workers);
        assert_eq!(c.sync.poll_interval, d.sync.poll_interval);
        assert_eq!(c.sync.reconcile_interval, d.sync.reconcile_interval);
        assert_eq!(c.sync.task_poll_interval, d.sync.task_poll_interval);
        assert_eq!(c.webhooks.legacy_rsa, d.webhooks.legacy_rsa);
        assert!(
            !d.webhooks.legacy_rsa,
            "the retired RSA scheme is off by default"
        );
    }

    #[test]
    fn per_location_schedules_and_refusals() {
        let c =
            Config::parse("[sync.locations.L1]\npoll_interval = \"20s\"\n[sync]\nworkers = 2\n")
                .unwrap();
        assert_eq!(
            c.sync.locations["L1"].poll_interval,
            Some(Duration::from_secs(20))
        );
        let e = Config::parse("[sync]\npoll_interval = \"1s\"\n").unwrap_err();
        assert!(e.to_string().contains("at least 5s"), "{e}");
        let e = Config::parse("[sync]\npoll = \"1m\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = Config::parse("[sync]\npoll_interval = \"soon\"\n").unwrap_err();
        assert!(e.to_string().contains("poll_interval"), "{e}");
        let e = Config::parse("[sync]\ntask_poll_interval = \"2s\"\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("sync.task_poll_interval must be 0s (off) or at least 5s"),
            "{e}"
        );
        let off = Config::parse("[sync]\ntask_poll_interval = \"0s\"\n").unwrap();
        assert!(off.sync.task_poll_interval.is_zero());
        let e = Config::parse("[webhooks]\nlegacy_rsa = \"yes\"\n").unwrap_err();
        assert!(e.to_string().contains("legacy_rsa"), "{e}");
    }
}
