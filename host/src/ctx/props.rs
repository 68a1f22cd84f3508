//! Property tests of the host functions: every import of the `workflow` world is called with
//! arbitrary and adversarial arguments, and must answer correctly or with a typed error.
//!
//! Covered: `executions.{list, list-page, get, get-current-logs}`, `logging.log` and
//! `context.{execution-id, workflow-name, caller, set-variable}` (`types` has no functions),
//! on the embedded backends (an SQLite file in a temporary directory of each test, the
//! in-process log stream), from instances outside any execution (platform admin with and
//! without an organisation, regular users with and without one), bound to a running
//! execution, and bound to an execution the store does not have. Each call must:
//!
//! - return `Ok` at the wasmtime level (an `Err` there traps the guest) and not panic;
//! - never answer `internal` (bad input is the caller's fault, never the host's);
//! - answer what a model of the seeded data predicts: the rows `list`/`list-page` return,
//!   their order and redaction; what `get` returns or the exact error (`invalid-argument`
//!   naming the parameter, `not-found`, `permission-denied`); the log entries
//!   `get-current-logs` returns; that `log` accepts exactly JSON object metadata and that
//!   the line reads back; that `set-variable` validates and stores the value; that inputs
//!   beyond the default [`Limits`] are refused (`too-large`) or, for a log message,
//!   truncated with a marker.
//!
//! The visibility oracle is [`Identity::can_view`] (tested on its own elsewhere); which
//! list filter is invalid comes from [`crate::query::ListFilter::validate`], cross-checked
//! against independent parsing of dates and limits.
//!
//! Invalid UTF-8 cannot reach the host: the WIT has no `list<u8>` parameter, and wasmtime
//! validates every `string` while lifting it from guest memory (invalid UTF-8 fails the
//! call before the host function runs). The string strategies use valid but odd Unicode
//! instead: NUL, U+FFFE/U+FFFF, U+10FFFF, bidi controls, BOM, combining marks, emoji
//! sequences, Unicode whitespace.
//!
//! # Running
//!
//! `cargo test -p bifrost-host --lib props -- --nocapture` runs 120,000 cases in total
//! (shared among the tests in fixed proportions) and prints each test's count and time:
//! about 25 s on 2 cores (debug build, optimised dependencies).
//!
//! - `BIFROST_PROPTEST_CASES=<n>` sets the total, e.g. a long manual run:
//!   `BIFROST_PROPTEST_CASES=1000000 cargo test -p bifrost-host --lib props -- --nocapture`
//!   (about 3.5 minutes on 2 cores).
//! - `PROPTEST_RNG_SEED=<u64>` replays a run: every test prints the seed it used.
//! - A failure prints the shrunk input; the other `PROPTEST_*` variables (e.g.
//!   `PROPTEST_MAX_SHRINK_ITERS`) apply as usual.

use std::collections::HashMap;
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestCaseResult, TestRunner};
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::identity::Identity;
use crate::limits::Limits;
use crate::logs::{LogWriterTask, MemoryLogStream};
use crate::model::{ExecutionStatus, LogLevel, NewExecution, Outcome, StreamId};
use crate::query::{Cursor, LogRange};
use crate::store::{ExecutionStore, SqliteStore};
use bifrost_query::values::{storable_json, storable_text};

// ---------------------------------------------------------------------------------------
// Budget
// ---------------------------------------------------------------------------------------

/// Cases of one default run, shared among the tests by [`cases`].
const DEFAULT_TOTAL_CASES: u64 = 120_000;

/// The host's default limits (`crate::limits`): an input beyond one may be refused
/// (`too-large`, or `invalid-argument` for a variable name) or, for a log message,
/// truncated with a marker; within them the exact answer is required.
fn limits() -> Limits {
    Limits {
        // Cases of several instances set the one running execution's variables, and each
        // instance counts only its own towards the total; the cap on the total has tests
        // of its own (`bifrost_query::values`, `hostile::variables_are_capped_in_total`).
        max_variables_bytes: usize::MAX,
        ..Limits::default()
    }
}

/// Variables are reset after this many successful `set-variable` calls, so that the
/// variables object of the running execution stays small.
const VARIABLES_RESET_EVERY: usize = 16;

fn total_cases() -> u64 {
    match std::env::var("BIFROST_PROPTEST_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("BIFROST_PROPTEST_CASES={v:?} is not a number")),
        Err(_) => DEFAULT_TOTAL_CASES,
    }
}

/// This test's share (per mille) of the total.
fn cases(per_mille: u64) -> u32 {
    let n = total_cases().saturating_mul(per_mille) / 1000;
    u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// One seed for every test of the run: `PROPTEST_RNG_SEED` if set, else a fresh one.
fn seed() -> u64 {
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
fn run<S>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
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

// ---------------------------------------------------------------------------------------
// Fixture: seeded backends and the model of what they hold
// ---------------------------------------------------------------------------------------

/// A seeded execution, as the model knows it.
#[derive(Debug, Clone)]
struct Seeded {
    id: Uuid,
    by: Uuid,
    org: Option<Uuid>,
    workflow: String,
    status: ExecutionStatus,
    started_at: DateTime<Utc>,
    /// Whether `finish` recorded figures (peak memory) for it.
    finished: bool,
}

/// A log entry as a guest sees it, parsed.
#[derive(Debug, Clone, PartialEq)]
struct LogView {
    id: StreamId,
    execution_id: String,
    level: LogLevel,
    message: String,
    metadata: Option<Value>,
    timestamp: String,
}

/// An execution a context is bound to.
struct Bound {
    execution: ExecutionContext,
    identity: Identity,
    writer: LogWriter,
}

/// Which context a case runs in.
#[derive(Debug, Clone, Copy)]
enum CtxKind {
    /// Outside any execution, as identity `n` of [`Fixture::identities`].
    Outside(usize),
    /// Bound to the running execution, as its owner.
    Running,
    /// Bound to an execution id the store does not have.
    Phantom,
}

/// One case's instance context.
struct Case<'a> {
    ctx: ExecutionsCtx,
    who: Identity,
    bound: Option<&'a Bound>,
}

impl Case<'_> {
    fn current(&self) -> Option<Uuid> {
        self.bound.map(|b| b.execution.execution_id)
    }
}

