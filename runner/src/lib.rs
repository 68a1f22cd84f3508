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
//!             parent_execution_id: None,
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

#[cfg(feature = "backends")]
pub mod backends;
mod cancel;
pub mod children;
pub mod compile_process;
mod config;
mod cpu;
mod disk_cache;
mod engine;
pub mod follow;
mod instance;
mod lease;
mod limiter;
mod load;
pub mod offline;
mod outcome;
pub mod output;
mod periodic;
mod request;
pub mod retention;
mod retry;
mod run;
mod slot;
pub mod wit;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bifrost_core::ExecutionsService;
use bifrost_core::model::Execution;
use bifrost_host::WorkflowPre;
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::cancel::CancelFlags;
use crate::disk_cache::CompiledCache;
use crate::engine::{engine, start_epoch_ticker};
use crate::lease::Leases;
use crate::load::Loader;

pub use crate::compile_process::CompileCommand;
pub use crate::config::{ConfigError, LEASE_RANGE, MAX_DEADLINE, MAX_STORE_RETRY, RunnerConfig};
pub use crate::disk_cache::{
    Compiled, CompiledCacheConfig, DEFAULT_COMPILED_CACHE_BYTES, component_hash,
};
pub use crate::instance::HostState;
pub use crate::load::LoadedWorkflow;
pub use crate::outcome::{Ended, Executed};
pub use crate::request::{RunError, RunRequest, prepare};

/// Runs workflow components as executions.
pub struct Runner {
    engine: Engine,
    service: ExecutionsService,
    config: RunnerConfig,
    /// Compiles, links and keeps the components this runner runs.
    loader: Loader,
    ticker_stop: Arc<AtomicBool>,
    /// One permit per instance slot: executions beyond `max_instances` wait for a slot
    /// instead of failing to allocate one.
    slots: Arc<slot::Slots>,
    /// The executions this runner has `Running`, and the heartbeat that renews their
    /// leases.
    leases: Leases,
    /// A cancel flag per execution this runner is executing; the epoch callback interrupts
    /// an instance whose flag is set.
    cancels: CancelFlags,
    /// Told of each execution that starts and ends, for metrics.
    events: Option<Arc<dyn RunEvents>>,
    /// Woken each time this runner records an execution's end: parents waiting for a
    /// child read its row again at once instead of at their next poll.
    ended: Arc<tokio::sync::Notify>,
    /// What the `workflows` interface (0.3.0) of its instances starts children with; none:
    /// those calls are `unavailable`.
    children: Option<Arc<dyn bifrost_core::children::Children>>,
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

impl Runner {
    /// A runner whose executions are recorded through `service`.
    pub fn new(service: ExecutionsService, config: RunnerConfig) -> wasmtime::Result<Self> {
        config.validate()?;
        let (engine, code) = engine(&config)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bifrost_host::add_to_linker(&mut linker, |s: &mut HostState| &mut s.executions)?;
        let ticker_stop = start_epoch_ticker(&engine)?;
        let disk = config
            .compiled_cache
            .clone()
            .map(|c| CompiledCache::new(&engine, c));
        Ok(Self {
            loader: Loader::new(
                engine.clone(),
                linker,
                disk,
                config.compile_threads(),
                config
                    .compile_command
                    .clone()
                    .map(|command| (command, code)),
            ),
            engine,
            service,
            ticker_stop,
            slots: slot::Slots::new(config.max_instances as usize, config.max_running()),
            leases: Leases::default(),
            cancels: Arc::default(),
            events: None,
            ended: Arc::default(),
            children: None,
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

    /// Lets the executions this runner runs start workflows (`workflows`, 0.3.0) through
    /// `children`, e.g. [`children::QueueChildren`].
    pub fn with_children(mut self, children: Arc<dyn bifrost_core::children::Children>) -> Self {
        self.children = Some(children);
        self
    }

    /// Woken (`notify_waiters`) each time this runner records an execution's end; what
    /// [`children::QueueChildren::woken_by`] takes.
    pub fn ended(&self) -> Arc<tokio::sync::Notify> {
        self.ended.clone()
    }

    /// Tells `events` of every execution this runner starts and ends.
    pub fn with_events(mut self, events: Arc<dyn RunEvents>) -> Self {
        self.events = Some(events);
        self
    }

    /// Instances alive now.
    pub fn live_instances(&self) -> usize {
        self.slots.live()
    }

    /// Executions waiting for a child now (alive, not counted as running).
    pub fn waiting_executions(&self) -> usize {
        self.slots.waiting()
    }

    /// Returns once an execution has begun to wait for a child or has ended since the
    /// last return: a worker may claim again.
    pub async fn slots_changed(&self) {
        self.slots.changed().await;
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}
