//! Times are kept as milliseconds since the Unix epoch and written the way HighLevel writes
//! them: RFC 3339 in UTC with milliseconds (`2021-11-26T12:41:02.193Z`).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};

pub type Millis = i64;

pub fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

pub fn format(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => String::new(),
    }
}

/// Parses what HighLevel accepts for a date: RFC 3339, `YYYY-MM-DD HH:MM:SS`, a bare date, or
/// epoch milliseconds written as a number or a string.
pub fn parse(s: &str) -> Option<Millis> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok();
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// Midnight UTC of the day containing `ms`.
pub fn day_start(ms: Millis) -> Millis {
    ms - ms.rem_euclid(86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_highlevel_and_parses_its_variants() {
        assert_eq!(format(1_637_930_462_193), "2021-11-26T12:41:02.193Z");
        assert_eq!(parse("2021-11-26T12:41:02.193Z"), Some(1_637_930_462_193));
        assert_eq!(parse("2023-09-25T16:00:00+05:30"), Some(1_695_637_800_000));
        assert_eq!(parse("2021-07-16 11:00:00"), Some(1_626_433_200_000));
        assert_eq!(parse("1637930462193"), Some(1_637_930_462_193));
        assert_eq!(parse("not a date"), None);
    }
}
