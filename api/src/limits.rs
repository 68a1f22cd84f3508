//! The API's limits, each with its default, and the per-token counters that enforce two of
//! them (requests per second, open event streams).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bifrost_core::access::Token;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::error::Failure;

/// The limits of one API server.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Longest body of a request other than a deploy, in bytes: the input cap (1 MiB)
    /// and room for the rest of a submission. Default 1 MiB + 64 KiB.
    pub max_body_bytes: usize,
    /// Longest component a deploy uploads, in bytes. Default 64 MiB.
    pub max_component_bytes: usize,
    /// Longest a request may take, the event stream excepted. Default 30 s.
    pub request_timeout: Duration,
    /// Requests per second per token (sustained; twice as many in a burst). Default 50.
    pub requests_per_second: NonZeroU32,
    /// Event streams open at once per token. Default 16.
    pub streams_per_token: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: (1 << 20) + (64 << 10),
            max_component_bytes: 64 << 20,
            request_timeout: Duration::from_secs(30),
            requests_per_second: NonZeroU32::new(50).expect("non-zero"),
            streams_per_token: 16,
        }
    }
}

/// The counters behind [`ApiLimits`].
pub(crate) struct Enforcer {
    pub(crate) limits: ApiLimits,
    rate: DefaultKeyedRateLimiter<Uuid>,
    streams: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl Enforcer {
    pub(crate) fn new(limits: ApiLimits) -> Self {
        let per_second = limits.requests_per_second;
        let burst = per_second.saturating_mul(NonZeroU32::new(2).expect("non-zero"));
        Self {
            rate: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            streams: Arc::default(),
            limits,
        }
    }

    /// Counts a request of `token`; 429 with the wait when it is over its rate.
    pub(crate) fn admit(&self, token: &Token) -> Result<(), Failure> {
        // Forget tokens idle long enough to be back at a full burst.
        if self.rate.len() > 10_000 {
            self.rate.retain_recent();
        }
        self.rate.check_key(&token.id).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Failure::TooMany {
                message: format!(
                    "over {} requests per second for this token",
                    self.limits.requests_per_second
                ),
                retry_after: wait.as_secs().max(1),
            }
        })
    }

    /// Opens an event stream of `token`, counted until the guard drops; 429 when it
    /// already has [`ApiLimits::streams_per_token`] open.
    pub(crate) fn open_stream(&self, token: &Token) -> Result<StreamGuard, Failure> {
        let mut open = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(token.id).or_default();
        if *n >= self.limits.streams_per_token {
            return Err(Failure::TooMany {
                message: format!(
                    "this token has {} event streams open, the most it may",
                    self.limits.streams_per_token
                ),
                retry_after: 1,
            });
        }
        *n += 1;
        Ok(StreamGuard {
            streams: self.streams.clone(),
            token: token.id,
        })
    }
}

/// An open event stream, counted against its token until dropped.
pub(crate) struct StreamGuard {
    streams: Arc<Mutex<HashMap<Uuid, usize>>>,
    token: Uuid,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut open = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.token) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.token);
            }
        }
    }
}
