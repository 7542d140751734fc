//! Time zones: IANA names read with chrono-tz (the tz database's rules, DST included — no
//! zone arithmetic of our own), instants shown in one format with their zone, days that
//! start at local midnight, and times people type converted to UTC.
//!
//! Every instant on a page is shown by [`when`] ("Tue 10 Mar 2026, 14:05 EDT"), or by
//! [`clock`] (its time part, "14:05 EDT") under a heading that already names the day. The API
//! keeps RFC 3339 in UTC (`crate::time::rfc3339`).

use chrono::{DateTime, Datelike as _, Days, LocalResult, NaiveDate, NaiveTime, TimeZone as _};
use chrono_tz::Tz;

use crate::Error;

/// The zone named `name` (an IANA name such as `America/New_York`; case is forgiven).
pub(crate) fn parse(name: &str) -> Option<Tz> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    name.parse::<Tz>()
        .ok()
        .or_else(|| all().find(|z| z.name().eq_ignore_ascii_case(name)))
}

/// Every zone a member may pick, by name.
pub(crate) fn all() -> impl Iterator<Item = Tz> {
    chrono_tz::TZ_VARIANTS.iter().copied()
}

fn at(ms: i64, tz: Tz) -> Option<DateTime<Tz>> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&tz))
}

/// "Tue 10 Mar 2026, 14:05 EDT": the one way an instant is written on a page.
pub(crate) fn when(ms: i64, tz: Tz) -> String {
    at(ms, tz).map_or_else(String::new, |t| {
        t.format("%a %-d %b %Y, %H:%M %Z").to_string()
    })
}

/// "14:05 EDT": the time part of [`when`], under a heading that names the day.
pub(crate) fn clock(ms: i64, tz: Tz) -> String {
    at(ms, tz).map_or_else(String::new, |t| t.format("%H:%M %Z").to_string())
}

/// "Tue 10 Mar" (with the year when it is not this year) of the local day holding `ms`: a
/// heading for a day, not an instant.
pub(crate) fn day(ms: i64, tz: Tz, now: i64) -> String {
    match (at(ms, tz), at(now, tz)) {
        (Some(t), Some(n)) if t.year() == n.year() => t.format("%a %-d %b").to_string(),
        (Some(t), _) => t.format("%a %-d %b %Y").to_string(),
        _ => String::new(),
    }
}

/// `YYYY-MM-DD` of the local day holding `ms`.
pub(crate) fn iso_day(ms: i64, tz: Tz) -> String {
    at(ms, tz).map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string())
}

/// The first instant of local date `d`: its midnight, or where a DST jump skips midnight
/// (some zones move clocks at 00:00) the first minute that exists.
fn start_of(d: NaiveDate, tz: Tz) -> i64 {
    let mut local = d.and_time(NaiveTime::MIN);
    for _ in 0..(24 * 60) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.timestamp_millis(),
            LocalResult::None => local += chrono::Duration::minutes(1),
        }
    }
    // No zone skips a whole day at midnight in this direction; fall back to UTC midnight.
    d.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

/// The start of the local day holding `ms`.
pub(crate) fn day_start(ms: i64, tz: Tz) -> i64 {
    at(ms, tz).map_or(ms, |t| start_of(t.date_naive(), tz))
}

/// The start of the local day `days` days after the one holding `ms` (days are 23 or 25
/// hours long across a DST change, so this is not a multiple of 24 hours).
pub(crate) fn days_later(ms: i64, tz: Tz, days: u32) -> i64 {
    at(ms, tz)
        .and_then(|t| t.date_naive().checked_add_days(Days::new(u64::from(days))))
        .map_or(ms, |d| start_of(d, tz))
}

/// The start of local day `YYYY-MM-DD`.
pub(crate) fn parse_day(s: &str, tz: Tz) -> Option<i64> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some(start_of(d, tz))
}

/// The instant a person means by local date `day` (`YYYY-MM-DD`) and time `clock` (`HH:MM`)
/// in `tz`. A time the clocks skip (spring forward) is refused; a time they pass twice (fall
/// back) is the first of the two.
pub(crate) fn local_to_utc(tz: Tz, day: &str, clock: &str) -> Result<i64, Error> {
    let d = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").map_err(|_| {
        Error::BadRequest(format!("the date must be YYYY-MM-DD, not {:?}", day.trim()))
    })?;
    let t = NaiveTime::parse_from_str(clock.trim(), "%H:%M").map_err(|_| {
        Error::BadRequest(format!(
            "the time must be HH:MM (24-hour), not {:?}",
            clock.trim()
        ))
    })?;
    match tz.from_local_datetime(&d.and_time(t)) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => Ok(x.timestamp_millis()),
        LocalResult::None => Err(Error::BadRequest(format!(
            "{} {} does not exist in {}: the clocks skip it for daylight saving time; pick \
             another time",
            d.format("%Y-%m-%d"),
            t.format("%H:%M"),
            tz.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny() -> Tz {
        parse("America/New_York").unwrap()
    }

    #[test]
    fn names_parse_forgivingly() {
        assert_eq!(parse(" america/new_york "), Some(ny()));
        assert_eq!(parse("UTC"), Some(Tz::UTC));
        assert_eq!(parse("Mars/Olympus"), None);
        assert_eq!(parse(""), None);
        assert!(all().any(|z| z == ny()));
    }

    #[test]
    fn local_times_convert_across_dst() {
        // New York moved to EDT (UTC-4) on Sunday 8 March 2026 at 02:00.
        let before = local_to_utc(ny(), "2026-03-07", "17:00").unwrap();
        let after = local_to_utc(ny(), "2026-03-09", "17:00").unwrap();
        assert_eq!(crate::time::rfc3339(before), "2026-03-07T22:00:00.000Z");
        assert_eq!(crate::time::rfc3339(after), "2026-03-09T21:00:00.000Z");
        let gap = local_to_utc(ny(), "2026-03-08", "02:30").unwrap_err();
        assert!(gap.to_string().contains("does not exist"), "{gap}");
        // 1 November 2026, 01:30 happens twice; the first is still EDT.
        let twice = local_to_utc(ny(), "2026-11-01", "01:30").unwrap();
        assert_eq!(crate::time::rfc3339(twice), "2026-11-01T05:30:00.000Z");
        assert!(local_to_utc(ny(), "03/09/2026", "17:00").is_err());
        assert!(local_to_utc(ny(), "2026-03-09", "5pm").is_err());
    }

    #[test]
    fn instants_show_with_their_zone_and_days_are_local() {
        let ms = local_to_utc(ny(), "2026-03-09", "17:00").unwrap();
        assert_eq!(when(ms, ny()), "Mon 9 Mar 2026, 17:00 EDT");
        assert_eq!(when(ms, Tz::UTC), "Mon 9 Mar 2026, 21:00 UTC");
        assert_eq!(clock(ms, ny()), "17:00 EDT");
        assert_eq!(iso_day(ms, ny()), "2026-03-09");
        let start = day_start(ms, ny());
        assert_eq!(crate::time::rfc3339(start), "2026-03-09T04:00:00.000Z");
        // The day clocks spring forward is 23 hours long.
        let dst_day = parse_day("2026-03-08", ny()).unwrap();
        assert_eq!(days_later(dst_day, ny(), 1) - dst_day, 23 * 3600 * 1000);
        assert_eq!(day(ms, ny(), ms), "Mon 9 Mar");
        assert_eq!(day(ms, ny(), ms + 400 * 86_400_000), "Mon 9 Mar 2026");
    }
}