struct Fixture {
    dir: PathBuf,
    rt: Arc<tokio::runtime::Runtime>,
    store: Arc<SqliteStore>,
    service: ExecutionsService,
    /// admin without organisation, admin of A, user of A (owner of the running
    /// execution), user of B, user without organisation.
    identities: Vec<Identity>,
    seeds: Vec<Seeded>,
    running: Bound,
    phantom: Bound,
    /// Log entries in the store, per execution.
    persisted: HashMap<Uuid, Vec<LogView>>,
    /// Log entries in the live stream, per execution; every line a case logs is added.
    live: Mutex<HashMap<Uuid, Vec<LogView>>>,
    /// The running execution's variables; `None` when the column is NULL.
    vars: Mutex<Option<serde_json::Map<String, Value>>>,
    /// Lines and bytes each execution's log writer has kept, as its caps count them.
    kept: Mutex<HashMap<Uuid, (u64, u64)>>,
    /// Successful `set-variable` calls since the last reset.
    sets: AtomicUsize,
    /// Cursors `list-page` handed out at set-up.
    cursors: Vec<String>,
    _tasks: Vec<LogWriterTask>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.rt.block_on(self.store.pool().close());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uid(n: u128) -> Uuid {
    Uuid::from_u128(0x0b1f_7057_0000_4000_8000_0000_0000_0000 | (n << 64) | (n * 0x9e37_79b9))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

fn identity(n: u128, name: &str, org: Option<Uuid>, admin: bool) -> Identity {
    Identity {
        user_id: uid(n),
        user_name: name.to_owned(),
        organization_id: org,
        is_platform_admin: admin,
    }
}

fn view(l: &types::ExecutionLog) -> Result<LogView, TestCaseError> {
    let id: StreamId =
        l.id.parse()
            .map_err(|e| TestCaseError::fail(format!("log entry id: {e}")))?;
    let metadata = l
        .metadata
        .as_deref()
        .map(serde_json::from_str::<Value>)
        .transpose()
        .map_err(|e| TestCaseError::fail(format!("log metadata is not JSON: {e}")))?;
    prop_assert!(
        metadata.as_ref().is_none_or(|m| m.is_object()),
        "log metadata is not an object: {:?}",
        l.metadata
    );
    prop_assert!(
        DateTime::parse_from_rfc3339(&l.timestamp).is_ok() && l.timestamp.ends_with('Z'),
        "log timestamp {:?}",
        l.timestamp
    );
    Ok(LogView {
        id,
        execution_id: l.execution_id.clone(),
        level: level_from_wit(l.level),
        message: l.message.clone(),
        metadata,
        timestamp: l.timestamp.clone(),
    })
}

fn entry_view(e: &LogEntry) -> LogView {
    view(&log_to_wit(e.clone())).expect("seeded entry")
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "bifrost-props-{name}-{}-{nanos}",
            std::process::id()
        ));
        // One current-thread runtime per test: calls run in a fixed order, and the log
        // writers' tasks run only while a call waits.
        let rt = Arc::new(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime"),
        );
        rt.block_on(Self::seeded(dir, rt.clone()))
            .expect("seed the fixture")
    }

    /// Builds the fixture inside its runtime (the log writers are spawned on it).
    async fn seeded(dir: PathBuf, rt: Arc<tokio::runtime::Runtime>) -> Result<Fixture, String> {
        let store = Arc::new(
            SqliteStore::open_file(&dir.join("props.db"))
                .await
                .map_err(|e| e.to_string())?,
        );
        let stream = Arc::new(MemoryLogStream::new());
        let service = ExecutionsService::new(store.clone(), stream.clone());

        let org_a = uid(900);
        let org_b = uid(901);
        let admin_all = identity(100, "admin", None, true);
        let admin_a = identity(101, "admin of A", Some(org_a), true);
        let user_a = identity(102, "user of A", Some(org_a), false);
        let user_b = identity(103, "user of B", Some(org_b), false);
        let user_none = identity(104, "user without org", None, false);
        let other_a = uid(105);
        let other_none = uid(106);

        let base = utc("2026-04-25T10:00:00.123456Z");
        let hours = |h: i64| base + TimeDelta::hours(h);
        use ExecutionStatus as S;
        // (executed by, organisation, workflow, status, started at)
        type Row<'a> = (Uuid, Option<Uuid>, &'a str, ExecutionStatus, DateTime<Utc>);
        let rows: Vec<Row<'_>> = vec![
            (user_a.user_id, Some(org_a), "alpha", S::Running, base),
            (user_a.user_id, Some(org_a), "beta", S::Success, hours(-1)),
            (user_a.user_id, Some(org_a), "alpha", S::Failed, hours(-1)),
            (other_a, Some(org_a), "alpha", S::Success, hours(-48)),
            (
                admin_a.user_id,
                Some(org_a),
                "gamma ☃",
                S::Cancelled,
                hours(-72),
            ),
            (user_b.user_id, Some(org_b), "alpha", S::Success, hours(-1)),
            (user_b.user_id, Some(org_b), "beta", S::Pending, hours(24)),
            (user_none.user_id, None, "alpha", S::Success, hours(-240)),
            (
                other_none,
                None,
                "alpha",
                S::Timeout,
                utc("1970-01-01T00:00:00Z"),
            ),
            (user_a.user_id, None, "alpha", S::Success, base),
            (
                user_a.user_id,
                Some(org_b),
                "alpha",
                S::Failed,
                utc("2099-12-31T23:59:59.999999Z"),
            ),
            (
                admin_all.user_id,
                None,
                "delta",
                S::CompletedWithErrors,
                hours(-5),
            ),
            (other_a, Some(org_a), "", S::Stuck, hours(-168)),
            (
                user_a.user_id,
                Some(org_a),
                "alpha",
                S::Scheduled,
                hours(48),
            ),
            (
                user_a.user_id,
                Some(org_a),
                "Alpha",
                S::Cancelling,
                base - TimeDelta::microseconds(1),
            ),
            (other_a, Some(org_a), "alpha", S::Running, base),
        ];
        let mut seeds = Vec::new();
        for (i, (by, org, workflow, status, started_at)) in rows.into_iter().enumerate() {
            let id = uid(i as u128 + 1);
            store
                .create(&NewExecution {
                    id,
                    workflow_name: workflow.to_owned(),
                    parameters: json!({"seeded": true}),
                    executed_by: by,
                    executed_by_name: "seeded".into(),
                    organization_id: org,
                    form_id: None,
                    session_id: None,
                    created_at: if status == S::Running {
                        started_at - TimeDelta::seconds(1)
                    } else {
                        started_at
                    },
                })
                .await
                .map_err(|e| e.to_string())?;
            let finished = !matches!(status, S::Pending | S::Running);
            if status == S::Running {
                store
                    .mark_running(
                        id,
                        &crate::store::RunStart {
                            started_at,
                            deadline_at: started_at + TimeDelta::days(36_500),
                            lease_until: started_at + TimeDelta::days(36_500),
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            } else if finished {
                store
                    .finish(
                        id,
                        &Outcome {
                            status,
                            result: Some(json!({"row": i})),
                            result_type: Some("json".into()),
                            error_message: (status == S::Failed).then(|| "it failed".into()),
                            duration_ms: 1,
                            completed_at: started_at + TimeDelta::seconds(1),
                            peak_memory_bytes: 1,
                            cpu_total_seconds: 0.0,
                            log_lines_dropped: 0,
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
            seeds.push(Seeded {
                id,
                by,
                org,
                workflow: workflow.to_owned(),
                status,
                started_at,
                finished,
            });
        }

        // Persisted logs of two finished executions (A's "beta" and B's "alpha"), with
        // ids at the edges of what the store keeps (i64::MAX).
        let mut persisted_entries = Vec::new();
        let levels = [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warning,
            LogLevel::Error,
            LogLevel::Critical,
        ];
        let messages = ["", "\0nul", "emoji 😀👩‍👩‍👧", "rtl \u{202E}abc", "\u{FFFF}"];
        for (exec, n) in [(seeds[1].id, 25u64), (seeds[5].id, 5)] {
            let mut entries: Vec<LogEntry> = (0..n)
                .map(|i| LogEntry {
                    id: StreamId {
                        ms: 1_777_111_000_000 + i / 3,
                        seq: i % 3,
                    },
                    execution_id: exec,
                    level: levels[i as usize % levels.len()],
                    message: format!("line {i} {}", messages[i as usize % messages.len()]),
                    metadata: (i % 2 == 0).then(|| {
                        model::LogMetadata::from_value(&json!({"i": i, "nested": {"ok": true}}))
                    }),
                    timestamp: base + TimeDelta::milliseconds(i as i64),
                })
                .collect();
            if exec == seeds[1].id {
                for id in [
                    StreamId {
                        ms: i64::MAX as u64,
                        seq: 0,
                    },
                    StreamId {
                        ms: i64::MAX as u64,
                        seq: i64::MAX as u64,
                    },
                ] {
                    entries.push(LogEntry {
                        id,
                        execution_id: exec,
                        level: LogLevel::Info,
                        message: "edge".into(),
                        metadata: None,
                        timestamp: base,
                    });
                }
            }
            persisted_entries.extend(entries);
        }
        store
            .insert_logs(&persisted_entries)
            .await
            .map_err(|e| e.to_string())?;
        let mut persisted: HashMap<Uuid, Vec<LogView>> = HashMap::new();
        for e in &persisted_entries {
            persisted
                .entry(e.execution_id)
                .or_default()
                .push(entry_view(e));
        }

        // The running execution and its live log, written through its log writer.
        let running_id = seeds[0].id;
        let (running_writer, running_task) =
            LogWriter::spawn(stream.clone(), running_id, &Limits::default());
        let mut kept = (0, 0);
        for (i, message) in messages.iter().enumerate() {
            let metadata =
                (i % 2 == 1).then(|| model::LogMetadata::from_value(&json!({"live": i})));
            kept.0 += 1;
            kept.1 += (message.len() + metadata.as_ref().map_or(0, |m| m.len())) as u64;
            running_writer.write(model::LogLine {
                level: levels[i % levels.len()],
                message: (*message).to_owned(),
                metadata,
                timestamp: Utc::now(),
            });
        }
        running_writer.flush().await.map_err(|e| e.to_string())?;
        let live_seed = service
            .read_logs(
                running_id,
                LogRange {
                    start: StreamId::MIN,
                    count: 1000,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut live = HashMap::new();
        live.insert(
            running_id,
            live_seed.iter().map(entry_view).collect::<Vec<_>>(),
        );

        let phantom_id = uid(777);
        let (phantom_writer, phantom_task) =
            LogWriter::spawn(stream.clone(), phantom_id, &Limits::default());

        // Cursors handed out by list-page, for a few identities and page sizes.
        let mut cursors = Vec::new();
        let filter = crate::query::ListFilter::default();
        for who in [&admin_all, &admin_a, &user_a] {
            for size in 1..=3u32 {
                let mut cursor: Option<String> = None;
                for _ in 0..40 {
                    let page = service
                        .list_page(
                            who,
                            &crate::query::ListFilter {
                                limit: Some(size),
                                ..filter.clone()
                            },
                            cursor.as_deref(),
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                    match page.next_cursor {
                        Some(c) => {
                            cursors.push(c.clone());
                            cursor = Some(c);
                        }
                        None => break,
                    }
                }
            }
        }
        cursors.sort();
        cursors.dedup();

        let running = Bound {
            execution: ExecutionContext {
                execution_id: running_id,
                workflow_name: seeds[0].workflow.clone(),
            },
            identity: user_a.clone(),
            writer: running_writer,
        };
        let phantom = Bound {
            execution: ExecutionContext {
                execution_id: phantom_id,
                workflow_name: "phantom \u{202E}".into(),
            },
            identity: user_b.clone(),
            writer: phantom_writer,
        };
        Ok(Fixture {
            dir,
            rt,
            store,
            service,
            identities: vec![admin_all, admin_a, user_a, user_b, user_none],
            seeds,
            running,
            phantom,
            persisted,
            live: Mutex::new(live),
            vars: Mutex::new(None),
            kept: Mutex::new(HashMap::from([(running_id, kept)])),
            sets: AtomicUsize::new(0),
            cursors,
            _tasks: vec![running_task, phantom_task],
        })
    }

    fn case(&self, kind: CtxKind) -> Case<'_> {
        let bound = |b: &'_ Bound| {
            (
                ExecutionsCtx::new(b.identity.clone(), self.service.clone())
                    .with_execution(b.execution.clone(), b.writer.clone()),
                b.identity.clone(),
            )
        };
        match kind {
            CtxKind::Outside(n) => {
                let who = self.identities[n % self.identities.len()].clone();
                Case {
                    ctx: ExecutionsCtx::new(who.clone(), self.service.clone()),
                    who,
                    bound: None,
                }
            }
            CtxKind::Running => {
                let (ctx, who) = bound(&self.running);
                Case {
                    ctx,
                    who,
                    bound: Some(&self.running),
                }
            }
            CtxKind::Phantom => {
                let (ctx, who) = bound(&self.phantom);
                Case {
                    ctx,
                    who,
                    bound: Some(&self.phantom),
                }
            }
        }
    }

    /// Clears the running execution's variables, in the store and in the model.
    async fn reset_variables(&self) -> TestCaseResult {
        self.sets.store(0, Ordering::Relaxed);
        let id = self.running.execution.execution_id.hyphenated().to_string();
        for sql in [
            "UPDATE executions SET variables = NULL WHERE id = ?",
            "DELETE FROM execution_variables WHERE execution_id = ?",
        ] {
            sqlx::query(sql)
                .bind(&id)
                .execute(self.store.pool())
                .await
                .map_err(|e| TestCaseError::fail(format!("reset variables: {e}")))?;
        }
        *self.vars.lock().expect("vars model") = None;
        Ok(())
    }

    /// Makes the model of a bound execution's live log what the stream holds.
    async fn resync_live(&self, bound: &Bound) {
        let id = bound.execution.execution_id;
        let _ = bound.writer.flush().await;
        let mut entries = Vec::new();
        let mut start = StreamId::MIN;
        while let Ok(batch) = self
            .service
            .read_logs(id, LogRange { start, count: 1000 })
            .await
        {
            entries.extend(batch.iter().map(entry_view));
            match batch.last().and_then(|e| e.id.successor()) {
                Some(next) if batch.len() == 1000 => start = next,
                _ => break,
            }
        }
        self.live.lock().expect("live model").insert(id, entries);
    }

    /// Runs one case's future on the fixture's runtime.
    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn seed(&self, id: Uuid) -> Option<&Seeded> {
        self.seeds.iter().find(|s| s.id == id)
    }

    fn visible(&self, who: &Identity, id: Uuid) -> Result<&Seeded, Want> {
        let s = self.seed(id).ok_or(Want::NotFound(Some(id)))?;
        if who.can_view(s.by, s.org) {
            Ok(s)
        } else {
            Err(Want::Denied(id))
        }
    }

    /// The generators, with the fixture's real ids, log ids, times and cursors.
    fn gen_(&self) -> Gen {
        let mut ids: Vec<Uuid> = self.seeds.iter().map(|s| s.id).collect();
        ids.push(self.phantom.execution.execution_id);
        ids.extend(self.identities.iter().map(|i| i.user_id));
        let mut log_ids: Vec<String> = self
            .persisted
            .values()
            .chain(self.live.lock().expect("live model").values())
            .flatten()
            .map(|e| e.id.to_string())
            .collect();
        log_ids.sort();
        log_ids.dedup();
        let mut names: Vec<String> = self.seeds.iter().map(|s| s.workflow.clone()).collect();
        names.sort();
        names.dedup();
        Gen {
            ids,
            log_ids,
            names,
            times: self.seeds.iter().map(|s| s.started_at).collect(),
            cursors: self.cursors.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Expected answers
// ---------------------------------------------------------------------------------------

/// An error a call should answer.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    Invalid(&'static str),
    /// `not-found`, naming this id if given.
    NotFound(Option<Uuid>),
    Denied(Uuid),
    NoContext,
    TooLarge,
}

fn is_want(e: &types::Error, w: &Want) -> bool {
    match (e, w) {
        (types::Error::InvalidArgument(ia), Want::Invalid(p)) => {
            ia.parameter == *p && !ia.reason.is_empty()
        }
        (types::Error::NotFound(m), Want::NotFound(id)) => id.is_none_or(|id| *m == id.to_string()),
        (types::Error::PermissionDenied(m), Want::Denied(id)) => *m == id.to_string(),
        (types::Error::NoExecutionContext, Want::NoContext) => true,
        (types::Error::TooLarge(_), Want::TooLarge) => true,
        _ => false,
    }
}

/// The outer result: an `Err` would trap the guest.
fn no_trap<T>(call: &str, r: wasmtime::Result<T>) -> Result<T, TestCaseError> {
    r.map_err(|e| TestCaseError::fail(format!("{call}: host error, a trap of the guest: {e:?}")))
}

/// Bad input is never the host's fault.
fn no_internal<T>(call: &str, r: &Result<T, types::Error>) -> TestCaseResult {
    if let Err(types::Error::Internal(m)) = r {
        return Err(TestCaseError::fail(format!("{call}: internal error: {m}")));
    }
    Ok(())
}

fn parse_uuid(s: &str, what: &str) -> Result<Uuid, TestCaseError> {
    Uuid::try_parse(s).map_err(|e| TestCaseError::fail(format!("{what} {s:?}: {e}")))
}

/// JSON equality, floats within a relative 1e-14: serde_json parses floats fast rather
/// than exactly (the workspace does not enable `float_roundtrip`), so a value that went
/// through text twice may differ in its last bits (seen: a variable set to a float read
/// back as 6.37870812755502e-41 where the value set parses as 6.378708127555028e-41).
fn json_close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(p), Some(q)) => p == q || (p - q).abs() <= 1e-14 * p.abs().max(q.abs()),
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_close(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_close(v, w)))
        }
        _ => a == b,
    }
}

/// The first place where `got` and `want` differ (beyond [`json_close`]), briefly.
fn json_diff(path: &str, got: &Value, want: &Value) -> Option<String> {
    let brief = |v: &Value| {
        let s = v.to_string();
        if s.len() > 120 {
            format!("{}… ({} bytes)", &s[..s.floor_char_boundary(120)], s.len())
        } else {
            s
        }
    };
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                let Some(gv) = g.get(k) else {
                    return Some(format!("{path}/{k:?}: missing, want {}", brief(wv)));
                };
                if let Some(d) = json_diff(&format!("{path}/{k:?}"), gv, wv) {
                    return Some(d);
                }
            }
            g.keys()
                .find(|k| !w.contains_key(*k))
                .map(|k| format!("{path}/{k:?}: unexpected"))
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => g
            .iter()
            .zip(w)
            .enumerate()
            .find_map(|(i, (gv, wv))| json_diff(&format!("{path}/{i}"), gv, wv)),
        _ if json_close(got, want) => None,
        _ => Some(format!("{path}: got {}, want {}", brief(got), brief(want))),
    }
}

