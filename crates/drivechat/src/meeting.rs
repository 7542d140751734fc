//! How a meeting (a HighLevel appointment) reads to a person: its status as a word, its
//! title, its length. The one place the raw `appointmentStatus` values are turned into words;
//! the meetings page, the contact page and the API all ask here.

use serde_json::Value;
use store::Record;

use crate::time;

/// HighLevel's `appointmentStatus` as a word a person reads: "noshow" → "No-show". Case,
/// `_`, `-` and spaces are ignored; an unknown status is shown as it is, in title case.
pub(crate) fn status_word(raw: &str) -> String {
    let key: String = raw
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let known = match key.as_str() {
        "new" => "New",
        "booked" => "Booked",
        "confirmed" => "Confirmed",
        "cancelled" | "canceled" => "Cancelled",
        "showed" => "Showed",
        "noshow" => "No-show",
        "invalid" => "Invalid",
        _ => return title_case(raw),
    };
    known.to_string()
}

/// "PENDING_review" → "Pending Review".
fn title_case(raw: &str) -> String {
    raw.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_lowercase();
            let mut cs = lower.chars();
            match cs.next() {
                Some(first) => first.to_uppercase().chain(cs).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `raw` says how the meeting went (showed or not), which only a started meeting can.
fn is_outcome(raw: &str) -> bool {
    matches!(status_word(raw).as_str(), "Showed" | "No-show")
}

/// The status shown for a meeting starting at `start_ms`, seen at `now`.
///
/// Decided for issue #12: "showed" and "no-show" describe a meeting that has started. A
/// meeting still in the future is never shown as either (HighLevel can carry such a status
/// after a reschedule, or a click on the wrong row): it reads "Upcoming" instead. Any other
/// status of a future meeting is its booking status and reads "Upcoming · Confirmed";
/// cancelled and invalid ones read as just that, since they will not take place.
pub(crate) fn shown_status(raw: Option<&str>, start_ms: Option<i64>, now: i64) -> Option<String> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty());
    let future = start_ms.is_some_and(|s| s > now);
    match (raw, future) {
        (Some(r), true) if is_outcome(r) => Some("Upcoming".into()),
        (Some(r), true) => {
            let word = status_word(r);
            if matches!(word.as_str(), "Cancelled" | "Invalid") {
                Some(word)
            } else {
                Some(format!("Upcoming · {word}"))
            }
        }
        (None, true) => Some("Upcoming".into()),
        (Some(r), false) => Some(status_word(r)),
        (None, false) => None,
    }
}

/// The meeting's own title; when it has none, "Meeting with <contact>" (or just "Meeting").
pub(crate) fn title(a: &Record, contact_name: Option<&str>) -> String {
    match a.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => t.to_string(),
        None => match contact_name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => format!("Meeting with {n}"),
            None => "Meeting".into(),
        },
    }
}

/// When the meeting ends (HighLevel's `endTime`), in ms.
pub(crate) fn end_ms(a: &Record) -> Option<i64> {
    match a.data.get("endTime")? {
        Value::String(s) => time::parse_rfc3339(s),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Whole minutes from start to end, when both are known and the end is after the start.
pub(crate) fn minutes(a: &Record) -> Option<i64> {
    let (start, end) = (a.due_ms?, end_ms(a)?);
    (end > start).then(|| (end - start + 30_000) / 60_000)
}

/// A length as people say it: "30 min", "1 h", "1 h 15 min".
pub(crate) fn duration_words(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_words() {
        assert_eq!(status_word("NOSHOW"), "No-show");
        assert_eq!(status_word("no_show"), "No-show");
        assert_eq!(status_word("confirmed"), "Confirmed");
        assert_eq!(status_word("canceled"), "Cancelled");
        assert_eq!(status_word("showed"), "Showed");
        assert_eq!(status_word("new"), "New");
        assert_eq!(status_word("invalid"), "Invalid");
        assert_eq!(status_word("PENDING_review"), "Pending Review");
    }

    #[test]
    fn a_future_meeting_is_never_an_outcome() {
        let now = 1_000;
        assert_eq!(
            shown_status(Some("noshow"), Some(2_000), now).unwrap(),
            "Upcoming"
        );
        assert_eq!(
            shown_status(Some("confirmed"), Some(2_000), now).unwrap(),
            "Upcoming · Confirmed"
        );
        assert_eq!(
            shown_status(Some("cancelled"), Some(2_000), now).unwrap(),
            "Cancelled"
        );
        assert_eq!(
            shown_status(Some("noshow"), Some(500), now).unwrap(),
            "No-show"
        );
    }

    #[test]
    fn durations_read_as_spoken() {
        assert_eq!(duration_words(30), "30 min");
        assert_eq!(duration_words(60), "1 h");
        assert_eq!(duration_words(75), "1 h 15 min");
    }
}
