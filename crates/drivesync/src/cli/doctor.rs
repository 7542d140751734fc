//! `drivesync doctor`: checks what a sync needs, from the machine it runs on, and prints one
//! line per check — `✓` when it holds, `✗` with what to do when it does not — exiting
//! non-zero when anything needs fixing. Each check stands alone: a store that cannot be opened
//! does not stop the clock or HighLevel from being checked.

use std::time::Duration;

use clap::Args;

use super::common::{self, StoreArgs};
use super::highlevel::{self, HighLevelArgs};
use crate::config::Config;

/// How far this machine's clock may be from HighLevel's: webhooks are refused past a skew
/// (`ghl::webhook`), and OAuth expiry times are read against it.
const MAX_SKEW: Duration = Duration::from_secs(30);
/// How long each network check waits.
const NET_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the store gets to take the probe write.
const STORE_WRITE: Duration = Duration::from_secs(3);
/// Below this share of the day's requests left, a location's budget is a problem.
const LOW_BUDGET: f64 = 0.1;
/// Refusals older than this are history, not a current problem.
const RECENT_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    highlevel: HighLevelArgs,
    /// Check only this location [default: every connected location].
    #[arg(long)]
    location: Option<String>,
}

/// What the checks found, printed as they are found.
#[derive(Default)]
struct Report {
    problems: usize,
}

impl Report {
    fn ok(&mut self, line: impl std::fmt::Display) {
        say!("✓ {line}");
    }

    fn fix(&mut self, line: impl std::fmt::Display) {
        self.problems += 1;
        say!("✗ {line}");
    }
}

pub async fn run(args: DoctorArgs) -> anyhow::Result<std::process::ExitCode> {
    let config = args.store.settings(args.highlevel.overrides())?;
    let mut r = Report::default();
    let http = reqwest::Client::builder().timeout(NET_TIMEOUT).build()?;
    let reachable = highlevel_and_clock(&mut r, &http, &config).await;
    public_url(&mut r, &http, &config).await;
    if let Some(store) = store(&mut r, &config).await {
        locations(&mut r, &args, &config, &store, reachable).await?;
        webhooks(&mut r, &config, &store).await?;
    }
    if r.problems == 0 {
        say!("all checks passed");
        Ok(std::process::ExitCode::SUCCESS)
    } else {
        say!(
            "{} problem{} to fix",
            r.problems,
            if r.problems == 1 { "" } else { "s" }
        );
        Ok(std::process::ExitCode::FAILURE)
    }
}

/// HighLevel answers at all (any status: the API's root needs no token), and its `Date`
/// header agrees with this machine's clock. Whether HighLevel was reached.
async fn highlevel_and_clock(r: &mut Report, http: &reqwest::Client, config: &Config) -> bool {
    let base = &config.highlevel.api_base;
    let answer = match http.get(base.clone()).send().await {
        Ok(a) => a,
        Err(e) => {
            r.fix(format_args!(
                "HighLevel unreachable at {base}: {}; check the network, a proxy, or \
                 highlevel.api_base / --ghl-base-url",
                reason(&e)
            ));
            r.fix("clock not checked: HighLevel's Date header is the reference");
            return false;
        }
    };
    r.ok(format_args!("HighLevel reachable at {base}"));
    let theirs = answer
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok());
    match theirs {
        None => r.fix("clock not checked: HighLevel's answer carried no readable Date header"),
        Some(t) => {
            let skew = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                .num_seconds()
                .abs();
            if skew as u64 > MAX_SKEW.as_secs() {
                r.fix(format_args!(
                    "clock {skew}s off HighLevel's: webhooks get refused as stale or future \
                     and tokens expire early; sync the clock (NTP, e.g. `timedatectl \
                     set-ntp true`)"
                ));
            } else {
                r.ok(format_args!("clock within {skew}s of HighLevel's"));
            }
        }
    }
    true
}

/// The public URL answers `/healthz` from here: what HighLevel's webhooks and the OAuth
/// redirect need (a check from outside is stronger; this catches a wrong URL or a dead proxy).
async fn public_url(r: &mut Report, http: &reqwest::Client, config: &Config) {
    let url = &config.server.public_url;
    let Ok(health) = url.join("healthz") else {
        r.fix(format_args!(
            "server.public_url {url} takes no path; fix it"
        ));
        return;
    };
    match http.get(health.clone()).send().await {
        Ok(a) if a.status().is_success() => r.ok(format_args!("public URL {url} answers")),
        Ok(a) => r.fix(format_args!(
            "public URL {url} answered {} to /healthz: it does not reach drivesync serve; \
             check the proxy in front of it, or server.public_url",
            a.status().as_u16()
        )),
        Err(e) => r.fix(format_args!(
            "public URL {url} unreachable from this host: {}; start `drivesync serve`, or fix \
             server.public_url (HighLevel sends webhooks and people there)",
            reason(&e)
        )),
    }
}