/// Whether the stream id `start` is valid, by the WIT's grammar: after trimming
/// whitespace, `<ms>-<seq>`, `<ms>` or `0` / `-`, decimal u64s.
fn start_oracle(s: &str) -> Option<StreamId> {
    let t = s.trim();
    if t == "-" || t == "0" {
        return Some(StreamId::MIN);
    }
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match t.split_once('-') {
        None => {
            let p = t;
            digits(p)
                .then(|| p.parse().ok())
                .flatten()
                .map(|ms| StreamId { ms, seq: 0 })
        }
        Some((ms, seq)) if digits(ms) && digits(seq) => Some(StreamId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        }),
        Some(_) => None,
    }
}

/// How deeply a JSON value nests (0 for a scalar), counted independently of the host.
fn depth_oracle(v: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            serde_json::Value::Array(items) => {
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            serde_json::Value::Object(map) => {
                deepest = deepest.max(d + 1);
                stack.extend(map.values().map(|i| (i, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// An independent reading of a date bound, for the forms that are clearly valid: an RFC
/// 3339 date-time, or a plain `YYYY-MM-DD` (the whole day, in UTC).
fn date_oracle(s: &str, end: bool) -> Option<DateTime<Utc>> {
    // Dates from year 1 to 9999 are in range (`bifrost_query::query::earliest_instant`).
    date_reading(s, end).filter(|t| (1..=9999).contains(&t.year()))
}

fn date_reading(s: &str, end: bool) -> Option<DateTime<Utc>> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) {
        return None;
    }
    if !digits(5..7) || !digits(8..10) {
        return None;
    }
    let day = NaiveDate::from_ymd_opt(
        t[0..4].parse().ok()?,
        t[5..7].parse().ok()?,
        t[8..10].parse().ok()?,
    )?;
    let start = day.and_hms_opt(0, 0, 0)?.and_utc();
    if end {
        start.checked_add_signed(TimeDelta::days(1) - TimeDelta::microseconds(1))
    } else {
        Some(start)
    }
}

/// `list` arguments.
#[derive(Debug, Clone, Default)]
struct FilterIn {
    workflow_name: Option<String>,
    status: Option<ExecutionStatus>,
    start_date: Option<String>,
    end_date: Option<String>,
    limit: Option<u32>,
}

impl FilterIn {
    fn to_wit(&self) -> types::ListFilter {
        types::ListFilter {
            workflow_name: self.workflow_name.clone(),
            status: self.status.map(status_to_wit),
            start_date: self.start_date.clone(),
            end_date: self.end_date.clone(),
            limit: self.limit,
        }
    }
}

/// The rows a list query should return (all of them, newest first) and its page size.
type ListModel = Result<(Vec<Uuid>, usize), Want>;

impl Fixture {
    /// What `list` / `list-page` should answer for `who`.
    fn model_list(
        &self,
        who: &Identity,
        f: &FilterIn,
        cursor: Option<&str>,
    ) -> Result<ListModel, TestCaseError> {
        let filter = crate::query::ListFilter {
            workflow_name: f.workflow_name.clone(),
            status: f.status,
            start_date: f.start_date.clone(),
            end_date: f.end_date.clone(),
            limit: f.limit,
        };
        let validated = filter.validate(cursor);
        let rejected = match &validated {
            Ok(_) => None,
            Err(e) => Some(e.parameter),
        };
        // Cross-checks of the validator against independent readings.
        if f.limit == Some(0) {
            prop_assert_eq!(rejected, Some("limit"), "limit 0 must be refused");
        }
        let start = f.start_date.as_deref().map(|s| (s, date_oracle(s, false)));
        let end = f.end_date.as_deref().map(|s| (s, date_oracle(s, true)));
        for (param, bound) in [("start_date", start), ("end_date", end)] {
            let Some((text, reading)) = bound else {
                continue;
            };
            if reading.is_some() && rejected == Some(param) {
                // Refused only because it ends before the start (as the host reads that).
                let from = crate::query::ListFilter {
                    start_date: f.start_date.clone(),
                    ..Default::default()
                }
                .validate(None)
                .ok()
                .and_then(|q| q.started_from);
                let before_start =
                    param == "end_date" && from.zip(reading).is_some_and(|(a, b)| b < a);
                prop_assert!(
                    before_start,
                    "{param} {text:?} is a valid date but was refused"
                );
            }
            if !text.trim().bytes().any(|b| b.is_ascii_digit()) {
                prop_assert!(
                    rejected.is_some(),
                    "{param} {text:?} has no digit but was accepted"
                );
            }
        }
        let q = match validated {
            Ok(q) => q,
            Err(_) => return Ok(Err(Want::Invalid(rejected.expect("an invalid argument")))),
        };
        if let Some((_, Some(t))) = start {
            // Stores keep microseconds; a lower bound between two starts at the later one.
            let extra = t.timestamp_subsec_nanos() % 1000;
            let t = if extra == 0 {
                t
            } else {
                t + chrono::TimeDelta::nanoseconds(i64::from(1000 - extra))
            };
            prop_assert_eq!(q.started_from, Some(t));
        }
        if let Some((_, Some(t))) = end {
            prop_assert_eq!(q.started_until, Some(t));
        }
        prop_assert_eq!(q.limit, f.limit.map_or(50, |l| l.min(1000)));

        let mut rows: Vec<&Seeded> = self
            .seeds
            .iter()
            .filter(|s| who.can_view(s.by, s.org))
            .filter(|s| {
                f.workflow_name
                    .as_ref()
                    .is_none_or(|n| storable_text(n.clone()) == s.workflow)
            })
            .filter(|s| f.status.is_none_or(|st| st == s.status))
            .filter(|s| q.started_from.is_none_or(|t| s.started_at >= t))
            .filter(|s| q.started_until.is_none_or(|t| s.started_at <= t))
            .filter(|s| {
                q.after.is_none_or(|c| {
                    (s.started_at.timestamp_micros(), s.id) < (c.started_at_micros, c.id)
                })
            })
            .collect();
        rows.sort_by_key(|s| std::cmp::Reverse((s.started_at, s.id)));
        Ok(Ok((rows.iter().map(|s| s.id).collect(), q.limit as usize)))
    }

    /// Checks one returned execution against its seed, the visibility rule and redaction.
    fn check_row(
        &self,
        who: &Identity,
        r: &types::WorkflowExecution,
        from_get: bool,
    ) -> TestCaseResult {
        let id = parse_uuid(&r.execution_id, "execution_id")?;
        prop_assert_eq!(&r.execution_id, &id.to_string());
        let Some(s) = self.seed(id) else {
            return Err(TestCaseError::fail(format!("unknown execution {id}")));
        };
        let by = parse_uuid(&r.executed_by, "executed_by")?;
        let org = r
            .org_id
            .as_deref()
            .map(|o| parse_uuid(o, "org_id"))
            .transpose()?;
        prop_assert!(who.can_view(by, org), "{who:?} may not see {id}");
        prop_assert_eq!((by, org), (s.by, s.org));
        prop_assert_eq!(&r.workflow_name, &s.workflow);
        prop_assert_eq!(status_from_wit(r.status), s.status);
        prop_assert_eq!(r.started_at.clone(), Some(model::rfc3339(&s.started_at)));
        prop_assert!(DateTime::parse_from_rfc3339(&r.created_at).is_ok());
        prop_assert_eq!(
            serde_json::from_str::<Value>(&r.input_data).ok(),
            Some(json!({"seeded": true}))
        );
        if who.is_platform_admin {
            prop_assert_eq!(r.peak_memory_bytes, s.finished.then_some(1));
            if id == self.running.execution.execution_id {
                let want = self.vars.lock().expect("vars model").clone();
                let got = r
                    .variables
                    .as_deref()
                    .map(serde_json::from_str::<Value>)
                    .transpose()
                    .map_err(|e| TestCaseError::fail(format!("variables: {e}")))?;
                let want = want.map(Value::Object);
                let diff = match (&got, &want) {
                    (None, None) => None,
                    (Some(g), Some(w)) => json_diff("", g, w),
                    _ => Some(format!("{got:?} / {want:?}")),
                };
                if let Some(diff) = diff {
                    return Err(TestCaseError::fail(format!(
                        "variables differ from the model: {diff}"
                    )));
                }
            } else {
                prop_assert!(r.variables.is_none());
            }
        } else {
            prop_assert!(
                r.variables.is_none()
                    && r.peak_memory_bytes.is_none()
                    && r.cpu_total_seconds.is_none(),
                "admin-only fields shown to {who:?}"
            );
        }
        match (&r.logs, from_get && s.status.is_final()) {
            (None, false) => {}
            (Some(logs), true) => {
                let got = logs.iter().map(view).collect::<Result<Vec<_>, _>>()?;
                let want: Vec<LogView> = self
                    .persisted
                    .get(&id)
                    .map(|v| v.iter().take(1000).cloned().collect())
                    .unwrap_or_default();
                prop_assert_eq!(got, want);
            }
            (logs, _) => {
                return Err(TestCaseError::fail(format!(
                    "{id} ({:?}, from get: {from_get}): logs {logs:?}",
                    s.status
                )));
            }
        }
        Ok(())
    }

    /// What `get-current-logs` should answer.
    fn model_logs(
        &self,
        who: &Identity,
        current: Option<Uuid>,
        a: &LogsIn,
    ) -> Result<Vec<LogView>, Want> {
        let start = match a.start.as_deref() {
            None => StreamId::MIN,
            Some(s) => start_oracle(s).ok_or(Want::Invalid("start"))?,
        };
        let cap = match a.count {
            Some(0) => return Err(Want::Invalid("count")),
            None => 100,
            Some(n) => n.min(1000),
        } as usize;
        let id = match a.id.as_deref() {
            None => current.ok_or(Want::NoContext)?,
            Some(s) => {
                let id = Uuid::try_parse(s.trim()).map_err(|_| Want::Invalid("execution_id"))?;
                if Some(id) != current {
                    self.visible(who, id)?;
                }
                id
            }
        };
        let live = self.live.lock().expect("live model");
        let source = live
            .get(&id)
            .filter(|v| !v.is_empty())
            .or_else(|| self.persisted.get(&id));
        Ok(source
            .map(|v| {
                v.iter()
                    .filter(|e| e.id >= start)
                    .take(cap)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}

// ---------------------------------------------------------------------------------------
// Calls and their checks
// ---------------------------------------------------------------------------------------

fn check_order(rows: &[types::WorkflowExecution]) -> TestCaseResult {
    let mut keys = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(started) = r.started_at.as_deref() else {
            return Err(TestCaseError::fail(format!(
                "{} has no started_at",
                r.execution_id
            )));
        };
        let t = DateTime::parse_from_rfc3339(started)
            .map_err(|e| TestCaseError::fail(format!("started_at {started:?}: {e}")))?;
        keys.push((t, r.execution_id.clone()));
    }
    for w in keys.windows(2) {
        prop_assert!(w[0] > w[1], "not newest first: {:?} then {:?}", w[0], w[1]);
    }
    Ok(())
}

async fn check_list(fx: &Fixture, c: &mut Case<'_>, f: &FilterIn) -> TestCaseResult {
    let got = no_trap("list", executions::Host::list(&mut c.ctx, f.to_wit()).await)?;
    no_internal("list", &got)?;
    match (got, fx.model_list(&c.who, f, None)?) {
        (Ok(rows), Ok((all, cap))) => {
            prop_assert!(rows.len() <= f.limit.map_or(50, |l| l.min(1000)) as usize);
            check_order(&rows)?;
            for r in &rows {
                fx.check_row(&c.who, r, false)?;
            }
            let ids: Vec<String> = rows.iter().map(|r| r.execution_id.clone()).collect();
            let want: Vec<String> = all.iter().take(cap).map(Uuid::to_string).collect();
            prop_assert_eq!(ids, want);
        }
        (Err(e), Err(w)) => prop_assert!(is_want(&e, &w), "list: {e:?}, expected {w:?}"),
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "list: got {got:?}, expected {want:?}"
            )));
        }
    }
    Ok(())
}

async fn check_page(
    fx: &Fixture,
    c: &mut Case<'_>,
    f: &FilterIn,
    cursor: &Option<String>,
) -> TestCaseResult {
    let got = no_trap(
        "list_page",
        executions::Host::list_page(&mut c.ctx, f.to_wit(), cursor.clone()).await,
    )?;
    no_internal("list_page", &got)?;
    match (got, fx.model_list(&c.who, f, cursor.as_deref())?) {
        (Ok(page), Ok((all, cap))) => {
            let rows = &page.executions;
            check_order(rows)?;
            for r in rows {
                fx.check_row(&c.who, r, false)?;
            }
            let ids: Vec<String> = rows.iter().map(|r| r.execution_id.clone()).collect();
            let want: Vec<String> = all.iter().take(cap).map(Uuid::to_string).collect();
            prop_assert_eq!(ids, want);
            prop_assert_eq!(
                page.next_cursor.is_some(),
                all.len() > cap,
                "next_cursor {:?} with {} rows after a page of {}",
                page.next_cursor,
                all.len(),
                cap
            );
            if let (Some(next), Some(last)) = (&page.next_cursor, rows.last()) {
                let c = Cursor::decode(next)
                    .map_err(|e| TestCaseError::fail(format!("next_cursor {next:?}: {e}")))?;
                let s = fx
                    .seed(parse_uuid(&last.execution_id, "id")?)
                    .expect("seen");
                prop_assert_eq!(c, Cursor::after(s.started_at, s.id));
            }
        }
        (Err(e), Err(w)) => prop_assert!(is_want(&e, &w), "list_page: {e:?}, expected {w:?}"),
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "list_page: got {got:?}, expected {want:?}"
            )));
        }
    }
    Ok(())
}

