//! [`RetryingStore`]: the store as the runner writes to it, waiting out an outage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bifrost_core::error::StoreError;
use bifrost_core::identity::Scope;
use bifrost_core::model::{Execution, LogEntry, NewExecution, Outcome, StreamId};
use bifrost_core::query::ListQuery;
use bifrost_core::store::{ExecutionStore, RunStart};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An [`ExecutionStore`] that retries every call the store answers `Unavailable` (a
/// restart, a dropped connection), with a backoff of up to 2 s, for up to `budget` in all;
/// then it gives the error up. The runner writes a run's row, logs and final status
/// through it, so that a brief outage does not cost the execution its record.
pub struct RetryingStore {
    inner: Arc<dyn ExecutionStore>,
    budget: Duration,
}

impl std::fmt::Debug for RetryingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryingStore")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl RetryingStore {
    /// `inner`, retried for up to `budget`.
    pub fn new(inner: Arc<dyn ExecutionStore>, budget: Duration) -> Self {
        Self { inner, budget }
    }

    async fn retry<T, F, Fut>(&self, mut call: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let since = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            match call().await {
                Err(StoreError::Unavailable(m)) if since.elapsed() < self.budget => {
                    tracing::warn!(error = %m, "store unavailable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }
}

#[async_trait]
impl ExecutionStore for RetryingStore {
    async fn create(&self, new: &NewExecution) -> Result<(), StoreError> {
        self.retry(|| self.inner.create(new)).await
    }

    async fn mark_running(&self, id: Uuid, start: &RunStart) -> Result<(), StoreError> {
        self.retry(|| self.inner.mark_running(id, start)).await
    }

    async fn create_running(&self, new: &NewExecution, start: &RunStart) -> Result<(), StoreError> {
        self.retry(|| self.inner.create_running(new, start)).await
    }

    async fn renew_leases(&self, ids: &[Uuid], until: DateTime<Utc>) -> Result<(), StoreError> {
        self.retry(|| self.inner.renew_leases(ids, until)).await
    }

    async fn finish_with_logs(
        &self,
        id: Uuid,
        outcome: &Outcome,
        entries: &[LogEntry],
    ) -> Result<Execution, StoreError> {
        self.retry(|| self.inner.finish_with_logs(id, outcome, entries))
            .await
    }

    async fn abandoned(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
        self.retry(|| self.inner.abandoned(now)).await
    }

    async fn claim_abandoned(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.retry(|| self.inner.claim_abandoned(id, now, until))
            .await
    }

    async fn mark_stuck(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        message: &str,
    ) -> Result<bool, StoreError> {
        self.retry(|| self.inner.mark_stuck(id, now, message)).await
    }

    async fn finish(&self, id: Uuid, outcome: &Outcome) -> Result<(), StoreError> {
        self.retry(|| self.inner.finish(id, outcome)).await
    }

    async fn set_variable(
        &self,
        id: Uuid,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.retry(|| self.inner.set_variable(id, name, value))
            .await
    }

    async fn fetch(&self, id: Uuid, with_variables: bool) -> Result<Execution, StoreError> {
        self.retry(|| self.inner.fetch(id, with_variables)).await
    }

    async fn list(
        &self,
        scope: &Scope,
        query: &ListQuery,
        with_variables: bool,
    ) -> Result<Vec<Execution>, StoreError> {
        self.retry(|| self.inner.list(scope, query, with_variables))
            .await
    }

    async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        self.retry(|| self.inner.insert_logs(entries)).await
    }

    async fn read_logs(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.retry(|| self.inner.read_logs(execution_id, start, count))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bifrost_core::memory::MemoryStore;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A store that is unavailable for its first `outage` calls of `fetch`.
    #[derive(Default)]
    struct Flaky {
        inner: MemoryStore,
        outage: u32,
        calls: AtomicU32,
    }

    #[async_trait]
    impl ExecutionStore for Flaky {
        async fn create(&self, new: &NewExecution) -> Result<(), StoreError> {
            self.inner.create(new).await
        }
        async fn mark_running(&self, id: Uuid, start: &RunStart) -> Result<(), StoreError> {
            self.inner.mark_running(id, start).await
        }
        async fn create_running(
            &self,
            new: &NewExecution,
            start: &RunStart,
        ) -> Result<(), StoreError> {
            self.inner.create_running(new, start).await
        }
        async fn renew_leases(&self, _: &[Uuid], _: DateTime<Utc>) -> Result<(), StoreError> {
            Ok(())
        }
        async fn finish_with_logs(
            &self,
            id: Uuid,
            outcome: &Outcome,
            entries: &[LogEntry],
        ) -> Result<Execution, StoreError> {
            self.inner.finish_with_logs(id, outcome, entries).await
        }
        async fn abandoned(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
            self.inner.abandoned(now).await
        }
        async fn claim_abandoned(
            &self,
            id: Uuid,
            now: DateTime<Utc>,
            until: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            self.inner.claim_abandoned(id, now, until).await
        }
        async fn mark_stuck(
            &self,
            id: Uuid,
            now: DateTime<Utc>,
            message: &str,
        ) -> Result<bool, StoreError> {
            self.inner.mark_stuck(id, now, message).await
        }
        async fn finish(&self, id: Uuid, outcome: &Outcome) -> Result<(), StoreError> {
            self.inner.finish(id, outcome).await
        }
        async fn set_variable(
            &self,
            id: Uuid,
            name: &str,
            value: &serde_json::Value,
        ) -> Result<(), StoreError> {
            self.inner.set_variable(id, name, value).await
        }
        async fn fetch(&self, id: Uuid, with_variables: bool) -> Result<Execution, StoreError> {
            if self.calls.fetch_add(1, Ordering::Relaxed) < self.outage {
                return Err(StoreError::Unavailable("restarting".into()));
            }
            self.inner.fetch(id, with_variables).await
        }
        async fn list(
            &self,
            scope: &Scope,
            query: &ListQuery,
            with_variables: bool,
        ) -> Result<Vec<Execution>, StoreError> {
            self.inner.list(scope, query, with_variables).await
        }
        async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
            self.inner.insert_logs(entries).await
        }
        async fn read_logs(
            &self,
            execution_id: Uuid,
            start: StreamId,
            count: u32,
        ) -> Result<Vec<LogEntry>, StoreError> {
            self.inner.read_logs(execution_id, start, count).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_within_the_budget_is_waited_out_and_a_longer_one_is_not() {
        let flaky = Arc::new(Flaky {
            outage: 3,
            ..Flaky::default()
        });
        let retrying = RetryingStore::new(flaky.clone(), Duration::from_secs(60));
        // Three refusals, then the store answers (here: there is no such execution).
        let id = Uuid::new_v4();
        assert!(matches!(
            retrying.fetch(id, true).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(flaky.calls.load(Ordering::Relaxed), 4);

        let down = Arc::new(Flaky {
            outage: u32::MAX,
            ..Flaky::default()
        });
        let impatient = RetryingStore::new(down, Duration::from_secs(5));
        assert!(matches!(
            impatient.fetch(id, true).await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
