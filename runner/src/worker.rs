//! The queue's two ends: [`submit`] records an execution of a deployed workflow, and a
//! [`Worker`] claims due executions and runs them, as `bifrost-runner serve` does.
//!
//! Any number of workers, in any number of processes on any number of machines, share one
//! store: each execution is claimed by one of them (see
//! [`QueueStore::claim`](bifrost_core::queue::QueueStore::claim)). A worker is woken by
//! each submission on PostgreSQL (`LISTEN`/`NOTIFY`) and polls every
//! [`WorkerConfig::poll`] besides (the only wake-up on SQLite). It renews the leases of what
//! it runs, interrupts what is cancelled, and sweeps for executions of stopped runners in a
//! task of its own, so that a long sweep never holds up claiming.
//!
//! ```no_run
//! use std::sync::Arc;
//! use bifrost_runner::backends::BackendConfig;
//! use bifrost_runner::worker::{Worker, WorkerConfig};
//! use bifrost_runner::{Runner, RunnerConfig};
//!
//! # async fn f() -> wasmtime::Result<()> {
//! let backends = BackendConfig::from_env().connect_all().await?;
//! let runner = Arc::new(Runner::new(backends.service.clone(), RunnerConfig::default())?);
//! let worker = Worker::new(runner, backends.queue.clone(), backends.workflows.clone(),
//!     WorkerConfig::default());
//! // Runs until Ctrl-C, then lets running executions finish (within the grace period).
//! let report = worker.run(async { let _ = tokio::signal::ctrl_c().await; }).await;
//! println!("{} executions run", report.finished);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bifrost_core::model::NewExecution;
use bifrost_core::queue::{Claimed, QueueStore, Submission};
use bifrost_core::workflows::WorkflowStore;
use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{RunError, RunRequest, Runner, prepare};

/// How a [`Worker`] runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Executions run at once, not counting those waiting for a child they started (which
    /// keep their instance: the runner's `max_instances` bounds those with the rest).
    /// Default 16; at most the runner's `max_running`.
    pub concurrency: usize,
    /// How often to look for due work without a notification (a scheduled execution
    /// coming due, SQLite, a lost `LISTEN` connection). Default 1 s.
    pub poll: Duration,
    /// How often to ask whether a running execution was cancelled. Default 500 ms.
    pub cancel_poll: Duration,
    /// How often to sweep for executions whose runner stopped. Default 10 s.
    pub sweep_every: Duration,
    /// On shutdown, how long running executions may take to finish before they are
    /// cancelled. Default 30 s.
    pub grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            poll: Duration::from_secs(1),
            cancel_poll: Duration::from_millis(500),
            sweep_every: Duration::from_secs(10),
            grace: Duration::from_secs(30),
        }
    }
}

/// What a worker did, when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Executions it claimed.
    pub claimed: u64,
    /// Executions it recorded with a final status.
    pub finished: u64,
    /// Of those, how many it cancelled at shutdown because the grace period ran out.
    pub cancelled_at_shutdown: u64,
}

/// Claims due executions and runs them; see the [module](self).
pub struct Worker {
    runner: Arc<Runner>,
    queue: Arc<dyn QueueStore>,
    workflows: Arc<dyn WorkflowStore>,
    config: WorkerConfig,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker that runs claimed executions on `runner`, the deployed versions read from
    /// `workflows`.
    pub fn new(
        runner: Arc<Runner>,
        queue: Arc<dyn QueueStore>,
        workflows: Arc<dyn WorkflowStore>,
        config: WorkerConfig,
    ) -> Self {
        Self {
            runner,
            queue,
            workflows,
            config,
        }
    }