async fn check_get(fx: &Fixture, c: &mut Case<'_>, id: &str) -> TestCaseResult {
    let got = no_trap(
        "get",
        executions::Host::get(&mut c.ctx, id.to_owned()).await,
    )?;
    no_internal("get", &got)?;
    let want = Uuid::try_parse(id.trim())
        .map_err(|_| Want::Invalid("execution_id"))
        .and_then(|u| fx.visible(&c.who, u));
    match (got, want) {
        (Ok(row), Ok(s)) => {
            prop_assert_eq!(&row.execution_id, &s.id.to_string());
            fx.check_row(&c.who, &row, true)?;
        }
        (Err(e), Err(w)) => prop_assert!(is_want(&e, &w), "get: {e:?}, expected {w:?}"),
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "get: got {got:?}, expected {want:?}"
            )));
        }
    }
    Ok(())
}

/// `get-current-logs` arguments.
#[derive(Debug, Clone)]
struct LogsIn {
    id: Option<String>,
    start: Option<String>,
    count: Option<u32>,
}

async fn check_logs(fx: &Fixture, c: &mut Case<'_>, a: &LogsIn) -> TestCaseResult {
    let got = no_trap(
        "get_current_logs",
        executions::Host::get_current_logs(&mut c.ctx, a.id.clone(), a.start.clone(), a.count)
            .await,
    )?;
    no_internal("get_current_logs", &got)?;
    match (got, fx.model_logs(&c.who, c.current(), a)) {
        (Ok(entries), Ok(want)) => {
            prop_assert!(entries.len() <= a.count.map_or(100, |n| n.min(1000)) as usize);
            let got = entries.iter().map(view).collect::<Result<Vec<_>, _>>()?;
            for w in got.windows(2) {
                prop_assert!(
                    w[0].id < w[1].id,
                    "not oldest first: {} {}",
                    w[0].id,
                    w[1].id
                );
            }
            prop_assert_eq!(got, want);
        }
        (Err(e), Err(w)) => {
            prop_assert!(is_want(&e, &w), "get_current_logs: {e:?}, expected {w:?}");
        }
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "get_current_logs: got {got:?}, expected {want:?}"
            )));
        }
    }
    Ok(())
}

