//! `bifrost-runner workflows deploy|list|remove`, and the compiled-code cache that lets a
//! later process load a component instead of compiling it.

use crate::common::{Server, TempDir, assert_exit_0, json_lines, json_out, runner};
use bifrost_tests::{Backend, EXAMPLE_HELLO, PROBE, TestEnv};
use serde_json::json;
use uuid::Uuid;

fn sha256_hex(path: &str) -> String {
    bifrost_runner::component_hash(&std::fs::read(path).unwrap())
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn deploy_is_content_addressed_and_a_name_points_at_its_latest_version(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let deploy = |file: &str, name: &str| {
        runner(&env)
            .args(["workflows", "deploy", file, "--name", name])
            .output()
            .unwrap()
    };

    let out = deploy(EXAMPLE_HELLO, "greeter");
    assert_exit_0(&out);
    let first = json_out(&out);
    assert_eq!(first["name"], "greeter");
    assert_eq!(first["hash"], sha256_hex(EXAMPLE_HELLO));
    assert_eq!(
        first["size"],
        std::fs::metadata(EXAMPLE_HELLO).unwrap().len()
    );
    assert_eq!(first["outcome"], "deployed");
    assert_eq!(
        first["deployed_by"],
        bifrost_core::Identity::operator().user_id.to_string()
    );

    // The same bytes again: nothing changes, not even the time.
    let out = deploy(EXAMPLE_HELLO, "greeter");
    assert_exit_0(&out);
    let again = json_out(&out);
    assert_eq!(again["outcome"], "unchanged");
    assert_eq!(again["deployed_at"], first["deployed_at"]);

    // Other bytes under the name: it points at them now.
    let out = deploy(PROBE, "greeter");
    assert_exit_0(&out);
    let second = json_out(&out);
    assert_eq!(second["outcome"], "deployed");
    assert_eq!(second["hash"], sha256_hex(PROBE));

    // The same bytes under a second name: stored once, listed twice.
    assert_exit_0(&deploy(PROBE, "probe"));
    let out = runner(&env).args(["workflows", "list"]).output().unwrap();
    assert_exit_0(&out);
    let listed = json_lines(&out);
    let names: Vec<&str> = listed.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["greeter", "probe"]);
    assert!(listed.iter().all(|d| d["hash"] == sha256_hex(PROBE)));
    let stored = env.count_rows("workflow_components").await;
    assert_eq!(stored, 2, "hello and the probe, each once");

    // Remove a name: the other stays.
    let out = runner(&env)
        .args(["workflows", "remove", "greeter"])
        .output()
        .unwrap();
    assert_exit_0(&out);
    assert_eq!(json_out(&out), json!({"removed": "greeter"}));
    let out = runner(&env).args(["workflows", "list"]).output().unwrap();
    let names: Vec<String> = json_lines(&out)
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["probe"]);
    env.close().await;
}

