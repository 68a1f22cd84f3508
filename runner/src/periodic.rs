//! The runner's periodic tasks: the sweep for executions whose runner went away, and the
//! loop that runs a task now and then for as long as the runner lives.

use std::sync::Arc;
use std::time::Duration;

use bifrost_core::ApiError;
use uuid::Uuid;

use crate::Runner;

impl Runner {
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

    /// Runs `task` every `every` until the runner is dropped (the task holds it only while
    /// it runs).
    pub(crate) fn every_while_alive<F, Fut>(
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
}
