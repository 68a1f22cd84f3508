//! The CPU time an instance uses, from the time its future spends being polled.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Adds the time every poll of a future takes to a counter: the CPU the guest (and the host
/// code it calls synchronously) used, wherever the runtime polls it. A poll runs on the CPU
/// from start to end (waiting happens between polls), so its duration on the monotonic clock
/// is its CPU time unless the kernel preempts the thread mid-poll. The monotonic clock is
/// read in user space; the thread CPU clock would cost two system calls per poll, which the
/// instantiation benchmark measured at a tenth of an instance's whole cost.
pub(crate) struct CpuTimed<'a, F> {
    inner: Pin<Box<F>>,
    total: &'a mut Duration,
}

impl<'a, F> CpuTimed<'a, F> {
    pub(crate) fn new(inner: F, total: &'a mut Duration) -> Self {
        Self {
            inner: Box::pin(inner),
            total,
        }
    }
}

impl<F: Future> Future for CpuTimed<'_, F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let before = Instant::now();
        let out = self.inner.as_mut().poll(cx);
        *self.total += before.elapsed();
        out
    }
}