    /// Runs until `shutdown` completes; then claims nothing more, lets what runs finish for
    /// up to [`WorkerConfig::grace`], cancels what is left (recorded `Cancelled` with its
    /// logs), and returns once every claimed execution is recorded.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> WorkerReport {
        let concurrency = self.config.concurrency.max(1);
        let cancel_watch = self
            .runner
            .spawn_cancel_watch(self.queue.clone(), self.config.cancel_poll);
        let queue = self.queue.clone();
        let sweeper = self
            .runner
            .every_while_alive(self.config.sweep_every, move |runner| {
                let queue = queue.clone();
                async move {
                    if let Err(e) = sweep(runner.service(), runner.config.lease, &*queue).await {
                        tracing::warn!(error = %e, "sweep for stuck executions failed");
                    }
                }
            });
        let mut report = WorkerReport::default();
        let mut tasks: JoinSet<bool> = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            // Room for more? An execution waiting for a child it started does not count
            // (it gave its running slot back); the runner's slots bound the rest.
            let active = |tasks: &JoinSet<bool>| {
                tasks.len().saturating_sub(self.runner.waiting_executions())
            };
            while active(&tasks) >= concurrency || self.runner.free_slots() == 0 {
                tokio::select! {
                    biased;
                    () = &mut shutdown => return self.stop(tasks, report, cancel_watch, sweeper).await,
                    done = tasks.join_next(), if !tasks.is_empty() => count(&mut report, done),
                    () = self.runner.slots_changed() => {}
                }
            }
            while let Some(done) = tasks.try_join_next() {
                count(&mut report, Some(done));
            }
            let free = concurrency
                .saturating_sub(active(&tasks))
                .min(self.runner.free_slots());
            // The claim is not raced with shutdown: rows it claims are run.
            let claimed = if free == 0 {
                Vec::new()
            } else {
                match self
                    .queue
                    .claim(free as u32, &self.runner.claim_start())
                    .await
                {
                    Ok(claimed) => claimed,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot claim executions");
                        Vec::new()
                    }
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    biased;
                    () = &mut shutdown => return self.stop(tasks, report, cancel_watch, sweeper).await,
                    done = tasks.join_next(), if !tasks.is_empty() => count(&mut report, done),
                    () = self.queue.wait_for_work(self.config.poll) => {}
                }
                continue;
            }
            report.claimed += claimed.len() as u64;
            for c in claimed {
                let runner = self.runner.clone();
                let workflows = self.workflows.clone();
                let queue = self.queue.clone();
                tasks.spawn(async move { run_one(&runner, &*workflows, &*queue, c).await });
            }
        }
    }

    async fn stop(
        self,
        mut tasks: JoinSet<bool>,
        mut report: WorkerReport,
        cancel_watch: tokio::task::JoinHandle<()>,
        sweeper: tokio::task::JoinHandle<()>,
    ) -> WorkerReport {
        sweeper.abort();
        tracing::info!(
            running = tasks.len(),
            grace_secs = self.config.grace.as_secs_f64(),
            "shutting down: claiming nothing more"
        );
        let drained = tokio::time::timeout(self.config.grace, async {
            while let Some(done) = tasks.join_next().await {
                count(&mut report, Some(done));
            }
        })
        .await;
        if drained.is_err() {
            let left = self.runner.running();
            tracing::warn!(
                running = left.len(),
                "grace period over: cancelling what still runs"
            );
            for id in left {
                if self.runner.cancel_running(id) {
                    report.cancelled_at_shutdown += 1;
                }
            }
            while let Some(done) = tasks.join_next().await {
                count(&mut report, Some(done));
            }
        }
        cancel_watch.abort();
        // The moved log streams of the last runs.
        self.runner.settle().await;
        report
    }
}

/// Marks `Stuck` the executions whose runner stopped
/// ([`ExecutionsService::sweep_stuck`](bifrost_core::ExecutionsService::sweep_stuck), each
/// taken over for `lease` while its log moves), and cancels what each of them started
/// that has not ended: a parent whose runner died leaves no child running either. Returns
/// the executions marked `Stuck`.
pub async fn sweep(
    service: &bifrost_core::ExecutionsService,
    lease: Duration,
    queue: &dyn QueueStore,
) -> Result<Vec<Uuid>, bifrost_core::ApiError> {
    let stuck = service.sweep_stuck(lease).await?;
    for id in &stuck {
        match queue.cancel_descendants(*id, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(%id, children = n, "cancelled the children of a stuck execution")
            }
            Err(e) => {
                tracing::warn!(%id, error = %e, "cannot cancel the children of a stuck execution")
            }
        }
    }
    Ok(stuck)
}

