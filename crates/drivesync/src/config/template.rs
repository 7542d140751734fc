//! The commented file `drivesync init` writes. It states every setting with its default (or, for
//! settings without one, a commented example), so the tests below hold it to [`Config::default`]
//! key by key: a default changed in one place and not the other fails them.

/// The commented file `drivesync init` writes: parses to [`Config::default`] exactly.
pub const TEMPLATE: &str = r#"# drivesync configuration — read by every drivesync command (serve, connect, api, status, …).
# DRIVESYNC_* environment variables override what is here, and command-line options both.
# Durations are written like "30s", "5m", "2h", "1day".

[server]
# Where Drive Chat and the webhook endpoint (/webhooks/ghl) listen.
listen = "127.0.0.1:8080"
# The address people and HighLevel reach this server at (behind a proxy: its https URL).
# The OAuth redirect is <public_url>/oauth/callback.
public_url = "http://127.0.0.1:8080"
# Cookies are sent over HTTPS only whenever public_url is https; this forces it otherwise.
secure_cookies = false
# Every listener cuts a client whose request headers take longer than this to arrive (one
# line every few seconds holds a connection open otherwise)...
header_timeout = "10s"
# ...and a request not answered within this, body included (a webhook trickled byte by byte).
request_timeout = "30s"
# Connections served at once (each open Drive Chat page holds one); more wait their turn.
max_connections = 1024

[drivechat]
# A sign-in ends after this long unused...
session_idle = "12h"
# ...and this long after signing in, used or not.
session_lifetime = "14days"
# Sign-in attempts per email and client address within login_window; then 429 until the
# window has passed. A successful sign-in starts the count again.
login_attempts = 5
login_window = "15m"
# Passwords checked at once (argon2id: 19 MiB and tens of milliseconds each); a sign-in
# arriving when all are busy is answered 429 at once. 0: two per core.
password_checks = 0

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

[alerts]
# Alerts are posted in #alerts of the workspace they are about (and to webhook_url below),
# with what to do; again every renotify_every while they last, and once when they recover.
# Several replicas on one database evaluate once between them. "0s" switches a rule off.
evaluate_every = "30s"
renotify_every = "1h"
# No webhook for this long while polling finds changes HighLevel sent none for.
webhooks_silent_after = "30m"
# Webhooks refused for their signature since the last one that verified (0: off). HighLevel
# signs with x-ghl-signature (Ed25519) only since July 2026.
signature_refusals = 3
# The oldest waiting job, or the last webhook's delay, older than this.
lag_above = "5m"
# Jobs in the dead-letter queue above this.
dead_letters_above = 0
# Share of HighLevel's daily request budget used.
budget_above_percent = 80
# A 429 from HighLevel within this (none for this long: recovered).
rate_limited_within = "15m"
# The store refusing writes and a location to reconnect (or whose token is not refreshed)
# always alert.
# Also send alerts here: "standard" (Standard Webhooks JSON, signed with the whsec_ secret
# in DRIVESYNC_ALERTS_WEBHOOK_SECRET) or "slack" (a {"text": ...} body for Slack and the like).
# webhook_url = "https://hooks.example.com/drivesync"
webhook_format = "standard"

# Per-location thresholds, e.g. a location that is quiet at night:
# [alerts.locations.ve9EPM428h8vShlRW1KT]
# webhooks_silent_after = "6h"
# signature_refusals = 3
# lag_above = "15m"
# dead_letters_above = 10
# budget_above_percent = 90
# rate_limited_within = "1h"

[metrics]
# /metrics (Prometheus) is never open on the public address: it names every location and its
# queues. Serve it on an address of its own, reachable only by your scraper (with /healthz
# and /readyz beside it):
# listen = "127.0.0.1:9464"
# or, on the public address, behind a bearer token: set DRIVESYNC_METRICS_TOKEN (a secret,
# so not in this file). With neither, /metrics is not served.

[log]
# "text" for people, "json" (one object per line) for a log collector. --log-format and
# DRIVESYNC_LOG_FORMAT win over this.
format = "text"

[dashboard]
# How long the admins' dashboard keeps its per-minute figures (lag, webhooks, budget, queue,
# refusals); it charts the last 24 hours. At least "1day".
retention = "7days"
"#;

#[cfg(test)]
mod tests {
    use super::super::{Config, LocationAlerts, LocationSchedule};
    use super::TEMPLATE;

