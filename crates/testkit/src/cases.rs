//! One behavioural case run on both backends: each run gets a fresh [`TestDb`], and what it
//! made on a PostgreSQL server is dropped afterwards even when the case panics or hangs.

use std::future::Future;
use std::time::Duration;

use crate::db::{Backend, TestDb};

/// Runs `case` on a fresh database of `backend`; a PostgreSQL case is skipped with a notice
/// when [`crate::PG_URL_ENV`] is not set.
pub async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_case(backend, None, case).await;
}

/// [`run`], failing a case that has not finished within `limit` (it is stuck: better a
/// failure than a suite that hangs).
pub async fn run_within<F, Fut>(backend: Backend, limit: Duration, case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_case(backend, Some(limit), case).await;
}

async fn run_case<F, Fut>(backend: Backend, limit: Option<Duration>, case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(mut db) = TestDb::open(backend).await else {
        return;
    };
    let made = db.take_made();
    // The case runs as its own task, so that a panic comes back as a value and the cleanup
    // below still runs.
    let task = tokio::spawn(case(db));
    let abort = task.abort_handle();
    let outcome = match limit {
        Some(limit) => tokio::time::timeout(limit, task).await.map_err(|_| limit),
        None => Ok(task.await),
    };
    // Aborting a case that timed out drops its connections, and with them any lock it holds.
    abort.abort();
    if let Some(made) = made {
        if let Err(e) = made.remove().await {
            panic!("cannot drop the test database: {e}");
        }
    }
    match outcome {
        Err(limit) => panic!("the case did not finish in {limit:?}"),
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(_) => {}
    }
}

/// Defines `mod sqlite` and `mod postgres`, each with one `#[tokio::test]` per named case (an
/// `async fn` at the root of the test file), so both backends run the same behaviour.
///
/// `runner` is called as `runner(backend, [arg,] super::case)` — typically a function of the
/// crate's `tests/common` that wraps [`run`] and turns the [`TestDb`] into the crate's own
/// test environment. Give it as an absolute path (`crate::common::run`, or `$crate::…`
/// from a crate's own forwarding macro):
///
/// ```ignore
/// testkit::on_both_backends!(crate::common::run => stores_a_token, rotates_the_key);
/// testkit::on_both_backends!(crate::common::run, super::config() => signs_in);
/// ```
#[macro_export]
macro_rules! on_both_backends {
    ($runner:path => $($case:ident),* $(,)?) => {
        $crate::on_both_backends!(@both $runner, [] => $($case),*);
    };
    ($runner:path, $arg:expr => $($case:ident),* $(,)?) => {
        $crate::on_both_backends!(@both $runner, [$arg,] => $($case),*);
    };
    (@both $runner:path, $args:tt => $($case:ident),*) => {
        mod sqlite {
            $( $crate::on_both_backends!(@one $runner, Sqlite, $args, $case); )*
        }
        mod postgres {
            $( $crate::on_both_backends!(@one $runner, Postgres, $args, $case); )*
        }
    };
    (@one $runner:path, $backend:ident, [$($arg:expr,)?], $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            $runner($crate::Backend::$backend, $($arg,)? super::$case).await;
        }
    };
}