/// How a guest names its own execution when it reads its log back.
#[derive(Debug, Clone, Copy)]
enum Spelling {
    /// No id: the current execution.
    Current,
    Canonical,
    Upper,
    Padded,
    Braced,
    Simple,
    Urn,
}

fn spell(id: Uuid, s: Spelling) -> Option<String> {
    Some(match s {
        Spelling::Current => return None,
        Spelling::Canonical => id.to_string(),
        Spelling::Upper => id.to_string().to_uppercase(),
        Spelling::Padded => format!(" \t{id}\n"),
        Spelling::Braced => id.braced().to_string(),
        Spelling::Simple => id.simple().to_string(),
        Spelling::Urn => id.urn().to_string(),
    })
}

/// `log` arguments, and how the line is read back.
#[derive(Debug, Clone)]
struct LogIn {
    level: LogLevel,
    message: String,
    metadata: Option<String>,
    read_back: Spelling,
}

async fn check_log(fx: &Fixture, c: &mut Case<'_>, a: &LogIn) -> TestCaseResult {
    let result = check_log_once(fx, c, a).await;
    if result.is_err()
        && let Some(bound) = c.bound
    {
        // Shrinking replays cases: start them from what the stream really holds.
        fx.resync_live(bound).await;
    }
    result
}

async fn check_log_once(fx: &Fixture, c: &mut Case<'_>, a: &LogIn) -> TestCaseResult {
    let got = no_trap(
        "log",
        logging::Host::log(
            &mut c.ctx,
            level_to_wit(a.level),
            a.message.clone(),
            a.metadata.clone(),
        )
        .await,
    )?;
    no_internal("log", &got)?;
    let parsed = a.metadata.as_deref().map(serde_json::from_str::<Value>);
    let object = match &parsed {
        None => true,
        Some(Ok(v)) => v.is_object(),
        Some(Err(_)) => false,
    };
    let limits = limits();
    // The errors that apply; with several, the host may answer any of them.
    let mut applicable = Vec::new();
    if a.metadata
        .as_ref()
        .is_some_and(|m| m.len() > limits.max_log_metadata_bytes)
    {
        applicable.push(Want::TooLarge);
    }
    if !object {
        applicable.push(Want::Invalid("metadata"));
    }
    if let Some(Ok(v)) = &parsed
        && v.is_object()
        && depth_oracle(v) > limits.max_json_depth
    {
        applicable.push(Want::Invalid("metadata"));
    }
    match &got {
        Ok(()) => prop_assert!(
            applicable.is_empty(),
            "log accepted metadata {:?}, expected {applicable:?}",
            a.metadata
        ),
        Err(e) => {
            prop_assert!(
                applicable.iter().any(|w| is_want(e, w)),
                "log: {e:?} for metadata {:?}, expected {applicable:?}",
                a.metadata
            );
            return Ok(());
        }
    }
    let Some(bound) = c.bound else {
        return Ok(());
    };
    // Stored with U+0000 replaced (`storable_text`), then capped.
    let message = storable_text(a.message.clone());
    let want_meta = match parsed {
        Some(Ok(Value::Object(m))) if !m.is_empty() => Some(storable_json(Value::Object(m))),
        _ => None,
    };
    // The writer keeps the line unless the execution's log caps are reached; then it only
    // counts it (and says so in a last line after the run).
    let id = bound.execution.execution_id;
    let size = (crate::limits::truncate_with_marker(message.clone(), limits.max_log_message_bytes)
        .len()
        + want_meta.as_ref().map_or(0, |m| m.to_string().len())) as u64;
    let keeps = {
        let mut kept = fx.kept.lock().expect("kept model");
        let (lines, bytes) = kept.entry(id).or_default();
        let keeps = *lines < limits.max_log_lines && *bytes + size <= limits.max_log_bytes;
        if keeps {
            *lines += 1;
            *bytes += size;
        }
        keeps
    };
    // Read the line back: the only entry after the last one the model knows.
    let after = fx
        .live
        .lock()
        .expect("live model")
        .get(&id)
        .and_then(|v| v.last())
        .map(|e| e.id);
    let start = match after {
        None => "0".to_owned(),
        Some(last) => last
            .successor()
            .expect("room after the last id")
            .to_string(),
    };
    let spelled = spell(id, a.read_back);
    let read = no_trap(
        "get_current_logs",
        executions::Host::get_current_logs(
            &mut c.ctx,
            spelled.clone(),
            Some(start.clone()),
            Some(1000),
        )
        .await,
    )?;
    no_internal("get_current_logs", &read)?;
    let entries = read.map_err(|e| {
        TestCaseError::fail(format!("reading back the line with {spelled:?}: {e:?}"))
    })?;
    prop_assert_eq!(
        entries.len(),
        usize::from(keeps),
        "the line just logged, read back from {} with id {:?}",
        start,
        spelled
    );
    let Some(e) = entries.first() else {
        return Ok(());
    };
    let e = view(e)?;
    prop_assert_eq!(&e.execution_id, &id.to_string());
    prop_assert_eq!(e.level, a.level);
    // Kept whole within the limit; beyond it, cut at a character boundary within the
    // limit, with a marker that says how many bytes were cut.
    let ok = if message.len() <= limits.max_log_message_bytes {
        e.message == message
    } else {
        e.message
            .rsplit_once("… [truncated ")
            .is_some_and(|(kept, marker)| {
                kept.len() <= limits.max_log_message_bytes
                    && message.starts_with(kept)
                    && marker == format!("{} bytes]", message.len() - kept.len())
            })
    };
    prop_assert!(
        ok,
        "message of {} bytes read back as {} bytes",
        message.len(),
        e.message.len()
    );
    let same = match (&e.metadata, &want_meta) {
        (None, None) => true,
        (Some(g), Some(w)) => json_close(g, w),
        _ => false,
    };
    prop_assert!(
        same,
        "metadata {:?} read back as {:?}",
        want_meta,
        e.metadata
    );
    fx.live
        .lock()
        .expect("live model")
        .entry(id)
        .or_default()
        .push(e);
    Ok(())
}

async fn check_context(c: &mut Case<'_>) -> TestCaseResult {
    let id = no_trap(
        "execution_id",
        context::Host::execution_id(&mut c.ctx).await,
    )?;
    prop_assert_eq!(id, c.current().map(|u| u.to_string()));
    let name = no_trap(
        "workflow_name",
        context::Host::workflow_name(&mut c.ctx).await,
    )?;
    prop_assert_eq!(name, c.bound.map(|b| b.execution.workflow_name.clone()));
    let caller = no_trap("caller", context::Host::caller(&mut c.ctx).await)?;
    prop_assert_eq!(&caller.user_id, &c.who.user_id.to_string());
    prop_assert_eq!(&caller.user_name, &c.who.user_name);
    prop_assert_eq!(caller.org_id, c.who.organization_id.map(|o| o.to_string()));
    prop_assert_eq!(caller.is_platform_admin, c.who.is_platform_admin);
    Ok(())
}

/// `set-variable` arguments.
#[derive(Debug, Clone)]
struct SetIn {
    name: String,
    value: String,
}

async fn check_set(fx: &Fixture, c: &mut Case<'_>, a: &SetIn) -> TestCaseResult {
    let result = check_set_once(fx, c, a).await;
    if result.is_err() {
        // Shrinking replays cases: start them from variables the model knows (and that a
        // failure may have left unreadable).
        fx.reset_variables().await?;
    }
    result
}

