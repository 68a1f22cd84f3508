//! The schedule on which the host and the runner retry a backend that failed: the log
//! writer's appends to the live stream, the runner's writes of a run's record.
//!
//! Waits grow exponentially from a first wait to a ceiling, and each is stretched by a
//! random fraction of itself (up to twice as long), so that the runners that lost a server
//! together do not all come back at the same instant when it restarts.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// Successive waits between attempts: `first`, then about twice the last, at most `max`,
/// each between its nominal value and twice it. Endless: the caller decides when to give
/// up.
///
/// ```
/// use std::time::Duration;
///
/// let mut waits = bifrost_core::backoff::waits(Duration::from_millis(100), Duration::from_secs(2));
/// let first = waits.next().unwrap();
/// assert!(first >= Duration::from_millis(100) && first < Duration::from_millis(200));
/// ```
pub fn waits(first: Duration, max: Duration) -> impl Iterator<Item = Duration> + Send + 'static {
    ExponentialBuilder::new()
        .with_min_delay(first)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_ceiling_with_jitter_of_up_to_their_own_length() {
        let (first, max) = (Duration::from_millis(100), Duration::from_secs(2));
        let nominal = [100, 200, 400, 800, 1600, 2000, 2000, 2000];
        let mut differ = false;
        let seen: Vec<Duration> = waits(first, max).take(nominal.len()).collect();
        for (wait, ms) in seen.iter().zip(nominal) {
            let ms = Duration::from_millis(ms);
            assert!(
                *wait >= ms && *wait < 2 * ms,
                "{wait:?} for a nominal {ms:?}"
            );
        }
        // Two schedules are not in lockstep.
        for _ in 0..10 {
            let other: Vec<Duration> = waits(first, max).take(nominal.len()).collect();
            differ |= other != seen;
        }
        assert!(differ, "ten schedules all equal: no jitter");
    }
}
