//! 13. The HTTP API, served by a real `bifrost-runner serve --listen` process: reads
//!     through HTTP against the same calls made natively, requests a second at 1, 16 and 64
//!     clients, the latency of a log line from `XADD` to the event at a follower with 1 and
//!     1,000 followers, and the memory of 1,000 open event streams.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bifrost_api::tokens::{NewToken, create};
use bifrost_core::Identity;
use bifrost_core::access::Scopes;
use bifrost_core::model::StreamId;
use bifrost_core::query::ListFilter;
use uuid::Uuid;

use crate::report::{Section, verdict};
use crate::stats::{fmt_rate, fmt_ratio, fmt_secs, median, paired, per_call};
use crate::suites::queue::{
    Serve, append_now, command, connect, deploy, listen, p99, runner_binary, submit, wait_all,
};
use crate::{Ctx, guests};

const DB: &str = "bifrost_bench_api";
/// Targets: HTTP reads within 1.3x of the native call; a log line at 1,000 followers
/// within 50 ms at p99.
const TARGET_HTTP_RATIO: f64 = 1.3;
const TARGET_FOLLOW_P99: f64 = 0.050;
/// Followers of the big case.
const FOLLOWERS: usize = 1000;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    crate::on_multi_thread(|| run_here(ctx))
}

/// The serve process's resident memory, in bytes.
fn rss(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS"))?
        .parse()?;
    Ok(kib * 1024.0)
}

/// Seconds per native `get` of `target` as `who`, over `n` calls.
async fn native_get(
    service: &bifrost_core::ExecutionsService,
    who: &Identity,
    target: &str,
    n: u32,
) -> anyhow::Result<f64> {
    per_call(n, async || {
        service.get(who, target).await?;
        Ok(())
    })
    .await
}

