//! The runner: one engine for many instances, the lifecycle of an execution from its row
//! to its final status and stored logs, and the backends chosen from configuration.
//!
//! A [`Runner`] holds a wasmtime engine (pooling allocator, epoch interruption), the
//! linker with WASI and the executions imports of `bifrost-host`, and the service its
//! executions are recorded through. [`Runner::run`] records an execution, instantiates the
//! workflow with the caller's identity, applies the [`RunnerConfig`] limits (deadline,
//! memory, log caps), and stores its outcome and its log together. The `bifrost-runner`
//! command line is in the `bifrost-cli` package, so that embedding this crate does not
//! compile its dependencies.
//!
//! For a queue of executions shared by many runner processes, [`worker::submit`] records an
//! execution of a deployed workflow and a [`worker::Worker`] claims and runs them (what
//! `bifrost-runner serve` does); [`RunnerConfig::compiled_cache`] keeps compiled components
//! on disk for the next process.
//!
//! ```no_run
//! use bifrost_core::Identity;
//! use bifrost_runner::backends::BackendConfig;
//! use bifrost_runner::{RunRequest, Runner, RunnerConfig};
//!
//! # async fn f() -> wasmtime::Result<()> {
//! // The embedded default: a SQLite file that also holds the live log streams.
//! let service = BackendConfig::default().connect().await?;
//! let runner = Runner::new(service, RunnerConfig::default())?;
//! let workflow = runner.load_file("hello.wasm".as_ref())?;
//! let execution = runner
//!     .run(
//!         &workflow,
//!         RunRequest {
//!             workflow_name: "hello".into(),
//!             input: serde_json::json!({"name": "Ada"}),
//!             identity: Identity::operator(),
//!             form_id: None,
//!             session_id: None,
//!         },
//!     )
//!     .await?;
//! println!("{} {:?}", execution.status, execution.result);
//! // Before the process exits: the moved log streams' deletion (see `Runner::settle`).
//! runner.settle().await;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod backends;
mod cache;
mod compiled;
mod config;
mod cpu;
mod engine;
pub mod follow;
mod lease;
mod limiter;
pub mod offline;
mod outcome;
pub mod output;
mod retry;
pub mod wit;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bifrost_core::model::{Execution, LogLevel, NewExecution, Outcome};
use bifrost_core::query::{MAX_LOG_COUNT, validate_workflow_name};
use bifrost_core::store::{ExecutionStore, RunStart};
use bifrost_core::values::{storable_json, storable_text, unstorable_number};
use bifrost_core::{ApiError, ExecutionContext, ExecutionsService, Identity};
use bifrost_host::{ExecutionsCtx, LogWriter, WorkflowPre};
use chrono::Utc;
use uuid::Uuid;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::cache::ComponentCache;
use crate::compiled::CompiledCache;
pub use crate::compiled::{
    Compiled, CompiledCacheConfig, DEFAULT_COMPILED_CACHE_BYTES, component_hash,
};
pub use crate::config::{ConfigError, LEASE_RANGE, MAX_DEADLINE, MAX_STORE_RETRY, RunnerConfig};
use crate::cpu::CpuTimed;
use crate::engine::{engine, start_epoch_ticker};
use crate::lease::Leases;
use crate::limiter::MemoryLimiter;
pub use crate::outcome::{Ended, Executed};
use crate::outcome::{Ran, trap_message, with_cause};
use crate::output::{GuestOutput, OutputTail};
pub use crate::retry::RetryingStore;

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

