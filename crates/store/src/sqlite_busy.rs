//! SQLite's busy handler, replaced by one that retries every quarter millisecond.
//!
//! SQLite has one writer at a time; a connection that finds the write lock taken calls its
//! busy handler and tries again when it returns. The handler `busy_timeout` installs sleeps
//! 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between tries, so under steady
//! load a writer that lost a few races sleeps tens of milliseconds while the lock, held about
//! 2 ms per commit, sat free most of that time: at 500 webhooks a second this was most of the
//! end-to-end p99. This handler tries again every 250 µs for the same total wait (5 s), then
//! gives up with `SQLITE_BUSY` as `busy_timeout` would.
//!
//! sqlx exposes only `busy_timeout`, so the handler is installed through the raw connection
//! handle sqlx hands out for this purpose (`LockedSqliteHandle::as_raw_handle`).

use std::os::raw::{c_int, c_void};
use std::time::Duration;

use sqlx::SqliteConnection;

/// Time between tries.
const PAUSE: Duration = Duration::from_micros(250);

/// How many tries fit in `timeout`.
fn max_tries(timeout: Duration) -> c_int {
    c_int::try_from(timeout.as_micros() / PAUSE.as_micros()).unwrap_or(c_int::MAX)
}

/// Called by SQLite on the connection's own thread (sqlx runs each SQLite connection on a
/// dedicated worker thread, so sleeping here blocks no async task). `tries` is how many times
/// it was called for this lock; `limit` is the try count to give up at, carried in the
/// pointer.
extern "C" fn on_busy(limit: *mut c_void, tries: c_int) -> c_int {
    // The pointer is the integer itself (see `install`), not an address to read.
    let limit = limit as usize as c_int;
    if tries >= limit {
        return 0;
    }
    std::thread::sleep(PAUSE);
    1
}

/// Installs the handler on `conn`, giving up on a lock after `timeout`.
pub(crate) async fn install(
    conn: &mut SqliteConnection,
    timeout: Duration,
) -> Result<(), sqlx::Error> {
    let limit = max_tries(timeout);
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle().as_ptr();
    // SAFETY: `raw` is the live connection sqlx holds locked for us; the callback has the C
    // signature SQLite expects, never unwinds, and its argument is a plain integer smuggled in
    // the pointer, so there is nothing for it to outlive.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_busy_handler(raw, Some(on_busy), limit as usize as *mut c_void)
    };
    if rc == libsqlite3_sys::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "SQLite refused the busy handler (code {rc})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_after_the_timeout() {
        assert_eq!(max_tries(Duration::from_secs(5)), 20_000);
        let limit = 3usize as *mut c_void;
        assert_eq!(on_busy(limit, 0), 1);
        assert_eq!(on_busy(limit, 2), 1);
        assert_eq!(on_busy(limit, 3), 0);
    }
}
