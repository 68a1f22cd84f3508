//! The runner: one engine for many instances, a cached `InstancePre` per component, and
//! the lifecycle of an execution from its row to its final status and persisted logs.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use uuid::Uuid;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::ctx::{ExecutionsCtx, WorkflowPre};
use crate::error::{ApiError, StoreError};
use crate::identity::{ExecutionContext, Identity};
use crate::limits::{Limits, truncate_with_marker};
use crate::logs::guest_output::{GuestOutput, OutputTail};
use crate::logs::{LogWriter, WriterOutcome};
use crate::model::{Execution, ExecutionStatus, LogLevel, NewExecution, Outcome};
use crate::service::ExecutionsService;
use crate::store::RunStart;
use bifrost_query::query::validate_workflow_name;
use bifrost_query::values::{storable_json, storable_text, unstorable_number};

/// How often the epoch advances; the deadline's resolution.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits and engine settings of a [`Runner`].
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Wall-clock deadline of one execution; past it the execution ends as `Timeout`.
    /// Default 5 minutes.
    pub deadline: Duration,
    /// Most linear memory one instance may have. Default 256 MiB.
    pub max_memory_bytes: usize,
    /// Use the pooling instance allocator (default). Each of its `2 * max_instances` memory
    /// slots reserves 4 GiB of address space plus guard regions (about 8 TiB for the
    /// default 1000 instances; address space, not memory), so that guest code runs without
    /// bounds checks. Falls back to on-demand allocation, reserving `max_memory_bytes` per
    /// memory, when the machine refuses the pool's reservation.
    pub pooling: bool,
    /// Instances alive at once. Default 1000. Executions beyond it wait for a slot (their
    /// rows stay `Pending` until they get one).
    pub max_instances: u32,
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
}

/// Longest [`RunnerConfig::deadline`]: 7 days.
pub const MAX_DEADLINE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longest [`RunnerConfig::store_retry`]: 1 day.
pub const MAX_STORE_RETRY: Duration = Duration::from_secs(24 * 3600);
/// Shortest and longest [`RunnerConfig::lease`]: 1 s and 1 hour.
pub const LEASE_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3600);

impl RunnerConfig {
    /// Checks that every setting is in its range: a deadline of 1 ms to [`MAX_DEADLINE`],
    /// a store retry of at most [`MAX_STORE_RETRY`], a lease in [`LEASE_RANGE`], at least
    /// one instance and 64 KiB of memory. [`Runner::new`] refuses a configuration that is
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
            max_table_elements: 100_000,
            limits: Limits::default(),
            store_retry: Duration::from_secs(60),
            lease: Duration::from_secs(30),
        }
    }
}

/// What starts an execution: who, with which input, under which name.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The workflow's name, as recorded and as the guest sees it.
    pub workflow_name: String,
    /// Input parameters (a JSON value; the guest receives its text).
    pub input: serde_json::Value,
    /// Who runs it: the execution's owner and the instance's identity.
    pub identity: Identity,
    /// Triggering form.
    pub form_id: Option<Uuid>,
    /// CLI session.
    pub session_id: Option<String>,
}

/// Why a run could not be carried out (as opposed to a run that ended `Failed`, which is a
/// result).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store or the log stream failed; the execution may be incomplete.
    #[error("{0}")]
    Backend(#[from] ApiError),
    /// The component could not be loaded or linked.
    #[error("cannot load workflow: {0:#}")]
    Load(wasmtime::Error),
    /// A part of the request is malformed or out of range (an empty or too long workflow
    /// name, a number no store can keep in the input); nothing was recorded.
    #[error("invalid argument {parameter}: {reason}")]
    InvalidArgument {
        /// Which part: `workflow_name` or `input`.
        parameter: &'static str,
        /// Why.
        reason: String,
    },
    /// The input exceeds [`Limits::max_input_bytes`]; nothing was recorded.
    #[error("input of {size} bytes exceeds the limit of {max} bytes")]
    InputTooLarge {
        /// Size of the input's JSON text.
        size: usize,
        /// The limit.
        max: usize,
    },
}

/// A compiled workflow component, linked and ready to instantiate.
#[derive(Clone)]
pub struct LoadedWorkflow {
    pre: WorkflowPre<HostState>,
}

impl std::fmt::Debug for LoadedWorkflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedWorkflow").finish_non_exhaustive()
    }
}

