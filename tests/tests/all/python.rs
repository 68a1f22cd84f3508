//! Python workflows written with the `bifrost` package (`python/`), built with
//! `bifrost-build` during the test run and run in the host on both backends: the reference
//! SDK's documented examples verbatim, its exceptions, Python's logging. The package's unit
//! tests (pytest) run here too. The Python probe's answers are compared with the Rust
//! probe's in the conformance test.

use std::path::Path;

use bifrost_core::model::{Execution, ExecutionStatus, LogEntry, LogLevel};
use bifrost_tests::{
    Backend, Harness, PYTHON_EXCEPTION_MAPPING, PYTHON_LOGGING_LEVELS, PYTHON_REFERENCE_EXAMPLES,
    ReferenceDataset, Seed, run_outside_execution, user,
};
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

/// Runs `python -m ARGS` in `dir` with the virtual environment the build made; its output.
fn python_module(dir: &Path, args: &[&str]) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = root.join("target/python/bin/python");
    let out = std::process::Command::new(&python)
        .arg("-m")
        .args(args)
        .current_dir(root.join(dir))
        .env_remove("PYTHONPATH")
        // Nothing written into the sources (byte code, mypy's cache): they are the
        // artifacts' build inputs, and a write there would make the next build run again.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("MYPY_CACHE_DIR", root.join("target/python/mypy-cache"))
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    (out.status.success(), text)
}

/// The package's pytest suite (pure parts: names, dates, mapping, paging, logging, the entry
/// point, the build command's checks, against a stand-in host).
#[test]
fn the_python_packages_unit_tests_pass() {
    let (ok, text) = python_module(
        Path::new("python"),
        &["pytest", "-q", "-p", "no:cacheprovider", "tests"],
    );
    assert!(ok, "pytest failed:\n{text}");
    assert!(text.contains(" passed"), "pytest ran no test:\n{text}");
}

/// The package is typed: mypy in strict mode (configured in `python/pyproject.toml`) finds
/// nothing.
#[test]
fn the_python_package_type_checks_strictly() {
    let (ok, text) = python_module(Path::new("python"), &["mypy", "--no-incremental"]);
    assert!(
        ok && text.contains("Success: no issues found"),
        "mypy:\n{text}"
    );
}

fn lines(e: &Execution) -> Vec<(LogLevel, String)> {
    e.logs
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|l: &LogEntry| (l.level, l.message.clone()))
        .collect()
}

/// The reference document's examples, verbatim in `examples/python/reference_examples.py`:
/// `list(limit=10)`, `list(status="Failed", start_date=...)`, `get`, the `print` of status
/// and duration, `get_current_logs()` and the loop printing `[LEVEL] message`.
async fn the_reference_examples_run_verbatim(backend: Backend) {
    let h = Harness::new(backend).await;
    let data = ReferenceDataset::seed(&h.env).await;
    let done = h
        .run_file_ok(
            PYTHON_REFERENCE_EXAMPLES,
            "reference_examples",
            json!({"execution_id": data.failed}),
            &data.me,
        )
        .await;
    let result = done.result.clone().unwrap();
    // Newest first: this execution (running, started now), then the seeded ones.
    assert_eq!(result["recent"], json!(data.recent(done.id)));
    assert_eq!(result["failed_today"], json!(data.failed_today()));
    assert_eq!(
        result["detail"],
        json!({"status": "Failed", "duration_ms": 1})
    );
    // `print(detail.status, detail.duration_ms)` was in the log when it was read back.
    assert_eq!(result["logs"], json!(["[INFO] Failed 1"]));
    assert_eq!(
        lines(&done),
        [
            (LogLevel::Info, "Failed 1".to_owned()),
            (LogLevel::Info, "[INFO] Failed 1".to_owned()),
        ]
    );
    h.close().await;
}

