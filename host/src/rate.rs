//! The query rate limiter of an instance (`Limits::max_queries_per_second`).

use std::time::Duration;

/// A token bucket: `rate` calls a second, bursts up to `rate`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl RateLimiter {
    pub(crate) fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second.max(1));
        Self {
            rate,
            tokens: rate,
            last: std::time::Instant::now(),
        }
    }

    /// How long the caller must wait before its call; takes the token.
    pub(crate) fn take(&mut self) -> Duration {
        let now = std::time::Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.rate);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_allows_a_burst_then_spaces_calls() {
        let mut r = RateLimiter::new(10);
        for _ in 0..10 {
            assert_eq!(r.take(), Duration::ZERO);
        }
        let wait = r.take();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(101),
            "{wait:?}"
        );
    }
}
