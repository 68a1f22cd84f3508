//! The one part of the runner that faces wasmtime: an instance's store and its data, the
//! instantiation and the call of a workflow's `run`, the limits and interruptions applied
//! to it (memory, deadline, cancel), and every way the call can end, as an [`Ended`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bifrost_core::ExecutionContext;
use bifrost_core::Identity;
use bifrost_core::model::LogLevel;
use bifrost_host::{ExecutionsCtx, LogWriter};
use uuid::Uuid;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::cpu::CpuTimed;
use crate::limiter::MemoryLimiter;
use crate::outcome::{Ended, Ran, trap_message, with_cause};
use crate::output::{GuestOutput, OutputTail};
use crate::{LoadedWorkflow, RunRequest, Runner};

/// The data of one instance's store.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) executions: ExecutionsCtx,
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

/// What stops a call besides its own end: a cancel flag, and how long it may take.
struct Stop {
    cancel: Option<Arc<AtomicBool>>,
    deadline: Duration,
}

impl Runner {
    /// Calls the workflow in the context of execution `id`: its log lines (log import,
    /// stdout, stderr) go to the execution's live log stream through a writer whose task
    /// is returned in the [`Ran`], and its queries act as `request.identity`.
    pub(crate) async fn execute_input(
        &self,
        workflow: &LoadedWorkflow,
        request: &RunRequest,
        input: &str,
        id: Uuid,
        running: Option<&Arc<crate::slot::RunningSlot>>,
        deadline: Duration,
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
                    parent_execution_id: request.parent_execution_id,
                },
                log,
            )
            .with_limits(self.config.limits.clone());
        // A parent that waits for a child gives its running slot back for the wait.
        let executions = match (&self.children, running) {
            (Some(children), Some(slot)) => {
                executions.with_children(Arc::new(crate::slot::YieldingChildren {
                    inner: children.clone(),
                    slot: slot.clone(),
                }))
            }
            (Some(children), None) => executions.with_children(children.clone()),
            (None, _) => executions,
        };
        let cancel = Arc::new(AtomicBool::new(false));
        self.lock_cancels().insert(id, cancel.clone());
        let (ended, cpu, peak_memory_bytes) = self
            .call(
                workflow,
                wasi,
                executions,
                input,
                Some(&stderr_tail),
                Stop {
                    cancel: Some(cancel),
                    deadline,
                },
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
                Stop {
                    cancel: None,
                    deadline: self.config.deadline,
                },
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
        stop: Stop,
    ) -> (Ended, Duration, usize) {
        let Stop { cancel, deadline } = stop;
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
        let ends_at = Instant::now() + deadline;
        store.set_epoch_deadline(1);
        let cancelled = cancel.clone();
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= ends_at
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
        let deadline = deadline + Duration::from_secs(1);
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
