//! What a [`Runner`](crate::Runner) may do: its limits and engine settings, with their
//! ranges.

use std::time::Duration;

use bifrost_core::limits::Limits;

/// Limits and engine settings of a [`Runner`](crate::Runner).
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Wall-clock deadline of one execution; past it the execution ends as `Timeout`.
    /// Default 5 minutes.
    pub deadline: Duration,
    /// Most linear memory one instance may have. Default 256 MiB.
    pub max_memory_bytes: usize,
    /// Use the pooling instance allocator (default). It holds, for each of `max_instances`
    /// instances, 2 linear memories, 4 tables and 32 core instances (a component that needs
    /// more memories or tables is refused when it is loaded). Each of its memory
    /// slots reserves 4 GiB of address space plus guard regions (about 8 TiB for the
    /// default 1000 instances; address space, not memory), so that guest code runs without
    /// bounds checks. Falls back to on-demand allocation, reserving `max_memory_bytes` per
    /// memory, when the machine refuses the pool's reservation.
    pub pooling: bool,
    /// Instances alive at once. Default 1000. Executions beyond it wait for a slot (their
    /// rows stay `Pending` until they get one).
    pub max_instances: u32,
    /// Executions running at once, not counting those waiting for a child they started
    /// (`workflows`, 0.3.0): a parent gives its running slot back while it waits and
    /// keeps its instance, so that its children can run. `None` (the default): as many
    /// as `max_instances`. At most `max_instances`.
    pub max_running: Option<u32>,
    /// Most elements of one table. Default 100,000.
    pub max_table_elements: usize,
    /// Caps on what crosses the boundary.
    pub limits: Limits,
    /// How long the end of a run waits for an unreachable store (to persist the logs and
    /// the final status) before it gives up. Default 60 s.
    pub store_retry: Duration,
    /// The lease a runner holds on each execution it runs. It renews the leases of all its
    /// running executions every third of this (one write for all); an execution whose
    /// lease has run out is one whose runner went away, and a sweep marks it `Stuck`.
    /// Default 30 s.
    pub lease: Duration,
    /// Where compiled components are kept on disk, so that a process started later loads
    /// them instead of compiling again; `None` (the default for a library) compiles every
    /// time a process first loads a component. The `bifrost-runner` binary sets
    /// [`CompiledCacheConfig::from_env`].
    pub compiled_cache: Option<crate::CompiledCacheConfig>,
    /// Threads each compile of a deployed version runs on (its functions are compiled in
    /// parallel); up to one version per core compiles at a time. `None` (the default):
    /// every core but one, at least one, so that a compile (seconds of CPU for a Python
    /// workflow) leaves a core to the executions that are running; on 2 cores that is one
    /// thread, and a Python version then compiles in about 1.6 times the time both cores
    /// take, while the executions beside it keep close to their quiet latency
    /// (docs/PERFORMANCE.md). Component files ([`Runner::load_file`](crate::Runner::load_file))
    /// compile on the calling thread with every core.
    pub compile_threads: Option<usize>,
    /// Compile deployed versions in a process of their own, started with this command for
    /// each compile (see [`compile_process`](crate::compile_process) for what it is given
    /// and answers), instead of on threads of this process. The compile then shares only
    /// the cores with the running executions, not the process's allocator or its address
    /// space, and a compile that crashes or runs out of memory fails its load, not the
    /// runner; a command that cannot run falls back to this process's threads.
    /// `bifrost-runner serve` sets its own executable (docs/PERFORMANCE.md). `None`
    /// (the default for a library): threads of this process. Component files
    /// ([`Runner::load_file`](crate::Runner::load_file)) always compile on the calling
    /// thread.
    pub compile_command: Option<crate::CompileCommand>,
}

/// Longest [`RunnerConfig::deadline`]: 7 days.
pub const MAX_DEADLINE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most [`RunnerConfig::compile_threads`].
pub const MAX_COMPILE_THREADS: usize = 256;
/// Longest [`RunnerConfig::store_retry`]: 1 day.
pub const MAX_STORE_RETRY: Duration = Duration::from_secs(24 * 3600);
/// Shortest and longest [`RunnerConfig::lease`]: 1 s and 1 hour.
pub const LEASE_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3600);

