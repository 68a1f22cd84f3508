//! What the host keeps of an execution is bounded by the caps, whatever the guest sends.
//!
//! The measurement runs alone, in a process of its own ([`bifrost_tests::run_alone`]): it
//! reads the process's peak resident memory (Linux `VmHWM`, reset through
//! `/proc/self/clear_refs`), which other tests running beside it in the same process would
//! disturb.

use bifrost_core::model::ExecutionStatus;
use bifrost_runner::RunnerConfig;
use bifrost_tests::{Backend, Call, Harness, user};

const MIB: u64 = 1 << 20;

/// Peak resident memory of this process since the last reset, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in kB");
    kib * 1024
}

/// Resident memory now, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/self/status");
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Starts a new peak at the current resident memory.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak (Linux 4.0+)");
}

/// The bound of docs/RELIABILITY.md for one execution: its linear memory, the transient
/// copy of the call in progress (at most the guest's own memory), and what the log caps
/// let it keep, twice on the embedded default (the writer's copy and the live stream's
/// entries on their way into the SQLite file), with 200 bytes per kept line for the entries' bookkeeping.
fn bound(config: &RunnerConfig, kept_bytes: u64, kept_lines: u64) -> u64 {
    let memory = config.max_memory_bytes as u64;
    memory + memory + 2 * (kept_bytes + 200 * kept_lines)
}

#[test]
fn what_the_host_keeps_is_bounded_by_the_caps() {
    bifrost_tests::run_alone("memory::bounded_by_the_caps_alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run alone in a process of its own by what_the_host_keeps_is_bounded_by_the_caps"]
async fn bounded_by_the_caps_alone() {
    let config = RunnerConfig {
        max_memory_bytes: 96 << 20,
        ..bifrost_tests::test_config()
    };
    for backend in [Backend::Servers, Backend::Embedded] {
        let h = Harness::with_config(backend, config.clone()).await;
        let who = user(None);
        // Warm up: connections, the instance pool, the compiled probe.
        h.probe(&who, vec![Call::log("INFO", "warm")]).await;
        // (what the guest sends, log bytes kept, lines kept)
        let cases = [
            (
                "16 log lines of 32 MiB",
                vec![Call::LogHuge { bytes: 32 << 20 }; 16],
                16 * (64 << 10),
                16,
            ),
            (
                "500 log lines of 1 MiB",
                vec![Call::LogHuge { bytes: 1 << 20 }; 500],
                500 * (64 << 10),
                500,
            ),
            (
                // 200 MiB printed: past the bound had the host kept it all (twice 200 MiB
                // beside the instance's memory), so only the 64 MiB log cap keeps it under.
                "200 printed lines of 1 MiB",
                vec![Call::PrintHuge {
                    bytes: 1 << 20,
                    n: 200,
                }],
                // Printed lines are split at 64 KiB: 16 entries a line, up to the 64 MiB cap.
                64 * MIB,
                1024,
            ),
        ];
        for (what, calls, kept_bytes, kept_lines) in cases {
            reset_peak();
            let before = rss();
            let clock = std::time::Instant::now();
            let done = h.run_probe(&who, calls).await;
            let took = clock.elapsed();
            let peak = peak_rss().saturating_sub(before);
            assert_eq!(
                done.status,
                ExecutionStatus::Success,
                "{what}: {:?}",
                done.error_message
            );
            let bound = bound(&config, kept_bytes, kept_lines);
            eprintln!(
                "{backend:?}, {what}: peak resident memory +{} MiB (bound {} MiB), {} ms",
                peak / MIB,
                bound / MIB,
                took.as_millis()
            );
            // What was kept is within the caps: the log lines cut at 64 KiB each (so all
            // of them kept), the printed ones split into entries of up to 64 KiB kept up to
            // the 64 MiB cap, the rest counted as dropped, not silently lost.
            let logs = done.logs.as_ref().expect("the run's log");
            let kept: u64 = logs.iter().map(|l| l.message.len() as u64).sum();
            assert!(
                kept <= config.limits.max_log_bytes,
                "{what}: kept {kept} bytes"
            );
            let dropped = done.log_lines_dropped.unwrap_or(0);
            if what.contains("printed") {
                assert!(
                    kept >= config.limits.max_log_bytes / 2 && dropped > 0,
                    "{what}: {kept} bytes kept, {dropped} lines dropped"
                );
            } else {
                assert_eq!((logs.len() as u64, dropped), (kept_lines, 0), "{what}");
            }
            assert!(
                peak <= bound,
                "{backend:?}, {what}: resident memory grew by {} MiB, past the bound of {} MiB",
                peak / MIB,
                bound / MIB
            );
        }
        h.close().await;
    }
}