/// Runs workflow components as executions.
pub struct Runner {
    engine: Engine,
    linker: Linker<HostState>,
    service: ExecutionsService,
    config: RunnerConfig,
    cache: Mutex<HashMap<(PathBuf, SystemTime, u64), LoadedWorkflow>>,
    ticker_stop: Arc<AtomicBool>,
    /// One permit per instance slot: executions beyond `max_instances` wait for a slot
    /// instead of failing to allocate one.
    slots: Arc<tokio::sync::Semaphore>,
    /// The executions this runner has `Running`, whose leases it renews.
    live: Arc<Mutex<HashSet<Uuid>>>,
    /// The task that renews them, started by the first run.
    heartbeat: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The data of one instance's store.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    executions: ExecutionsCtx,
    memory: MemoryLimiter,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory, tables and instances, and records the peak memory.
struct MemoryLimiter {
    max_bytes: usize,
    max_table_elements: usize,
    peak_bytes: usize,
    refused: bool,
}

/// Most core instances, tables and memories one workflow component may create. A Rust
/// `wasm32-wasip2` component uses a handful of each.
const MAX_INSTANCES_PER_EXECUTION: usize = 64;
const MAX_TABLES_PER_EXECUTION: usize = 64;
const MAX_MEMORIES_PER_EXECUTION: usize = 16;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = true;
            return Ok(false);
        }
        self.peak_bytes = self.peak_bytes.max(desired).max(current);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.max_table_elements)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES_PER_EXECUTION
    }

    fn tables(&self) -> usize {
        MAX_TABLES_PER_EXECUTION
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES_PER_EXECUTION
    }
}

/// Bytes of each linear memory and table a reused pool slot keeps resident (see `engine`).
const KEEP_RESIDENT_MEMORY: usize = 4 << 20;
const KEEP_RESIDENT_TABLE: usize = 64 << 10;
/// Decommits batched together by the pooling allocator.
const DECOMMIT_BATCH: usize = 32;

fn engine(config: &RunnerConfig) -> wasmtime::Result<Engine> {
    let mut c = Config::new();
    c.epoch_interruption(true);
    c.max_wasm_stack(1 << 20);
    if config.pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(config.max_instances)
            .total_core_instances(config.max_instances * 8)
            .total_memories(config.max_instances * 2)
            .total_tables(config.max_instances * 2)
            .total_stacks(config.max_instances)
            .max_memory_size(config.max_memory_bytes)
            // Reuse a slot without returning its pages to the kernel: reset only the pages
            // the last instance dirtied (PAGEMAP_SCAN, Linux 6.7+; elsewhere the low
            // addresses are reset with memset), up to these sizes, instead of an madvise
            // that unmaps them and a page fault for each on the next use. The
            // instantiation benchmark measured 57 us per instance before, with the time in
            // page faults and TLB shootdowns.
            .pagemap_scan(wasmtime::Enabled::Auto)
            .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
            .table_keep_resident(KEEP_RESIDENT_TABLE)
            // What is still decommitted goes in batches: fewer system calls and shootdowns.
            .decommit_batch_size(DECOMMIT_BATCH);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        // Memory reservation stays at wasmtime's default for 64-bit hosts: 4 GiB of address
        // space (not memory) per slot plus guard regions, so that compiled guest code needs
        // no bounds check on its loads and stores. A reservation of `max_memory_bytes` made
        // every access check its bound; a profile of the host-call benchmark's guest
        // measured that guest code took 21-23% more CPU with it. The growth limit is still
        // `max_memory_bytes`, through `max_memory_size` above and the store's limiter.
        // Where the address space is short (an `ulimit -v`), reserving the pool fails in
        // `Engine::new`; the runner then allocates on demand and reserves only
        // `max_memory_bytes` per memory, trading the bounds checks for address space.
        match Engine::new(&c) {
            Ok(engine) => return Ok(engine),
            Err(e) => {
                tracing::warn!(error = %e, "pooling allocator unavailable; allocating on demand");
                c.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                c.memory_reservation(config.max_memory_bytes as u64);
            }
        }
    }
    Engine::new(&c)
}

