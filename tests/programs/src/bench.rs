//! The benchmarks' workflow: repeats one import call `n` times, so that the host can time
//! calls from inside a guest against the same calls made natively.
//!
//! Input: `{"op": "get" | "get_raw" | "list" | "list_raw" | "logs" | "log" | "small" |
//! "sleep" | "execute" | "fan", ...}`; see [`Op`].
//! Result: `{"calls": n, "items": <entries or executions seen, summed>, "micros": [<each
//! call's round trip in microseconds, measured inside the guest>] (`execute` only)}`.

use bifrost::{executions, workflows};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    /// `get(id)`, `n` times.
    Get { id: String, n: u32 },
    /// `get(id)` through the raw bindings, `n` times.
    GetRaw { id: String, n: u32 },
    /// `list` with these filters, `n` times.
    List {
        n: u32,
        limit: Option<u32>,
        workflow_name: Option<String>,
        status: Option<String>,
        start_date: Option<String>,
        end_date: Option<String>,
    },
    /// `list` (limit 50) through the raw bindings, `n` times: the boundary without the
    /// guest crate's decoding into typed values.
    ListRaw { n: u32 },
    /// `get-current-logs` of the own execution, `count` entries, `n` times.
    Logs { n: u32, count: u32 },
    /// `n` log lines through the `log` crate.
    Log { n: u32 },
    /// A small workflow's work: ten log lines, then a result.
    Small,
    /// Stays alive (idle, in a WASI sleep) for `ms` milliseconds.
    Sleep { ms: u64 },
    /// `workflows::execute` of `child` on `{}`, `n` times one after the other, each timed.
    Execute { child: String, n: u32 },
    /// `n` children of `child` on `{}` started, then each waited for; `items` counts those
    /// that succeeded.
    Fan { child: String, n: u32 },
}

fn bench(op: Op) -> Result<Value, bifrost::Error> {
    let (mut calls, mut items) = (0u64, 0u64);
    let mut micros: Vec<u64> = Vec::new();
    match op {
        Op::Get { id, n } => {
            for _ in 0..n {
                let e = executions::get(&id)?;
                items += u64::from(!e.execution_id.is_empty());
                calls += 1;
            }
        }
        Op::GetRaw { id, n } => {
            use bifrost::__internal::bifrost::executions::executions as raw;
            for _ in 0..n {
                let e = raw::get(&id).map_err(|e| bifrost::Error::Internal(format!("{e:?}")))?;
                items += u64::from(!e.execution_id.is_empty());
                calls += 1;
            }
        }
        Op::List {
            n,
            limit,
            workflow_name,
            status,
            start_date,
            end_date,
        } => {
            let mut q = executions::list();
            if let Some(l) = limit {
                q = q.limit(l);
            }
            if let Some(w) = workflow_name {
                q = q.workflow_name(w);
            }
            if let Some(s) = status {
                q = q.status(s.parse().map_err(bifrost::Error::InvalidStatus)?);
            }
            if let Some(d) = start_date {
                q = q.start_date(d);
            }
            if let Some(d) = end_date {
                q = q.end_date(d);
            }
            for _ in 0..n {
                items += q.fetch()?.len() as u64;
                calls += 1;
            }
        }
        Op::ListRaw { n } => {
            use bifrost::__internal::bifrost::executions::{executions as raw, types};
            let filter = types::ListFilter {
                workflow_name: None,
                status: None,
                start_date: None,
                end_date: None,
                limit: Some(50),
            };
            for _ in 0..n {
                items += raw::list(&filter)
                    .map_err(|e| bifrost::Error::Internal(format!("{e:?}")))?
                    .len() as u64;
                calls += 1;
            }
        }
        Op::Logs { n, count } => {
            for _ in 0..n {
                items += executions::get_current_logs().count(count).fetch()?.len() as u64;
                calls += 1;
            }
        }
        Op::Log { n } => {
            for i in 0..n {
                log::info!("line {i}");
                calls += 1;
            }
        }
        Op::Small => {
            for i in 0..10 {
                log::info!(step = i; "step {i} done");
                calls += 1;
            }
        }
        Op::Sleep { ms } => std::thread::sleep(std::time::Duration::from_millis(ms)),
        Op::Execute { child, n } => {
            for _ in 0..n {
                let clock = std::time::Instant::now();
                workflows::execute(&child, &json!({}))?;
                micros.push(u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX));
                calls += 1;
                items += 1;
            }
        }
        Op::Fan { child, n } => {
            let ids = (0..n)
                .map(|_| workflows::start(&child, &json!({})))
                .collect::<Result<Vec<_>, _>>()?;
            for id in ids {
                let done = workflows::wait(&id, None)?;
                items += u64::from(done.status == executions::ExecutionStatus::Success);
                calls += 1;
            }
        }
    }
    if micros.is_empty() {
        Ok(json!({"calls": calls, "items": items}))
    } else {
        Ok(json!({"calls": calls, "items": items, "micros": micros}))
    }
}

bifrost::workflow!(bench);
