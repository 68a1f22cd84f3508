//! A workflow that makes the calls its input lists and returns what each answered, so that
//! the host tests can drive every import through the guest crate from the outside.
//!
//! The input is a `probe_protocol::Input` (a list of `Call`s), the result one `Answer` per
//! call; the protocol crate documents both and their JSON form.

use bifrost::executions::{self, ExecutionLog, WorkflowExecution};
use bifrost::{Error, ExecutionStatus, LogLevel};
use probe_protocol::{Answer, Call, ErrorKind, Input, ListArgs, LogsArgs, ProbeError};
use serde_json::{Value, json};

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

fn err(e: Error) -> Answer {
    let (kind, parameter) = match &e {
        Error::NotFound { .. } => (ErrorKind::NotFound, None),
        Error::PermissionDenied { .. } => (ErrorKind::PermissionDenied, None),
        Error::InvalidArgument { parameter, .. } => {
            (ErrorKind::InvalidArgument, Some(parameter.clone()))
        }
        Error::NoExecutionContext => (ErrorKind::NoExecutionContext, None),
        Error::Unavailable(_) => (ErrorKind::Unavailable, None),
        Error::TooLarge(_) => (ErrorKind::TooLarge, None),
        Error::Internal(_) => (ErrorKind::Internal, None),
        Error::InvalidStatus(_) => (ErrorKind::InvalidStatus, None),
        Error::InvalidLogLevel(_) => (ErrorKind::InvalidLogLevel, None),
        Error::Json(_) => (ErrorKind::Json, None),
        _ => (ErrorKind::Other, None),
    };
    Answer::Err(ProbeError {
        kind,
        parameter,
        message: e.to_string(),
    })
}

fn answer<T: serde::Serialize>(r: Result<T, Error>) -> Answer {
    match r {
        Ok(v) => match serde_json::to_value(v) {
            Ok(v) => Answer::Ok(v),
            Err(e) => err(Error::Json(e)),
        },
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

fn run(call: Call) -> Result<Answer, String> {
    Ok(match call {
        Call::List(args) => answer::<Vec<WorkflowExecution>>(query(&args).and_then(|q| q.fetch())),
        Call::ListAll(args) => {
            answer::<Vec<WorkflowExecution>>(query(&args).and_then(|q| q.fetch_all()))
        }
        Call::Get { id } => answer(executions::get(&id)),
        Call::Logs(LogsArgs {
            execution_id,
            start,
            count,
        }) => {
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
        Call::ReadAllLogs(LogsArgs {
            execution_id,
            count,
            start: _,
        }) => {
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
            Answer::Ok(json!(n))
        }
        Call::Print { text } => {
            println!("{text}");
            Answer::Ok(json!(null))
        }
        Call::Eprint { text } => {
            eprintln!("{text}");
            Answer::Ok(json!(null))
        }
        Call::Context => {
            let caller = bifrost::context::caller();
            Answer::Ok(json!({
                "execution_id": bifrost::context::execution_id(),
                "workflow_name": bifrost::context::workflow_name(),
                "user_id": caller.user_id,
                "user_name": caller.user_name,
                "org_id": caller.org_id,
                "is_platform_admin": caller.is_platform_admin,
            }))
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
            Answer::Ok(json!(held.len()))
        }
        Call::Recurse => Answer::Ok(json!(recurse(0))),
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
            Answer::Ok(json!(n))
        }
        Call::Huge { bytes } => Answer::Ok(json!("y".repeat(bytes))),
        Call::FailHuge { bytes } => return Err("z".repeat(bytes)),
        Call::LogSlowly { n, pause_ms } => {
            for i in 0..n {
                log::info!("line {i}");
                std::thread::sleep(std::time::Duration::from_millis(pause_ms));
            }
            Answer::Ok(json!(n))
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
            Answer::Ok(json!({ "calls": n, "errors": errors }))
        }
    })
}

/// Recursion with small frames and no locals in linear memory, so that the wasm call stack
/// (not the shadow stack in linear memory) runs out.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))) + 1
}

fn probe(input: Input<Value>) -> Result<Vec<Answer>, String> {
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
