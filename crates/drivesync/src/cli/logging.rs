//! Log lines: text or JSON on stderr ([`LogFormat`]), with the same line repeated over and
//! over rate-limited ([`Throttle`]).
//!
//! Why a throttle: a failure that repeats — a location not yet connected, HighLevel down —
//! logs the same line for every job, and a run with ten such locations wrote 23,000 "job
//! failed; will retry" lines a minute, burying everything else. The counters on `/metrics`
//! keep the exact numbers; the log needs only to say that it happens and how often. No
//! well-kept crate does this for `tracing` (the log-rate crates found are small one-author
//! projects), and the rule fits in one short layer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing::callsite::Identifier;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// Lines of one kind (one callsite, one message) let through per [`WINDOW`].
const BURST: u32 = 20;
/// The window those lines are counted in.
const WINDOW: Duration = Duration::from_secs(60);
/// Windows kept before expired ones are dropped (messages that embed values make many keys).
const MAX_KEYS: usize = 4096;
/// The target of the "suppressed" lines, which are never throttled themselves.
const SUMMARY_TARGET: &str = "drivesync::log_throttle";

/// Lines held back since the process started, for `/metrics`.
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);

pub fn suppressed_total() -> u64 {
    SUPPRESSED.load(Ordering::Relaxed)
}

/// Installs the process's logger: `RUST_LOG` (default `info`), in `format`, throttled.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(Throttle::new(BURST, WINDOW))
        .with(fmt)
        .try_init();
}

/// Lets through at most `burst` events of one callsite and message per `window`; the rest
/// are counted, and the first event of the next window is preceded by one line saying how
/// many were held back. Fields other than the message (ids, attempts) do not make a line
/// different: ten thousand jobs failing the same way are one kind of line.
///
/// The count of a window after which no line of its kind comes again is not logged, only
/// counted (`drivesync_log_lines_suppressed_total`).
pub struct Throttle {
    burst: u32,
    window: Duration,
    seen: Mutex<HashMap<(Identifier, String), Window>>,
}

struct Window {
    start: Instant,
    passed: u32,
    held: u64,
}

impl Throttle {
    pub fn new(burst: u32, window: Duration) -> Throttle {
        Throttle {
            burst,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this line goes out, and how many of its kind the window before held back.
    fn admit(&self, key: (Identifier, String), now: Instant) -> (bool, u64) {
        let mut seen = self.seen.lock();
        if seen.len() >= MAX_KEYS && !seen.contains_key(&key) {
            seen.retain(|_, w| now.duration_since(w.start) < self.window);
        }
        let w = seen.entry(key).or_insert(Window {
            start: now,
            passed: 0,
            held: 0,
        });
        let mut held_before = 0;
        if now.duration_since(w.start) >= self.window {
            held_before = w.held;
            *w = Window {
                start: now,
                passed: 0,
                held: 0,
            };
        }
        if w.passed < self.burst {
            w.passed += 1;
            (true, held_before)
        } else {
            w.held += 1;
            SUPPRESSED.fetch_add(1, Ordering::Relaxed);
            (false, held_before)
        }
    }
}

impl<S: Subscriber> Layer<S> for Throttle {
    fn event_enabled(&self, event: &Event<'_>, _cx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if meta.target() == SUMMARY_TARGET {
            return true;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        let (pass, held) = self.admit((meta.callsite(), message.0.clone()), Instant::now());
        if held > 0 {
            tracing::warn!(
                target: SUMMARY_TARGET,
                suppressed = held,
                "suppressed {held} similar lines in {}s: {}",
                self.window.as_secs(),
                message.0
            );
        }
        pass
    }
}

/// An event's message, the part that names what happened.
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines written by the logger under test.
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The flood of #15 in small: thousands of the same failure in a burst come out as
    /// `burst` lines, then — once the window has passed — one line saying how many were held
    /// back; a different line is not held back by the flood; and the count reaches
    /// `/metrics`. The only test of this binary that installs a global logger: the summary
    /// line is logged from inside the throttle, which `tracing` allows only through the
    /// global dispatcher (as in `drivesync`).
    #[test]
    fn a_flood_of_one_line_is_bounded_and_counted() {
        let lines = Lines::default();
        let out = lines.clone();
        let window = Duration::from_millis(300);
        tracing_subscriber::registry()
            .with(Throttle::new(5, window))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || out.clone()),
            )
            .init();
        // One callsite, as the worker's.
        let fail = |job_id: u64| tracing::info!(job_id, kind = "webhook", "job failed; will retry");
        let before = suppressed_total();
        for job_id in 0..10_000 {
            fail(job_id);
        }
        tracing::info!("another line");
        std::thread::sleep(window);
        fail(1);
        let text = String::from_utf8(lines.0.lock().clone()).unwrap();
        assert_eq!(
            text.matches("job failed; will retry").count(),
            5 + 1 + 1,
            "{text}"
        );
        assert_eq!(text.matches("another line").count(), 1, "{text}");
        assert_eq!(
            text.matches("suppressed 9995 similar lines in 0s: job failed; will retry")
                .count(),
            1,
            "{text}"
        );
        assert_eq!(suppressed_total() - before, 9995);
    }
}