impl Runner {
    /// A runner whose executions are recorded through `service`.
    pub fn new(service: ExecutionsService, config: RunnerConfig) -> wasmtime::Result<Self> {
        config.validate()?;
        let engine = engine(&config)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        crate::ctx::add_to_linker(&mut linker, |s: &mut HostState| &mut s.executions)?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("bifrost-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| wasmtime::format_err!("cannot start the epoch thread: {e}"))?;
        }
        Ok(Self {
            engine,
            linker,
            service,
            cache: Mutex::new(HashMap::new()),
            ticker_stop,
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_instances as usize)),
            live: Arc::default(),
            heartbeat: Mutex::default(),
            config,
        })
    }

    /// The service executions are recorded through.
    pub fn service(&self) -> &ExecutionsService {
        &self.service
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles and links a component file, or returns the cached result for an unchanged
    /// file.
    pub fn load_file(&self, path: &Path) -> Result<LoadedWorkflow, RunError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| RunError::Load(wasmtime::format_err!("{}: {e}", path.display())))?;
        let key = (
            path.to_path_buf(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        );
        if let Some(hit) = self.cache.lock().expect("cache lock").get(&key) {
            return Ok(hit.clone());
        }
        let bytes = std::fs::read(path)
            .map_err(|e| RunError::Load(wasmtime::format_err!("{}: {e}", path.display())))?;
        check_component_header(&bytes)
            .map_err(|e| RunError::Load(wasmtime::format_err!("{}: {e}", path.display())))?;
        let component = Component::new(&self.engine, &bytes)
            .map_err(|e| RunError::Load(wasmtime::format_err!("{}: {e:#}", path.display())))?;
        let loaded = self.load(&component)?;
        self.cache
            .lock()
            .expect("cache lock")
            .insert(key, loaded.clone());
        Ok(loaded)
    }

    /// Links a compiled component.
    pub fn load(&self, component: &Component) -> Result<LoadedWorkflow, RunError> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(RunError::Load)?;
        let pre = WorkflowPre::new(pre).map_err(RunError::Load)?;
        Ok(LoadedWorkflow { pre })
    }

    /// Runs `workflow` as a new execution and returns the finished execution, with its logs.
    ///
    /// The row goes `Pending` -> `Running` -> `Success`, `Failed` or `Timeout`. A trap, a
    /// deadline or an error returned by the workflow is a finished execution, not an `Err`;
    /// `Err` means a backend failed.
    ///
    /// U+0000, which PostgreSQL cannot store, becomes U+FFFD in the input, the workflow
    /// name, the user name and the session id before anything is recorded (the workflow
    /// receives the input as recorded), and in the result and error message
    /// ([`storable_text`]).
    #[tracing::instrument(skip_all, fields(workflow = %request.workflow_name))]
    pub async fn run(
        &self,
        workflow: &LoadedWorkflow,
        mut request: RunRequest,
    ) -> Result<Execution, RunError> {
        let limits = &self.config.limits;
        request.input = storable_json(request.input);
        request.workflow_name = storable_text(request.workflow_name);
        request.identity.user_name = storable_text(request.identity.user_name);
        request.session_id = request.session_id.map(storable_text);
        validate_workflow_name(&request.workflow_name).map_err(|e| RunError::InvalidArgument {
            parameter: e.parameter,
            reason: e.reason,
        })?;
        if let Some(reason) = unstorable_number(&request.input) {
            return Err(RunError::InvalidArgument {
                parameter: "input",
                reason,
            });
        }
        let input = request.input.to_string();
        if input.len() > limits.max_input_bytes {
            return Err(RunError::InputTooLarge {
                size: input.len(),
                max: limits.max_input_bytes,
            });
        }
        let id = Uuid::new_v4();
        let store = self.service.store();
        let new = NewExecution {
            id,
            workflow_name: request.workflow_name.clone(),
            parameters: request.input.clone(),
            executed_by: request.identity.user_id,
            executed_by_name: request.identity.user_name.clone(),
            organization_id: request.identity.organization_id,
            form_id: request.form_id,
            session_id: request.session_id.clone(),
            created_at: Utc::now(),
        };
        // Until its final status is written, the heartbeat renews the execution's lease
        // (once it is Running), however this function returns.
        let _live = self.hold_lease(id);
        // With a slot free the row is written once, already Running; otherwise it waits
        // as Pending for a slot.
        let _slot = match self.slots.try_acquire() {
            Ok(slot) => {
                let start = self.run_start();
                self.retry_store(|| store.create_running(&new, &start))
                    .await?;
                slot
            }
            Err(_) => {
                self.retry_store(|| store.create(&new)).await?;
                let slot = self
                    .slots
                    .acquire()
                    .await
                    .map_err(|_| ApiError::Internal("runner is shutting down".into()))?;
                let start = self.run_start();
                self.retry_store(|| store.mark_running(id, &start)).await?;
                slot
            }
        };
        let clock = Instant::now();

        let Executed {
            ended,
            cpu,
            peak_memory_bytes: peak,
            logs,
        } = self.execute_input(workflow, &request, &input, id).await;

        let (status, result, error_message) = match ended {
            Ended::Returned(text) if text.len() > limits.max_result_bytes => (
                ExecutionStatus::Failed,
                None,
                Some(format!(
                    "workflow result of {} bytes exceeds the limit of {} bytes",
                    text.len(),
                    limits.max_result_bytes
                )),
            ),
            Ended::Returned(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => match unstorable_number(&v) {
                    None => (ExecutionStatus::Success, Some(storable_json(v)), None),
                    Some(reason) => (
                        ExecutionStatus::Failed,
                        None,
                        Some(format!(
                            "workflow returned a result that cannot be stored: {reason}"
                        )),
                    ),
                },
                Err(e) => (
                    ExecutionStatus::Failed,
                    None,
                    Some(format!("workflow returned a result that is not JSON: {e}")),
                ),
            },
            Ended::Failed(msg) => (ExecutionStatus::Failed, None, Some(msg)),
            Ended::TimedOut => (
                ExecutionStatus::Timeout,
                None,
                Some(format!(
                    "execution exceeded its deadline of {} ms",
                    self.config.deadline.as_millis()
                )),
            ),
        };
        let error_message = error_message
            .map(|m| truncate_with_marker(storable_text(m), limits.max_error_message_bytes));
        let result_type = result.as_ref().map(result_type);
        let outcome = Outcome {
            status,
            result,
            result_type,
            error_message,
            duration_ms: clock.elapsed().as_millis() as i64,
            completed_at: Utc::now(),
            peak_memory_bytes: peak as i64,
            cpu_total_seconds: cpu.as_secs_f64(),
            log_lines_dropped: logs.dropped_lines as i64,
        };
        // The logs and the status together (a final status means the logs are stored),
        // waiting out a store that is briefly unreachable (a restart).
        let mut execution = self
            .retry_store(|| store.finish_with_logs(id, &outcome, &logs.entries))
            .await?;
        if let Err(e) = self.service.log_stream().delete(id).await {
            // The entries are in the store; a leftover stream holds the same ones.
            tracing::warn!(%id, error = %e, "could not delete the moved log stream");
        }
        execution.logs = Some(
            logs.entries
                .into_iter()
                .take(crate::query::MAX_LOG_COUNT as usize)
                .collect(),
        );
        Ok(execution)
    }

    /// Start, deadline and first lease of a run starting now.
    fn run_start(&self) -> RunStart {
        let started_at = Utc::now();
        // Both durations are bounded by `RunnerConfig::validate`.
        let after = |d: Duration| {
            chrono::TimeDelta::from_std(d)
                .ok()
                .and_then(|d| started_at.checked_add_signed(d))
                .unwrap_or(started_at)
        };
        RunStart {
            started_at,
            deadline_at: after(self.config.deadline),
            lease_until: after(self.config.lease),
        }
    }

    /// Puts execution `id` among those whose leases the heartbeat renews, until the guard
    /// is dropped; starts the heartbeat if it is not running (it needs a tokio runtime,
    /// which `run` has).
    fn hold_lease(&self, id: Uuid) -> LeaseGuard<'_> {
        self.live.lock().expect("live executions lock").insert(id);
        let mut heartbeat = self.heartbeat.lock().expect("heartbeat lock");
        if heartbeat.as_ref().is_none_or(|h| h.is_finished()) {
            let live = Arc::downgrade(&self.live);
            let store = self.service.store().clone();
            let lease = self.config.lease;
            *heartbeat = Some(tokio::spawn(renew_leases(live, store, lease)));
        }
        LeaseGuard {
            live: &self.live,
            id,
        }
    }

    /// Runs a store call, retrying while the store is unavailable, up to
    /// [`RunnerConfig::store_retry`].
    async fn retry_store<T, F, Fut>(&self, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let since = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            match call().await {
                Ok(v) => return Ok(v),
                Err(StoreError::Unavailable(m)) if since.elapsed() < self.config.store_retry => {
                    tracing::warn!(error = %m, "store unavailable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Marks `Stuck` the executions whose runner went away (their lease ran out), and
    /// moves what their live log streams hold into the store. Returns their ids. Run it now
    /// and then (see [`spawn_sweeper`](Self::spawn_sweeper)), never in the way of a run:
    /// it may have long logs to move.
    pub async fn sweep_stuck(&self) -> Result<Vec<Uuid>, ApiError> {
        self.service.sweep_stuck(self.config.lease).await
    }

    /// Sweeps for stuck executions every `every`, until the runner is dropped.
    pub fn spawn_sweeper(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let runner = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(runner) = runner.upgrade() else {
                    break;
                };
                if let Err(e) = runner.sweep_stuck().await {
                    tracing::warn!(error = %e, "sweep for stuck executions failed");
                }
            }
        })
    }

    /// Runs `workflow` in the context of execution `execution_id` without touching the
    /// store: the instance acts as `request.identity`, its log lines (log import, stdout,
    /// stderr) go to the execution's live log stream and come back in
    /// [`Executed::logs`]. Recording the execution, storing its logs and removing the
    /// stream are left to the caller; [`run`](Self::run) does all of that around this.
    ///
    /// For embedders that keep the execution's record themselves, and for the benchmarks
    /// (log ingest and live log reads without the store).
    pub async fn execute(
        &self,
        workflow: &LoadedWorkflow,
        request: &RunRequest,
        execution_id: Uuid,
    ) -> Executed {
        let input = request.input.to_string();
        self.execute_input(workflow, request, &input, execution_id)
            .await
    }

    async fn execute_input(
        &self,
        workflow: &LoadedWorkflow,
        request: &RunRequest,
        input: &str,
        id: Uuid,
    ) -> Executed {
        let (log, log_task) =
            LogWriter::spawn(self.service.log_stream().clone(), id, &self.config.limits);
        let stderr_tail = OutputTail::new();
        let wasi = WasiCtx::builder()
            .stdout(GuestOutput::new(log.clone(), LogLevel::Info))
            .stderr(GuestOutput::new(log.clone(), LogLevel::Error).with_tail(stderr_tail.clone()))
            .build();
        let executions = ExecutionsCtx::new(request.identity.clone(), self.service.clone())
            .with_execution(
                ExecutionContext {
                    execution_id: id,
                    workflow_name: request.workflow_name.clone(),
                },
                log,
            )
            .with_limits(self.config.limits.clone());
        let (ended, cpu, peak_memory_bytes) = self
            .call(workflow, wasi, executions, input, Some(&stderr_tail))
            .await;
        Executed {
            ended,
            cpu,
            peak_memory_bytes,
            // Every writer clone lived in the store, which `call` has dropped.
            logs: log_task.finish().await,
        }
    }

    /// Instantiates `workflow` and calls it once outside any execution: nothing is
    /// recorded, the guest's stdout and stderr are discarded, its log lines go to the
    /// host's `tracing` output (target `bifrost::guest`) and its queries act as `identity`.
    /// The cheapest way to run a component (to check that it starts, say); the benchmarks
    /// time instantiation with it.
    pub async fn call_detached(
        &self,
        workflow: &LoadedWorkflow,
        identity: &Identity,
        input: &str,
    ) -> Ended {
        let executions = ExecutionsCtx::new(identity.clone(), self.service.clone())
            .with_limits(self.config.limits.clone());
        let (ended, _, _) = self
            .call(
                workflow,
                WasiCtx::builder().build(),
                executions,
                input,
                None,
            )
            .await;
        ended
    }

    /// Instantiates and calls the workflow; never fails: every way the guest can end is an
    /// [`Ended`]. Returns the CPU time spent in the call and the peak linear memory.
    ///
    /// When the guest traps, what it last wrote to `stderr_tail` (a panic message, an
    /// exception) leads the message: it names the cause, which the trap and its frames
    /// (`abort`, `unreachable`) do not.
    async fn call(
        &self,
        workflow: &LoadedWorkflow,
        wasi: WasiCtx,
        executions: ExecutionsCtx,
        input: &str,
        stderr_tail: Option<&OutputTail>,
    ) -> (Ended, Duration, usize) {
        let mut store = Store::new(
            &self.engine,
            HostState {
                wasi,
                table: ResourceTable::new(),
                executions,
                memory: MemoryLimiter {
                    max_bytes: self.config.max_memory_bytes,
                    max_table_elements: self.config.max_table_elements,
                    peak_bytes: 0,
                    refused: false,
                },
            },
        );
        store.limiter(|s| &mut s.memory);
        // Every tick the guest yields to the runtime, so that a guest that computes without
        // end shares its thread with the other executions; past the deadline it traps.
        let deadline = Instant::now() + self.config.deadline;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });

        let mut cpu = Duration::ZERO;
        let call = async {
            let instance = workflow.pre.instantiate_async(&mut store).await?;
            instance.call_run(&mut store, input).await
        };
        // Host calls that hang (a backend that never answers) are bounded by the same
        // deadline plus a margin, as the epoch only interrupts guest code.
        let deadline = self.config.deadline + Duration::from_secs(1);
        let ended = match tokio::time::timeout(deadline, CpuTimed::new(call, &mut cpu)).await {
            Err(_) => Ended::TimedOut,
            Ok(Ok(Ok(text))) => Ended::Returned(text),
            Ok(Ok(Err(message))) => Ended::Failed(message),
            Ok(Err(e)) => {
                if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
                    Ended::TimedOut
                } else if store.data().memory.refused {
                    Ended::Failed(with_cause(
                        stderr_tail,
                        format!(
                            "memory limit of {} bytes reached: {e:#}",
                            self.config.max_memory_bytes
                        ),
                    ))
                } else {
                    Ended::Failed(with_cause(stderr_tail, trap_message(&e)))
                }
            }
        };
        let peak = store.data().memory.peak_bytes;
        (ended, cpu, peak)
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
        if let Some(heartbeat) = self.heartbeat.get_mut().ok().and_then(Option::take) {
            heartbeat.abort();
        }
    }
}

