//! Running a database step again when it failed for a reason that goes away by itself: the one
//! retry loop of the crate.
//!
//! A short function rather than a retry crate (`backon`, `tokio-retry`): the loops here need
//! only a fixed number of tries, a fixed pause and a predicate, with no jitter, no growing
//! backoff and no timers beyond `tokio::time::sleep`, so a dependency would add more than it
//! saves.

use std::future::Future;
use std::time::Duration;

/// How often, and after what pause, a failed step is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retry {
    /// Runs in all, the first included.
    pub(crate) tries: u32,
    /// The wait before each further run.
    pub(crate) pause: Duration,
}

impl Retry {
    /// A transaction PostgreSQL aborted to break a deadlock or a serialization conflict: the
    /// rival transaction holds the locks now and finishes, so running again at once succeeds.
    pub(crate) const TRANSACTION: Retry = Retry {
        tries: 3,
        pause: Duration::ZERO,
    };

    /// Applying the migrations to a new SQLite file, which two processes may do at once: the
    /// loser fails, and after a pause sees the winner's work applied.
    pub(crate) const MIGRATION: Retry = Retry {
        tries: 3,
        pause: Duration::from_millis(100),
    };

    /// Runs `step` until it succeeds, fails with an error `retryable` rejects, or has run
    /// [`Retry::tries`] times; returns its last result.
    pub(crate) async fn run<T, E, F, Fut>(
        self,
        retryable: impl Fn(&E) -> bool,
        mut step: F,
    ) -> Result<T, E>
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match step().await {
                Err(e) if attempt < self.tries && retryable(&e) => {
                    tracing::debug!(attempt, error = %e, "retrying a failed database step");
                    if !self.pause.is_zero() {
                        tokio::time::sleep(self.pause).await;
                    }
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// Runs the transaction `step` again when PostgreSQL aborted it to break a deadlock or a
/// serialization conflict ([`is_transient`]), up to [`Retry::TRANSACTION`]. `step` must
/// begin, run and commit the whole transaction, so each run starts afresh.
pub(crate) async fn retry_transient<T, F, Fut>(step: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    Retry::TRANSACTION.run(is_transient, step).await
}

/// Whether a failed transaction may simply be run again: PostgreSQL aborted it to break a
/// deadlock or a serialization conflict.
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => matches!(e.code().as_deref(), Some("40P01" | "40001")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn runs_again_only_while_retryable_and_tries_remain() {
        let runs = Cell::new(0);
        let out: Result<(), String> = Retry::TRANSACTION
            .run(
                |_| true,
                || async {
                    runs.set(runs.get() + 1);
                    Err("busy".to_string())
                },
            )
            .await;
        assert_eq!(out, Err("busy".into()));
        assert_eq!(runs.get(), 3);

        runs.set(0);
        let out: Result<(), String> = Retry::TRANSACTION
            .run(
                |_| false,
                || async {
                    runs.set(runs.get() + 1);
                    Err("fatal".to_string())
                },
            )
            .await;
        assert_eq!(out, Err("fatal".into()));
        assert_eq!(runs.get(), 1);

        runs.set(0);
        let out: Result<u32, String> = Retry::TRANSACTION
            .run(
                |_| true,
                || async {
                    runs.set(runs.get() + 1);
                    if runs.get() < 2 {
                        Err("once".to_string())
                    } else {
                        Ok(7)
                    }
                },
            )
            .await;
        assert_eq!(out, Ok(7));
        assert_eq!(runs.get(), 2);
    }
}