impl RunnerConfig {
    /// Checks that every setting is in its range: a deadline of 1 ms to [`MAX_DEADLINE`],
    /// a store retry of at most [`MAX_STORE_RETRY`], a lease in [`LEASE_RANGE`], at least
    /// one instance and 64 KiB of memory, 1 to [`MAX_COMPILE_THREADS`] compile threads. [`Runner::new`](crate::Runner::new) refuses a configuration that is
    /// not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = |ok: bool, setting: &'static str, range: &str| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError {
                    setting,
                    range: range.to_owned(),
                })
            }
        };
        check(
            (Duration::from_millis(1)..=MAX_DEADLINE).contains(&self.deadline),
            "deadline",
            "1 ms to 7 days",
        )?;
        check(
            self.store_retry <= MAX_STORE_RETRY,
            "store_retry",
            "at most 1 day",
        )?;
        check(LEASE_RANGE.contains(&self.lease), "lease", "1 s to 1 hour")?;
        check(self.max_instances > 0, "max_instances", "at least 1")?;
        check(
            self.max_running
                .is_none_or(|n| (1..=self.max_instances).contains(&n)),
            "max_running",
            "1 to max_instances",
        )?;
        check(
            self.compile_threads
                .is_none_or(|n| (1..=MAX_COMPILE_THREADS).contains(&n)),
            "compile_threads",
            &format!("1 to {MAX_COMPILE_THREADS}"),
        )?;
        check(
            self.max_memory_bytes >= 64 << 10,
            "max_memory_bytes",
            "at least 64 KiB",
        )
    }
}

/// A [`RunnerConfig`] setting out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("runner setting {setting} is out of range: it must be {range}")]
pub struct ConfigError {
    /// The setting, as named in [`RunnerConfig`].
    pub setting: &'static str,
    /// Its range, in words.
    pub range: String,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(300),
            max_memory_bytes: 256 << 20,
            pooling: true,
            max_instances: 1000,
            max_running: None,
            max_table_elements: 100_000,
            limits: Limits::default(),
            store_retry: Duration::from_secs(60),
            lease: Duration::from_secs(30),
            compiled_cache: None,
            compile_threads: None,
            compile_command: None,
        }
    }
}

impl RunnerConfig {
    /// [`max_running`](Self::max_running), or its default.
    pub(crate) fn max_running(&self) -> usize {
        self.max_running.unwrap_or(self.max_instances) as usize
    }

    /// [`compile_threads`](Self::compile_threads), or its default for this machine.
    pub(crate) fn compile_threads(&self) -> usize {
        self.compile_threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_range_are_refused() {
        assert_eq!(RunnerConfig::default().validate(), Ok(()));
        for (config, setting) in [
            (
                RunnerConfig {
                    deadline: Duration::MAX,
                    ..RunnerConfig::default()
                },
                "deadline",
            ),
            (
                RunnerConfig {
                    deadline: Duration::ZERO,
                    ..RunnerConfig::default()
                },
                "deadline",
            ),
            (
                RunnerConfig {
                    store_retry: Duration::from_secs(u64::MAX),
                    ..RunnerConfig::default()
                },
                "store_retry",
            ),
            (
                RunnerConfig {
                    lease: Duration::ZERO,
                    ..RunnerConfig::default()
                },
                "lease",
            ),
            (
                RunnerConfig {
                    max_instances: 0,
                    ..RunnerConfig::default()
                },
                "max_instances",
            ),
            (
                RunnerConfig {
                    compile_threads: Some(0),
                    ..RunnerConfig::default()
                },
                "compile_threads",
            ),
            (
                RunnerConfig {
                    compile_threads: Some(MAX_COMPILE_THREADS + 1),
                    ..RunnerConfig::default()
                },
                "compile_threads",
            ),
        ] {
            assert_eq!(config.validate().unwrap_err().setting, setting);
        }
        // At the edges, the run's times are computed without overflow.
        let longest = RunnerConfig {
            deadline: MAX_DEADLINE,
            store_retry: MAX_STORE_RETRY,
            lease: *LEASE_RANGE.end(),
            ..RunnerConfig::default()
        };
        assert_eq!(longest.validate(), Ok(()));
    }
}