async fn a_bad_deployment_is_refused_in_one_line_with_exit_2(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let tmp = TempDir::new();
    let text = tmp.0.join("notes.wasm");
    std::fs::write(&text, "hello").unwrap();
    // A core module: the magic and version 1.
    let module = tmp.0.join("module.wasm");
    std::fs::write(&module, [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]).unwrap();
    let user = Uuid::new_v4().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["workflows", "deploy", text.to_str().unwrap()],
            "not a WebAssembly component",
        ),
        (
            vec!["workflows", "deploy", module.to_str().unwrap()],
            "a core WebAssembly module, not a component",
        ),
        (
            vec!["workflows", "deploy", "/nonexistent/x.wasm"],
            "/nonexistent/x.wasm",
        ),
        (
            vec!["workflows", "deploy", EXAMPLE_HELLO, "--name", ""],
            "--name",
        ),
        (
            vec!["workflows", "deploy", EXAMPLE_HELLO, "--user", &user],
            "only a platform admin may deploy",
        ),
        (
            vec!["workflows", "remove", "never-deployed"],
            "no workflow is deployed as \"never-deployed\"",
        ),
    ];
    for (args, says) in cases {
        let out = runner(&env).args(&args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = runner(&env).args(["workflows", "list"]).output().unwrap();
    assert_exit_0(&out);
    assert!(out.stdout.is_empty(), "nothing was deployed");
    env.close().await;
}

bifrost_tests::on_both_backends!(
    deploy_is_content_addressed_and_a_name_points_at_its_latest_version,
    a_bad_deployment_is_refused_in_one_line_with_exit_2,
);

/// A second process loads what the first compiled; a damaged entry is compiled again.
#[tokio::test]
async fn a_later_process_loads_the_compiled_component_from_the_cache() {
    let env = TestEnv::new(Backend::Embedded).await;
    let cache = TempDir::new();
    let run = || {
        runner(&env)
            .args(["run", EXAMPLE_HELLO, "--cache-dir"])
            .arg(&cache.0)
            .env("BIFROST_LOG", "bifrost_runner=debug")
            .output()
            .unwrap()
    };
    let first = run();
    assert_exit_0(&first);
    assert!(
        stderr(&first).contains("compiled-code cache miss"),
        "{}",
        stderr(&first)
    );
    let entries: Vec<_> = std::fs::read_dir(&cache.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let second = run();
    assert_exit_0(&second);
    assert!(
        stderr(&second).contains("compiled-code cache hit"),
        "{}",
        stderr(&second)
    );

    // A damaged entry: the run still succeeds, compiled again.
    let mut data = std::fs::read(&entries[0]).unwrap();
    let last = data.len() - 1;
    data[last] ^= 1;
    std::fs::write(&entries[0], &data).unwrap();
    let third = run();
    assert_exit_0(&third);
    assert!(
        stderr(&third).contains("corrupt compiled-code cache entry"),
        "{}",
        stderr(&third)
    );
    assert_eq!(json_out(&third)["status"], "Success");
    let fourth = run();
    assert!(stderr(&fourth).contains("compiled-code cache hit"));

    // `--no-cache` neither reads nor writes it.
    let out = runner(&env)
        .args(["run", EXAMPLE_HELLO, "--no-cache"])
        .env("BIFROST_CACHE_DIR", cache.0.join("unused"))
        .output()
        .unwrap();
    assert_exit_0(&out);
    assert!(!cache.0.join("unused").exists());
    env.close().await;
}

/// A cold compile never holds up the other executions of a `serve` process: while a Python
/// workflow (4 to 10 s of CPU to compile) compiles for its first execution, in a process of
/// its own, executions of another workflow start and finish. The process has an empty compiled-code cache, as one
/// whose workflows were deployed from another machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_python_compile_does_not_hold_up_other_executions() {
    const HELLOS: usize = 3;
    let env = TestEnv::new(Backend::Servers).await;
    let logs = TempDir::new();
    let cold = TempDir::new();
    for (file, name) in [
        (bifrost_tests::PYTHON_PROBE, "python-probe"),
        (EXAMPLE_HELLO, "hello"),
    ] {
        assert_exit_0(
            &runner(&env)
                .args(["workflows", "deploy", file, "--name", name])
                .output()
                .unwrap(),
        );
    }
    let mut serve = runner(&env);
    serve.env("BIFROST_CACHE_DIR", &cold.0);
    let server = Server::start_with(serve, &logs, &["--concurrency", "4"]);
    let submitted = runner(&env)
        .args([
            "executions",
            "submit",
            "python-probe",
            "--input",
            r#"{"calls": []}"#,
        ])
        .output()
        .unwrap();
    assert_exit_0(&submitted);
    let python = json_out(&submitted)["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Claimed: its compile has begun.
    let clock = std::time::Instant::now();
    loop {
        let got = json_out(
            &runner(&env)
                .args(["executions", "get", &python, "--admin"])
                .output()
                .unwrap(),
        );
        if got["status"] == "Running" {
            break;
        }
        assert!(
            clock.elapsed() < std::time::Duration::from_secs(60),
            "the Python execution was not claimed: {}",
            server.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // It compiles in a process of its own (`serve`'s default `--compile-in process`).
    while !server
        .children()
        .iter()
        .any(|c| c.ends_with(" compile-worker "))
    {
        assert!(
            clock.elapsed() < std::time::Duration::from_secs(60),
            "no compile process while the Python execution compiled: {}",
            server.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let hellos: Vec<serde_json::Value> = (0..HELLOS)
        .map(|_| {
            let out = runner(&env)
                .args([
                    "executions",
                    "submit",
                    "hello",
                    "--input",
                    r#"{"name": "Ada"}"#,
                ])
                .args(["--wait"])
                .output()
                .unwrap();
            assert_exit_0(&out);
            json_out(&out)
        })
        .collect();
    // The Python execution ends too; its instance started when its compile ended
    // (`duration_ms` counts from there): every hello had finished by then.
    let python = loop {
        let got = json_out(
            &runner(&env)
                .args(["executions", "get", &python, "--admin"])
                .output()
                .unwrap(),
        );
        if got["status"] != "Running" {
            break got;
        }
        assert!(
            clock.elapsed() < std::time::Duration::from_secs(180),
            "the Python execution did not end: {}",
            server.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(python["status"], "Success", "{python}");
    let at = |v: &serde_json::Value, field: &str| -> chrono::DateTime<chrono::Utc> {
        v[field].as_str().unwrap().parse().unwrap()
    };
    let compiled = at(&python, "completed_at")
        - chrono::TimeDelta::milliseconds(python["duration_ms"].as_i64().unwrap());
    for hello in &hellos {
        assert_eq!(hello["status"], "Success");
        assert!(
            at(hello, "completed_at") < compiled,
            "hello ended at {} after the Python compile ended at {compiled}",
            hello["completed_at"]
        );
    }
    server.stop();
    env.close().await;
}
