//! The settings every command runs from, and the one path they take: each setting's default
//! is written once below (the engine's come from [`sync::config::EngineConfig::default`]);
//! the config file (`drivesync.toml`, [`TEMPLATE`]) is read over the defaults; then
//! `DRIVESYNC_*` variables and flags ([`Overrides`]) over the file; and the result is
//! validated once, in [`Config::load`], before a command does anything.
//!
//! Why not a layering crate such as figment: of the four layers, two — environment and
//! flags — are already layered by clap, which reads each flag's `DRIVESYNC_*` variable,
//! lets the flag win, and lists both in `--help`. The variables' names are historical and
//! irregular (`DRIVESYNC_GHL_BASE_URL` sets `highlevel.api_base`), so figment's `Env`
//! provider would need a mapping table per variable and, to stay in `--help`, clap would still
//! declare them: two declarations per setting instead of one. What is left — a TOML file read
//! over `Default` by serde, then a handful of optional values set over it — is [`Config::load`]
//! and [`Config::apply`], shorter than figment's providers and with no second source of truth.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

mod template;

pub use template::TEMPLATE;

/// The config file read when none is named (`--config`, `DRIVESYNC_CONFIG`); optional.
pub const DEFAULT_PATH: &str = "drivesync.toml";

/// Where Drive Chat and the webhook endpoint listen unless told otherwise.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));

/// The shortest poll or reconcile interval: shorter would spend HighLevel's rate limit on
/// polling.
const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// What a setting read from the file, or the file itself, gets wrong; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {}; create one with `drivesync init`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("in the config file {}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<ConfigError>,
    },
    /// Not TOML, an unknown key, or a value of the wrong kind (toml names the key and line).
    #[error("{0}")]
    Syntax(#[from] toml::de::Error),
    #[error("sync.workers must be between 1 and 256 (got {0})")]
    Workers(usize),
    #[error(
        "{key} must be at least 5s (got {}): shorter would spend HighLevel's rate limit on polling",
        humantime::format_duration(*got)
    )]
    IntervalTooShort { key: String, got: Duration },
    #[error(
        "sync.task_poll_interval must be 0s (off) or at least 5s (got {})",
        humantime::format_duration(*.0)
    )]
    TaskPollTooShort(Duration),
    #[error("{key} must be between 1 and 100 (got {got})")]
    Percent { key: String, got: u32 },
    #[error("alerts.evaluate_every must be at least 100ms (got {})", humantime::format_duration(*.0))]
    EvaluateTooOften(Duration),
    #[error("alerts.renotify_every must be at least alerts.evaluate_every")]
    RenotifyTooOften,
    #[error(
        "server.public_url {0} cannot carry the OAuth redirect path; give the http(s) address \
         people reach this server at, e.g. https://sync.example.com"
    )]
    PublicUrl(Url),
    #[error("{key} must be at least {least} (got {got}): nothing could be served")]
    LimitTooLow {
        key: String,
        got: String,
        least: &'static str,
    },
    #[error(
        "dashboard.retention must be at least 1day (got {}): the dashboard charts the last 24 hours",
        humantime::format_duration(*.0)
    )]
    RetentionTooShort(Duration),
}

/// Everything a command runs from: the file format of `drivesync.toml`, and, once
/// [`Config::load`] returns it, the settings resolved and checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: Server,
    pub drivechat: DriveChat,
    pub store: Store,
    pub highlevel: HighLevel,
    pub webhooks: Webhooks,
    pub sync: Sync,
    pub alerts: Alerts,
    pub metrics: Metrics,
    pub log: Log,
    pub dashboard: Dashboard,
}

/// Where `/metrics` is served. Its bearer token is a secret and so not a setting of the file:
/// `DRIVESYNC_METRICS_TOKEN` (`serve --metrics-token`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Metrics {
    /// A listen address of its own for `/metrics` (and `/healthz`, `/readyz`), apart from the
    /// public one. Unset, and without a token, `/metrics` is not served at all: the figures
    /// name every location and their queues, which is nobody's business on the public port.
    pub listen: Option<SocketAddr>,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    pub format: LogFormat,
}

/// `text` for people, `json` (one object a line) for a log collector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The admins' dashboard (Drive Chat's `/w/{workspace}/dashboard`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dashboard {
    /// How long the per-minute samples its charts draw are kept.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

/// The dashboard charts the last 24 hours; samples are kept a week by default.
const DEFAULT_SAMPLE_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Less than the charts' 24 hours would leave them part empty.
const MIN_SAMPLE_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