async fn check_set_once(fx: &Fixture, c: &mut Case<'_>, a: &SetIn) -> TestCaseResult {
    let got = no_trap(
        "set_variable",
        context::Host::set_variable(&mut c.ctx, a.name.clone(), a.value.clone()).await,
    )?;
    no_internal("set_variable", &got)?;
    let parsed = serde_json::from_str::<Value>(&a.value);
    // The errors that apply; with several, the host may answer any of them.
    let mut applicable = Vec::new();
    match c.bound {
        None => applicable.push(Want::NoContext),
        Some(b) => {
            let limits = limits();
            if a.name.is_empty() || a.name.len() > limits.max_variable_name_bytes {
                applicable.push(Want::Invalid("name"));
            }
            if a.value.len() > limits.max_variable_bytes {
                applicable.push(Want::TooLarge);
            }
            match &parsed {
                Err(_) => applicable.push(Want::Invalid("value")),
                Ok(v) if depth_oracle(v) > limits.max_json_depth => {
                    applicable.push(Want::Invalid("value"))
                }
                Ok(_) => {}
            }
            // Valid, for an execution the store does not have.
            if applicable.is_empty()
                && b.execution.execution_id != fx.running.execution.execution_id
            {
                applicable.push(Want::NotFound(None));
            }
        }
    }
    match &got {
        Ok(()) => prop_assert!(
            applicable.is_empty(),
            "set_variable accepted, expected {applicable:?}"
        ),
        Err(e) => {
            let fits = applicable.iter().any(|w| is_want(e, w));
            prop_assert!(fits, "set_variable: {e:?}, expected {applicable:?}");
            return Ok(());
        }
    }
    // Stored: the model follows, and an admin reads it back.
    let value = parsed.expect("accepted JSON");
    fx.vars
        .lock()
        .expect("vars model")
        .get_or_insert_with(Default::default)
        .insert(storable_text(a.name.clone()), storable_json(value));
    let running = fx.running.execution.execution_id;
    let admin = fx.identities[0].clone();
    let mut ctx = ExecutionsCtx::new(admin.clone(), fx.service.clone());
    let row = no_trap(
        "get",
        executions::Host::get(&mut ctx, running.to_string()).await,
    )?;
    no_internal("get after set_variable", &row)?;
    let row = row.map_err(|e| TestCaseError::fail(format!("get after set_variable: {e:?}")))?;
    fx.check_row(&admin, &row, true)?;
    if fx.sets.fetch_add(1, Ordering::Relaxed) + 1 >= VARIABLES_RESET_EVERY {
        fx.reset_variables().await?;
    }
    Ok(())
}

/// One call of the mixed sequences.
#[derive(Debug, Clone)]
enum Op {
    List(FilterIn),
    Page(FilterIn, Option<String>),
    Get(String),
    Logs(LogsIn),
    Log(LogIn),
    Set(SetIn),
    Context,
}

async fn check_op(fx: &Fixture, c: &mut Case<'_>, op: &Op) -> TestCaseResult {
    match op {
        Op::List(f) => check_list(fx, c, f).await,
        Op::Page(f, cursor) => check_page(fx, c, f, cursor).await,
        Op::Get(id) => check_get(fx, c, id).await,
        Op::Logs(a) => check_logs(fx, c, a).await,
        Op::Log(a) => check_log(fx, c, a).await,
        Op::Set(a) => check_set(fx, c, a).await,
        Op::Context => check_context(c).await,
    }
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Valid but unusual Unicode, in pieces.
const ODD: &[&str] = &[
    "",
    "\0",
    "\u{FFFF}",
    "\u{FFFE}",
    "\u{10FFFF}",
    "\u{200F}",
    "\u{202E}",
    "\u{2066}",
    "\u{FEFF}",
    "😀",
    "👩\u{200D}👩\u{200D}👧",
    "e\u{301}",
    "İ",
    "ß",
    "ﬁ",
    "\u{3000}",
    "\u{A0}",
    "\u{85}",
    "\u{2028}",
    "\t",
    "\r\n",
    "'",
    "\"",
    "\\",
    "%",
    "_",
    "--",
    ";",
    "alpha",
    "0",
];

const SQL: &[&str] = &[
    "'; DROP TABLE executions; --",
    "' OR '1'='1",
    "\" OR \"\"=\"",
    "1; DELETE FROM execution_logs",
    "%",
    "_",
    "alpha' --",
    "') UNION SELECT * FROM executions --",
    "\\'",
    "NULL",
];

fn odd_unicode() -> BoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(ODD), 0..10)
        .prop_map(|v| v.concat())
        .boxed()
}

/// Long strings, up to a little over 64 KiB, with sizes at the documented limits.
fn long_text() -> BoxedStrategy<String> {
    (
        prop::sample::select(&['x', 'é', '😀', '\0', '"'][..]),
        prop_oneof![
            1_000usize..70_000,
            prop::sample::select(&[16_384usize, 16_385, 65_535, 65_536, 65_537][..]),
        ],
    )
        .prop_map(|(c, n)| c.to_string().repeat(n.div_ceil(c.len_utf8())))
        .boxed()
}

/// Any text: arbitrary, unusual Unicode, SQL-shaped, long (weight `long` in 10 + `long`).
fn text_with(long: u32) -> BoxedStrategy<String> {
    prop_oneof![
        4 => any::<String>(),
        2 => ".*",
        3 => odd_unicode(),
        1 => prop::sample::select(SQL).prop_map(str::to_owned),
        long => long_text(),
    ]
    .boxed()
}

fn text() -> BoxedStrategy<String> {
    text_with(1)
}

fn short_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => ".{0,12}",
        1 => odd_unicode(),
        1 => prop::sample::select(&["a", "b", "", "__proto__", "$ref"][..]).prop_map(str::to_owned),
    ]
    .boxed()
}