/// The store: its schema is this build's (read without migrating), it opens and takes a
/// write. The store when it opened.
async fn store(r: &mut Report, config: &Config) -> Option<store::Store> {
    let url = config.store.database();
    match store::Store::schema_state(&url).await {
        Err(e) => {
            r.fix(format_args!("store unreachable: {e}"));
            return None;
        }
        Ok(s) if !s.is_current() => {
            r.fix(format_args!(
                "store schema at migration {} of {}: back the database up, then start \
                 `drivesync serve` (or any command) to migrate it",
                s.applied, s.known
            ));
            return None;
        }
        Ok(s) => r.ok(format_args!("store schema current (migration {})", s.known)),
    }
    let opened = match common::keyring(config) {
        Ok(k) => store::Store::connect_as_is(&url, k)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    let store = match opened {
        Ok(s) => s,
        Err(e) => {
            r.fix(format_args!("store does not open: {e:#}"));
            return None;
        }
    };
    match store.check_writable(STORE_WRITE).await {
        Ok(()) => r.ok(format_args!("store ({}) takes writes", store.backend())),
        Err(e) => r.fix(format_args!(
            "store ({}) not writable: {e}",
            store.backend()
        )),
    }
    Some(store)
}

/// Each location's token (HighLevel accepts it), scopes, expiry and rate budget.
async fn locations(
    r: &mut Report,
    args: &DoctorArgs,
    config: &Config,
    store: &store::Store,
    reachable: bool,
) -> anyhow::Result<()> {
    let ids = match common::target_locations(store, args.location.as_deref()).await {
        Ok(ids) => ids,
        Err(e) => {
            r.fix(e);
            return Ok(());
        }
    };
    let (client, _) = highlevel::from_config(config, args.highlevel.client_secret(), store).await?;
    let now = chrono::Utc::now().timestamp_millis();
    for id in ids {
        let Some(loc) = store.location(&id).await? else {
            continue;
        };
        let missing = ghl::missing_scopes(&loc.scopes);
        if !loc.scopes.is_empty() && !missing.is_empty() {
            r.fix(format_args!(
                "{id}: token lacks scopes {}; reconnect it (`drivesync connect`) granting them",
                missing.join(" ")
            ));
        } else {
            r.ok(format_args!("{id}: scopes cover what drivesync uses"));
        }
        if loc.state != store::LocationState::Ok {
            r.fix(format_args!(
                "{id}: token {}; reconnect it with `drivesync connect`",
                loc.state.as_str()
            ));
            continue;
        }
        if !reachable {
            continue;
        }
        match client.location(&id).list_contacts(1, None, None).await {
            Ok(_) => r.ok(format_args!("{id}: token accepted, {}", expiry(&loc, now))),
            Err(ghl::GhlError::Unauthorized { .. } | ghl::GhlError::NeedsReauth { .. }) => {
                r.fix(format_args!(
                    "{id}: HighLevel refuses its token (revoked, or the app uninstalled); \
                     reconnect it with `drivesync connect`"
                ));
                continue;
            }
            Err(e) => {
                r.fix(format_args!("{id}: {e}"));
                continue;
            }
        }
        let (max, every, daily_left) = client.limits().for_location(&id).limits().await;
        let daily = sync::fetch::listing::DAILY_BUDGET;
        match daily_left {
            Some(left) if (left as f64) < daily as f64 * LOW_BUDGET => r.fix(format_args!(
                "{id}: {left} of {daily} requests left today: reconciles and backfills will \
                 stall; lengthen sync.reconcile_interval or wait for the budget to renew at \
                 midnight UTC"
            )),
            _ => r.ok(format_args!(
                "{id}: rate budget {max} requests per {}s, {} left today",
                every.as_secs(),
                daily_left.map_or("unknown".to_string(), |n| n.to_string())
            )),
        }
    }
    Ok(())
}

/// When the location's token expires, as a person reads it.
fn expiry(loc: &store::LocationRecord, now_ms: i64) -> String {
    match (loc.auth, loc.expires_at_ms) {
        (_, None) => "does not expire".into(),
        (store::AuthKind::PrivateIntegration, Some(t)) => {
            format!(
                "expires in {}h (rotate it before then)",
                (t - now_ms) / 3_600_000
            )
        }
        (_, Some(t)) if t <= now_ms => "expired, refreshed on next use".into(),
        (_, Some(t)) => format!(
            "expires in {}m, refreshed automatically",
            (t - now_ms) / 60_000
        ),
    }
}

/// The webhook keys in use against what the last webhooks carried: refusals counted in the
/// last day say which signatures arrived and were turned away.
async fn webhooks(r: &mut Report, config: &Config, store: &store::Store) -> anyhow::Result<()> {
    let since = chrono::Utc::now().timestamp_millis() - RECENT_MS;
    let mut clean = true;
    for c in store.webhook_refusals().await? {
        if c.last_ms < since || c.count == 0 {
            continue;
        }
        let from = if c.scope == store::refusals::UNATTRIBUTED {
            "webhooks naming no known location".to_string()
        } else {
            format!("webhooks of {}", c.scope)
        };
        match c.reason.as_str() {
            "no_key_for_signature" if !config.webhooks.legacy_rsa => {
                clean = false;
                r.fix(format_args!(
                    "{} {from} carried only x-wh-signature (legacy RSA), which is off: have the \
                     sender sign with x-ghl-signature (Ed25519), or set webhooks.legacy_rsa = \
                     true while it moves",
                    c.count
                ));
            }
            "no_key_for_signature" | "bad_signature" => {
                clean = false;
                r.fix(format_args!(
                    "{} {from} failed their signature check ({}): add the sender's current \
                     public key to webhooks.keys (HighLevel's Ed25519 key is built in)",
                    c.count, c.reason
                ));
            }
            _ => {}
        }
    }
    if clean {
        r.ok("webhook signatures: none refused in the last day");
    }
    Ok(())
}

/// The cause of a failed request, without the URL reqwest repeats.
fn reason(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut cause = e.source();
    let mut last = None;
    while let Some(c) = cause {
        last = Some(c.to_string());
        cause = c.source();
    }
    if e.is_timeout() {
        return format!("no answer within {}s", NET_TIMEOUT.as_secs());
    }
    last.unwrap_or_else(|| e.to_string())
}