    /// The template with its commented examples (`# key = value`, `# [table]`) switched on.
    fn with_examples() -> String {
        TEMPLATE
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.parse::<toml::Table>().is_ok_and(|t| !t.is_empty()) => rest,
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_template_is_the_defaults() {
        assert_eq!(Config::parse(TEMPLATE).unwrap(), Config::default());
    }

    /// Every setting of [`Config`] is in the template: set to its default, or as a commented
    /// example for those without one (and the examples are valid settings).
    #[test]
    fn the_template_names_every_setting() {
        let examples = with_examples();
        Config::parse(&examples).unwrap_or_else(|e| panic!("the examples do not parse: {e}"));
        let written: toml::Table = toml::from_str(&examples).unwrap();
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let mut named = 0;
        for (section, fields) in defaults.as_object().unwrap() {
            let table = written
                .get(section)
                .and_then(toml::Value::as_table)
                .unwrap_or_else(|| panic!("the template has no [{section}]"));
            for key in fields.as_object().unwrap().keys() {
                assert!(
                    table.contains_key(key),
                    "the template does not name {section}.{key}"
                );
                named += 1;
            }
        }
        assert!(named >= 18, "only {named} settings were compared");
        // Per-location schedules: the example location names every field one can have.
        let example = written["sync"]["locations"]
            .as_table()
            .and_then(|l| l.values().next())
            .and_then(toml::Value::as_table)
            .expect("an example [sync.locations.ID]");
        let fields = serde_json::to_value(LocationSchedule::default()).unwrap();
        for key in fields.as_object().unwrap().keys() {
            assert!(
                example.contains_key(key),
                "the template's example location does not name {key}"
            );
        }
        let example = written["alerts"]["locations"]
            .as_table()
            .and_then(|l| l.values().next())
            .and_then(toml::Value::as_table)
            .expect("an example [alerts.locations.ID]");
        let fields = serde_json::to_value(LocationAlerts::default()).unwrap();
        for key in fields.as_object().unwrap().keys() {
            assert!(
                example.contains_key(key),
                "the template's example alert location does not name {key}"
            );
        }
    }

    /// The alert defaults are the rules' own: what the template says is what runs.
    #[test]
    fn the_template_is_the_alert_rules_defaults() {
        let file = Config::parse(TEMPLATE).unwrap().alerts.rules();
        let rules = sync::alerts::AlertConfig::default();
        assert_eq!(file.thresholds, rules.thresholds);
        assert_eq!(file.evaluate_every, rules.evaluate_every);
        assert_eq!(file.renotify_every, rules.renotify_every);
        assert!(file.per_location.is_empty());
    }

    /// The engine's own defaults are the documented ones: what the template says is what an
    /// engine started without a config file does.
    #[test]
    fn the_template_is_the_engines_defaults() {
        let file = Config::parse(TEMPLATE).unwrap().sync;
        let engine = sync::config::EngineConfig::default();
        assert_eq!(file.workers, engine.workers);
        assert_eq!(file.poll_interval, engine.poll_interval);
        assert_eq!(file.reconcile_interval, engine.reconcile_interval);
        assert_eq!(Some(file.task_poll_interval), engine.task_poll_interval);
    }

    /// Drive Chat's own defaults are the documented ones too.
    #[test]
    fn the_template_is_drivechats_defaults() {
        let file = Config::parse(TEMPLATE).unwrap();
        let chat = file.drivechat();
        let defaults = drivechat::Config::default();
        assert_eq!(chat.session_idle, defaults.session_idle);
        assert_eq!(chat.session_ttl, defaults.session_ttl);
        assert_eq!(chat.login_attempts, defaults.login_attempts);
        assert_eq!(chat.login_window, defaults.login_window);
        assert_eq!(chat.password_checks, drivechat::default_password_checks());
        assert!(!chat.secure_cookies);
    }

    /// Cookies are `Secure` whenever people reach the server over https.
    #[test]
    fn an_https_public_url_makes_cookies_secure() {
        let https = Config::parse("[server]\npublic_url = \"https://sync.example.com\"\n").unwrap();
        assert!(https.drivechat().secure_cookies);
        let forced = Config::parse("[server]\nsecure_cookies = true\n").unwrap();
        assert!(forced.drivechat().secure_cookies);
        assert!(!Config::default().drivechat().secure_cookies);
        let tuned =
            Config::parse("[drivechat]\nsession_idle = \"30m\"\npassword_checks = 3\n").unwrap();
        assert_eq!(tuned.drivechat().session_idle.as_secs(), 1800);
        assert_eq!(tuned.drivechat().password_checks, 3);
    }
}