/// Makes a request storable and checks it: U+0000 becomes U+FFFD in the input, the
/// workflow name, the user name and the session id ([`storable_text`]); the name must be
/// valid, the input's numbers storable and its text within [`Limits::max_input_bytes`].
/// Returns the input's JSON text.
///
/// [`Limits::max_input_bytes`]: bifrost_core::limits::Limits::max_input_bytes
pub fn prepare(
    request: &mut RunRequest,
    limits: &bifrost_core::limits::Limits,
) -> Result<String, RunError> {
    request.input = storable_json(std::mem::take(&mut request.input));
    request.workflow_name = storable_text(std::mem::take(&mut request.workflow_name));
    request.identity.user_name = storable_text(std::mem::take(&mut request.identity.user_name));
    request.session_id = request.session_id.take().map(storable_text);
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
    Ok(input)
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

impl From<bifrost_core::error::StoreError> for RunError {
    fn from(e: bifrost_core::error::StoreError) -> Self {
        Self::Backend(e.into())
    }
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
    /// The service's store, retried while it is unavailable, for the runner's own writes.
    store: Arc<RetryingStore>,
    config: RunnerConfig,
    cache: ComponentCache,
    /// Deployed versions, compiled and linked, by hash.
    versions: ComponentCache<String>,
    /// Held while a deployed version is loaded.
    loading: tokio::sync::Mutex<()>,
    /// Compiled components on disk, if configured.
    compiled: Option<CompiledCache>,
    ticker_stop: Arc<AtomicBool>,
    /// One permit per instance slot: executions beyond `max_instances` wait for a slot
    /// instead of failing to allocate one.
    slots: Arc<tokio::sync::Semaphore>,
    /// The executions this runner has `Running`, and the heartbeat that renews their
    /// leases.
    leases: Leases,
    /// A cancel flag per execution this runner is executing; the epoch callback interrupts
    /// an instance whose flag is set.
    cancels: Arc<std::sync::Mutex<std::collections::HashMap<Uuid, Arc<AtomicBool>>>>,
    /// Told of each execution that starts and ends, for metrics.
    events: Option<Arc<dyn RunEvents>>,
    /// Work a finished run leaves to do after it returns (deleting its moved log
    /// stream); [`settle`](Runner::settle) waits for it.
    after_runs: tokio_util::task::TaskTracker,
}

/// What a runner tells an observer (metrics, say) of the executions it runs. Called on the
/// executions' tasks: keep it quick.
pub trait RunEvents: Send + Sync + 'static {
    /// An execution is about to be instantiated.
    fn started(&self, _workflow_name: &str) {}
    /// An execution was recorded with its final status, `took` after it started.
    fn finished(&self, _execution: &Execution, _took: Duration) {}
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

impl Runner {
    /// A runner whose executions are recorded through `service`.
    pub fn new(service: ExecutionsService, config: RunnerConfig) -> wasmtime::Result<Self> {
        config.validate()?;
        let engine = engine(&config)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bifrost_host::add_to_linker(&mut linker, |s: &mut HostState| &mut s.executions)?;
        let ticker_stop = start_epoch_ticker(&engine)?;
        let compiled = config
            .compiled_cache
            .clone()
            .map(|c| CompiledCache::new(&engine, c));
        Ok(Self {
            store: Arc::new(RetryingStore::new(
                service.store().clone(),
                config.store_retry,
            )),
            engine,
            linker,
            service,
            cache: ComponentCache::default(),
            versions: ComponentCache::default(),
            loading: tokio::sync::Mutex::new(()),
            compiled,
            ticker_stop,
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_instances as usize)),
            leases: Leases::default(),
            cancels: Arc::default(),
            events: None,
            after_runs: tokio_util::task::TaskTracker::new(),
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

    /// Runs `workflow` as a new execution and returns the finished execution, with its logs.
    ///
    /// The row goes `Pending` -> `Running` -> `Success`, `Failed` or `Timeout`. A trap, a
    /// deadline or an error returned by the workflow is a finished execution, not an `Err`;
    /// `Err` means a backend failed.
    ///
    /// The final status is written with the whole log; the execution's live log stream is
    /// deleted after this returns, unless it shares the store's database
    /// ([`settle`](Self::settle) waits for those deletions).
    ///
    /// U+0000, which PostgreSQL cannot store, becomes U+FFFD in the input, the workflow
    /// name, the user name and the session id before anything is recorded (the workflow
    /// receives the input as recorded), and in the result and error message
    /// ([`storable_text`]).
    #[tracing::instrument(skip_all, fields(workflow = %request.workflow_name))]
    pub async fn run(
        &self,
        workflow: &LoadedWorkflow,
        request: RunRequest,
    ) -> Result<Execution, RunError> {
        self.run_with_id(workflow, request, Uuid::new_v4()).await
    }

    /// Like [`run`](Self::run), recording the execution as `id`, which the caller knows
    /// before the run starts (to follow its log with [`follow`](crate::follow::follow),
    /// say). `id` must be new: a fresh [`Uuid::new_v4`]; an id already recorded fails as
    /// the store refuses it.
    pub async fn run_with_id(
        &self,
        workflow: &LoadedWorkflow,
        mut request: RunRequest,
        id: Uuid,
    ) -> Result<Execution, RunError> {
        let input = prepare(&mut request, &self.config.limits)?;
        let store = &self.store;
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
        let _live = self
            .leases
            .hold(id, self.service.store(), self.config.lease);
        // With a slot free the row is written once, already Running; otherwise it waits
        // as Pending for a slot.
        let _slot = match self.slots.try_acquire() {
            Ok(slot) => {
                let start = self.run_start();
                store.create_running(&new, &start).await?;
                slot
            }
            Err(_) => {
                store.create(&new).await?;
                let slot = self
                    .slots
                    .acquire()
                    .await
                    .map_err(|_| ApiError::Internal("runner is shutting down".into()))?;
                let start = self.run_start();
                store.mark_running(id, &start).await?;
                slot
            }
        };
        self.finish_run(workflow, &request, &input, id).await
    }

    /// Runs an execution that [`QueueStore::claim`](bifrost_core::queue::QueueStore::claim)
    /// marked `Running` for this runner (with [`claim_start`](Self::claim_start)'s times):
    /// executes it and records its outcome and logs, as [`run`](Self::run) does. Waits for
    /// an instance slot if none is free; a worker claims no more than it has slots for.
    #[tracing::instrument(skip_all, fields(id = %claimed.new.id, workflow = %claimed.new.workflow_name))]
    pub async fn run_claimed(
        &self,
        workflow: &LoadedWorkflow,
        claimed: &bifrost_core::queue::Claimed,
    ) -> Result<Execution, RunError> {
        let new = &claimed.new;
        let id = new.id;
        let request = RunRequest {
            workflow_name: new.workflow_name.clone(),
            input: new.parameters.clone(),
            identity: Identity {
                user_id: new.executed_by,
                user_name: new.executed_by_name.clone(),
                organization_id: new.organization_id,
                is_platform_admin: claimed.is_platform_admin,
            },
            form_id: new.form_id,
            session_id: new.session_id.clone(),
        };
        let input = request.input.to_string();
        let _live = self
            .leases
            .hold(id, self.service.store(), self.config.lease);
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| ApiError::Internal("runner is shutting down".into()))?;
        self.finish_run(workflow, &request, &input, id).await
    }

    /// Tells `events` of every execution this runner starts and ends.
    pub fn with_events(mut self, events: Arc<dyn RunEvents>) -> Self {
        self.events = Some(events);
        self
    }

    /// Instances alive now.
    pub fn live_instances(&self) -> usize {
        (self.config.max_instances as usize).saturating_sub(self.slots.available_permits())
    }

    fn lock_cancels(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<Uuid, Arc<AtomicBool>>> {
        self.cancels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Interrupts execution `id` if this runner is executing it: its instance stops at the
    /// next epoch tick (guest code; a host call in progress finishes first) and it is
    /// recorded `Cancelled` with its logs. Returns whether it was running here.
    pub fn cancel_running(&self, id: Uuid) -> bool {
        match self.lock_cancels().get(&id) {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// The executions this runner is executing now.
    pub fn running(&self) -> Vec<Uuid> {
        self.lock_cancels().keys().copied().collect()
    }

    /// Every `every`, asks `queue` which of this runner's executions are `Cancelling`
    /// (one query, only while some run) and interrupts them, until the runner is dropped.
    pub fn spawn_cancel_watch(
        self: &Arc<Self>,
        queue: Arc<dyn bifrost_core::queue::QueueStore>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        self.every_while_alive(every, move |runner| {
            let queue = queue.clone();
            async move {
                let ids = runner.running();
                if ids.is_empty() {
                    return;
                }
                match queue.cancelling(&ids).await {
                    Ok(found) => {
                        for id in found {
                            tracing::info!(%id, "cancelling");
                            runner.cancel_running(id);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot check for cancels"),
                }
            }
        })
    }

    /// Runs `task` every `every` until the runner is dropped (the task holds it only while
    /// it runs).
    fn every_while_alive<F, Fut>(
        self: &Arc<Self>,
        every: Duration,
        task: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: Fn(Arc<Self>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let runner = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(runner) = runner.upgrade() else {
                    break;
                };
                task(runner).await;
            }
        })
    }

    /// Times of a claim made now: start, deadline and first lease, as
    /// [`run_claimed`](Self::run_claimed) expects them.
    pub fn claim_start(&self) -> RunStart {
        self.run_start()
    }

    /// Instance slots free now: how many executions a worker may claim.
    pub fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }

    /// Executes a `Running` execution and records how it ended, with its logs.
    async fn finish_run(
        &self,
        workflow: &LoadedWorkflow,
        request: &RunRequest,
        input: &str,
        id: Uuid,
    ) -> Result<Execution, RunError> {
        let limits = &self.config.limits;
        let store = &self.store;
        let clock = Instant::now();
        if let Some(events) = &self.events {
            events.started(&request.workflow_name);
        }

        let Ran {
            ended,
            cpu,
            peak_memory_bytes: peak,
            log_task,
        } = self.execute_input(workflow, request, input, id).await;
        // The whole log at once; the writer may still be appending its last lines to the
        // live stream.
        let (logs, catch_up) = log_task.close().await;

        let (status, result, result_type, error_message) =
            outcome::record(ended, limits, self.config.deadline.as_millis());
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
        // waiting out a store that is briefly unreachable (a restart); meanwhile the
        // writer brings the live stream up to date. Readers of an execution with a final
        // status read the store, so the stream may still lack lines when it commits.
        // A stream in the store's own database (the embedded SQLite file) would only
        // queue behind the store: first the stream, then the store, as one writer does.
        let stream = self.service.log_stream().clone();
        let overlap = !stream.shares_store_writer();
        let stored = if overlap {
            tokio::join!(
                store.finish_with_logs(id, &outcome, &logs.entries),
                catch_up.finish()
            )
            .0
        } else {
            catch_up.finish().await;
            store.finish_with_logs(id, &outcome, &logs.entries).await
        };
        let mut execution = stored?;
        if let Some(events) = &self.events {
            events.finished(&execution, clock.elapsed());
        }
        // The stream is moved: deleted once complete (nobody reads it now that the status
        // is final; a leftover stream holds the same entries as the store). Off the run's
        // path when the stream has a writer of its own (`settle` waits for those).
        let delete = async move {
            if let Err(e) = stream.delete(id).await {
                tracing::warn!(%id, error = %e, "could not delete the moved log stream");
            }
        };
        if overlap {
            self.after_runs.spawn(delete);
        } else {
            delete.await;
        }
        execution.logs = Some(
            logs.into_entries()
                .into_iter()
                .take(MAX_LOG_COUNT as usize)
                .collect(),
        );
        Ok(execution)
    }

    /// Waits for what finished runs left to do after they returned: the deletion of their
    /// moved live log streams, one round trip each, done off the run's path. Call it before
    /// the process exits (the command-line program and [`Worker`](crate::worker::Worker)
    /// do); a stream whose deletion never ran stays in Redis, holding the same entries as
    /// the store, until something deletes it. Runs may go on meanwhile: it returns at the
    /// first moment no deletion is pending.
    pub async fn settle(&self) {
        self.after_runs.close();
        self.after_runs.wait().await;
        self.after_runs.reopen();
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

    /// Marks `Stuck` the executions whose runner went away (their lease ran out), and
    /// moves what their live log streams hold into the store. Returns their ids. Run it now
    /// and then (see [`spawn_sweeper`](Self::spawn_sweeper)), never in the way of a run:
    /// it may have long logs to move.
    pub async fn sweep_stuck(&self) -> Result<Vec<Uuid>, ApiError> {
        self.service.sweep_stuck(self.config.lease).await
    }

    /// Sweeps for stuck executions every `every`, until the runner is dropped.
    pub fn spawn_sweeper(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        self.every_while_alive(every, |runner| async move {
            if let Err(e) = runner.sweep_stuck().await {
                tracing::warn!(error = %e, "sweep for stuck executions failed");
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
        let ran = self
            .execute_input(workflow, request, &input, execution_id)
            .await;
        Executed {
            ended: ran.ended,
            cpu: ran.cpu,
            peak_memory_bytes: ran.peak_memory_bytes,
            logs: ran.log_task.finish().await,
        }
    }

    async fn execute_input(
        &self,
        workflow: &LoadedWorkflow,
        request: &RunRequest,
        input: &str,
        id: Uuid,
    ) -> Ran {
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
        let cancel = Arc::new(AtomicBool::new(false));
        self.lock_cancels().insert(id, cancel.clone());
        let (ended, cpu, peak_memory_bytes) = self
            .call(
                workflow,
                wasi,
                executions,
                input,
                Some(&stderr_tail),
                Some(cancel),
            )
            .await;
        self.lock_cancels().remove(&id);
        Ran {
            ended,
            cpu,
            peak_memory_bytes,
            // Every writer clone lived in the store, which `call` has dropped.
            log_task,
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
        cancel: Option<Arc<AtomicBool>>,
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
        let cancelled = cancel.clone();
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline
                || cancelled
                    .as_ref()
                    .is_some_and(|c| c.load(Ordering::Relaxed))
            {
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
                    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                        Ended::Cancelled
                    } else {
                        Ended::TimedOut
                    }
                } else if e
                    .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                    .is_some()
                {
                    // Not the workflow's doing; `engine::check_fits` and the slot permits
                    // are there so that it does not happen.
                    Ended::Failed(format!(
                        "the runner's instance pool is full, the workflow did not start: {e:#}"
                    ))
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
    }
}
