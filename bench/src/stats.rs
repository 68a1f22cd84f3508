//! Medians, ratios and the side-by-side sampling every benchmark uses.
//!
//! A pair of alternatives is measured in alternating rounds (A then B, then B then A, ...),
//! so that whatever else the shared machine is doing falls on both alike; each round gives
//! one sample of each, and the report quotes medians.

use std::time::Instant;

/// The median of `samples` (the mean of the middle two for an even count). `NaN` for none.
pub fn median(samples: &[f64]) -> f64 {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Samples of two alternatives taken in alternating rounds.
#[derive(Debug, Clone, Default)]
pub struct Paired {
    /// Samples of the first alternative.
    pub a: Vec<f64>,
    /// Samples of the second.
    pub b: Vec<f64>,
}

impl Paired {
    /// Median of the first alternative.
    pub fn a(&self) -> f64 {
        median(&self.a)
    }

    /// Median of the second alternative.
    pub fn b(&self) -> f64 {
        median(&self.b)
    }

    /// Median of A over median of B.
    pub fn ratio(&self) -> f64 {
        self.a() / self.b()
    }

    /// `A against B (ratio)`, as a row's figure.
    pub fn against(&self) -> String {
        format!(
            "{} against {} ({})",
            fmt_secs(self.a()),
            fmt_secs(self.b()),
            fmt_ratio(self.ratio())
        )
    }
}

/// Takes `rounds` samples of each alternative, alternating which goes first. Each closure
/// returns one sample (seconds per operation, say).
pub async fn paired<A, B>(rounds: usize, mut a: A, mut b: B) -> anyhow::Result<Paired>
where
    A: AsyncFnMut() -> anyhow::Result<f64>,
    B: AsyncFnMut() -> anyhow::Result<f64>,
{
    let mut out = Paired::default();
    for round in 0..rounds {
        if round % 2 == 0 {
            out.a.push(a().await?);
            out.b.push(b().await?);
        } else {
            out.b.push(b().await?);
            out.a.push(a().await?);
        }
    }
    Ok(out)
}

/// Seconds per call of `n` sequential calls of `op`.
pub async fn per_call<F>(n: u32, mut op: F) -> anyhow::Result<f64>
where
    F: AsyncFnMut() -> anyhow::Result<()>,
{
    let start = Instant::now();
    for _ in 0..n {
        op().await?;
    }
    Ok(start.elapsed().as_secs_f64() / f64::from(n.max(1)))
}

/// The CPU time this process has used so far, all its threads together
/// (`CLOCK_PROCESS_CPUTIME_ID`), in seconds: what a step costs this process, without the
/// servers' time or the waits, which a wall-clock sample carries with the machine's noise.
pub fn process_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through a pointer valid for it.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// A duration in seconds, in the unit that suits it: `12.3 µs`, `1.24 ms`, `2.05 s`.
pub fn fmt_secs(s: f64) -> String {
    if s.is_nan() {
        "n/a".into()
    } else if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// A rate with thousands separators: `215,300/s`.
pub fn fmt_rate(per_second: f64) -> String {
    format!("{}/s", thousands(per_second.round() as u64))
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A ratio to two decimals: `1.04x`.
pub fn fmt_ratio(r: f64) -> String {
    if r.is_nan() {
        "n/a".into()
    } else {
        format!("{r:.2}x")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_unsorted_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
        // An outlier moves the mean, not the median.
        assert_eq!(median(&[1.0, 1.0, 1.0, 1000.0, 1.0]), 1.0);
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_secs(12.34e-6), "12.3 µs");
        assert_eq!(fmt_secs(1.2345e-3), "1.234 ms");
        assert_eq!(fmt_secs(2.049), "2.05 s");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(fmt_rate(215_300.4), "215,300/s");
        assert_eq!(fmt_ratio(1.0449), "1.04x");
    }

    #[tokio::test]
    async fn paired_alternates_and_keeps_both_series() {
        let order = std::cell::RefCell::new(Vec::new());
        let p = paired(
            4,
            async || {
                order.borrow_mut().push('a');
                Ok(2.0)
            },
            async || {
                order.borrow_mut().push('b');
                Ok(1.0)
            },
        )
        .await
        .unwrap();
        assert_eq!(order.into_inner(), ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
        assert_eq!((p.a.len(), p.b.len()), (4, 4));
        assert_eq!(p.ratio(), 2.0);
    }
}
