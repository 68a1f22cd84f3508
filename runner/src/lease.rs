//! Leases: a runner vouches for the executions it runs, and renews that in one write for
//! all of them, so that a sweep tells a live runner's execution from an abandoned one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bifrost_core::store::LeaseKeeper;
use chrono::Utc;
use uuid::Uuid;

/// The executions a runner has running, and the task that renews their leases.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    live: Arc<Mutex<HashSet<Uuid>>>,
    heartbeat: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Leases {
    /// Puts execution `id` among those whose leases the heartbeat renews (every third of
    /// `lease`, through `store`), until the guard is dropped; starts the heartbeat if it is
    /// not running (it needs a tokio runtime).
    pub(crate) fn hold(
        &self,
        id: Uuid,
        store: &Arc<dyn LeaseKeeper>,
        lease: Duration,
    ) -> LeaseGuard<'_> {
        self.live.lock().expect("live executions lock").insert(id);
        let mut heartbeat = self.heartbeat.lock().expect("heartbeat lock");
        if heartbeat.as_ref().is_none_or(|h| h.is_finished()) {
            *heartbeat = Some(tokio::spawn(renew_leases(
                Arc::downgrade(&self.live),
                store.clone(),
                lease,
            )));
        }
        LeaseGuard {
            live: &self.live,
            id,
        }
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.get_mut().ok().and_then(Option::take) {
            heartbeat.abort();
        }
    }
}

/// Removes an execution from the runner's live set when its run is over.
pub(crate) struct LeaseGuard<'a> {
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
    live: Weak<Mutex<HashSet<Uuid>>>,
    store: Arc<dyn LeaseKeeper>,
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