/// Removes an execution from the runner's live set when its run is over.
struct LeaseGuard<'a> {
    live: &'a Mutex<HashSet<Uuid>>,
    id: Uuid,
}

impl Drop for LeaseGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(&self.id);
        }
    }
}

/// The heartbeat: every third of `lease`, extends the leases of the runner's running
/// executions to `lease` from now, in one write. Ends with the runner.
async fn renew_leases(
    live: std::sync::Weak<Mutex<HashSet<Uuid>>>,
    store: Arc<dyn crate::store::ExecutionStore>,
    lease: Duration,
) {
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let ids: Vec<Uuid> = match live.upgrade() {
            Some(live) => live
                .lock()
                .map(|l| l.iter().copied().collect())
                .unwrap_or_default(),
            None => break,
        };
        if ids.is_empty() {
            continue;
        }
        let until = chrono::TimeDelta::from_std(lease)
            .ok()
            .and_then(|l| Utc::now().checked_add_signed(l))
            .unwrap_or_else(Utc::now);
        if let Err(e) = store.renew_leases(&ids, until).await {
            tracing::warn!(error = %e, executions = ids.len(), "could not renew the leases of running executions");
        }
    }
}

/// How a call of a workflow's `run` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// `run` returned `ok` with this text.
    Returned(String),
    /// `run` returned `err` with this message, or the instance trapped (the message says
    /// why), or it reached the memory limit.
    Failed(String),
    /// The deadline passed.
    TimedOut,
}

