//! 7. The reference platform's stack: the same list, get and live-log read made from
//!    Python with asyncpg and redis-py, in the same run as ours, as a ratio.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use bifrost_core::Identity;
use bifrost_core::logs::LogStream as _;
use bifrost_core::model::ExecutionStatus;
use bifrost_core::query::{ListFilter, LogRange};
use serde_json::{Value, json};

use crate::Ctx;
use crate::report::Section;
use crate::stats::{fmt_ratio, fmt_secs, paired, per_call};
use crate::suites::live_logs::prepare_stream;

/// The Python interpreter: `BIFROST_BENCH_PYTHON`, else the virtual environment
/// `scripts/bench` makes (`target/bench-venv`).
pub fn python() -> String {
    std::env::var("BIFROST_BENCH_PYTHON").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/bench-venv/bin/python3"
        )
        .to_owned()
    })
}

/// The Python side, a child process driven one JSON line at a time.
struct Reference {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Reference {
    fn start() -> anyhow::Result<Self> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/reference.py");
        let mut child = Command::new(python())
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot start {} (run scripts/bench, which makes the Python environment, \
                     or set BIFROST_BENCH_PYTHON): {e}",
                    python()
                )
            })?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    fn call(&mut self, command: Value) -> anyhow::Result<Value> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        anyhow::ensure!(
            !line.is_empty(),
            "the Python side exited (see its error above)"
        );
        Ok(serde_json::from_str(&line)?)
    }

    /// Seconds per call of `n` calls of `op`, checking the items seen.
    fn time(&mut self, op: &str, n: u32, items_per_call: u64) -> anyhow::Result<f64> {
        let reply = self.call(json!({"op": op, "n": n}))?;
        anyhow::ensure!(
            reply["items"] == u64::from(n) * items_per_call,
            "python {op}: {reply}"
        );
        reply["seconds_per_call"]
            .as_f64()
            .ok_or_else(|| anyhow::anyhow!("python {op}: {reply}"))
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "python",
        "7. Against the reference platform's stack (Python, asyncpg, redis-py)",
        "The same three reads, made n times in turn from each side on the same data: \
         `list` (platform admin, no filter, limit 50) and `get` (an execution with 20 stored \
         log lines, read with its logs) on the seeded million-row table, and a live-log \
         read of 100 entries from a Redis stream. Ours is the native `ExecutionsService` \
         (validation, visibility, decoding into typed values); the Python side \
         (`bench/python/reference.py`, CPython with asyncpg and redis-py under asyncio) runs \
         the same SQL and XRANGE and decodes rows into dicts with JSON parsed. Samples \
         alternate between the two sides.",
        &["read", "ours (median)", "Python (median)", "Python / ours"],
    );
    let (service, _) = ctx.scale_service().await?;
    let redis = ctx.servers.redis().await?;
    let stream_id = prepare_stream(redis.as_ref()).await?;
    let id = ctx.get_target().await?;
    let mut py = Reference::start()?;
    py.call(json!({
        "op": "setup",
        "dsn": ctx.servers.url_of(crate::setup::SCALE_DB),
        "redis": ctx.servers.redis_url,
        "key": redis.key(stream_id),
        "id": id.to_string(),
    }))?;
    let who = Identity::operator();
    let n = ctx.scaled(200);
    let filter = ListFilter {
        limit: Some(50),
        ..ListFilter::default()
    };
    let range = LogRange::validate(None, Some(100))?;
    let id_text = id.to_string();
    let py = std::sync::Mutex::new(py);
    for (read, op, items) in [
        ("list (limit 50)", "list", 50u64),
        ("get (with 20 logs)", "get", 20),
        ("live logs (100 entries)", "logs", 100),
    ] {
        let ours = async || {
            per_call(n, async || {
                match op {
                    "list" => anyhow::ensure!(service.list(&who, &filter).await?.len() == 50),
                    "get" => {
                        let e = service.get(&who, &id_text).await?;
                        anyhow::ensure!(e.logs.map(|l| l.len() as u64) == Some(items));
                    }
                    _ => anyhow::ensure!(
                        service
                            .read_logs(stream_id, ExecutionStatus::Running, range)
                            .await?
                            .len()
                            == 100
                    ),
                }
                Ok(())
            })
            .await
        };
        let theirs = async || py.lock().expect("python lock").time(op, n, items);
        ours().await?;
        theirs().await?;
        let p = paired(ctx.rounds(11), ours, theirs).await?;
        section.row([
            read.to_owned(),
            fmt_secs(p.a()),
            fmt_secs(p.b()),
            fmt_ratio(p.b() / p.a()),
        ]);
    }
    redis.delete(stream_id).await?;
    section.note(format!(
        "n = {n} calls per sample. Above 1.00x the Python stack is slower."
    ));
    Ok(section)
}