/// Each failing call raises the reference SDK's exception (`ValueError` not found,
/// `PermissionError` denied, `RuntimeError` outside an execution) and the package's
/// `ExecutionsError` kind, with the Rust crate's message.
async fn exceptions_are_the_reference_ones(backend: Backend) {
    let h = Harness::new(backend).await;
    let me = user(None);
    let foreign = h
        .env
        .seed(&Seed {
            by: Uuid::new_v4(),
            org: None,
            workflow: "theirs".into(),
            status: ExecutionStatus::Success,
            started_at: Utc::now(),
        })
        .await;
    let unknown = Uuid::new_v4();
    let input = json!({"unknown": unknown, "foreign": foreign});
    let done = h
        .run_file_ok(
            PYTHON_EXCEPTION_MAPPING,
            "exception_mapping",
            input.clone(),
            &me,
        )
        .await;
    let r = done.result.unwrap();
    let error = |ty: &str, kind: &str, parameter: Option<&str>, message: String, also: &str| {
        json!({
            "type": ty,
            "value_error": also == "ValueError",
            "permission_error": also == "PermissionError",
            "runtime_error": also == "RuntimeError",
            "executions_error": true,
            "kind": kind,
            "parameter": parameter,
            "retryable": false,
            "message": message,
        })
    };
    let invalid = |parameter: &str, reason: &str| {
        error(
            "InvalidArgument",
            "invalid-argument",
            Some(parameter),
            format!("invalid argument `{parameter}`: {reason}"),
            "ValueError",
        )
    };
    assert_eq!(
        r["not_found"],
        error(
            "ExecutionNotFound",
            "not-found",
            None,
            format!("execution {unknown} not found"),
            "ValueError"
        )
    );
    assert_eq!(
        r["denied"],
        error(
            "ExecutionAccessDenied",
            "permission-denied",
            None,
            format!("permission denied: execution {foreign} belongs to someone else"),
            "PermissionError"
        )
    );
    assert_eq!(
        r["bad_id"],
        invalid("execution_id", "\"not-a-uuid\" is not a UUID")
    );
    assert_eq!(r["bad_limit"], invalid("limit", "must be at least 1"));
    assert_eq!(r["negative_limit"], invalid("limit", "must be at least 1"));
    assert_eq!(r["bad_count"], invalid("count", "must be at least 1"));
    assert_eq!(r["bad_date"]["parameter"], "start_date");
    assert_eq!(r["bad_start"]["parameter"], "start");
    assert_eq!(r["bad_status"]["parameter"], "status");
    assert!(
        r["bad_status"]["message"]
            .as_str()
            .unwrap()
            .contains("expected one of Scheduled, Pending"),
        "{}",
        r["bad_status"]
    );
    assert_eq!(r["current_logs"], "ok");
    assert_eq!(r["caught_value_error"], true);
    assert_eq!(r["caught_permission_error"], true);

    // Outside an execution, the current execution's logs are a RuntimeError.
    let out = run_outside_execution(
        h.env.service.clone(),
        me.clone(),
        PYTHON_EXCEPTION_MAPPING,
        &input.to_string(),
    )
    .await
    .unwrap();
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        r["current_logs"],
        error(
            "NoExecutionContext",
            "no-execution-context",
            None,
            "no execution context: the call needs the current execution, and the workflow \
             runs outside one (pass an execution id)"
                .into(),
            "RuntimeError"
        )
    );
    h.close().await;
}

/// `logging` calls arrive with their levels and `extra` metadata, a traceback stays in one
/// entry, `print` is an INFO line, and an uncaught exception fails the execution with
/// `ExceptionType: message` and its traceback logged.
async fn python_logging_arrives_as_written(backend: Backend) {
    let h = Harness::new(backend).await;
    let me = user(None);
    let done = h
        .run_file_ok(PYTHON_LOGGING_LEVELS, "logging_levels", json!({}), &me)
        .await;
    assert_eq!(done.result, Some(json!("done")));
    let logs = done.logs.clone().unwrap();
    let seen: Vec<(LogLevel, &str, Option<Value>)> = logs
        .iter()
        .map(|l| {
            (
                l.level,
                l.message.split('\n').next().unwrap(),
                l.metadata
                    .as_ref()
                    .map(|m| serde_json::to_value(m).unwrap()),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (LogLevel::Debug, "debug line", None),
            (
                LogLevel::Info,
                "synced",
                Some(json!({"rows": 42, "tags": ["a", "b"]}))
            ),
            (LogLevel::Warning, "careful now", None),
            (LogLevel::Error, "bad", None),
            (LogLevel::Critical, "worse", Some(json!({"code": 7}))),
            (LogLevel::Error, "lookup failed", None),
            (LogLevel::Info, "printed", None),
        ]
    );
    let traceback: Vec<&str> = logs[5].message.lines().collect();
    assert_eq!(traceback[1], "Traceback (most recent call last):");
    assert_eq!(*traceback.last().unwrap(), "KeyError: 'missing'");

    let failed = h
        .run_file(
            PYTHON_LOGGING_LEVELS,
            "logging_levels",
            json!({"fail": true}),
            &me,
        )
        .await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(
        failed.error_message.as_deref(),
        Some("ValueError: the input has no name")
    );
    let last = failed.logs.as_ref().unwrap().last().unwrap();
    assert_eq!(last.level, LogLevel::Error);
    assert!(
        last.message
            .starts_with("the workflow raised ValueError\nTraceback (most recent call last):"),
        "{}",
        last.message
    );
    assert!(
        last.message.ends_with("ValueError: the input has no name"),
        "{}",
        last.message
    );

    let refused = h
        .run_file(
            PYTHON_LOGGING_LEVELS,
            "logging_levels",
            json!({"nope": 1}),
            &me,
        )
        .await;
    assert_eq!(refused.status, ExecutionStatus::Failed);
    let message = refused.error_message.unwrap();
    assert!(
        message.starts_with("TypeError: ")
            && message.contains("unexpected keyword argument 'nope'"),
        "{message}"
    );
    h.close().await;
}

bifrost_tests::on_both_backends!(
    the_reference_examples_run_verbatim,
    exceptions_are_the_reference_ones,
    python_logging_arrives_as_written,
);
