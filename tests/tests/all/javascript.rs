//! JavaScript and TypeScript workflows written with the `bifrost` npm package (`js/`), built
//! with its `bifrost-build` during the test run and run in the host on both backends: the
//! reference SDK's examples, the package's errors, `console` and `log`, an uncaught error, a
//! TypeScript example. The package's unit tests (node:test) and a strict TypeScript check run
//! here too; the JavaScript probe's answers are compared with the Rust probe's in the
//! conformance test.

use std::path::{Path, PathBuf};
use std::process::Command;

use bifrost_core::model::{Execution, ExecutionStatus, LogLevel};
use bifrost_tests::{
    Backend, Harness, JS_ERRORS, JS_FAILURE_REPORT, JS_LOGGING_LEVELS, JS_PACKAGE,
    JS_REFERENCE_EXAMPLES, ReferenceDataset, Seed, run_outside_execution, user,
};
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs a command; whether it succeeded, and its output (both streams), printed.
fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    (out.status.success(), text)
}

/// The package's own tests (pure parts against a stand-in host: names, mapping, paging,
/// errors, logging, the entry point).
#[test]
fn the_js_packages_unit_tests_pass() {
    let (ok, text) = output(
        Command::new("node")
            .args(["--test", "test/"])
            .current_dir(root().join("js")),
    );
    assert!(ok, "node --test failed:\n{text}");
    assert!(text.contains("# fail 0"), "{text}");
    assert!(
        !text.contains("# pass 0"),
        "node --test ran no test:\n{text}"
    );
}

/// The package ships a copy of the WIT (npm packs no links); it is the current version's.
#[test]
fn the_js_packages_wit_is_the_current_one() {
    let r = root();
    let ours = std::fs::read_to_string(r.join("wit/executions.wit")).unwrap();
    let shipped = std::fs::read_to_string(r.join("js/wit/executions.wit")).unwrap();
    assert!(
        ours == shipped,
        "js/wit/executions.wit differs from wit/executions.wit: copy it again"
    );
}

/// Writes a tsconfig that checks `files` strictly against the package's types; the result
/// of `tsc` (the package's pinned TypeScript).
fn type_check(name: &str, files: &[PathBuf]) -> (bool, String) {
    let dir = root().join("target/js/typecheck").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let config = json!({
        "compilerOptions": {
            "strict": true,
            "noEmit": true,
            "target": "es2022",
            "module": "es2022",
            "moduleResolution": "bundler",
            "lib": ["es2022", "dom"],
            "types": [],
            "paths": {"bifrost": [root().join("js/types/index.d.ts")]},
        },
        "files": files,
    });
    std::fs::write(dir.join("tsconfig.json"), config.to_string()).unwrap();
    let tsc = Path::new(JS_PACKAGE).join("node_modules/.bin/tsc");
    output(Command::new(tsc).arg("-p").arg(dir.join("tsconfig.json")))
}

/// The TypeScript example and test program check in strict mode against the package's
/// types, and a program that misuses the API does not.
#[test]
fn typescript_workflows_check_strictly_against_the_packages_types() {
    let r = root();
    let (ok, text) = type_check(
        "workflows",
        &[
            r.join("examples/js/failure_report.ts"),
            r.join("tests/js/logging_levels.ts"),
        ],
    );
    assert!(ok, "tsc found errors:\n{text}");

    let wrong = r.join("target/js/typecheck/wrong.ts");
    std::fs::write(
        &wrong,
        "import { executions } from \"bifrost\";\n\
         export default async function () {\n\
           const found = await executions.list({ limt: 5 });\n\
           const id: number = found[0].executionId;\n\
           return id;\n\
         }\n",
    )
    .unwrap();
    let (ok, text) = type_check("wrong", &[wrong]);
    assert!(
        !ok,
        "tsc accepted a misspelt option and a wrong type:\n{text}"
    );
    assert!(text.contains("'limt' does not exist"), "{text}");
    assert!(
        text.contains("wrong.ts(4,") && text.contains("not assignable to type 'number'"),
        "{text}"
    );
}

