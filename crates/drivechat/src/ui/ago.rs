//! "5 minutes ago" on a page: written by the server, then kept true by the page's script,
//! which re-reads every `time[data-relative]` from its `datetime` as the minutes pass (a
//! page left open all day must not say "just now" about this morning).

use maud::{html, Markup};

use crate::context::Seen;
use crate::time;

/// Instant `ms` as "how long ago", with the full time in the member's zone on hover.
pub(crate) fn ago(seen: &Seen, ms: i64, now: i64) -> Markup {
    html! {
        time datetime=(time::rfc3339(ms)) title=(seen.when(ms)) data-relative {
            (time::relative(ms, now))
        }
    }
}