/// What [`Runner::execute`] gives back.
#[derive(Debug)]
pub struct Executed {
    /// How the call ended.
    pub ended: Ended,
    /// CPU time the instance used (guest code and the host code it called synchronously).
    pub cpu: Duration,
    /// Peak linear memory of the instance.
    pub peak_memory_bytes: usize,
    /// The log lines kept, with their stream ids, and what the log caps dropped.
    pub logs: WriterOutcome,
}

/// Tells what a file that is no component is, before the parser reports a byte dump.
fn check_component_header(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8] = b"\0asm";
    // The layer field (bytes 6 and 7): 0 for a core module, 1 for a component.
    match bytes.get(..8) {
        Some(header) if header.starts_with(MAGIC) && header[6..8] == [1, 0] => Ok(()),
        Some(header) if header.starts_with(MAGIC) => Err(
            "a core WebAssembly module, not a component: build the workflow for wasm32-wasip2, \
             or wrap the module with `wasm-tools component new`"
                .into(),
        ),
        _ if bytes.trim_ascii_start().starts_with(b"(") => Err(
            "WebAssembly text, not a binary component: compile it with `wasm-tools parse`".into(),
        ),
        _ => Err("not a WebAssembly component (no \\0asm header)".into()),
    }
}

/// `message` after what the guest last wrote to stderr, if anything: the cause first.
fn with_cause(stderr_tail: Option<&OutputTail>, message: String) -> String {
    match stderr_tail.and_then(OutputTail::text) {
        Some(cause) => format!("{cause}\n{message}"),
        None => message,
    }
}

