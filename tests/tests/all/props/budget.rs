//! The case budget: how many cases each test runs, one seed for the run, and the runner that prints both.

use super::*;

/// Cases of one default run per backend, shared among the tests by [`cases`]: what the
/// test suite runs every time (about 15 s of CPU per backend); a fresh seed each run, so
/// runs add up. A long run sets `BIFROST_PROPTEST_CASES` (see the module's doc).
pub(crate) const DEFAULT_TOTAL_CASES: u64 = 40_000;

/// The host's default limits (`crate::limits`): an input beyond one may be refused
/// (`too-large`, or `invalid-argument` for a variable name) or, for a log message,
/// truncated with a marker; within them the exact answer is required.
pub(crate) fn limits() -> Limits {
    Limits {
        // Cases of several instances set the one running execution's variables, and each
        // instance counts only its own towards the total; the cap on the total has tests
        // of its own (`bifrost_core::values`, `hostile::variables_are_capped_in_total`).
        max_variables_bytes: usize::MAX,
        ..Limits::default()
    }
}

/// Variables are reset after this many successful `set-variable` calls, so that the
/// variables object of the running execution stays small.
pub(crate) const VARIABLES_RESET_EVERY: usize = 16;

pub(crate) fn total_cases() -> u64 {
    match std::env::var("BIFROST_PROPTEST_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("BIFROST_PROPTEST_CASES={v:?} is not a number")),
        Err(_) => DEFAULT_TOTAL_CASES,
    }
}

/// This test's share (per mille) of the total.
pub(crate) fn cases(per_mille: u64) -> u32 {
    let n = total_cases().saturating_mul(per_mille) / 1000;
    u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// One seed for every test of the run: `PROPTEST_RNG_SEED` if set, else a fresh one.
pub(crate) fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match Config::default().rng_seed {
        RngSeed::Fixed(s) => s,
        RngSeed::Random => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            nanos ^ (u64::from(std::process::id()) << 32)
        }
    })
}

/// Runs `cases` cases of `test` on values of `strategy`, and prints how many ran and how
/// long they took; panics with the shrunk input on a failure.
pub(crate) fn run<S>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let seed = seed();
    let defaults = Config::default();
    let config = Config {
        cases,
        failure_persistence: None,
        // Shrinking replays calls on the backends: bounded unless the environment says.
        max_shrink_iters: match defaults.max_shrink_iters {
            u32::MAX => 4096,
            n => n,
        },
        rng_seed: RngSeed::Fixed(seed),
        ..defaults
    };
    let mut runner = TestRunner::new(config);
    let ran = AtomicU64::new(0);
    let started = Instant::now();
    let result = runner.run(&strategy, |v| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    let elapsed = started.elapsed();
    match result {
        Ok(()) => eprintln!(
            "props::{name}: {} cases passed in {elapsed:.1?} (PROPTEST_RNG_SEED={seed})",
            ran.load(Ordering::Relaxed)
        ),
        Err(e) => panic!(
            "props::{name} failed (PROPTEST_RNG_SEED={seed}, {} cases run; logs and variables \
             carry over between cases, so the shrunk input may need earlier ones): {e}",
            ran.load(Ordering::Relaxed)
        ),
    }
}
