//! The fixture: seeded backends and the model of what they hold.

use super::*;

/// A seeded execution, as the model knows it.
#[derive(Debug, Clone)]
pub(crate) struct Seeded {
    pub(crate) id: Uuid,
    pub(crate) by: Uuid,
    pub(crate) org: Option<Uuid>,
    pub(crate) workflow: String,
    pub(crate) status: ExecutionStatus,
    pub(crate) started_at: DateTime<Utc>,
    /// Whether `finish` recorded figures (peak memory) for it.
    pub(crate) finished: bool,
}

/// A log entry as a guest sees it, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogView {
    pub(crate) id: StreamId,
    pub(crate) execution_id: String,
    pub(crate) level: LogLevel,
    pub(crate) message: String,
    pub(crate) metadata: Option<Value>,
    pub(crate) timestamp: String,
}

/// An execution a context is bound to.
pub(crate) struct Bound {
    pub(crate) execution: ExecutionContext,
    pub(crate) identity: Identity,
    pub(crate) writer: LogWriter,
}

/// Which context a case runs in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CtxKind {
    /// Outside any execution, as identity `n` of [`Fixture::identities`].
    Outside(usize),
    /// Bound to the running execution, as its owner.
    Running,
    /// Bound to an execution id the store does not have.
    Phantom,
}

/// One case's instance context.
pub(crate) struct Case<'a> {
    pub(crate) ctx: ExecutionsCtx,
    pub(crate) who: Identity,
    pub(crate) bound: Option<&'a Bound>,
}

impl Case<'_> {
    pub(crate) fn current(&self) -> Option<Uuid> {
        self.bound.map(|b| b.execution.execution_id)
    }
}

pub(crate) struct Fixture {
    pub(crate) rt: Arc<tokio::runtime::Runtime>,
    /// The test's own database (or SQLite file) and log stream; `None` once closed.
    pub(crate) env: Option<TestEnv>,
    pub(crate) service: ExecutionsService,
    /// admin without organisation, admin of A, user of A (owner of the running
    /// execution), user of B, user without organisation.
    pub(crate) identities: Vec<Identity>,
    pub(crate) seeds: Vec<Seeded>,
    pub(crate) running: Bound,
    pub(crate) phantom: Bound,
    /// Log entries in the store, per execution.
    pub(crate) persisted: HashMap<Uuid, Vec<LogView>>,
    /// Log entries in the live stream, per execution; every line a case logs is added.
    pub(crate) live: Mutex<HashMap<Uuid, Vec<LogView>>>,
    /// The running execution's variables; `None` when the column is NULL.
    pub(crate) vars: Mutex<Option<serde_json::Map<String, Value>>>,
    /// Lines and bytes each execution's log writer has kept, as its caps count them.
    pub(crate) kept: Mutex<HashMap<Uuid, (u64, u64)>>,
    /// Successful `set-variable` calls since the last reset.
    pub(crate) sets: AtomicUsize,
    /// Cursors `list-page` handed out at set-up.
    pub(crate) cursors: Vec<String>,
    pub(crate) _tasks: Vec<LogWriterTask>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(env) = self.env.take() {
            self.rt.block_on(env.close());
        }
    }
}

pub(crate) fn uid(n: u128) -> Uuid {
    Uuid::from_u128(0x0b1f_7057_0000_4000_8000_0000_0000_0000 | (n << 64) | (n * 0x9e37_79b9))
}

pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

pub(crate) fn identity(n: u128, name: &str, org: Option<Uuid>, admin: bool) -> Identity {
    Identity {
        user_id: uid(n),
        user_name: name.to_owned(),
        organization_id: org,
        is_platform_admin: admin,
    }
}

pub(crate) fn view(l: &types::ExecutionLog) -> Result<LogView, TestCaseError> {
    let id: StreamId =
        l.id.parse()
            .map_err(|e| TestCaseError::fail(format!("log entry id: {e}")))?;
    let metadata = l
        .metadata
        .as_deref()
        .map(serde_json::from_str::<Value>)
        .transpose()
        .map_err(|e| TestCaseError::fail(format!("log metadata is not JSON: {e}")))?;
    prop_assert!(
        metadata.as_ref().is_none_or(|m| m.is_object()),
        "log metadata is not an object: {:?}",
        l.metadata
    );
    prop_assert!(
        DateTime::parse_from_rfc3339(&l.timestamp).is_ok() && l.timestamp.ends_with('Z'),
        "log timestamp {:?}",
        l.timestamp
    );
    Ok(LogView {
        id,
        execution_id: l.execution_id.clone(),
        level: LogLevel::from(l.level),
        message: l.message.clone(),
        metadata,
        timestamp: l.timestamp.clone(),
    })
}

