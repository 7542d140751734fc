//! What the benchmarks share: knobs from the environment and the process's memory (Linux).

/// `name` from the environment as a number, else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A field of `/proc/self/status` in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A field of `/proc/self/status` in MiB; NaN where there is none.
pub fn status_mib(field: &str) -> f64 {
    status_kib(field).map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}

/// Resident set size now, in MiB.
pub fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// Peak resident set size since the last [`reset_peak_rss`], in MiB.
pub fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Resets the peak to the current RSS (Linux 4.0+), so one phase's peak can be read alone.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A schema of its own on the PostgreSQL at `DRIVESYNC_TEST_PG_URL`; `None` when there is none
/// to use, after a line saying why: unlike a test, a benchmark reports and goes on.
pub async fn postgres() -> Option<crate::TestDb> {
    match crate::TestDb::try_postgres().await {
        Ok(Some(db)) => Some(db),
        Ok(None) => {
            println!("postgres: skipped ({} is not set)", crate::PG_URL_ENV);
            None
        }
        Err(e) => {
            println!("postgres: skipped ({e})");
            None
        }
    }
}

/// Connects `location_id` (a private integration), so the ingest stores its webhooks (it
/// drops those of locations that are not connected).
pub async fn connect_location(store: &store::Store, location_id: &str) {
    store
        .save_location(&store::NewLocation {
            location_id: location_id.into(),
            company_id: None,
            name: None,
            auth: store::AuthKind::PrivateIntegration,
            user_type: store::UserType::Location,
            scopes: Vec::new(),
            access_token: format!("pit-{location_id}").into(),
            refresh_token: None,
            expires_at_ms: None,
        })
        .await
        .expect("connect the benchmark's location");
}

/// The store at `url` under a fresh keyring; `None` after a line saying why it cannot be
/// opened (the benchmark `label` then goes on to the next).
pub async fn open_store(label: &str, url: &str) -> Option<store::Store> {
    match store::Store::connect(url, store::Keyring::generate()).await {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("{label}: cannot open the store: {e}");
            None
        }
    }
}
