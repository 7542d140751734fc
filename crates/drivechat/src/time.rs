//! Instants as the API and HighLevel write them (RFC 3339 in UTC), and how long ago
//! something was. Pages show instants in the member's zone: see [`crate::zone`].

use chrono::{DateTime, TimeZone as _, Utc};

pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn at(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// RFC 3339 in UTC with milliseconds, as the API and HighLevel write times.
pub(crate) fn rfc3339(ms: i64) -> String {
    at(ms).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

/// An RFC 3339 time, in ms.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

/// "in 3 days", "2 hours ago": how far `ms` is from now, roughly.
pub(crate) fn relative(ms: i64, now: i64) -> String {
    let d = ms - now;
    let a = d.abs() / 1000;
    let span = if a < 60 {
        return "just now".into();
    } else if a < 3600 {
        plural(a / 60, "minute")
    } else if a < 86_400 {
        plural(a / 3600, "hour")
    } else {
        plural(a / 86_400, "day")
    };
    if d > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_parse_and_print() {
        let ms = 1_773_100_800_000; // 2026-03-10T00:00:00Z
        assert_eq!(rfc3339(ms), "2026-03-10T00:00:00.000Z");
        assert_eq!(parse_rfc3339("2026-03-10T00:00:00Z"), Some(ms));
        assert_eq!(parse_rfc3339("2026-03-09T20:00:00-04:00"), Some(ms));
        assert!(parse_rfc3339("10/03/2026").is_none());
        assert_eq!(relative(0, 2 * DAY_MS), "2 days ago");
        assert_eq!(relative(3_600_000, 0), "in 1 hour");
    }
}
