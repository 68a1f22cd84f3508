//! What a person sees at a terminal, through a pseudo-terminal (`script` from util-linux):
//! `executions list` as a table, `executions get` as a summary, `executions logs` as
//! coloured lines, no colours with `NO_COLOR`; and the JSON forms when the same commands
//! are piped.

use std::process::Command;

use crate::common::{assert_exit_0, json_lines, json_out, runner};
use bifrost_tests::{Backend, EXAMPLE_HELLO, TestEnv};

/// `args` run by the runner on a pseudo-terminal; what the terminal showed.
fn on_a_terminal(env: &TestEnv, args: &str, no_color: bool) -> String {
    let line = format!("{} {args}", env!("CARGO_BIN_EXE_bifrost-runner"));
    let base = runner(env);
    let mut cmd = Command::new("script");
    cmd.args(["--quiet", "--return", "--command", &line, "/dev/null"]);
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.env("TERM", "xterm-256color")
        .env_remove("CLICOLOR_FORCE");
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let out = cmd
        .output()
        .expect("run `script` (util-linux) for a pseudo-terminal");
    assert_exit_0(&out);
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

#[tokio::test]
async fn a_terminal_gets_tables_summaries_and_coloured_lines_a_pipe_gets_json() {
    let env = TestEnv::new(Backend::Embedded).await;
    let out = runner(&env)
        .args(["run", EXAMPLE_HELLO, "--input", r#"{"name": "Ada"}"#])
        .output()
        .unwrap();
    assert_exit_0(&out);
    let id = json_out(&out)["execution_id"].as_str().unwrap().to_owned();

    let table = on_a_terminal(&env, "executions list", false);
    let header = table
        .lines()
        .find(|l| l.contains("WORKFLOW"))
        .unwrap_or_else(|| panic!("a table header: {table}"));
    for column in ["ID", "STATUS", "STARTED", "DURATION", "WHO"] {
        assert!(header.contains(column), "{header}");
    }
    let row = table
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("a row: {table}"));
    assert!(row.contains("hello") && row.contains("Success") && row.contains("operator"));

    let summary = on_a_terminal(&env, &format!("executions get {id}"), false);
    assert!(
        summary
            .lines()
            .any(|l| l.starts_with("Workflow") && l.ends_with("hello"))
    );
    assert!(
        summary.contains("\"greeting\": \"Hello, Ada!\""),
        "{summary}"
    );

    let lines = on_a_terminal(&env, &format!("executions logs {id}"), false);
    let info = lines
        .lines()
        .find(|l| l.contains("greeting Ada"))
        .unwrap_or_else(|| panic!("the INFO line: {lines}"));
    // Green INFO, then the message and its metadata.
    assert!(info.contains("\u{1b}[32mINFO"), "coloured level: {info:?}");
    assert!(info.contains(r#""name":"Ada""#), "{info}");
    let plain = on_a_terminal(&env, &format!("executions logs {id}"), true);
    assert!(!plain.contains('\u{1b}'), "NO_COLOR: {plain:?}");
    assert!(
        plain.lines().any(|l| l.contains("INFO     greeting Ada")),
        "{plain}"
    );

    // Piped, the same commands print JSON lines.
    for args in [
        vec!["executions", "list"],
        vec!["executions", "get", &id],
        vec!["executions", "logs", &id],
    ] {
        let out = runner(&env).args(&args).output().unwrap();
        assert_exit_0(&out);
        assert!(!json_lines(&out).is_empty(), "{args:?}");
        assert!(!out.stdout.contains(&0x1b), "{args:?}");
    }
    // --output json: one document, an array for several.
    let out = runner(&env)
        .args(["executions", "logs", &id, "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(json_out(&out).as_array().unwrap().len(), 2);
    env.close().await;
}

/// Every command's `--help` ends with an example of its use.
#[test]
fn every_command_has_an_example_in_its_help() {
    for command in [
        "run",
        "executions list",
        "executions get",
        "executions logs",
        "executions submit",
        "executions cancel",
        "serve",
        "workflows deploy",
        "workflows list",
        "workflows remove",
        "sweep",
        "wit-package",
        "offline",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_bifrost-runner"))
            .args(command.split(' '))
            .arg("--help")
            .output()
            .unwrap();
        assert_exit_0(&out);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.lines().any(|l| l.trim_start().starts_with("Example: ")
                && l.contains(&format!("bifrost-runner {command}"))),
            "{command} --help: {help}"
        );
    }
}
