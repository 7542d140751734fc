//! Where the sync's work shows in logs and counters, written once:
//!
//! - spans with the same field names everywhere, so one webhook can be followed from the
//!   ingest (`webhook`: `webhook_id`, `location`, `event_type`) through its job (`job`:
//!   `job_id`, `kind`, `location`, `event_id`) and its apply (`apply`: `webhook_id`,
//!   `event_type`, `record_id`) to the change it made (the `change applied` line in them);
//! - [`count_and_log!`]: an internal event bumps its counter and writes its log line in one
//!   statement, so none is counted without a line or logged without a count.

use tracing::Span;

/// Counts `$counter` (an `AtomicU64`) and logs the rest at `$level`, as `tracing::$level!`
/// would: `count_and_log!(&m.dead, warn, job_id, "job dead-lettered")`.
#[macro_export]
macro_rules! count_and_log {
    ($counter:expr, $level:ident, $($arg:tt)+) => {{
        $counter.fetch_add(1, ::std::sync::atomic::Ordering::Relaxed);
        ::tracing::$level!($($arg)+);
    }};
}

/// A webhook received: its fields are recorded once its envelope is read.
pub fn webhook_span() -> Span {
    tracing::info_span!(
        "webhook",
        webhook_id = tracing::field::Empty,
        location = tracing::field::Empty,
        event_type = tracing::field::Empty,
    )
}

/// Records what the envelope names on the current [`webhook_span`].
pub fn record_webhook(webhook_id: &str, location: &str, event_type: &str) {
    let span = Span::current();
    span.record("webhook_id", webhook_id);
    span.record("location", location);
    span.record("event_type", event_type);
}

/// One job run, from claim to settle.
pub fn job_span(job: &store::Job) -> Span {
    tracing::info_span!(
        "job",
        job_id = job.id,
        kind = %job.kind,
        location = %job.location_id,
        event_id = job.event_id,
    )
}

/// A stored webhook applied to the mirror.
pub fn apply_span(event: &store::StoredEvent) -> Span {
    tracing::info_span!(
        "apply",
        webhook_id = %event.webhook_id,
        event_type = %event.event_type,
        record_id = tracing::field::Empty,
    )
}