fn count(report: &mut WorkerReport, done: Option<Result<bool, tokio::task::JoinError>>) {
    match done {
        Some(Ok(true)) => report.finished += 1,
        Some(Ok(false)) => {}
        Some(Err(e)) => tracing::error!(error = %e, "an execution task failed"),
        None => {}
    }
}

/// Runs one claimed execution; `true` once it is recorded with a final status. Then the
/// executions it started that have not ended are cancelled: no child outlives its parent.
async fn run_one(
    runner: &Runner,
    workflows: &dyn WorkflowStore,
    queue: &dyn QueueStore,
    claimed: Claimed,
) -> bool {
    let id = claimed.new.id;
    let recorded = run_claimed(runner, workflows, claimed).await;
    if recorded {
        match queue.cancel_descendants(id, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(%id, children = n, "cancelled the children it left unfinished"),
            Err(e) => tracing::warn!(%id, error = %e, "cannot cancel the children it left"),
        }
    }
    recorded
}

/// Loads and runs one claimed execution; `true` once it is recorded with a final status.
async fn run_claimed(runner: &Runner, workflows: &dyn WorkflowStore, claimed: Claimed) -> bool {
    let id = claimed.new.id;
    let workflow = match runner
        .load_deployed(workflows, &claimed.workflow_version)
        .await
    {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(%id, error = %e, "cannot load the execution's workflow version");
            return runner
                .fail_claimed(id, &format!("{e:#}"))
                .await
                .inspect_err(|e| tracing::error!(%id, error = %e, "cannot record the failure"))
                .is_ok();
        }
    };
    match runner.run_claimed(&workflow, &claimed).await {
        Ok(execution) => {
            match &execution.error_message {
                Some(error) => {
                    tracing::info!(%id, status = %execution.status, %error, "execution finished")
                }
                None => tracing::info!(%id, status = %execution.status, "execution finished"),
            }
            true
        }
        Err(e) => {
            // The store failed past its retries; the lease runs out and a sweep marks it
            // `Stuck` with its live logs.
            tracing::error!(%id, error = %e, "cannot record the execution");
            false
        }
    }
}

/// Records an execution of the deployed workflow `request.workflow_name`, due now or at
/// `at` (then `Scheduled` until it is due), for a worker to run; returns its id. The
/// request is checked as [`Runner::run`] checks it; a name that is not deployed is an
/// invalid argument.
pub async fn submit(
    queue: &dyn QueueStore,
    workflows: &dyn WorkflowStore,
    request: RunRequest,
    at: Option<DateTime<Utc>>,
    limits: &bifrost_core::limits::Limits,
) -> Result<Uuid, RunError> {
    submit_as(queue, workflows, Uuid::new_v4(), request, at, limits).await
}

/// [`submit`] with the execution id `id` chosen by the caller (an idempotent submission
/// keeps its id before it submits). An id already recorded is a backend error.
pub async fn submit_as(
    queue: &dyn QueueStore,
    workflows: &dyn WorkflowStore,
    id: Uuid,
    mut request: RunRequest,
    at: Option<DateTime<Utc>>,
    limits: &bifrost_core::limits::Limits,
) -> Result<Uuid, RunError> {
    prepare(&mut request, limits)?;
    let deployment = workflows
        .deployment(&request.workflow_name)
        .await
        .map_err(|e| match e {
            bifrost_core::error::StoreError::NotFound => RunError::InvalidArgument {
                parameter: "workflow_name",
                reason: format!("no workflow is deployed as {:?}", request.workflow_name),
            },
            other => RunError::Backend(other.into()),
        })?;
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let submission = Submission {
        new: NewExecution {
            id,
            workflow_name: request.workflow_name,
            parameters: request.input,
            executed_by: request.identity.user_id,
            executed_by_name: request.identity.user_name,
            organization_id: request.identity.organization_id,
            form_id: request.form_id,
            parent_execution_id: request.parent_execution_id,
            session_id: request.session_id,
            created_at: now,
        },
        workflow_version: deployment.hash,
        is_platform_admin: request.identity.is_platform_admin,
        due_at: at.map_or(now, |t| chrono::SubsecRound::trunc_subsecs(t, 6).max(now)),
    };
    queue.submit(&submission).await?;
    Ok(id)
}