async fn run_here(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "api",
        "13. The HTTP API",
        "A `bifrost-runner serve --listen 127.0.0.1:0 --concurrency 0` process (release \
         build) on PostgreSQL and Redis answers the API; this process is its client \
         (reqwest, keep-alive) on the same two cores. *Reads*: `GET /api/v1/executions` \
         (a page of 50) and `GET /api/v1/executions/{id}` against the same calls of \
         `ExecutionsService` made natively in this process, in alternating rounds; a sample \
         is the time per call over a run of calls. *Requests a second*: 1, 16 and 64 \
         clients each sending `GET /executions/{id}` one after the other for 3 s. *Log \
         lines*: an execution marked running; this process appends a line to its Redis \
         stream every 20 ms (100 lines) with the time in the line, and 1 or 1,000 clients \
         follow `GET .../logs/stream`; a sample is a line's arrival at one follower minus \
         its append. Memory: the serve process's resident set before and with the 1,000 \
         streams open.",
        &["what", "figure", "target", "met"],
    );
    let bin = runner_binary()?;
    let scratch = tempfile::tempdir()?;
    let cache = scratch.path().join("cache");
    let env = vec![
        ("DATABASE_URL", ctx.servers.database(DB, true).await?),
        ("REDIS_URL", ctx.servers.redis_url.clone()),
    ];
    deploy(&bin, &env, &cache, guests::BENCH, "bench")?;
    let b = connect(&env).await?;
    // 200 finished executions to read.
    let ids = submit(&b, 200).await?;
    {
        let _worker = Serve(
            command(&bin, &env, &cache)
                .args(["serve", "--concurrency", "16", "--poll-ms", "50"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        wait_all(&b, &ids).await?;
    }
    let (_serve, pid, base) = listen(
        &bin,
        &env,
        &cache,
        &[
            "--concurrency",
            "0",
            "--api-rate",
            "1000000",
            "--api-streams",
            "100000",
        ],
    )?;
    let api = format!("{base}/api/v1");
    let who = Identity::operator();
    let token = || async {
        create(
            &*b.access,
            NewToken {
                name: "bench".into(),
                identity: who.clone(),
                scopes: Scopes::READ,
                expires_at: None,
            },
            None,
        )
        .await
        .map(|created| created.secret)
        .map_err(|e| anyhow::anyhow!("{:?}", e.parts()))
    };
    let secret = token().await?;
    let http = reqwest::Client::new();
    let target = ids[100].to_string();

    // Reads: HTTP against native.
    let n = ctx.scaled(200);
    let filter = ListFilter {
        limit: Some(50),
        ..ListFilter::default()
    };
    let list_url = format!("{api}/executions?limit=50");
    let get_url = format!("{api}/executions/{target}");
    let http_get = |url: String| {
        let (http, secret) = (http.clone(), secret.clone());
        async move {
            let r = http.get(&url).bearer_auth(&secret).send().await?;
            anyhow::ensure!(r.status().is_success(), "{url}: {}", r.status());
            r.bytes().await?;
            Ok(())
        }
    };
    let list = paired(
        ctx.rounds(11),
        async || per_call(n, async || http_get(list_url.clone()).await).await,
        async || {
            per_call(n, async || {
                let page = b.service.list_page(&who, &filter, None).await?;
                anyhow::ensure!(page.executions.len() == 50);
                Ok(())
            })
            .await
        },
    )
    .await?;
    let get = paired(
        ctx.rounds(11),
        async || per_call(n, async || http_get(get_url.clone()).await).await,
        async || native_get(&b.service, &who, &target, n).await,
    )
    .await?;
    // The transport alone: a request the API answers 401 before any store call (no
    // token), against the same native `get`.
    let floor = paired(
        ctx.rounds(11),
        async || {
            per_call(n, async || {
                let r = http.get(&list_url).send().await?;
                anyhow::ensure!(r.status() == 401, "{list_url}: {}", r.status());
                r.bytes().await?;
                Ok(())
            })
            .await
        },
        async || native_get(&b.service, &who, &target, n).await,
    )
    .await?;
    section.row([
        "the HTTP round trip alone (`GET /executions` without a token: 401 before any store \
         call) against `get`"
            .to_owned(),
        floor.against(),
        String::new(),
        String::new(),
    ]);
    for (name, p) in [
        (
            "`GET /executions` (50) through HTTP against `list_page`",
            &list,
        ),
        ("`GET /executions/{id}` through HTTP against `get`", &get),
    ] {
        section.row([
            name.to_owned(),
            p.against(),
            format!("< {}", fmt_ratio(TARGET_HTTP_RATIO)),
            verdict(p.ratio() < TARGET_HTTP_RATIO).to_owned(),
        ]);
    }

    // Requests a second.
    let secs = if ctx.quick { 1.0 } else { 3.0 };
    for clients in [1usize, 16, 64] {
        let clock = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (http, secret, url) = (http.clone(), secret.clone(), get_url.clone());
            tasks.push(tokio::spawn(async move {
                let mut done = 0u64;
                while clock.elapsed().as_secs_f64() < secs {
                    let r = http.get(&url).bearer_auth(&secret).send().await?;
                    anyhow::ensure!(r.status().is_success(), "{}", r.status());
                    r.bytes().await?;
                    done += 1;
                }
                Ok(done)
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await??;
        }
        let rate = total as f64 / clock.elapsed().as_secs_f64();
        section.row([
            format!("`GET /executions/{{id}}`, {clients} client(s) at once"),
            fmt_rate(rate),
            String::new(),
            String::new(),
        ]);
    }

    // Log lines to followers.
    let before = rss(pid)?;
    let mut open_rss = 0.0;
    for followers in [
        1usize,
        FOLLOWERS.min(if ctx.quick { 100 } else { FOLLOWERS }),
    ] {
        let (latencies, rss_open) =
            follow_latency(&b, &http, &api, &secret, followers, pid).await?;
        if followers > 1 {
            open_rss = rss_open;
        }
        let p = p99(&latencies);
        section.row([
            format!(
                "a log line from `XADD` to the event, {followers} follower(s) ({} samples): median / p99",
                latencies.len()
            ),
            format!("{} / {}", fmt_secs(median(&latencies)), fmt_secs(p)),
            if followers > 1 {
                format!("p99 < {}", fmt_secs(TARGET_FOLLOW_P99))
            } else {
                String::new()
            },
            if followers > 1 {
                verdict(p < TARGET_FOLLOW_P99).to_owned()
            } else {
                String::new()
            },
        ]);
    }
    let followers = if ctx.quick { 100 } else { FOLLOWERS };
    section.row([
        format!("resident memory of the serve process, idle / with {followers} event streams open"),
        format!(
            "{:.1} MiB / {:.1} MiB ({:.1} KiB a stream)",
            before / 1048576.0,
            open_rss / 1048576.0,
            (open_rss - before).max(0.0) / 1024.0 / followers as f64
        ),
        String::new(),
        String::new(),
    ]);
    Ok(section)
}

/// Marks a new execution running, opens `followers` event streams on it, appends 100
/// lines 20 ms apart, and returns every line's latency at every follower, with the serve
/// process's resident memory while the streams were open.
async fn follow_latency(
    b: &bifrost_runner::backends::Backends,
    http: &reqwest::Client,
    api: &str,
    secret: &str,
    followers: usize,
    pid: u32,
) -> anyhow::Result<(Vec<f64>, f64)> {
    const LINES: usize = 100;
    let id = Uuid::new_v4();
    crate::setup::create_running(&**b.service.recorder(), id, "followed").await?;
    let url = format!("{api}/executions/{id}/logs/stream");
    let epoch = Instant::now();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(followers);
    let mut tasks = Vec::new();
    for _ in 0..followers {
        let (http, secret, url, ready) = (
            http.clone(),
            secret.to_owned(),
            url.clone(),
            ready_tx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut r = http.get(&url).bearer_auth(&secret).send().await?;
            anyhow::ensure!(r.status().is_success(), "stream: {}", r.status());
            ready.send(()).await.ok();
            let mut seen = Vec::new();
            let mut text = String::new();
            while seen.len() < LINES {
                let Some(chunk) = r.chunk().await? else { break };
                let arrived = epoch.elapsed().as_secs_f64();
                text.push_str(std::str::from_utf8(&chunk)?);
                while let Some(end) = text.find("\n\n") {
                    let block: String = text.drain(..end + 2).collect();
                    if let Some(sent) = block
                        .split("\"message\":\"sent ")
                        .nth(1)
                        .and_then(|rest| rest.split('"').next())
                        .and_then(|t| t.parse::<f64>().ok())
                    {
                        seen.push(arrived - sent);
                    }
                }
            }
            Ok(seen)
        }));
    }
    drop(ready_tx);
    for _ in 0..followers {
        ready_rx
            .recv()
            .await
            .ok_or_else(|| anyhow::anyhow!("a follower did not connect"))?;
    }
    // Every follower is past its first read and waiting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let open_rss = rss(pid)?;
    let logs = b.service.log_stream();
    let mut last: Option<StreamId> = None;
    for _ in 0..LINES {
        let message = format!("sent {:.6}", epoch.elapsed().as_secs_f64());
        last = Some(append_now(&**logs, id, last, message).await?);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut all = Vec::new();
    for t in tasks {
        let seen = tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .map_err(|_| anyhow::anyhow!("a follower did not get every line"))???;
        anyhow::ensure!(seen.len() == LINES, "a follower got {} lines", seen.len());
        all.extend(seen);
    }
    logs.delete(id).await?;
    Ok((all, open_rss))
}