pub(crate) fn entry_view(e: &LogEntry) -> LogView {
    view(&types::ExecutionLog::from(e.clone())).expect("seeded entry")
}

impl Fixture {
    pub(crate) fn new(backend: Backend) -> Fixture {
        // One current-thread runtime per test: calls run in a fixed order, and the log
        // writers' tasks run only while a call waits.
        let rt = Arc::new(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime"),
        );
        rt.block_on(Self::seeded(backend, rt.clone()))
            .expect("seed the fixture")
    }

    /// Builds the fixture inside its runtime (the log writers are spawned on it).
    pub(crate) async fn seeded(
        backend: Backend,
        rt: Arc<tokio::runtime::Runtime>,
    ) -> Result<Fixture, String> {
        let env = TestEnv::new(backend).await;
        let store = env.store.clone();
        let stream = env.logs.clone();
        let service = env.service.clone();

        let org_a = uid(900);
        let org_b = uid(901);
        let admin_all = identity(100, "admin", None, true);
        let admin_a = identity(101, "admin of A", Some(org_a), true);
        let user_a = identity(102, "user of A", Some(org_a), false);
        let user_b = identity(103, "user of B", Some(org_b), false);
        let user_none = identity(104, "user without org", None, false);
        let other_a = uid(105);
        let other_none = uid(106);

        let base = utc("2026-04-25T10:00:00.123456Z");
        let hours = |h: i64| base + TimeDelta::hours(h);
        use ExecutionStatus as S;
        // (executed by, organisation, workflow, status, started at)
        type Row<'a> = (Uuid, Option<Uuid>, &'a str, ExecutionStatus, DateTime<Utc>);
        let rows: Vec<Row<'_>> = vec![
            (user_a.user_id, Some(org_a), "alpha", S::Running, base),
            (user_a.user_id, Some(org_a), "beta", S::Success, hours(-1)),
            (user_a.user_id, Some(org_a), "alpha", S::Failed, hours(-1)),
            (other_a, Some(org_a), "alpha", S::Success, hours(-48)),
            (
                admin_a.user_id,
                Some(org_a),
                "gamma ☃",
                S::Cancelled,
                hours(-72),
            ),
            (user_b.user_id, Some(org_b), "alpha", S::Success, hours(-1)),
            (user_b.user_id, Some(org_b), "beta", S::Pending, hours(24)),
            (user_none.user_id, None, "alpha", S::Success, hours(-240)),
            (
                other_none,
                None,
                "alpha",
                S::Timeout,
                utc("1970-01-01T00:00:00Z"),
            ),
            (user_a.user_id, None, "alpha", S::Success, base),
            (
                user_a.user_id,
                Some(org_b),
                "alpha",
                S::Failed,
                utc("2099-12-31T23:59:59.999999Z"),
            ),
            (
                admin_all.user_id,
                None,
                "delta",
                S::CompletedWithErrors,
                hours(-5),
            ),
            (other_a, Some(org_a), "", S::Stuck, hours(-168)),
            (
                user_a.user_id,
                Some(org_a),
                "alpha",
                S::Scheduled,
                hours(48),
            ),
            (
                user_a.user_id,
                Some(org_a),
                "Alpha",
                S::Cancelling,
                base - TimeDelta::microseconds(1),
            ),
            (other_a, Some(org_a), "alpha", S::Running, base),
        ];
        let mut seeds = Vec::new();
        for (i, (by, org, workflow, status, started_at)) in rows.into_iter().enumerate() {
            let id = uid(i as u128 + 1);
            store
                .create(&NewExecution {
                    id,
                    workflow_name: workflow.to_owned(),
                    parameters: json!({"seeded": true}),
                    executed_by: by,
                    executed_by_name: "seeded".into(),
                    organization_id: org,
                    form_id: None,
                    parent_execution_id: None,
                    session_id: None,
                    created_at: if status == S::Running {
                        started_at - TimeDelta::seconds(1)
                    } else {
                        started_at
                    },
                })
                .await
                .map_err(|e| e.to_string())?;
            let finished = !matches!(status, S::Pending | S::Running);
            if status == S::Running {
                store
                    .mark_running(
                        id,
                        &RunStart {
                            started_at,
                            deadline_at: started_at + TimeDelta::days(36_500),
                            lease_until: started_at + TimeDelta::days(36_500),
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            } else if finished {
                store
                    .finish_with_logs(
                        id,
                        &Outcome {
                            status,
                            result: Some(json!({"row": i})),
                            result_type: Some("json".into()),
                            error_message: (status == S::Failed).then(|| "it failed".into()),
                            duration_ms: 1,
                            completed_at: started_at + TimeDelta::seconds(1),
                            peak_memory_bytes: 1,
                            cpu_total_seconds: 0.0,
                            log_lines_dropped: 0,
                        },
                        &[],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
            seeds.push(Seeded {
                id,
                by,
                org,
                workflow: workflow.to_owned(),
                status,
                started_at,
                finished,
            });
        }

        // Persisted logs of two finished executions (A's "beta" and B's "alpha"), with
        // ids at the edges of what the store keeps (i64::MAX).
        let mut persisted_entries = Vec::new();
        let levels = [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warning,
            LogLevel::Error,
            LogLevel::Critical,
        ];
        let messages = ["", "\0nul", "emoji 😀👩‍👩‍👧", "rtl \u{202E}abc", "\u{FFFF}"];
        for (exec, n) in [(seeds[1].id, 25u64), (seeds[5].id, 5)] {
            let mut entries: Vec<LogEntry> = (0..n)
                .map(|i| LogEntry {
                    id: StreamId {
                        ms: 1_777_111_000_000 + i / 3,
                        seq: i % 3,
                    },
                    execution_id: exec,
                    level: levels[i as usize % levels.len()],
                    // Stored as the host stores text (PostgreSQL keeps no U+0000).
                    message: storable_text(format!(
                        "line {i} {}",
                        messages[i as usize % messages.len()]
                    )),
                    metadata: (i % 2 == 0).then(|| {
                        model::LogMetadata::from_value(&json!({"i": i, "nested": {"ok": true}}))
                    }),
                    timestamp: base + TimeDelta::milliseconds(i as i64),
                })
                .collect();
            if exec == seeds[1].id {
                for id in [
                    StreamId {
                        ms: i64::MAX as u64,
                        seq: 0,
                    },
                    StreamId {
                        ms: i64::MAX as u64,
                        seq: i64::MAX as u64,
                    },
                ] {
                    entries.push(LogEntry {
                        id,
                        execution_id: exec,
                        level: LogLevel::Info,
                        message: "edge".into(),
                        metadata: None,
                        timestamp: base,
                    });
                }
            }
            persisted_entries.extend(entries);
        }
        store
            .insert_logs(&persisted_entries)
            .await
            .map_err(|e| e.to_string())?;
        let mut persisted: HashMap<Uuid, Vec<LogView>> = HashMap::new();
        for e in &persisted_entries {
            persisted
                .entry(e.execution_id)
                .or_default()
                .push(entry_view(e));
        }

        // The running execution and its live log, written through its log writer.
        let running_id = seeds[0].id;
        let (running_writer, running_task) =
            LogWriter::spawn(stream.clone(), running_id, &Limits::default());
        let mut kept = (0, 0);
        for (i, message) in messages.iter().enumerate() {
            let metadata =
                (i % 2 == 1).then(|| model::LogMetadata::from_value(&json!({"live": i})));
            kept.0 += 1;
            kept.1 += (message.len() + metadata.as_ref().map_or(0, |m| m.len())) as u64;
            running_writer.write(model::LogLine {
                level: levels[i % levels.len()],
                message: (*message).to_owned(),
                metadata,
                timestamp: Utc::now(),
            });
        }
        running_writer.flush().await.map_err(|e| e.to_string())?;
        let live_seed = service
            .read_logs(
                running_id,
                model::ExecutionStatus::Running,
                LogRange {
                    start: StreamId::MIN,
                    count: 1000,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut live = HashMap::new();
        live.insert(
            running_id,
            live_seed.iter().map(entry_view).collect::<Vec<_>>(),
        );

        let phantom_id = uid(777);
        let (phantom_writer, phantom_task) =
            LogWriter::spawn(stream.clone(), phantom_id, &Limits::default());

        // Cursors handed out by list-page, for a few identities and page sizes.
        let mut cursors = Vec::new();
        let filter = query::ListFilter::default();
        for who in [&admin_all, &admin_a, &user_a] {
            for size in 1..=3u32 {
                let mut cursor: Option<String> = None;
                for _ in 0..40 {
                    let page = service
                        .list_page(
                            who,
                            &query::ListFilter {
                                limit: Some(size),
                                ..filter.clone()
                            },
                            cursor.as_deref(),
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                    match page.next_cursor {
                        Some(c) => {
                            cursors.push(c.clone());
                            cursor = Some(c);
                        }
                        None => break,
                    }
                }
            }
        }
        cursors.sort();
        cursors.dedup();

        let running = Bound {
            execution: ExecutionContext {
                execution_id: running_id,
                workflow_name: seeds[0].workflow.clone(),
                parent_execution_id: None,
            },
            identity: user_a.clone(),
            writer: running_writer,
        };
        let phantom = Bound {
            execution: ExecutionContext {
                execution_id: phantom_id,
                workflow_name: "phantom \u{202E}".into(),
                parent_execution_id: None,
            },
            identity: user_b.clone(),
            writer: phantom_writer,
        };
        Ok(Fixture {
            rt,
            env: Some(env),
            service,
            identities: vec![admin_all, admin_a, user_a, user_b, user_none],
            seeds,
            running,
            phantom,
            persisted,
            live: Mutex::new(live),
            vars: Mutex::new(None),
            kept: Mutex::new(HashMap::from([(running_id, kept)])),
            sets: AtomicUsize::new(0),
            cursors,
            _tasks: vec![running_task, phantom_task],
        })
    }

    pub(crate) fn case(&self, kind: CtxKind) -> Case<'_> {
        let bound = |b: &'_ Bound| {
            (
                ExecutionsCtx::new(b.identity.clone(), self.service.clone())
                    .with_execution(b.execution.clone(), b.writer.clone()),
                b.identity.clone(),
            )
        };
        match kind {
            CtxKind::Outside(n) => {
                let who = self.identities[n % self.identities.len()].clone();
                Case {
                    ctx: ExecutionsCtx::new(who.clone(), self.service.clone()),
                    who,
                    bound: None,
                }
            }
            CtxKind::Running => {
                let (ctx, who) = bound(&self.running);
                Case {
                    ctx,
                    who,
                    bound: Some(&self.running),
                }
            }
            CtxKind::Phantom => {
                let (ctx, who) = bound(&self.phantom);
                Case {
                    ctx,
                    who,
                    bound: Some(&self.phantom),
                }
            }
        }
    }

    /// Clears the running execution's variables, in the store and in the model.
    pub(crate) async fn reset_variables(&self) -> TestCaseResult {
        self.sets.store(0, Ordering::Relaxed);
        self.env
            .as_ref()
            .expect("the fixture is open")
            .reset_variables(self.running.execution.execution_id)
            .await;
        *self.vars.lock().expect("vars model") = None;
        Ok(())
    }

    /// Makes the model of a bound execution's live log what the stream holds.
    pub(crate) async fn resync_live(&self, bound: &Bound) {
        let id = bound.execution.execution_id;
        let _ = bound.writer.flush().await;
        let mut entries = Vec::new();
        let mut start = StreamId::MIN;
        while let Ok(batch) = self
            .service
            .read_logs(
                id,
                model::ExecutionStatus::Running,
                LogRange { start, count: 1000 },
            )
            .await
        {
            entries.extend(batch.iter().map(entry_view));
            match batch.last().and_then(|e| e.id.successor()) {
                Some(next) if batch.len() == 1000 => start = next,
                _ => break,
            }
        }
        self.live.lock().expect("live model").insert(id, entries);
    }

    /// Runs one case's future on the fixture's runtime.
    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub(crate) fn seed(&self, id: Uuid) -> Option<&Seeded> {
        self.seeds.iter().find(|s| s.id == id)
    }

    pub(crate) fn visible(&self, who: &Identity, id: Uuid) -> Result<&Seeded, Want> {
        let s = self.seed(id).ok_or(Want::NotFound(Some(id)))?;
        if who.can_view(s.by, s.org) {
            Ok(s)
        } else {
            Err(Want::Denied(id))
        }
    }

    /// The generators, with the fixture's real ids, log ids, times and cursors.
    pub(crate) fn gen_(&self) -> Gen {
        let mut ids: Vec<Uuid> = self.seeds.iter().map(|s| s.id).collect();
        ids.push(self.phantom.execution.execution_id);
        ids.extend(self.identities.iter().map(|i| i.user_id));
        let mut log_ids: Vec<String> = self
            .persisted
            .values()
            .chain(self.live.lock().expect("live model").values())
            .flatten()
            .map(|e| e.id.to_string())
            .collect();
        log_ids.sort();
        log_ids.dedup();
        let mut names: Vec<String> = self.seeds.iter().map(|s| s.workflow.clone()).collect();
        names.sort();
        names.dedup();
        Gen {
            ids,
            log_ids,
            names,
            times: self.seeds.iter().map(|s| s.started_at).collect(),
            cursors: self.cursors.clone(),
        }
    }
}
