//! [`MemoryStore`]: executions and their logs in process memory.
//!
//! The store of the virtual provider component, which answers from a fixture, and of tests
//! that need no database. It runs the same queries as the SQL stores, through
//! [`ListQuery::admits`] and [`newest_first`], so a caller cannot tell them apart. Every
//! call completes at once: none of its futures ever waits.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::identity::Scope;
use crate::model::{Execution, ExecutionStatus, LogEntry, NewExecution, Outcome, StreamId};
use crate::query::{ListQuery, RowKey, newest_first};
use crate::store::{ExecutionReader, LeaseKeeper, LogArchive, RunRecorder, RunStart};
use crate::workflows::{DeployOutcome, Deployment, WorkflowStore};

/// Executions and their persisted logs, in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    rows: Mutex<HashMap<Uuid, Row>>,
    workflows: Mutex<Workflows>,
}

/// Deployments by name and component bytes by hash.
#[derive(Debug, Default)]
struct Workflows {
    names: HashMap<String, Deployment>,
    components: HashMap<String, Vec<u8>>,
}

#[derive(Debug, Clone)]
struct Row {
    execution: Execution,
    lease_until: Option<DateTime<Utc>>,
    /// Persisted entries, in id order, each once.
    logs: Vec<LogEntry>,
}

