//! Cancelling a running execution: a flag per execution this runner executes, which the
//! epoch callback reads (`instance.rs`), and the watch that asks the queue which of them
//! were cancelled.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use uuid::Uuid;

use crate::Runner;

/// A cancel flag per execution a runner is executing.
pub(crate) type CancelFlags = Arc<Mutex<HashMap<Uuid, Arc<AtomicBool>>>>;

impl Runner {
    pub(crate) fn lock_cancels(&self) -> MutexGuard<'_, HashMap<Uuid, Arc<AtomicBool>>> {
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
}
