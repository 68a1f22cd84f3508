//! A workflow that makes the calls its input lists and returns what each answered, so that
//! the host tests can drive every import through the guest crate from the outside.
//!
//! Input: `{"calls": [{"op": "list", ...}, ...]}`. Result: one `{"ok": ...}` or
//! `{"err": {"kind": ..., "parameter": ..., "message": ...}}` per call.
//!
//! With `"nul": "<marker>"` in the input, the marker becomes U+0000 in every string of the
//! calls (keys included), so that the workflow can send text its own input could not carry
//! (PostgreSQL stores no U+0000, and the input is stored).

use bifrost::executions::{self, ExecutionLog, WorkflowExecution};
use bifrost::{Error, ExecutionStatus, LogLevel};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Input {
    calls: Vec<Value>,
    nul: Option<String>,
}

/// `v` with `marker` replaced by U+0000 in every string and key.
fn with_nul(v: Value, marker: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(marker, "\0")),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| with_nul(v, marker)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k.replace(marker, "\0"), with_nul(v, marker)))
                .collect(),
        ),
        other => other,
    }
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Call {
    List(ListArgs),
    /// Every page, through the cursor; `limit` is the page size.
    ListAll(ListArgs),
    Get {
        id: String,
    },
    Logs {
        execution_id: Option<String>,
        start: Option<String>,
        count: Option<u32>,
    },
    /// Every entry through the log reader.
    ReadAllLogs {
        execution_id: Option<String>,
        count: Option<u32>,
    },
    Log {
        level: String,
        message: String,
        metadata: Option<Value>,
    },
    /// `n` lines through the `log` crate, numbered from 0, with key-value metadata.
    LogMany {
        n: u32,
    },
    Print {
        text: String,
    },
    Eprint {
        text: String,
    },
    Context,
    SetVariable {
        name: String,
        value: Value,
    },
    Fail {
        message: String,
    },
    Panic {
        message: String,
    },
    Spin,
    GrowMemory {
        mebibytes: usize,
    },
    /// Unbounded recursion: a stack overflow.
    Recurse,
    /// `std::process::abort`: a wasm `unreachable`.
    Abort,
    /// One line whose message is `bytes` long.
    LogHuge {
        bytes: usize,
    },
    /// `n` lines of `bytes` characters each on stdout.
    PrintHuge {
        bytes: usize,
        n: u32,
    },
    /// Returns a JSON string of `bytes` characters as the call's answer.
    Huge {
        bytes: usize,
    },
    /// Fails with an error message of `bytes` characters.
    FailHuge {
        bytes: usize,
    },
    /// `n` lines, `pause_ms` apart.
    LogSlowly {
        n: u32,
        pause_ms: u64,
    },
    /// Logs until stopped from outside.
    LogForever,
    /// Calls `list` `n` times, logging the count every `every` calls.
    ListLoop {
        n: u64,
        every: u64,
    },
}

#[derive(Deserialize, Default)]
struct ListArgs {
    workflow_name: Option<String>,
    status: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    limit: Option<u32>,
}

fn err(e: Error) -> Value {
    let (kind, parameter) = match &e {
        Error::NotFound { .. } => ("not-found", None),
        Error::PermissionDenied { .. } => ("permission-denied", None),
        Error::InvalidArgument { parameter, .. } => ("invalid-argument", Some(parameter.clone())),
        Error::NoExecutionContext => ("no-execution-context", None),
        Error::Unavailable(_) => ("unavailable", None),
        Error::TooLarge(_) => ("too-large", None),
        Error::Internal(_) => ("internal", None),
        Error::InvalidStatus(_) => ("invalid-status", None),
        Error::InvalidLogLevel(_) => ("invalid-log-level", None),
        Error::Json(_) => ("json", None),
        _ => ("other", None),
    };
    json!({ "err": { "kind": kind, "parameter": parameter, "message": e.to_string() } })
}

fn answer<T: serde::Serialize>(r: Result<T, Error>) -> Value {
    match r {
        Ok(v) => json!({ "ok": v }),
        Err(e) => err(e),
    }
}

fn query(args: &ListArgs) -> Result<executions::ListQuery, Error> {
    let mut q = executions::list();
    if let Some(n) = &args.workflow_name {
        q = q.workflow_name(n.clone());
    }
    if let Some(s) = &args.status {
        q = q.status(s.parse::<ExecutionStatus>()?);
    }
    if let Some(d) = &args.start_date {
        q = q.start_date(d.clone());
    }
    if let Some(d) = &args.end_date {
        q = q.end_date(d.clone());
    }
    if let Some(l) = args.limit {
        q = q.limit(l);
    }
    Ok(q)
}