/// `bifrost-build` says what is wrong with a module: no workflow export (exit 2, naming
/// what it exports), a file that is not a module, a syntax error (with file and line).
#[test]
fn bifrost_build_refuses_what_it_cannot_build_and_says_why() {
    let dir = root().join("target/js/build-errors");
    std::fs::create_dir_all(&dir).unwrap();
    let build = |args: &[&Path]| {
        let out = Command::new("node")
            .arg(Path::new(JS_PACKAGE).join("bin/bifrost-build.js"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let named = dir.join("named.js");
    std::fs::write(
        &named,
        "export async function main() { return 1; }\nexport const x = 2;\n",
    )
    .unwrap();
    let (code, text) = build(&[&named]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("named.js has no default export (it exports main, x)"),
        "{text}"
    );

    let (code, text) = build(&[&named, Path::new("--export"), Path::new("run")]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("named.js has no export run (it exports main, x)"),
        "{text}"
    );

    let (code, text) = build(&[Path::new("workflow.py")]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("a workflow module ends in .js"), "{text}");

    let (code, text) = build(&[&dir.join("missing.js")]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("missing.js: no such file"), "{text}");

    let broken = dir.join("broken.ts");
    std::fs::write(&broken, "export default async function (x: number {\n").unwrap();
    let (code, text) = build(&[&broken]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("broken.ts:1:"), "{text}");
    assert!(!dir.join("broken.wasm").exists());
}

fn lines(e: &Execution) -> Vec<(LogLevel, String)> {
    e.logs
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|l| (l.level, l.message.clone()))
        .collect()
}

/// The reference document's examples, in `examples/js/reference_examples.js`: `list` of 10,
/// `list` of today's failures, `get`, the log of status and duration, `getCurrentLogs` and
/// the loop writing `[LEVEL] message`.
async fn the_reference_examples_run_in_javascript(backend: Backend) {
    let h = Harness::new(backend).await;
    let data = ReferenceDataset::seed(&h.env).await;
    let done = h
        .run_file_ok(
            JS_REFERENCE_EXAMPLES,
            "reference_examples",
            json!({"executionId": data.failed}),
            &data.me,
        )
        .await;
    let result = done.result.clone().unwrap();
    assert_eq!(result["recent"], json!(data.recent(done.id)));
    assert_eq!(result["failedToday"], json!(data.failed_today()));
    assert_eq!(
        result["detail"],
        json!({"status": "Failed", "durationMs": 1})
    );
    // `console.log(detail.status, detail.durationMs)` was in the log when it was read back.
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

/// Each failing call throws the package's class for its kind, with the Rust crate's
/// message; a wrong type is a TypeError; outside an execution, the current execution's logs
/// are `NoExecutionContext`.
async fn javascript_errors_are_typed(backend: Backend) {
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
    let done = h.run_file_ok(JS_ERRORS, "errors", input.clone(), &me).await;
    let r = done.result.unwrap();
    let error = |name: &str, class: &str, kind: &str, parameter: Option<&str>, message: String| {
        let mut e = json!({
            "name": name,
            "executionsError": true,
            "notFound": false,
            "denied": false,
            "invalid": false,
            "noContext": false,
            "unavailable": false,
            "typeError": false,
            "kind": kind,
            "parameter": parameter,
            "retryable": false,
            "message": message,
        });
        e[class] = json!(true);
        e
    };
    let invalid = |parameter: &str, reason: &str| {
        error(
            "InvalidArgument",
            "invalid",
            "invalid-argument",
            Some(parameter),
            format!("invalid argument `{parameter}`: {reason}"),
        )
    };
    assert_eq!(
        r["notFound"],
        error(
            "ExecutionNotFound",
            "notFound",
            "not-found",
            None,
            format!("execution {unknown} not found")
        )
    );
    assert_eq!(
        r["denied"],
        error(
            "ExecutionAccessDenied",
            "denied",
            "permission-denied",
            None,
            format!("permission denied: execution {foreign} belongs to someone else")
        )
    );
    assert_eq!(
        r["badId"],
        invalid("execution_id", "\"not-a-uuid\" is not a UUID")
    );
    assert_eq!(r["badLimit"], invalid("limit", "must be at least 1"));
    assert_eq!(r["negativeLimit"], invalid("limit", "must be at least 1"));
    assert_eq!(r["badCount"], invalid("count", "must be at least 1"));
    assert_eq!(r["badDate"]["parameter"], "start_date");
    assert_eq!(r["badDate"]["invalid"], true);
    assert_eq!(r["badStart"]["parameter"], "start");
    assert_eq!(r["badStatus"]["parameter"], "status");
    assert!(
        r["badStatus"]["message"]
            .as_str()
            .unwrap()
            .contains("expected one of Scheduled, Pending"),
        "{}",
        r["badStatus"]
    );
    assert_eq!(r["wrongType"]["name"], "TypeError");
    assert_eq!(r["wrongType"]["typeError"], true);
    assert_eq!(r["wrongType"]["executionsError"], false);
    assert_eq!(r["currentLogs"], "ok");
    assert_eq!(r["caughtNotFound"], true);

    let out = run_outside_execution(
        h.env.service.clone(),
        me.clone(),
        JS_ERRORS,
        &input.to_string(),
    )
    .await
    .unwrap();
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        r["currentLogs"],
        error(
            "NoExecutionContext",
            "noContext",
            "no-execution-context",
            None,
            "no execution context: the call needs the current execution, and the workflow \
             runs outside one (pass an execution id)"
                .into(),
        )
    );
    h.close().await;
}

/// `console` methods and `log` arrive with their levels and metadata (a text and a plain
/// object; other arguments in one line), an Error logged keeps its stack in the same line,
/// and an uncaught error, a thrown text or a rejected promise fails the execution with
/// `Name: message` and its stack logged as one ERROR line. The program is TypeScript.
async fn console_and_uncaught_errors_arrive_as_written(backend: Backend) {
    let h = Harness::new(backend).await;
    let me = user(None);
    let done = h
        .run_file_ok(JS_LOGGING_LEVELS, "logging_levels", json!({}), &me)
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
            (
                LogLevel::Error,
                "lookup failed ReferenceError: no missing",
                None
            ),
            (LogLevel::Info, "printed", None),
            (LogLevel::Info, "count 3", None),
        ]
    );
    assert!(
        logs[5]
            .message
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("lookup@"),
        "the stack follows, innermost first: {}",
        logs[5].message
    );

    for (input, message, stack) in [
        (
            json!({"fail": true}),
            "RangeError: the input has no name",
            true,
        ),
        (json!({"throwText": true}), "Uncaught plain text", false),
        (json!({"reject": true}), "TypeError: rejected", true),
    ] {
        let failed = h
            .run_file(JS_LOGGING_LEVELS, "logging_levels", input.clone(), &me)
            .await;
        assert_eq!(failed.status, ExecutionStatus::Failed, "{input}");
        assert_eq!(failed.error_message.as_deref(), Some(message));
        let last = failed.logs.as_ref().unwrap().last().unwrap();
        assert_eq!(last.level, LogLevel::Error);
        let mut last_lines = last.message.lines();
        assert_eq!(last_lines.next(), Some(message));
        if stack {
            assert!(
                last_lines.next().unwrap().starts_with("loggingLevels@"),
                "{}",
                last.message
            );
        }
    }
    h.close().await;
}