fn count() -> BoxedStrategy<u32> {
    prop_oneof![
        prop::sample::select(&[0u32, 1, 2, 999, 1000, 1001, u32::MAX][..]),
        0u32..60,
        any::<u32>(),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO)
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        short_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((short_text(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

fn json_object() -> BoxedStrategy<Value> {
    prop::collection::vec((short_text(), json_value()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
        .boxed()
}

/// Text that is JSON or nearly.
const JSON_ODD: &[&str] = &[
    "{}",
    "[]",
    "null",
    "true",
    "0",
    "-0",
    "1e308",
    "1e309",
    "-1e400",
    "1e-400",
    "18446744073709551616",
    "-9223372036854775809",
    "4.9e-324",
    "1.7976931348623157e308",
    "NaN",
    "Infinity",
    "-Infinity",
    "\"str\"",
    "\"\"",
    "{\"a\":",
    "{\"a\":1",
    "{\"a\":1}}",
    "{'a':1}",
    "{a:1}",
    "{\"a\":1,}",
    "[1,2",
    "[1,2,]",
    "",
    " ",
    "\u{FEFF}{}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\udc00\\ud800\"}",
    "{\"\\u0000\":\"\\u0000\"}",
    "{\"a\":1,\"a\":2}",
    "{\"a\":1} trailing",
    "{\"a\":1}{\"b\":2}",
    "\n{\"a\":1}\n",
    "/* c */{}",
    "{\"a\":01}",
    "{\"a\":+1}",
    "{\"a\":.5}",
    "{\"a\":1.}",
    "{\"a\":tru}",
    "{\"a\":undefined}",
    "{\"a\":NaN}",
    "{\"__proto__\":{\"x\":1}}",
    "{\"😀\":\"\u{202E}\"}",
    "{\"a\":\"\\u00\"}",
    "{\"a\":\"\t\"}",
];

/// Nesting at and around serde_json's depth limit (128).
fn nested_json() -> BoxedStrategy<String> {
    (prop_oneof![1usize..=300, 118usize..=132], 0u8..5)
        .prop_map(|(d, kind)| match kind {
            0 => format!("{}{}", "[".repeat(d), "]".repeat(d)),
            1 => format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d)),
            2 => "[".repeat(d),
            3 => format!("{}{{}}{}", "{\"a\":".repeat(d), "}".repeat(d)),
            _ => format!("{}0{}", "{\"a\":[".repeat(d / 2), "]}".repeat(d / 2)),
        })
        .boxed()
}

fn long_json() -> BoxedStrategy<String> {
    (
        prop_oneof![
            1_000usize..70_000,
            prop::sample::select(&[16_370usize, 16_380, 65_520, 65_530, 65_540][..]),
        ],
        0u8..3,
    )
        .prop_map(|(n, kind)| match kind {
            0 => format!("\"{}\"", "x".repeat(n)),
            1 => format!("{{\"k\":\"{}\"}}", "x".repeat(n)),
            _ => format!("[{}0]", "0,".repeat(n / 2)),
        })
        .boxed()
}

fn json_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => json_object().prop_map(|v| v.to_string()),
        2 => json_value().prop_map(|v| v.to_string()),
        1 => json_value().prop_map(|v| serde_json::to_string_pretty(&v).expect("JSON")),
        2 => prop::sample::select(JSON_ODD).prop_map(str::to_owned),
        2 => nested_json(),
        1 => (json_object(), any::<prop::sample::Index>()).prop_map(|(v, i)| {
            let s = v.to_string();
            let mut cut = i.index(s.len() + 1);
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s[..cut].to_owned()
        }),
        1 => long_json(),
        2 => text(),
    ]
    .boxed()
}

fn level() -> BoxedStrategy<LogLevel> {
    prop::sample::select(
        &[
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warning,
            LogLevel::Error,
            LogLevel::Critical,
        ][..],
    )
    .boxed()
}

fn ctx_kind() -> BoxedStrategy<CtxKind> {
    prop_oneof![
        5 => (0usize..5).prop_map(CtxKind::Outside),
        3 => Just(CtxKind::Running),
        1 => Just(CtxKind::Phantom),
    ]
    .boxed()
}

/// Generators that know the fixture's ids, times and cursors.
struct Gen {
    ids: Vec<Uuid>,
    log_ids: Vec<String>,
    names: Vec<String>,
    times: Vec<DateTime<Utc>>,
    cursors: Vec<String>,
}

impl Gen {
    /// Execution ids: real ones in every spelling, unknown ones, near misses, garbage.
    fn id(&self) -> BoxedStrategy<String> {
        let known = prop::sample::select(self.ids.clone());
        let bad_char = prop::sample::select(&['g', 'Z', '-', ' ', 'é', '\0', '😀', 'G', '.'][..]);
        prop_oneof![
            3 => known.clone().prop_map(|u| u.to_string()),
            2 => (known.clone(), 1u8..7).prop_map(|(u, s)| {
                let s = [
                    Spelling::Upper,
                    Spelling::Padded,
                    Spelling::Braced,
                    Spelling::Simple,
                    Spelling::Urn,
                    Spelling::Canonical,
                ][usize::from(s - 1)];
                spell(u, s).expect("an explicit spelling")
            }),
            1 => (known.clone(), prop::sample::select(ODD)).prop_map(|(u, pad)| format!("{pad}{u}{pad}")),
            2 => any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string()),
            2 => (known.clone(), 0usize..36, bad_char).prop_map(|(u, i, c)| {
                u.to_string()
                    .chars()
                    .enumerate()
                    .map(|(j, d)| if i == j { c } else { d })
                    .collect()
            }),
            1 => (known, any::<bool>()).prop_map(|(u, longer)| {
                let s = u.to_string();
                if longer { format!("{s}0") } else { s[..35].to_owned() }
            }),
            1 => prop::sample::select(&[
                "00000000-0000-0000-0000-000000000000",
                "ffffffff-ffff-ffff-ffff-ffffffffffff",
                "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
                "00000000000000000000000000000000",
                "{00000000-0000-0000-0000-000000000000}",
                "urn:uuid:00000000-0000-0000-0000-000000000000",
                "0000000-00000-0000-0000-000000000000",
                "00000000-0000-0000-0000-00000000000g",
                "0x00000000000000000000000000000000",
                "",
            ][..]).prop_map(str::to_owned),
            1 => prop::sample::select(SQL).prop_map(str::to_owned),
            2 => text(),
        ]
        .boxed()
    }

    /// Stream ids: real ones, well-formed ones anywhere in u64, malformed ones.
    fn start(&self) -> BoxedStrategy<String> {
        let edges =
            prop::sample::select(&[0u64, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX][..]);
        prop_oneof![
            2 => prop::sample::select(self.log_ids.clone()),
            2 => (any::<u64>(), any::<u64>()).prop_map(|(a, b)| format!("{a}-{b}")),
            2 => (1_777_110_999_990u64..1_777_111_000_012, 0u64..4).prop_map(|(a, b)| format!("{a}-{b}")),
            1 => any::<u64>().prop_map(|a| a.to_string()),
            1 => (edges.clone(), edges).prop_map(|(a, b)| format!("{a}-{b}")),
            2 => prop::sample::select(&[
                "0", "-", "+", "(1-0", "1-", "-1", "1--2", "1-2-3", "+5", "+5-1", "5-+1",
                "18446744073709551615-18446744073709551615", "18446744073709551616-0",
                "0-18446744073709551616", "9223372036854775807-9223372036854775808",
                "9223372036854775808-0", " 1-0 ", "\t0\n", "", "00", "-0", "0-0", "٣-٣",
                "１-１", "0x10", "1e3", "1.5", "*", "$", ">", "+inf", "1 - 2", "--", "+0",
            ][..]).prop_map(str::to_owned),
            2 => text(),
        ]
        .boxed()
    }

    /// Date bounds: structured dates right and wrong, the seeds' own times (to the
    /// microsecond and below), odd forms, garbage.
    fn date(&self) -> BoxedStrategy<String> {
        let offset = prop::sample::select(
            &[
                "Z", "z", "+00:00", "-00:00", "+14:00", "-12:00", "+2400", "+24:00", "-23:59",
                "+23:59", "+0530", "+05", "", " UTC", "+99:99",
            ][..],
        );
        let fraction = prop::sample::select(
            &[
                "",
                ".5",
                ".123456",
                ".1234565",
                ".999999999",
                ".0000000000000000000001",
                ".99999999999999999999999999999999999999",
            ][..],
        );
        let year = prop_oneof![
            4 => 1969i32..=2100,
            1 => prop::sample::select(&[0i32, 1, 9999, 10000, 99999, -1, 262_143, 262_144, -262_144][..]),
        ];
        let structured = (
            year,
            (0u32..=13, 0u32..=32),
            (0u32..=25, 0u32..=61, 0u32..=61),
            fraction,
            offset,
            0u8..5,
        )
            .prop_map(|(y, (mo, d), (h, mi, s), frac, off, shape)| {
                let date = format!("{y:04}-{mo:02}-{d:02}");
                match shape {
                    0 => date,
                    1 => format!("{date}T{h:02}:{mi:02}:{s:02}{frac}{off}"),
                    2 => format!("{date} {h:02}:{mi:02}:{s:02}{frac}{off}"),
                    3 => format!("{date}T{h:02}:{mi:02}{off}"),
                    _ => format!("{date}t{h}:{mi}:{s}{frac}{off}"),
                }
            });
        let near = (
            prop::sample::select(self.times.clone()),
            prop_oneof![Just(0i64), -3i64..=3, -100_000_000i64..100_000_000],
            0u8..4,
        )
            .prop_map(|(t, nanos, shape)| {
                let t = t + TimeDelta::nanoseconds(nanos);
                match shape {
                    0 => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    1 => t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                    2 => t
                        .with_timezone(&chrono::FixedOffset::east_opt(14 * 3600).expect("+14"))
                        .to_rfc3339(),
                    _ => t.format("%Y-%m-%d").to_string(),
                }
            });
        prop_oneof![
            3 => structured,
            3 => near,
            2 => prop::sample::select(&[
                "2026-04-25", "2026-02-30", "2026-02-29", "2024-02-29", "2026-04-25T23:59:60Z",
                "2026-04-25T23:59:60.999999999Z", "2026-04-25T10:00:00+14:00",
                "2026-04-25T10:00:00-12:00", "2026-04-25T10:00:00+2400",
                "2026-04-25T10:00:00+24:00", "99999-01-01", "+99999-01-01", "-0001-01-01",
                "+262143-12-31", "+262144-01-01", "-262144-01-01",
                "-262143-01-01T00:00:00+23:59", "+262143-12-31T23:59:59-23:59",
                "+262143-12-31T23:59:59.999999999Z", "0000-01-01", "9999-12-31T23:59:59.999999999Z",
                "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z",
                "2026-04-25T10:00:00.12345678901234567890123456789Z", "2026-W17-6", "2026-115",
                "20260425", "20260425T100000Z", "2026-04-25T10:00:00", "2026-04-25T10:00",
                "2026-04-25 10:00:00", "2026-04-25T10Z", " 2026-04-25 ", "yesterday", "now",
                "", " ", "NaN", "2026-4-5", "2026-04-25T10:00:00Z[Europe/Paris]",
                "2026-04-25T10:00:00+02:00:30", "１９７０-01-01", "2026-04-25\u{0}",
            ][..]).prop_map(str::to_owned),
            1 => prop::sample::select(SQL).prop_map(str::to_owned),
            1 => text(),
        ]
        .boxed()
    }

    fn filter(&self) -> BoxedStrategy<FilterIn> {
        let mut names = self.names.clone();
        names.extend(["ALPHA", "alpha ", "alph%", "_lpha", "alpha\0"].map(str::to_owned));
        let name = prop_oneof![3 => prop::sample::select(names), 1 => text()];
        (
            prop::option::of(name),
            prop::option::of(prop::sample::select(&ExecutionStatus::ALL[..])),
            prop::option::of(self.date()),
            prop::option::of(self.date()),
            prop::option::of(count()),
        )
            .prop_map(
                |(workflow_name, status, start_date, end_date, limit)| FilterIn {
                    workflow_name,
                    status,
                    start_date,
                    end_date,
                    limit,
                },
            )
            .boxed()
    }

    /// Cursors: real ones, forged ones in the right shape, mangled ones, garbage.
    fn cursor(&self) -> BoxedStrategy<String> {
        let real = prop::sample::select(self.cursors.clone());
        let micros = prop_oneof![
            any::<i64>(),
            prop::sample::select(&[0i64, 1, -1, i64::MAX, i64::MIN, 1_777_111_000_000_000][..]),
        ];
        prop_oneof![
            3 => real.clone(),
            2 => (micros, any::<u128>(), 0u8..5).prop_map(|(m, id, form)| {
                let id = Uuid::from_u128(id);
                match form {
                    0 => format!("v1.{m:x}.{}", id.simple()),
                    1 => format!("v1.{}{:x}.{}", if m < 0 { "-" } else { "+" }, m.unsigned_abs(), id.simple()),
                    2 => format!("v1.{m:X}.{}", id.simple().to_string().to_uppercase()),
                    3 => format!("v1.{m:x}.{id}"),
                    _ => format!("v1.{m}.{}", id.simple()),
                }
            }),
            2 => (real, any::<prop::sample::Index>(), prop::sample::select(&['.', 'g', '0', 'V', ' ', '😀'][..]))
                .prop_map(|(s, i, c)| {
                    let at = i.index(s.len());
                    let mut out: String = s.chars().take(at).collect();
                    out.push(c);
                    out.extend(s.chars().skip(at + 1));
                    out
                }),
            1 => prop::sample::select(&["", "v1.", "v1..", "v1.0.", "v2.0.00000000000000000000000000000000", "v1.0.0.0"][..])
                .prop_map(str::to_owned),
            2 => text(),
        ]
        .boxed()
    }

    fn logs_in(&self) -> BoxedStrategy<LogsIn> {
        (
            prop::option::weighted(0.7, self.id()),
            prop::option::of(self.start()),
            prop::option::of(count()),
        )
            .prop_map(|(id, start, count)| LogsIn { id, start, count })
            .boxed()
    }

    fn log_in(&self) -> BoxedStrategy<LogIn> {
        let read_back = prop::sample::select(
            &[
                Spelling::Current,
                Spelling::Canonical,
                Spelling::Upper,
                Spelling::Padded,
                Spelling::Braced,
                Spelling::Simple,
                Spelling::Urn,
            ][..],
        );
        let metadata = prop_oneof![
            3 => json_object().prop_map(|v| v.to_string()),
            3 => json_text(),
        ];
        // Long messages rarer than in `text`, so that a long run stays within the
        // execution's 64 MiB log cap for longer.
        let message = prop_oneof![4 => text_with(0), 1 => text()];
        (level(), message, prop::option::of(metadata), read_back)
            .prop_map(|(level, message, metadata, read_back)| LogIn {
                level,
                message,
                metadata,
                read_back,
            })
            .boxed()
    }

    fn set_in(&self) -> BoxedStrategy<SetIn> {
        let name = prop_oneof![
            4 => prop::sample::select(&["x", "count", "nested", "a.b", "$", "0", " ", "", "__proto__", "variables"][..])
                .prop_map(str::to_owned),
            2 => text(),
            1 => prop::sample::select(&[255usize, 256, 257, 1000][..]).prop_map(|n| "n".repeat(n)),
        ];
        (name, json_text())
            .prop_map(|(name, value)| SetIn { name, value })
            .boxed()
    }

    fn op(&self) -> BoxedStrategy<Op> {
        prop_oneof![
            self.filter().prop_map(Op::List),
            (self.filter(), prop::option::of(self.cursor())).prop_map(|(f, c)| Op::Page(f, c)),
            self.id().prop_map(Op::Get),
            self.logs_in().prop_map(Op::Logs),
            self.log_in().prop_map(Op::Log),
            self.set_in().prop_map(Op::Set),
            Just(Op::Context),
        ]
        .boxed()
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn list_answers_or_refuses_any_filter() {
    let fx = Fixture::new("list");
    let g = fx.gen_();
    run("list", cases(170), (ctx_kind(), g.filter()), |(kind, f)| {
        let mut c = fx.case(kind);
        fx.block_on(check_list(&fx, &mut c, &f))
    });
}

#[test]
fn list_page_answers_or_refuses_any_filter_and_cursor() {
    let fx = Fixture::new("list_page");
    let g = fx.gen_();
    run(
        "list_page",
        cases(130),
        (
            ctx_kind(),
            g.filter(),
            prop::option::weighted(0.7, g.cursor()),
        ),
        |(kind, f, cursor)| {
            let mut c = fx.case(kind);
            fx.block_on(check_page(&fx, &mut c, &f, &cursor))
        },
    );
}

/// Walking every page returns what one `list` returns, once each.
#[test]
fn list_pages_walk_the_whole_list() {
    let fx = Fixture::new("walk");
    let g = fx.gen_();
    let filter = (
        prop::option::of(prop::sample::select(
            g.names
                .iter()
                .filter(|n| !n.is_empty())
                .cloned()
                .collect::<Vec<_>>(),
        )),
        prop::option::of(prop::sample::select(&ExecutionStatus::ALL[..])),
        1u32..=6,
    );
    run(
        "list_pages_walk",
        cases(20),
        (ctx_kind(), filter),
        |(kind, (name, status, size))| {
            let mut c = fx.case(kind);
            fx.block_on(async {
                let f = FilterIn {
                    workflow_name: name,
                    status,
                    start_date: None,
                    end_date: None,
                    limit: Some(size),
                };
                let Ok((all, _)) = fx.model_list(&c.who, &f, None)? else {
                    return Err(TestCaseError::fail("the walk's filter is valid"));
                };
                let mut seen = Vec::new();
                let mut cursor = None;
                for _ in 0..=fx.seeds.len() {
                    let page = no_trap(
                        "list_page",
                        executions::Host::list_page(&mut c.ctx, f.to_wit(), cursor.clone()).await,
                    )?;
                    no_internal("list_page", &page)?;
                    let page = page.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    prop_assert!(page.executions.len() <= size as usize);
                    if page.next_cursor.is_some() {
                        prop_assert_eq!(
                            page.executions.len(),
                            size as usize,
                            "a short page with a next cursor"
                        );
                    }
                    seen.extend(page.executions.iter().map(|r| r.execution_id.clone()));
                    cursor = page.next_cursor;
                    if cursor.is_none() {
                        break;
                    }
                }
                prop_assert!(cursor.is_none(), "more pages than rows");
                let want: Vec<String> = all.iter().map(Uuid::to_string).collect();
                prop_assert_eq!(seen, want);
                Ok(())
            })
        },
    );
}

#[test]
fn get_answers_or_refuses_any_id() {
    let fx = Fixture::new("get");
    let g = fx.gen_();
    run("get", cases(170), (ctx_kind(), g.id()), |(kind, id)| {
        let mut c = fx.case(kind);
        fx.block_on(check_get(&fx, &mut c, &id))
    });
}

#[test]
fn get_current_logs_answers_or_refuses_any_arguments() {
    let fx = Fixture::new("logs");
    let g = fx.gen_();
    run(
        "get_current_logs",
        cases(170),
        (ctx_kind(), g.logs_in()),
        |(kind, a)| {
            let mut c = fx.case(kind);
            fx.block_on(check_logs(&fx, &mut c, &a))
        },
    );
}

#[test]
fn log_takes_any_line_and_reads_it_back() {
    let fx = Fixture::new("log");
    let g = fx.gen_();
    run("log", cases(130), (ctx_kind(), g.log_in()), |(kind, a)| {
        let mut c = fx.case(kind);
        fx.block_on(check_log(&fx, &mut c, &a))
    });
}

#[test]
fn context_functions_and_set_variable_take_any_arguments() {
    let fx = Fixture::new("context");
    let g = fx.gen_();
    run(
        "context",
        cases(130),
        (ctx_kind(), g.set_in()),
        |(kind, a)| {
            let mut c = fx.case(kind);
            fx.block_on(async {
                check_context(&mut c).await?;
                check_set(&fx, &mut c, &a).await
            })
        },
    );
}

/// Sequences of any calls on one instance: logging, variables and queries interleaved.
#[test]
fn mixed_call_sequences() {
    let fx = Fixture::new("mixed");
    let g = fx.gen_();
    run(
        "mixed",
        cases(80),
        (ctx_kind(), prop::collection::vec(g.op(), 1..9)),
        |(kind, ops)| {
            let mut c = fx.case(kind);
            fx.block_on(async {
                for op in &ops {
                    check_op(&fx, &mut c, op).await?;
                }
                Ok(())
            })
        },
    );
}

// ---------------------------------------------------------------------------------------
// Findings: the smallest inputs of what the properties found, as examples
// ---------------------------------------------------------------------------------------

/// A variable nested 127 levels deep passes `set-variable`'s parse (serde_json's limit is
/// 128 levels), but the variables object that holds it is 128 deep, which no later read of
/// the row can parse: `get` and `list` of the execution, and the next `set-variable`,
/// answer `internal` ("stored JSON: recursion limit exceeded").
#[test]
fn finding_a_127_deep_variable_breaks_its_execution() {
    let fx = Fixture::new("finding_deep");
    let running = fx.running.execution.execution_id;
    fx.block_on(async {
        let mut c = fx.case(CtxKind::Running);
        let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let set = context::Host::set_variable(&mut c.ctx, "deep".into(), deep)
            .await
            .expect("no trap");
        let again = context::Host::set_variable(&mut c.ctx, "x".into(), "1".into())
            .await
            .expect("no trap");
        let mut admin = fx.case(CtxKind::Outside(0));
        let get = executions::Host::get(&mut admin.ctx, running.to_string())
            .await
            .expect("no trap");
        let list = executions::Host::list(&mut admin.ctx, FilterIn::default().to_wit())
            .await
            .expect("no trap");
        let internal = |e: Option<&types::Error>| matches!(e, Some(types::Error::Internal(_)));
        assert!(
            !internal(again.as_ref().err())
                && !internal(get.as_ref().err())
                && !internal(list.as_ref().err()),
            "set-variable of a 127-deep array: {set:?}; then set-variable: {again:?}; \
             get: {:?}; list: {:?}",
            get.as_ref().map(|r| &r.execution_id),
            list.as_ref().map(Vec::len),
        );
    });
}

/// A `start-date` finer than the store's microseconds is truncated to them, so a row that
/// started before the bound is returned: bound `10:00:00.123455999Z`, row started at
/// `10:00:00.123455Z`.
#[test]
fn finding_a_sub_microsecond_start_date_includes_an_earlier_row() {
    let fx = Fixture::new("finding_submicro");
    let earlier = fx.seeds[14].clone();
    assert_eq!(
        model::rfc3339(&earlier.started_at),
        "2026-04-25T10:00:00.123455Z"
    );
    fx.block_on(async {
        let mut admin = fx.case(CtxKind::Outside(0));
        let filter = FilterIn {
            start_date: Some("2026-04-25T10:00:00.123455999Z".into()),
            status: Some(earlier.status),
            ..Default::default()
        };
        let rows = executions::Host::list(&mut admin.ctx, filter.to_wit())
            .await
            .expect("no trap")
            .expect("a valid filter");
        let ids: Vec<&str> = rows.iter().map(|r| r.execution_id.as_str()).collect();
        assert!(
            !ids.contains(&earlier.id.to_string().as_str()),
            "start_date 10:00:00.123455999Z returned the execution started at \
             10:00:00.123455Z: {ids:?}"
        );
    });
}

/// `get-current-logs` flushes the log writer only when the id is absent or spelled as the
/// canonical UUID (any case, padded); the other spellings it accepts for the same
/// execution (braced, simple, URN) skip the flush, and the line just logged is missing.
#[test]
fn finding_own_log_read_by_another_spelling_misses_the_last_line() {
    let fx = Fixture::new("finding_flush");
    let id = fx.running.execution.execution_id;
    let mut missing = Vec::new();
    fx.block_on(async {
        for spelling in [
            Spelling::Current,
            Spelling::Canonical,
            Spelling::Upper,
            Spelling::Padded,
            Spelling::Braced,
            Spelling::Simple,
            Spelling::Urn,
        ] {
            let mut c = fx.case(CtxKind::Running);
            let message = format!("logged just before reading with {spelling:?}");
            logging::Host::log(&mut c.ctx, types::LogLevel::Info, message.clone(), None)
                .await
                .expect("no trap")
                .expect("logged");
            let entries = executions::Host::get_current_logs(
                &mut c.ctx,
                spell(id, spelling),
                None,
                Some(1000),
            )
            .await
            .expect("no trap")
            .expect("own log");
            if entries.last().map(|e| &e.message) != Some(&message) {
                missing.push(spell(id, spelling));
            }
        }
    });
    assert!(
        missing.is_empty(),
        "the line just logged is missing when the own execution is named {missing:?}"
    );
}