impl Default for Dashboard {
    fn default() -> Self {
        Dashboard {
            retention: DEFAULT_SAMPLE_RETENTION,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    pub listen: SocketAddr,
    pub public_url: Url,
    /// Mark cookies `Secure` even when `public_url` is http (they are whenever it is https).
    pub secure_cookies: bool,
    /// Every listener (see `http_server`): a request's headers must arrive within this...
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// ...and the whole request (body included) be answered within this.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Connections served at once; more wait to be accepted. Each open Drive Chat page holds
    /// one for its live feed.
    pub max_connections: usize,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: DEFAULT_LISTEN,
            public_url: format!("http://{DEFAULT_LISTEN}")
                .parse()
                .expect("a socket address makes a valid URL"),
            secure_cookies: false,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

impl Server {
    /// Whether cookies are `Secure`: whenever people reach the server over https.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies || self.public_url.scheme() == "https"
    }

    /// Where HighLevel sends people back after they approve: `<public_url>/oauth/callback`.
    pub fn oauth_redirect(&self) -> Result<Url, ConfigError> {
        self.public_url
            .join("oauth/callback")
            .map_err(|_| ConfigError::PublicUrl(self.public_url.clone()))
    }
}

/// Drive Chat's sign-in settings; the defaults are `drivechat::Config`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriveChat {
    /// A session unused this long has ended.
    #[serde(with = "humantime_serde")]
    pub session_idle: Duration,
    /// A session ends this long after sign-in, used or not.
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
    /// Sign-in attempts per email and client address within `login_window`.
    pub login_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub login_window: Duration,
    /// Password checks at once, server-wide; 0: two per core.
    pub password_checks: usize,
}

impl Default for DriveChat {
    fn default() -> Self {
        let d = drivechat::Config::default();
        DriveChat {
            session_idle: d.session_idle,
            session_lifetime: d.session_ttl,
            login_attempts: d.login_attempts,
            login_window: d.login_window,
            password_checks: 0,
        }
    }
}

impl Config {
    /// Drive Chat's settings from these.
    pub fn drivechat(&self) -> drivechat::Config {
        let c = &self.drivechat;
        let defaults = drivechat::Config::default();
        drivechat::Config {
            secure_cookies: self.server.cookies_secure(),
            session_ttl: c.session_lifetime,
            session_idle: c.session_idle,
            login_attempts: c.login_attempts,
            login_window: c.login_window,
            password_checks: match c.password_checks {
                0 => defaults.password_checks,
                n => n,
            },
            ..defaults
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl Store {
    /// The database: `database_url`, else SQLite in the data directory.
    pub fn database(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("drivesync.db").display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HighLevel {
    pub api_base: Url,
    pub authorize_url: Url,
    /// The app's client id; its secret never comes from the file (see
    /// `cli::highlevel::Credentials`).
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sync {
    pub workers: usize,
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub reconcile_interval: Duration,
    /// `0s`: the open-task poll is off.
    #[serde(with = "humantime_serde")]
    pub task_poll_interval: Duration,
    pub locations: BTreeMap<String, LocationSchedule>,
}

impl Default for Sync {
    /// The engine's own defaults, so a `sync::engine::Engine` started without a config file
    /// runs as `drivesync serve` does.
    fn default() -> Self {
        let engine = sync::config::EngineConfig::default();
        Sync {
            workers: engine.workers,
            poll_interval: engine.poll_interval,
            reconcile_interval: engine.reconcile_interval,
            task_poll_interval: engine.task_poll_interval.unwrap_or(Duration::ZERO),
            locations: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocationSchedule {
    #[serde(with = "humantime_serde::option")]
    pub poll_interval: Option<Duration>,
    #[serde(with = "humantime_serde::option")]
    pub reconcile_interval: Option<Duration>,
}

/// The alert rules (`sync::alerts`) and where alerts go besides `#alerts`. A duration of `0s`
/// (or a count of 0 refusals) switches its rule off. The outbound webhook's secret never
/// comes from the file: `DRIVESYNC_ALERTS_WEBHOOK_SECRET`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Alerts {
    #[serde(with = "humantime_serde")]
    pub evaluate_every: Duration,
    #[serde(with = "humantime_serde")]
    pub renotify_every: Duration,
    #[serde(with = "humantime_serde")]
    pub webhooks_silent_after: Duration,
    pub signature_refusals: u64,
    #[serde(with = "humantime_serde")]
    pub lag_above: Duration,
    pub dead_letters_above: u64,
    pub budget_above_percent: u32,
    #[serde(with = "humantime_serde")]
    pub rate_limited_within: Duration,
    /// Where alerts are also sent (Standard Webhooks JSON, or Slack's `{"text": …}`).
    pub webhook_url: Option<Url>,
    pub webhook_format: outbound::BodyFormat,
    pub locations: BTreeMap<String, LocationAlerts>,
}

impl Default for Alerts {
    /// The rules' own defaults (`sync::alerts`), so the template and the engine agree.
    fn default() -> Self {
        let run = sync::alerts::AlertConfig::default();
        let t = run.thresholds;
        Alerts {
            evaluate_every: run.evaluate_every,
            renotify_every: run.renotify_every,
            webhooks_silent_after: t.webhooks_silent_after.unwrap_or(Duration::ZERO),
            signature_refusals: t.signature_refusals,
            lag_above: t.lag_above.unwrap_or(Duration::ZERO),
            dead_letters_above: t.dead_letters_above,
            budget_above_percent: (t.budget_above * 100.0).round() as u32,
            rate_limited_within: t.rate_limited_within.unwrap_or(Duration::ZERO),
            webhook_url: None,
            webhook_format: outbound::BodyFormat::default(),
            locations: BTreeMap::new(),
        }
    }
}

/// A location's own alert thresholds; what is left out is the `[alerts]` value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocationAlerts {
    #[serde(with = "humantime_serde::option")]
    pub webhooks_silent_after: Option<Duration>,
    pub signature_refusals: Option<u64>,
    #[serde(with = "humantime_serde::option")]
    pub lag_above: Option<Duration>,
    pub dead_letters_above: Option<u64>,
    pub budget_above_percent: Option<u32>,
    #[serde(with = "humantime_serde::option")]
    pub rate_limited_within: Option<Duration>,
}

fn off_when_zero(d: Duration) -> Option<Duration> {
    Some(d).filter(|d| !d.is_zero())
}

impl Alerts {
    /// The rules' settings: `owner` names this process in the evaluation lease.
    pub fn rules(&self) -> sync::alerts::AlertConfig {
        let base = sync::alerts::Thresholds {
            webhooks_silent_after: off_when_zero(self.webhooks_silent_after),
            signature_refusals: self.signature_refusals,
            lag_above: off_when_zero(self.lag_above),
            dead_letters_above: self.dead_letters_above,
            budget_above: f64::from(self.budget_above_percent) / 100.0,
            rate_limited_within: off_when_zero(self.rate_limited_within),
        };
        let per_location = self
            .locations
            .iter()
            .map(|(id, l)| {
                let t = sync::alerts::Thresholds {
                    webhooks_silent_after: l
                        .webhooks_silent_after
                        .map_or(base.webhooks_silent_after, off_when_zero),
                    signature_refusals: l.signature_refusals.unwrap_or(base.signature_refusals),
                    lag_above: l.lag_above.map_or(base.lag_above, off_when_zero),
                    dead_letters_above: l.dead_letters_above.unwrap_or(base.dead_letters_above),
                    budget_above: l
                        .budget_above_percent
                        .map_or(base.budget_above, |p| f64::from(p) / 100.0),
                    rate_limited_within: l
                        .rate_limited_within
                        .map_or(base.rate_limited_within, off_when_zero),
                };
                (id.clone(), t)
            })
            .collect();
        sync::alerts::AlertConfig {
            evaluate_every: self.evaluate_every,
            renotify_every: self.renotify_every,
            thresholds: base,
            per_location,
            ..sync::alerts::AlertConfig::default()
        }
    }
}

/// What `DRIVESYNC_*` variables and flags set over the file. Clap reads both (a flag wins over
/// its variable), so this one layer is the last two steps of the override order; `None` leaves
/// the file's value (or the default).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`, `DRIVESYNC_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`, `DRIVESYNC_DATABASE_URL`.
    pub database_url: Option<String>,
    /// `serve --listen`, `DRIVESYNC_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--ghl-base-url`, `DRIVESYNC_GHL_BASE_URL`.
    pub api_base: Option<Url>,
    /// `--ghl-authorize-url`, `DRIVESYNC_GHL_AUTHORIZE_URL`.
    pub authorize_url: Option<Url>,
    /// `--client-id`, `DRIVESYNC_CLIENT_ID`.
    pub client_id: Option<String>,
}

impl Config {
    /// The settings: the defaults, the file at `path` over them (a missing file is no error:
    /// the file is optional), `overrides` over that, checked.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
        let in_file = |e: ConfigError| ConfigError::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        match std::fs::read_to_string(path) {
            // Only the file's values can fail the checks (an override is checked by its type
            // when clap reads it, and the defaults pass them), so the error names the file.
            Ok(text) => Config::from_toml(&text, overrides).map_err(in_file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::from_toml("", overrides),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// A config file's `text` over the defaults, `overrides` over that, checked.
    pub fn from_toml(text: &str, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text)?;
        config.apply(overrides);
        config.check()?;
        Ok(config)
    }

    /// A file's text over the defaults, checked.
    #[cfg(test)]
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, &Overrides::default())
    }

    /// Sets what `overrides` names over the file's values: the one place the order is written.
    pub fn apply(&mut self, overrides: &Overrides) {
        let Overrides {
            data_dir,
            database_url,
            listen,
            api_base,
            authorize_url,
            client_id,
        } = overrides.clone();
        if let Some(dir) = data_dir {
            // A data directory named over the file's is another installation (e.g. `status
            // --data-dir drivesync-data/demo`): its own SQLite database, not the file's
            // `database_url` — unless a database URL is named over the file too.
            self.store.data_dir = dir;
            self.store.database_url = None;
        }
        if database_url.is_some() {
            self.store.database_url = database_url;
        }
        if let Some(l) = listen {
            self.server.listen = l;
        }
        if let Some(u) = api_base {
            self.highlevel.api_base = u;
        }
        if let Some(u) = authorize_url {
            self.highlevel.authorize_url = u;
        }
        if client_id.is_some() {
            self.highlevel.client_id = client_id;
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.dashboard.retention < MIN_SAMPLE_RETENTION {
            return Err(ConfigError::RetentionTooShort(self.dashboard.retention));
        }
        if !(1..=256).contains(&self.sync.workers) {
            return Err(ConfigError::Workers(self.sync.workers));
        }
        let mut schedules = vec![
            ("sync.poll_interval".to_string(), self.sync.poll_interval),
            (
                "sync.reconcile_interval".to_string(),
                self.sync.reconcile_interval,
            ),
        ];
        for (id, l) in &self.sync.locations {
            let key = |name| format!("sync.locations.{id}.{name}");
            schedules.extend(l.poll_interval.map(|d| (key("poll_interval"), d)));
            schedules.extend(l.reconcile_interval.map(|d| (key("reconcile_interval"), d)));
        }
        if let Some((key, got)) = schedules.into_iter().find(|(_, d)| *d < MIN_INTERVAL) {
            return Err(ConfigError::IntervalTooShort { key, got });
        }
        let task_poll = self.sync.task_poll_interval;
        if !task_poll.is_zero() && task_poll < MIN_INTERVAL {
            return Err(ConfigError::TaskPollTooShort(task_poll));
        }
        self.server.oauth_redirect()?;
        let limits = [
            ("server.header_timeout", self.server.header_timeout),
            ("server.request_timeout", self.server.request_timeout),
        ];
        if let Some((key, got)) = limits.into_iter().find(|(_, d)| d.as_secs() < 1) {
            return Err(ConfigError::LimitTooLow {
                key: key.into(),
                got: humantime::format_duration(got).to_string(),
                least: "1s",
            });
        }
        if self.server.max_connections == 0 {
            return Err(ConfigError::LimitTooLow {
                key: "server.max_connections".into(),
                got: "0".into(),
                least: "1",
            });
        }
        self.alerts.check()
    }
}

impl Alerts {
    fn check(&self) -> Result<(), ConfigError> {
        if self.evaluate_every < Duration::from_millis(100) {
            return Err(ConfigError::EvaluateTooOften(self.evaluate_every));
        }
        if self.renotify_every < self.evaluate_every {
            return Err(ConfigError::RenotifyTooOften);
        }
        let mut percents = vec![(
            "alerts.budget_above_percent".to_string(),
            self.budget_above_percent,
        )];
        for (id, l) in &self.locations {
            percents.extend(
                l.budget_above_percent
                    .map(|p| (format!("alerts.locations.{id}.budget_above_percent"), p)),
            );
        }
        if let Some((key, got)) = percents.into_iter().find(|(_, p)| !(1..=100).contains(p)) {
            return Err(ConfigError::Percent { key, got });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_limits_below_a_second_are_refused() {
        let e = Config::parse("[server]\nheader_timeout = \"0s\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "server.header_timeout must be at least 1s (got 0s): nothing could be served"
        );
        let e = Config::parse("[server]\nmax_connections = 0\n").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("server.max_connections must be at least 1"));
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

    #[test]
    fn alert_thresholds_per_location_and_refusals() {
        let c = Config::parse(
            "[alerts]\nlag_above = \"0s\"\n[alerts.locations.L1]\nlag_above = \"1m\"\n\
             budget_above_percent = 95\n",
        )
        .unwrap();
        let r = c.alerts.rules();
        assert_eq!(r.thresholds.lag_above, None);
        assert_eq!(r.thresholds("L1").lag_above, Some(Duration::from_secs(60)));
        assert_eq!(r.thresholds("L1").budget_above, 0.95);
        assert_eq!(r.thresholds("L2").budget_above, 0.8);
        assert_eq!(r.thresholds("L1").signature_refusals, 3);
        let refused = |text: &str| Config::parse(text).unwrap_err().to_string();
        assert_eq!(
            refused("[alerts]\nbudget_above_percent = 0\n"),
            "alerts.budget_above_percent must be between 1 and 100 (got 0)"
        );
        assert_eq!(
            refused("[alerts.locations.L1]\nbudget_above_percent = 150\n"),
            "alerts.locations.L1.budget_above_percent must be between 1 and 100 (got 150)"
        );
        assert_eq!(
            refused("[alerts]\nevaluate_every = \"10ms\"\n"),
            "alerts.evaluate_every must be at least 100ms (got 10ms)"
        );
        assert_eq!(
            refused("[alerts]\nevaluate_every = \"2m\"\nrenotify_every = \"1m\"\n"),
            "alerts.renotify_every must be at least alerts.evaluate_every"
        );
        assert!(refused("[alerts]\nwebhook_format = \"teams\"\n").contains("unknown variant"));
    }

    #[test]
    fn the_retired_rsa_scheme_is_off_by_default() {
        assert!(!Config::default().webhooks.legacy_rsa);
    }

    /// The refusal names the key at fault, the file it is in and what is allowed.
    #[test]
    fn a_refusal_names_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drivesync.toml");
        std::fs::write(&path, "[sync.locations.L1]\nreconcile_interval = \"1s\"\n").unwrap();
        let e = Config::load(&path, &Overrides::default()).unwrap_err();
        let chain = format!("{:#}", anyhow::Error::from(e));
        assert!(chain.contains("in the config file"), "{chain}");
        assert!(
            chain.contains("sync.locations.L1.reconcile_interval must be at least 5s (got 1s)"),
            "{chain}"
        );
        std::fs::write(&path, "[server]\npublic_url = \"mailto:ops@example.com\"\n").unwrap();
        let e = Config::load(&path, &Overrides::default()).unwrap_err();
        let chain = format!("{:#}", anyhow::Error::from(e));
        assert!(chain.contains("server.public_url"), "{chain}");
        std::fs::write(&path, "[dashboard]\nretention = \"2h\"\n").unwrap();
        let e = Config::load(&path, &Overrides::default()).unwrap_err();
        let chain = format!("{:#}", anyhow::Error::from(e));
        assert!(
            chain.contains("dashboard.retention must be at least 1day (got 2h)"),
            "{chain}"
        );
    }

    #[test]
    fn overrides_win_over_the_file_and_a_missing_file_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Config::load(&dir.path().join("none.toml"), &Overrides::default()).unwrap();
        assert_eq!(missing, Config::default());

        let path = dir.path().join("drivesync.toml");
        std::fs::write(
            &path,
            "[store]\ndatabase_url = \"postgres://db/file\"\n\
             [highlevel]\napi_base = \"http://file.example\"\nclient_id = \"file-app\"\n",
        )
        .unwrap();
        let file = Config::load(&path, &Overrides::default()).unwrap();
        assert_eq!(file.highlevel.api_base.as_str(), "http://file.example/");
        assert_eq!(file.store.database(), "postgres://db/file");

        let over = Config::load(
            &path,
            &Overrides {
                api_base: Some("http://flag.example".parse().unwrap()),
                client_id: Some("flag-app".into()),
                listen: Some("127.0.0.1:9999".parse().unwrap()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(over.highlevel.api_base.as_str(), "http://flag.example/");
        assert_eq!(over.highlevel.client_id.as_deref(), Some("flag-app"));
        assert_eq!(over.server.listen.port(), 9999);
        assert_eq!(over.highlevel.authorize_url, file.highlevel.authorize_url);

        // Another data directory is another installation: its SQLite, not the file's database;
        // a database URL named over the file still wins.
        let other = Config::load(
            &path,
            &Overrides {
                data_dir: Some("elsewhere".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(other.store.database(), "sqlite://elsewhere/drivesync.db");
        let both = Config::load(
            &path,
            &Overrides {
                data_dir: Some("elsewhere".into()),
                database_url: Some("postgres://db/flag".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(both.store.database(), "postgres://db/flag");
    }
}