/// The TypeScript example counts the failures the caller may see since the given days, by
/// workflow, pages through them, and records the count as a variable.
async fn the_typescript_example_reports_failures(backend: Backend) {
    let h = Harness::new(backend).await;
    let me = user(None);
    let now = Utc::now();
    for (n, (workflow, status)) in [
        ("sync", ExecutionStatus::Failed),
        ("sync", ExecutionStatus::Failed),
        ("report", ExecutionStatus::Failed),
        ("report", ExecutionStatus::Success),
        ("old", ExecutionStatus::Failed),
    ]
    .into_iter()
    .enumerate()
    {
        let started_at = if workflow == "old" {
            now - TimeDelta::days(3)
        } else {
            now - TimeDelta::minutes(10 + n as i64)
        };
        let seed = Seed {
            by: me.user_id,
            org: None,
            workflow: workflow.into(),
            status,
            started_at,
        };
        h.env.seed(&seed).await;
    }
    // Someone else's failure is not the caller's to count.
    let theirs = Seed {
        by: Uuid::new_v4(),
        org: None,
        workflow: "sync".into(),
        status: ExecutionStatus::Failed,
        started_at: now - TimeDelta::minutes(1),
    };
    h.env.seed(&theirs).await;
    let done = h
        .run_file_ok(JS_FAILURE_REPORT, "failure_report", json!({"days": 1}), &me)
        .await;
    let r = done.result.clone().unwrap();
    assert_eq!(r["failed"], 3);
    assert_eq!(r["byWorkflow"], json!({"sync": 2, "report": 1}));
    assert_eq!(r["newest"]["workflowName"], "sync");
    assert_eq!(done.variables.as_ref().unwrap()["failed"], json!(3));
    let (level, message) = lines(&done).pop().unwrap();
    assert_eq!(
        (level, message.as_str()),
        (LogLevel::Info, "failure report")
    );
    let all = h
        .run_file_ok(JS_FAILURE_REPORT, "failure_report", json!({"days": 7}), &me)
        .await;
    assert_eq!(all.result.unwrap()["failed"], 4);
    h.close().await;
}

bifrost_tests::on_both_backends!(
    the_reference_examples_run_in_javascript,
    javascript_errors_are_typed,
    console_and_uncaught_errors_arrive_as_written,
    the_typescript_example_reports_failures,
);