/// Frames of the guest's backtrace kept in a trap's error message.
const TRAP_FRAMES: usize = 8;

/// "workflow trapped: <reason>" and the innermost frames of the guest's backtrace (a stack
/// overflow's full backtrace has thousands of frames).
fn trap_message(e: &wasmtime::Error) -> String {
    let reason = match e.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => e.root_cause().to_string(),
    };
    let mut message = format!("workflow trapped: {reason}");
    if let Some(bt) = e.downcast_ref::<wasmtime::WasmBacktrace>() {
        let frames = bt.frames();
        for f in frames.iter().take(TRAP_FRAMES) {
            match f.func_name() {
                Some(name) => {
                    message.push_str(&format!("\n    at {:#}", rustc_demangle::demangle(name)))
                }
                None => message.push_str("\n    at <unknown>"),
            }
        }
        if frames.len() > TRAP_FRAMES {
            message.push_str(&format!(
                "\n    ... {} more frames",
                frames.len() - TRAP_FRAMES
            ));
        }
    }
    message
}

/// The rendering hint of a result: `text` for a string, `html` for a string that starts
/// with a tag, `json` for everything else.
fn result_type(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) if s.trim_start().starts_with('<') => "html",
        serde_json::Value::String(_) => "text",
        _ => "json",
    }
    .to_owned()
}