impl Row {
    fn key(&self) -> RowKey<'_> {
        let e = &self.execution;
        RowKey {
            id: e.id,
            workflow_name: &e.workflow_name,
            status: e.status,
            started_at: e.started_at.unwrap_or(e.created_at),
            executed_by: e.executed_by,
            organization_id: e.organization_id,
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an execution as it is (any status), with its persisted log entries (in any
    /// order; kept once each, in id order). An execution with the same id is replaced.
    pub fn insert(&self, execution: Execution, logs: Vec<LogEntry>) {
        let mut row = Row {
            lease_until: None,
            logs: Vec::new(),
            execution: Execution {
                logs: None,
                ..execution
            },
        };
        add_logs(&mut row.logs, logs);
        self.lock().insert(row.execution.id, row);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Row>> {
        // A panic while the lock was held left whole rows behind: go on with them.
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a new execution, `Pending`, or `Running` from `start`, under one lock.
    fn add(&self, new: &NewExecution, start: Option<&RunStart>) -> Result<(), StoreError> {
        let execution = Execution {
            id: new.id,
            workflow_name: new.workflow_name.clone(),
            organization_id: new.organization_id,
            form_id: new.form_id,
            parent_execution_id: new.parent_execution_id,
            executed_by: new.executed_by,
            executed_by_name: new.executed_by_name.clone(),
            status: if start.is_some() {
                ExecutionStatus::Running
            } else {
                ExecutionStatus::Pending
            },
            parameters: new.parameters.clone(),
            result: None,
            result_type: None,
            error_message: None,
            duration_ms: None,
            started_at: Some(start.map_or(new.created_at, |s| s.started_at)),
            completed_at: None,
            created_at: new.created_at,
            logs: None,
            variables: None,
            session_id: new.session_id.clone(),
            peak_memory_bytes: None,
            cpu_total_seconds: None,
            log_lines_dropped: None,
            workflow_version: None,
        };
        let mut rows = self.lock();
        if rows.contains_key(&new.id) {
            return Err(StoreError::Database(format!(
                "execution {} already exists",
                new.id
            )));
        }
        rows.insert(
            new.id,
            Row {
                execution,
                lease_until: start.map(|s| s.lease_until),
                logs: Vec::new(),
            },
        );
        Ok(())
    }

    fn update<T>(&self, id: Uuid, f: impl FnOnce(&mut Row) -> T) -> Result<T, StoreError> {
        self.lock().get_mut(&id).map(f).ok_or(StoreError::NotFound)
    }
}

/// Adds `entries` to `logs` (sorted by id), keeping an entry already there once.
fn add_logs(logs: &mut Vec<LogEntry>, entries: impl IntoIterator<Item = LogEntry>) {
    for entry in entries {
        if let Err(at) = logs.binary_search_by_key(&entry.id, |e| e.id) {
            logs.insert(at, entry);
        }
    }
}

fn without_variables(mut e: Execution, with_variables: bool) -> Execution {
    if !with_variables {
        e.variables = None;
    }
    e
}

fn apply(e: &mut Execution, outcome: &Outcome) {
    e.status = outcome.status;
    e.result = outcome.result.clone();
    e.result_type = outcome.result_type.clone();
    e.error_message = outcome.error_message.clone();
    e.duration_ms = Some(outcome.duration_ms);
    e.completed_at = Some(outcome.completed_at);
    e.peak_memory_bytes = Some(outcome.peak_memory_bytes);
    e.cpu_total_seconds = Some(outcome.cpu_total_seconds);
    e.log_lines_dropped = (outcome.log_lines_dropped > 0).then_some(outcome.log_lines_dropped);
}

#[async_trait]
impl ExecutionReader for MemoryStore {
    async fn fetch(&self, id: Uuid, with_variables: bool) -> Result<Execution, StoreError> {
        self.lock()
            .get(&id)
            .map(|row| without_variables(row.execution.clone(), with_variables))
            .ok_or(StoreError::NotFound)
    }

    async fn list(
        &self,
        scope: &Scope,
        query: &ListQuery,
        with_variables: bool,
    ) -> Result<Vec<Execution>, StoreError> {
        let rows = self.lock();
        let mut found: Vec<&Row> = rows
            .values()
            .filter(|r| query.admits(scope, &r.key()))
            .collect();
        found.sort_by(|a, b| newest_first(&a.key(), &b.key()));
        Ok(found
            .into_iter()
            .take(query.limit as usize)
            .map(|r| without_variables(r.execution.clone(), with_variables))
            .collect())
    }

    async fn read_logs(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError> {
        Ok(self
            .lock()
            .get(&execution_id)
            .map(|row| {
                let from = row.logs.partition_point(|e| e.id < start);
                row.logs[from..]
                    .iter()
                    .take(count as usize)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn read_last_logs(
        &self,
        execution_id: Uuid,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError> {
        Ok(self
            .lock()
            .get(&execution_id)
            .map(|row| row.logs[row.logs.len().saturating_sub(count as usize)..].to_vec())
            .unwrap_or_default())
    }
}

#[async_trait]
impl RunRecorder for MemoryStore {
    async fn create(&self, new: &NewExecution) -> Result<(), StoreError> {
        self.add(new, None)
    }

    async fn mark_running(&self, id: Uuid, start: &RunStart) -> Result<(), StoreError> {
        self.update(id, |row| {
            if row.execution.status != ExecutionStatus::Cancelling {
                row.execution.status = ExecutionStatus::Running;
            }
            row.execution.started_at = Some(start.started_at);
            row.lease_until = Some(start.lease_until);
        })
    }

    async fn create_running(&self, new: &NewExecution, start: &RunStart) -> Result<(), StoreError> {
        self.add(new, Some(start))
    }

    async fn set_variable(
        &self,
        id: Uuid,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.update(id, |row| match &mut row.execution.variables {
            Some(serde_json::Value::Object(vars)) => {
                vars.insert(name.to_owned(), value.clone());
            }
            other => {
                let mut vars = serde_json::Map::new();
                vars.insert(name.to_owned(), value.clone());
                *other = Some(serde_json::Value::Object(vars));
            }
        })
    }

    async fn finish_with_logs(
        &self,
        id: Uuid,
        outcome: &Outcome,
        entries: &[LogEntry],
    ) -> Result<Execution, StoreError> {
        self.update(id, |row| {
            add_logs(&mut row.logs, entries.iter().cloned());
            apply(&mut row.execution, outcome);
            row.execution.clone()
        })
    }
}

#[async_trait]
impl LeaseKeeper for MemoryStore {
    async fn renew_leases(&self, ids: &[Uuid], until: DateTime<Utc>) -> Result<(), StoreError> {
        let mut rows = self.lock();
        for id in ids {
            if let Some(row) = rows.get_mut(id)
                && row.execution.status.is_live()
            {
                row.lease_until = Some(until);
            }
        }
        Ok(())
    }

    async fn abandoned(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
        Ok(self
            .lock()
            .values()
            .filter(|r| r.execution.status.is_live() && r.lease_until.is_some_and(|l| l < now))
            .map(|r| r.execution.id)
            .collect())
    }

    async fn claim_abandoned(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.lock().get_mut(&id).is_some_and(|row| {
            let abandoned =
                row.execution.status.is_live() && row.lease_until.is_some_and(|l| l < now);
            if abandoned {
                row.lease_until = Some(until);
            }
            abandoned
        }))
    }

    async fn mark_stuck(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        message: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.lock().get_mut(&id).is_some_and(|row| {
            let e = &mut row.execution;
            let running = e.status.is_live();
            if running {
                e.status = ExecutionStatus::Stuck;
                e.completed_at = Some(now);
                e.error_message = Some(message.to_owned());
                e.duration_ms = e.started_at.map(|s| (now - s).num_milliseconds());
            }
            running
        }))
    }
}

#[async_trait]
impl LogArchive for MemoryStore {
    async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        let mut rows = self.lock();
        for entry in entries {
            // Entries of an execution the store does not have are refused, as a foreign
            // key refuses them in the SQL stores.
            let row = rows.get_mut(&entry.execution_id).ok_or_else(|| {
                StoreError::Database(format!(
                    "log entry of execution {}, which the store does not have",
                    entry.execution_id
                ))
            })?;
            add_logs(&mut row.logs, [entry.clone()]);
        }
        Ok(())
    }
}

#[async_trait]
impl WorkflowStore for MemoryStore {
    async fn deploy(
        &self,
        deployment: &Deployment,
        bytes: &[u8],
    ) -> Result<(Deployment, DeployOutcome), StoreError> {
        let mut w = self.workflows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(current) = w.names.get(&deployment.name)
            && current.hash == deployment.hash
        {
            return Ok((current.clone(), DeployOutcome::Unchanged));
        }
        w.components
            .entry(deployment.hash.clone())
            .or_insert_with(|| bytes.to_vec());
        w.names.insert(deployment.name.clone(), deployment.clone());
        Ok((deployment.clone(), DeployOutcome::Deployed))
    }

    async fn deployment(&self, name: &str) -> Result<Deployment, StoreError> {
        let w = self.workflows.lock().unwrap_or_else(|e| e.into_inner());
        w.names.get(name).cloned().ok_or(StoreError::NotFound)
    }

    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError> {
        let w = self.workflows.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<Deployment> = w.names.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    async fn remove_deployment(&self, name: &str) -> Result<(), StoreError> {
        let mut w = self.workflows.lock().unwrap_or_else(|e| e.into_inner());
        w.names.remove(name).map(drop).ok_or(StoreError::NotFound)
    }

    async fn component(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        let w = self.workflows.lock().unwrap_or_else(|e| e.into_inner());
        w.components.get(hash).cloned().ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn new_execution(created_at: DateTime<Utc>) -> NewExecution {
        NewExecution {
            id: Uuid::new_v4(),
            workflow_name: "w".into(),
            parameters: serde_json::json!({}),
            executed_by: Uuid::new_v4(),
            executed_by_name: "u".into(),
            organization_id: None,
            form_id: None,
            parent_execution_id: None,
            session_id: None,
            created_at,
        }
    }

    #[tokio::test]
    async fn create_running_records_a_running_row_with_its_lease_in_one_write() {
        let store = MemoryStore::new();
        let now = Utc::now();
        let new = new_execution(now);
        let start = RunStart {
            started_at: now + TimeDelta::milliseconds(5),
            deadline_at: now + TimeDelta::seconds(60),
            lease_until: now + TimeDelta::seconds(30),
        };
        store.create_running(&new, &start).await.unwrap();
        let row = store.fetch(new.id, false).await.unwrap();
        assert_eq!(row.status, ExecutionStatus::Running);
        assert_eq!(row.started_at, Some(start.started_at));
        // The lease is the one given: abandoned only once it has run out.
        assert!(store.abandoned(now).await.unwrap().is_empty());
        assert_eq!(
            store.abandoned(now + TimeDelta::seconds(31)).await.unwrap(),
            vec![new.id]
        );
        // The same id again is refused, and the row is left as it was.
        assert!(store.create_running(&new, &start).await.is_err());
        assert!(store.create(&new).await.is_err());
        let again = store.fetch(new.id, false).await.unwrap();
        assert_eq!(again.status, ExecutionStatus::Running);
    }
}
