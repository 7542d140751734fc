//! Wall-clock time in Unix milliseconds, the unit every timestamp column uses. Leases compare
//! against this process's clock, so hosts sharing one PostgreSQL need synchronised clocks
//! (NTP), which a lease TTL of seconds tolerates easily.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A duration in whole milliseconds, saturating rather than wrapping on absurd values.
pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