/// Adds the time every poll of a future takes to a counter: the CPU the guest (and the host
/// code it calls synchronously) used, wherever the runtime polls it. A poll runs on the CPU
/// from start to end (waiting happens between polls), so its duration on the monotonic clock
/// is its CPU time unless the kernel preempts the thread mid-poll. The monotonic clock is
/// read in user space; the thread CPU clock would cost two system calls per poll, which the
/// instantiation benchmark measured at a tenth of an instance's whole cost.
struct CpuTimed<'a, F> {
    inner: Pin<Box<F>>,
    total: &'a mut Duration,
}

impl<'a, F> CpuTimed<'a, F> {
    fn new(inner: F, total: &'a mut Duration) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn limiter_caps_memory_and_tables_and_records_the_peak() {
        let mut l = MemoryLimiter {
            max_bytes: 1000,
            max_table_elements: 10,
            peak_bytes: 0,
            refused: false,
        };
        assert!(l.memory_growing(0, 600, None).unwrap());
        assert!(!l.memory_growing(600, 1001, None).unwrap());
        assert!(l.refused);
        assert_eq!(l.peak_bytes, 600);
        assert!(l.table_growing(0, 10, None).unwrap());
        assert!(!l.table_growing(10, 11, None).unwrap());
        assert_eq!(l.instances(), MAX_INSTANCES_PER_EXECUTION);
    }

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

    #[test]
    fn files_that_are_no_component_are_named() {
        let component = [0, b'a', b's', b'm', 0x0d, 0, 1, 0];
        assert_eq!(check_component_header(&component), Ok(()));
        let module = [0, b'a', b's', b'm', 1, 0, 0, 0];
        assert!(
            check_component_header(&module)
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        assert!(
            check_component_header(b"  (component)")
                .unwrap_err()
                .contains("text")
        );
        assert!(
            check_component_header(b"random bytes")
                .unwrap_err()
                .contains("no \\0asm")
        );
        assert!(
            check_component_header(b"")
                .unwrap_err()
                .contains("no \\0asm")
        );
    }

    #[test]
    fn result_types() {
        assert_eq!(result_type(&serde_json::json!({"a": 1})), "json");
        assert_eq!(result_type(&serde_json::json!([1])), "json");
        assert_eq!(result_type(&serde_json::json!(3)), "json");
        assert_eq!(result_type(&serde_json::json!("done")), "text");
        assert_eq!(result_type(&serde_json::json!("  <p>hi</p>")), "html");
    }
}
