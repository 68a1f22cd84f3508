//! A run from its row to its final status: the execution is recorded (`Running` at once
//! when a slot is free, else `Pending` until one is), its lease held, the workflow
//! executed, and its outcome written with its whole log; the writes of the record wait out
//! a store that is briefly unavailable ([`retry`]).

use std::time::{Duration, Instant};

use bifrost_core::Identity;
use bifrost_core::model::{Execution, ExecutionStatus, NewExecution, Outcome};
use bifrost_core::query::MAX_LOG_COUNT;
use bifrost_core::store::RunStart;
use chrono::Utc;
use uuid::Uuid;

use crate::outcome::{self, Executed, Ran};
use crate::retry::retry;
use crate::{LoadedWorkflow, RunError, RunRequest, Runner, prepare};

impl Runner {
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
        let recorder = self.service.recorder();
        let budget = self.config.store_retry;
        let new = NewExecution {
            id,
            workflow_name: request.workflow_name.clone(),
            parameters: request.input.clone(),
            executed_by: request.identity.user_id,
            executed_by_name: request.identity.user_name.clone(),
            organization_id: request.identity.organization_id,
            form_id: request.form_id,
            parent_execution_id: request.parent_execution_id,
            session_id: request.session_id.clone(),
            created_at: Utc::now(),
        };
        // Until its final status is written, the heartbeat renews the execution's lease
        // (once it is Running), however this function returns.
        let _live = self
            .leases
            .hold(id, self.service.leases(), self.config.lease);
        // With a slot free the row is written once, already Running; otherwise it waits
        // as Pending for a slot.
        let slots = match self.slots.try_enter() {
            Some(slots) => {
                let start = self.run_start();
                retry(budget, || recorder.create_running(&new, &start)).await?;
                slots
            }
            None => {
                retry(budget, || recorder.create(&new)).await?;
                let slots = self.slots.enter().await?;
                let start = self.run_start();
                retry(budget, || recorder.mark_running(id, &start)).await?;
                slots
            }
        };
        self.execute_and_record(workflow, &request, &input, id, &slots, self.config.deadline)
            .await
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
            parent_execution_id: new.parent_execution_id,
            session_id: new.session_id.clone(),
        };
        let input = request.input.to_string();
        let _live = self
            .leases
            .hold(id, self.service.leases(), self.config.lease);
        let slots = self.slots.enter().await?;
        // A child's deadline may be its parent's, earlier than this runner's own.
        let deadline = (claimed.deadline_at - chrono::Utc::now())
            .to_std()
            .unwrap_or_default()
            .min(self.config.deadline);
        self.execute_and_record(workflow, &request, &input, id, &slots, deadline)
            .await
    }

    /// Executes a `Running` execution and records how it ended, with its logs.
    async fn execute_and_record(
        &self,
        workflow: &LoadedWorkflow,
        request: &RunRequest,
        input: &str,
        id: Uuid,
        slots: &crate::slot::Entered,
        deadline: std::time::Duration,
    ) -> Result<Execution, RunError> {
        let limits = &self.config.limits;
        let recorder = self.service.recorder();
        let budget = self.config.store_retry;
        let clock = Instant::now();
        if let Some(events) = &self.events {
            events.started(&request.workflow_name);
        }

        let Ran {
            ended,
            cpu,
            peak_memory_bytes: peak,
            log_task,
        } = self
            .execute_input(workflow, request, input, id, Some(&slots.running), deadline)
            .await;
        // The whole log at once; the writer may still be appending its last lines to the
        // live stream.
        let (logs, catch_up) = log_task.close().await;

        let (status, result, result_type, error_message) =
            outcome::record(ended, limits, deadline.as_millis());
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
                retry(budget, || recorder.finish_with_logs(
                    id,
                    &outcome,
                    &logs.entries
                )),
                catch_up.finish()
            )
            .0
        } else {
            catch_up.finish().await;
            retry(budget, || {
                recorder.finish_with_logs(id, &outcome, &logs.entries)
            })
            .await
        };
        let mut execution = stored?;
        if let Some(events) = &self.events {
            events.finished(&execution, clock.elapsed());
        }
        self.ended.notify_waiters();
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

    /// Times of a claim made now: start, deadline and first lease, as
    /// [`run_claimed`](Self::run_claimed) expects them.
    pub fn claim_start(&self) -> RunStart {
        self.run_start()
    }

    /// Instance slots free now: how many executions a worker may claim.
    pub fn free_slots(&self) -> usize {
        self.slots.free()
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
            .execute_input(
                workflow,
                request,
                &input,
                execution_id,
                None,
                self.config.deadline,
            )
            .await;
        Executed {
            ended: ran.ended,
            cpu: ran.cpu,
            peak_memory_bytes: ran.peak_memory_bytes,
            logs: ran.log_task.finish().await,
        }
    }

    /// Records a claimed execution that cannot run (its version cannot be loaded) as
    /// `Failed` with `message`.
    pub async fn fail_claimed(&self, id: Uuid, message: &str) -> Result<(), RunError> {
        let outcome = Outcome {
            status: ExecutionStatus::Failed,
            result: None,
            result_type: None,
            error_message: Some(message.to_owned()),
            duration_ms: 0,
            completed_at: Utc::now(),
            peak_memory_bytes: 0,
            cpu_total_seconds: 0.0,
            log_lines_dropped: 0,
        };
        let recorder = self.service.recorder();
        retry(self.config.store_retry, || {
            recorder.finish_with_logs(id, &outcome, &[])
        })
        .await?;
        Ok(())
    }
}
