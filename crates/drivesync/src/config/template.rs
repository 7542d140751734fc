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

[dashboard]
# How long the admins' dashboard keeps its per-minute figures (lag, webhooks, budget, queue,
# refusals); it charts the last 24 hours. At least "1day".
retention = "7days"
"#;

#[cfg(test)]
mod tests {
    use super::super::{Config, LocationSchedule};
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
        assert!(named >= 16, "only {named} settings were compared");
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
}
