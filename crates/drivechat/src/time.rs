//! Dates as people read them. Drive Chat shows and groups times in UTC (HighLevel stores
//! them so, and a server cannot know each reader's zone without asking); labels say "UTC".

use chrono::{DateTime, Datelike as _, NaiveDate, TimeZone as _, Utc};

pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn at(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// The start (00:00 UTC) of the day holding `ms`.
pub(crate) fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// "Tue 10 Mar 2026, 14:05"
pub(crate) fn date_time(ms: i64) -> String {
    at(ms).map_or_else(String::new, |t| t.format("%a %-d %b %Y, %H:%M").to_string())
}

/// "Tue 10 Mar" (with the year when it is not this year's).
pub(crate) fn day(ms: i64) -> String {
    match at(ms) {
        Some(t) if t.year() == Utc::now().year() => t.format("%a %-d %b").to_string(),
        Some(t) => t.format("%a %-d %b %Y").to_string(),
        None => String::new(),
    }
}

/// "14:05"
pub(crate) fn clock(ms: i64) -> String {
    at(ms).map_or_else(String::new, |t| t.format("%H:%M").to_string())
}

/// RFC 3339 in UTC with milliseconds, as the API and HighLevel write times.
pub(crate) fn rfc3339(ms: i64) -> String {
    at(ms).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

/// `YYYY-MM-DD` of the day holding `ms`.
pub(crate) fn iso_day(ms: i64) -> String {
    at(ms).map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string())
}

/// The start of the UTC day written `YYYY-MM-DD`.
pub(crate) fn parse_day(s: &str) -> Option<i64> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
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
    fn days_parse_and_print() {
        let ms = parse_day("2026-03-10").unwrap();
        assert_eq!(iso_day(ms), "2026-03-10");
        assert_eq!(day_start(ms + 5000), ms);
        assert_eq!(clock(ms + 3_600_000), "01:00");
        assert_eq!(rfc3339(ms), "2026-03-10T00:00:00.000Z");
        assert_eq!(parse_rfc3339("2026-03-10T00:00:00Z"), Some(ms));
        assert!(parse_day("10/03/2026").is_none());
        assert_eq!(relative(0, 2 * DAY_MS), "2 days ago");
        assert_eq!(relative(3_600_000, 0), "in 1 hour");
    }
}
