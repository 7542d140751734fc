//! When to try a delivery again. Exponential backoff with full jitter (AWS's "Exponential
//! Backoff and Jitter"): attempt n waits a random time up to `base * 2^(n-1)`, capped, so
//! many senders failing at once do not retry in step. Written here rather than taken from a
//! crate because it is these few lines and the sender needs only the delay.

use std::time::Duration;

/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// How long to wait before attempt `attempt + 1`, after `attempt` (1-based) failed.
pub fn backoff(attempt: u32, base: Duration) -> Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_DELAY);
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    // Never zero: a receiver that just failed is not hit again at once.
    Duration::from_millis(rand::random::<u64>() % ms.max(1)).max(Duration::from_millis(1))
}

/// Whether an HTTP status is worth another attempt: overload and server errors are, other
/// refusals (a wrong URL, a rejected signature) would only fail again.
pub fn retryable(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 1..40 {
            let d = backoff(attempt, base);
            let ceiling = base
                .saturating_mul(2u32.saturating_pow(attempt - 1))
                .min(MAX_DELAY);
            assert!(
                d >= Duration::from_millis(1) && d <= ceiling,
                "{attempt}: {d:?}"
            );
        }
        assert!(retryable(503) && retryable(429) && !retryable(404) && !retryable(401));
    }
}
