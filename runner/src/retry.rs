//! Retrying a write of a run's record while the store is unavailable (a restart, a dropped
//! connection), so that a brief outage does not cost an execution its record.

use std::time::Duration;

use bifrost_core::error::StoreError;
use tokio::time::Instant;

/// First wait after a refused write, and the ceiling of the waits
/// ([`bifrost_core::backoff::waits`]).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Calls `write` until the store answers something other than
/// [`StoreError::Unavailable`], waiting between attempts on the shared backoff schedule,
/// for up to `budget` in all; then gives the last error up. Any other answer, success or
/// error, is returned at once.
pub(crate) async fn retry<T, F, Fut>(budget: Duration, mut write: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let since = Instant::now();
    let mut waits = bifrost_core::backoff::waits(FIRST_BACKOFF, MAX_BACKOFF);
    loop {
        match write().await {
            Err(StoreError::Unavailable(m)) if since.elapsed() < budget => {
                tracing::warn!(error = %m, "store unavailable; retrying");
                tokio::time::sleep(waits.next().unwrap_or(MAX_BACKOFF)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A write the store refuses as unavailable `outage` times, then answers `NotFound`;
    /// counts the attempts.
    async fn flaky(attempts: &AtomicU32, outage: u32) -> Result<(), StoreError> {
        if attempts.fetch_add(1, Ordering::Relaxed) < outage {
            Err(StoreError::Unavailable("restarting".into()))
        } else {
            Err(StoreError::NotFound)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_within_the_budget_is_waited_out_on_the_backoff_schedule() {
        let attempts = AtomicU32::new(0);
        let clock = Instant::now();
        // Three refusals, then the store answers (here: there is no such execution).
        let answer = retry(Duration::from_secs(60), || flaky(&attempts, 3)).await;
        assert!(matches!(answer, Err(StoreError::NotFound)));
        assert_eq!(attempts.load(Ordering::Relaxed), 4);
        // Three waits of nominally 100, 200 and 400 ms, each stretched by up to itself.
        let waited = clock.elapsed();
        assert!(
            waited >= Duration::from_millis(700) && waited < Duration::from_millis(1400),
            "waited {waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_longer_outage_is_given_up_once_the_budget_is_spent() {
        let attempts = AtomicU32::new(0);
        let clock = Instant::now();
        let answer = retry(Duration::from_secs(5), || flaky(&attempts, u32::MAX)).await;
        assert!(matches!(answer, Err(StoreError::Unavailable(_))));
        // Waits of nominally 100, 200, 400, 800, 1600 and 2000 ms, each stretched by up to
        // itself: the 6th attempt comes 3.1 to 6.2 s in; if that is past 5 s it gives up
        // there, else the 7th, after one more wait of 2 to 4 s, is past 5 s: at 5.1 s at
        // the earliest, before 9 s at the latest.
        let waited = clock.elapsed();
        assert!(
            waited >= Duration::from_secs(5) && waited < Duration::from_secs(9),
            "gave up after {waited:?}"
        );
        let n = attempts.load(Ordering::Relaxed);
        assert!((6..=7).contains(&n), "{n} attempts");
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_are_not_retried() {
        let attempts = AtomicU32::new(0);
        let answer = retry(Duration::from_secs(60), || flaky(&attempts, 0)).await;
        assert!(matches!(answer, Err(StoreError::NotFound)));
        assert_eq!(attempts.load(Ordering::Relaxed), 1);
    }
}