fn run(call: Call) -> Result<Value, String> {
    Ok(match call {
        Call::List(args) => answer::<Vec<WorkflowExecution>>(query(&args).and_then(|q| q.fetch())),
        Call::ListAll(args) => {
            answer::<Vec<WorkflowExecution>>(query(&args).and_then(|q| q.fetch_all()))
        }
        Call::Get { id } => answer(executions::get(&id)),
        Call::Logs {
            execution_id,
            start,
            count,
        } => {
            let mut q = executions::get_current_logs();
            if let Some(id) = execution_id {
                q = q.execution_id(id);
            }
            if let Some(s) = start {
                q = q.start(s);
            }
            if let Some(c) = count {
                q = q.count(c);
            }
            answer(q.fetch())
        }
        Call::ReadAllLogs {
            execution_id,
            count,
        } => {
            let mut q = executions::get_current_logs();
            if let Some(id) = execution_id {
                q = q.execution_id(id);
            }
            if let Some(c) = count {
                q = q.count(c);
            }
            answer(q.reader().collect::<Result<Vec<ExecutionLog>, Error>>())
        }
        Call::Log {
            level,
            message,
            metadata,
        } => answer(
            level
                .parse::<LogLevel>()
                .map_err(Error::from)
                .and_then(|l| bifrost::logging::log(l, &message, metadata.as_ref())),
        ),
        Call::LogMany { n } => {
            for i in 0..n {
                log::info!(i; "line {i}");
            }
            json!({ "ok": n })
        }
        Call::Print { text } => {
            println!("{text}");
            json!({ "ok": null })
        }
        Call::Eprint { text } => {
            eprintln!("{text}");
            json!({ "ok": null })
        }
        Call::Context => {
            let caller = bifrost::context::caller();
            json!({ "ok": {
                "execution_id": bifrost::context::execution_id(),
                "workflow_name": bifrost::context::workflow_name(),
                "user_id": caller.user_id,
                "user_name": caller.user_name,
                "org_id": caller.org_id,
                "is_platform_admin": caller.is_platform_admin,
            }})
        }
        Call::SetVariable { name, value } => answer(bifrost::context::set_variable(&name, &value)),
        Call::Fail { message } => return Err(message),
        Call::Panic { message } => panic!("{message}"),
        Call::Spin => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        Call::GrowMemory { mebibytes } => {
            let mut held: Vec<Vec<u8>> = Vec::new();
            for _ in 0..mebibytes {
                held.push(vec![1u8; 1 << 20]);
            }
            json!({ "ok": held.len() })
        }
        Call::Recurse => json!({ "ok": recurse(0) }),
        Call::Abort => std::process::abort(),
        Call::LogHuge { bytes } => answer(bifrost::logging::log(
            LogLevel::Info,
            &"x".repeat(bytes),
            None,
        )),
        Call::PrintHuge { bytes, n } => {
            let line = "p".repeat(bytes);
            for _ in 0..n {
                println!("{line}");
            }
            json!({ "ok": n })
        }
        Call::Huge { bytes } => json!({ "ok": "y".repeat(bytes) }),
        Call::FailHuge { bytes } => return Err("z".repeat(bytes)),
        Call::LogSlowly { n, pause_ms } => {
            for i in 0..n {
                log::info!("line {i}");
                std::thread::sleep(std::time::Duration::from_millis(pause_ms));
            }
            json!({ "ok": n })
        }
        Call::LogForever => {
            let mut i: u64 = 0;
            loop {
                log::info!("line {i}");
                i += 1;
            }
        }
        Call::ListLoop { n, every } => {
            let mut errors = 0u64;
            for i in 1..=n {
                if executions::list().limit(1).fetch().is_err() {
                    errors += 1;
                }
                if i % every == 0 {
                    log::info!(calls = i; "calls so far");
                }
            }
            json!({ "ok": { "calls": n, "errors": errors } })
        }
    })
}

/// Recursion with small frames and no locals in linear memory, so that the wasm call stack
/// (not the shadow stack in linear memory) runs out.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))) + 1
}

fn probe(input: Input) -> Result<Vec<Value>, String> {
    input
        .calls
        .into_iter()
        .map(|call| {
            let call = match &input.nul {
                Some(marker) => with_nul(call, marker),
                None => call,
            };
            serde_json::from_value::<Call>(call).map_err(|e| format!("bad call: {e}"))
        })
        .map(|call| call.and_then(run))
        .collect()
}

bifrost::workflow!(probe);
