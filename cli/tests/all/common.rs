//! What the command-line tests share: the runner as a command, its output as JSON.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use bifrost_tests::TestEnv;
use serde_json::Value;
use uuid::Uuid;

/// The compiled-code cache of the tests' runner processes: the one the in-process runners
/// of the tests share too ([`bifrost_tests::compiled_cache_dir`]).
pub fn cache_dir() -> PathBuf {
    bifrost_tests::compiled_cache_dir()
}

/// The runner on `env`'s backends.
pub fn runner(env: &TestEnv) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bifrost-runner"));
    cmd.env("BIFROST_CACHE_DIR", cache_dir())
        .env("DATABASE_URL", &env.database_url)
        .env("BIFROST_LOG_PREFIX", &env.prefix);
    match &env.redis_url {
        Some(url) => cmd.env("REDIS_URL", url),
        None => cmd.env_remove("REDIS_URL"),
    };
    match &env.direct_database_url {
        Some(direct) => cmd
            .env("BIFROST_DB_POOLER", "transaction")
            .env("BIFROST_DB_DIRECT_URL", direct),
        None => cmd
            .env_remove("BIFROST_DB_POOLER")
            .env_remove("BIFROST_DB_DIRECT_URL"),
    };
    cmd
}

/// The command exited 0; otherwise the failure shows its stderr.
pub fn assert_exit_0(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stdout as JSON lines: one document a line, as every command prints.
pub fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| {
                panic!(
                    "a line of stdout is not JSON ({e}): {l}\nstderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
        })
        .collect()
}

/// Stdout as one JSON document on one line, as a command about one thing prints.
pub fn json_out(out: &Output) -> Value {
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "one line: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A directory removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("bifrost-cli-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The runner with no backend configured: the embedded default in `data_dir`.
pub fn embedded_runner(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bifrost-runner"));
    cmd.env("BIFROST_CACHE_DIR", cache_dir())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("BIFROST_DATA_DIR", data_dir);
    cmd
}

/// A `serve` process; its stderr goes to a file in `logs`, shown when a test fails.
pub struct Server {
    child: Option<Child>,
    stderr: std::path::PathBuf,
}

impl Server {
    pub fn start(env: &TestEnv, logs: &TempDir, args: &[&str]) -> Server {
        Self::start_with(runner(env), logs, args)
    }

    /// A `serve` process of `runner` (a command with the environment of the test's
    /// choosing: another compiled-code cache, say).
    pub fn start_with(mut runner: Command, logs: &TempDir, args: &[&str]) -> Server {
        let stderr = logs
            .0
            .join(format!("serve-{}.log", Uuid::new_v4().simple()));
        let child = runner
            .args(["serve", "--poll-ms", "100"])
            .args(args)
            .env("BIFROST_LOG", "bifrost_runner=info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Server {
            child: Some(child),
            stderr,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The command lines of the process's children now, their arguments joined by spaces.
    pub fn children(&self) -> Vec<String> {
        let Some(pid) = self.child.as_ref().map(Child::id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // `pid (comm) state ppid ...`; the name may hold spaces and parentheses.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if parent == Some(pid)
                && let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            {
                out.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
        out
    }

    /// SIGTERM, then its report, after it exits 0.
    pub fn stop(mut self) -> Value {
        let child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "serve: {}", self.log());
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("serve's report ({e}): {}", self.log()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
