//! An execution's places in its runner: a live slot while its instance exists (the pool
//! holds [`RunnerConfig::max_instances`](crate::RunnerConfig::max_instances) of them), and
//! a running slot while it is not waiting for a child
//! ([`RunnerConfig::max_running`](crate::RunnerConfig::max_running)). A parent that waits
//! for a child gives its running slot back for the wait, so that the child, and its own
//! children, can run: with two running slots, a parent that fans out to ten children that
//! each wait for two of their own completes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bifrost_core::children::{Children, Parent};
use bifrost_core::model::Execution;
use bifrost_core::workflows::Deployment;
use bifrost_core::{ApiError, Identity};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// The live and running slots of a runner.
pub(crate) struct Slots {
    live: Arc<Semaphore>,
    running: Arc<Semaphore>,
    max_live: usize,
    /// Executions waiting for a child now (holding a live slot, not a running one).
    waiting: AtomicUsize,
    /// Told when an execution begins to wait or ends: a worker may claim again.
    changed: Notify,
}

impl Slots {
    pub(crate) fn new(max_live: usize, max_running: usize) -> Arc<Self> {
        Arc::new(Self {
            live: Arc::new(Semaphore::new(max_live)),
            running: Arc::new(Semaphore::new(max_running)),
            max_live,
            waiting: AtomicUsize::new(0),
            changed: Notify::new(),
        })
    }

    /// Both slots, if both are free now.
    pub(crate) fn try_enter(self: &Arc<Self>) -> Option<Entered> {
        let live = self.live.clone().try_acquire_owned().ok()?;
        let running = self.running.clone().try_acquire_owned().ok()?;
        Some(self.entered(live, running))
    }

    /// Both slots, once they are free.
    pub(crate) async fn enter(self: &Arc<Self>) -> Result<Entered, ApiError> {
        let closed = |_| ApiError::Internal("runner is shutting down".into());
        let live = self.live.clone().acquire_owned().await.map_err(closed)?;
        let running = self.running.clone().acquire_owned().await.map_err(closed)?;
        Ok(self.entered(live, running))
    }

    fn entered(
        self: &Arc<Self>,
        live: OwnedSemaphorePermit,
        running: OwnedSemaphorePermit,
    ) -> Entered {
        Entered {
            live: Some(live),
            running: Arc::new(RunningSlot {
                slots: self.clone(),
                held: Mutex::new(Some(running)),
            }),
        }
    }

    /// Executions that may start now: the fewer of free live and free running slots.
    pub(crate) fn free(&self) -> usize {
        self.live
            .available_permits()
            .min(self.running.available_permits())
    }

    /// Instances alive now.
    pub(crate) fn live(&self) -> usize {
        self.max_live.saturating_sub(self.live.available_permits())
    }

    /// Executions waiting for a child now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Returns once an execution has begun to wait for a child or has ended since the last
    /// return (at once if one has).
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// An execution's slots, given back when it is dropped.
pub(crate) struct Entered {
    live: Option<OwnedSemaphorePermit>,
    pub(crate) running: Arc<RunningSlot>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        drop(self.live.take());
        drop(self.running.lock().take());
        self.running.slots.changed.notify_one();
    }
}

/// An execution's running slot, which it gives back while it waits for a child.
pub(crate) struct RunningSlot {
    slots: Arc<Slots>,
    held: Mutex<Option<OwnedSemaphorePermit>>,
}

impl RunningSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<OwnedSemaphorePermit>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `wait` without the running slot, and takes one again before it returns.
    async fn give_back_while<T>(&self, wait: impl Future<Output = T>) -> T {
        let slots = &self.slots;
        drop(self.lock().take());
        let out = {
            // Counted as waiting until the wait ends, or its future is dropped (the
            // parent's deadline ends the whole call).
            let _waiting = Waiting::begin(slots);
            wait.await
        };
        // Closed only when the runner is dropped, and then nothing runs any more.
        if let Ok(permit) = slots.running.clone().acquire_owned().await {
            *self.lock() = Some(permit);
        }
        out
    }
}

/// One execution counted in [`Slots::waiting`] while this lives.
struct Waiting<'a>(&'a Slots);

impl<'a> Waiting<'a> {
    fn begin(slots: &'a Slots) -> Self {
        slots.waiting.fetch_add(1, Ordering::Relaxed);
        slots.changed.notify_one();
        Self(slots)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An execution's [`Children`]: `wait` gives the execution's running slot back while it
/// waits.
pub(crate) struct YieldingChildren {
    pub(crate) inner: Arc<dyn Children>,
    pub(crate) slot: Arc<RunningSlot>,
}

#[async_trait]
impl Children for YieldingChildren {
    async fn start(
        &self,
        parent: &Parent,
        workflow_name: &str,
        input: serde_json::Value,
    ) -> Result<Uuid, ApiError> {
        self.inner.start(parent, workflow_name, input).await
    }

    async fn wait(
        &self,
        parent: &Parent,
        child: Uuid,
        timeout: Option<Duration>,
    ) -> Result<Execution, ApiError> {
        self.slot
            .give_back_while(self.inner.wait(parent, child, timeout))
            .await
    }

    async fn workflows(&self, caller: &Identity) -> Result<Vec<Deployment>, ApiError> {
        self.inner.workflows(caller).await
    }
}
