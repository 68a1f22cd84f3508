//! 14. The pages: the server's time to render the runs page (50 rows, on the seeded
//!     million-row table) and a run page (1,000 log lines) against the API's JSON of the
//!     same data, through the same router in this process; and the latency of a log line
//!     from `XADD` to the line in a real browser's page (Debian's chromium, headless).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use bifrost_api::tokens::{NewToken, create};
use bifrost_api::{ApiLimits, ApiState};
use bifrost_core::Identity;
use bifrost_core::access::Scopes;
use bifrost_core::model::{ExecutionStatus, LogEntry, LogLevel, Outcome, StreamId};
use bifrost_runner::backends::Backends;
use chrono::Utc;
use http_body_util::BodyExt as _;
use serde_json::json;
use tower::ServiceExt as _;
use uuid::Uuid;

use crate::Ctx;
use crate::report::{Section, verdict};
use crate::stats::{fmt_ratio, fmt_secs, median, paired, per_call};
use crate::suites::queue::connect;

/// Targets: a page within 1.5x of the API's JSON; a log line in the page within 250 ms at
/// p95.
const TARGET_RATIO: f64 = 1.5;
const TARGET_P95: f64 = 0.250;
/// Log lines of the run page.
const LINES: usize = 1000;
/// The database of the run page's execution.
const DB: &str = "bifrost_bench_pages";

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    crate::on_multi_thread(|| run_here(ctx))
}

/// A router over `b`, and a platform admin's token secret for it.
async fn app(b: &Backends) -> anyhow::Result<(axum::Router, String)> {
    let runner = Arc::new(crate::setup::runner(b.service.clone(), false)?);
    let router = bifrost_api::router(ApiState::new(
        b.service.clone(),
        b.queue.clone(),
        b.workflows.clone(),
        b.access.clone(),
        runner,
        ApiLimits {
            requests_per_second: std::num::NonZeroU32::MAX,
            ..ApiLimits::default()
        },
    ));
    let secret = create(
        &*b.access,
        NewToken {
            name: "bench".into(),
            identity: Identity::operator(),
            scopes: Scopes::READ.union(Scopes::RUN),
            expires_at: None,
        },
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{:?}", e.parts()))?
    .secret;
    Ok((router, secret))
}

/// Answers `uri` through `router` with `secret` as a bearer token (the API) or as the
/// pages' cookie; fails unless it is a 200. The body's length.
async fn call(router: &axum::Router, uri: &str, secret: &str, page: bool) -> anyhow::Result<usize> {
    let mut req = Request::get(uri);
    req = if page {
        req.header("cookie", format!("bifrost_token={secret}"))
    } else {
        req.header("authorization", format!("Bearer {secret}"))
    };
    let response = router.clone().oneshot(req.body(Body::empty())?).await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{uri}: {}",
        response.status()
    );
    Ok(response.into_body().collect().await?.to_bytes().len())
}

async fn run_here(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "pages",
        "14. The pages",
        "The API's router (pages and API) in this process, answering requests handed to it \
         directly (`tower::ServiceExt::oneshot`: the server's time, no network), on \
         PostgreSQL and Redis, as a platform admin. *Runs page*: `GET /runs` (50 rows) on \
         the seeded million-row table against `GET /api/v1/executions?limit=50`. *Run page*: \
         `GET /runs/{id}` of a finished execution with 1,000 stored log lines (a run page \
         shows the last 1,000 lines: all of them here) against `GET /api/v1/executions/{id}` and \
         `GET /api/v1/executions/{id}/logs?count=1000`. Alternating rounds; a sample is the \
         time per request over a run of requests. *Browser*: a run page open in Debian's \
         chromium (headless, over chromedriver) on a `serve --listen` process of this \
         process's backends; this process appends a line to the execution's Redis stream \
         every 50 ms (100 lines) with the wall-clock time in it, and the page notes each \
         line's arrival (`Date.now()`) when it adds it to the DOM; a sample is arrival \
         minus append.",
        &["what", "figure", "target", "met"],
    );
    let n = ctx.scaled(100);

    // The runs page on the million rows.
    ctx.dataset().await?;
    let scale = connect(&[
        ("DATABASE_URL", ctx.servers.url_of(crate::setup::SCALE_DB)),
        ("REDIS_URL", ctx.servers.redis_url.clone()),
    ])
    .await?;
    let (router, secret) = app(&scale).await?;
    let runs = paired(
        ctx.rounds(11),
        async || {
            per_call(n, async || {
                call(&router, "/runs", &secret, true).await.map(drop)
            })
            .await
        },
        async || {
            per_call(n, async || {
                call(&router, "/api/v1/executions?limit=50", &secret, false)
                    .await
                    .map(drop)
            })
            .await
        },
    )
    .await?;

    // A run page of 1,000 lines.
    let env = vec![
        ("DATABASE_URL", ctx.servers.database(DB, true).await?),
        ("REDIS_URL", ctx.servers.redis_url.clone()),
    ];
    let b = connect(&env).await?;
    let (router, secret) = app(&b).await?;
    let id = Uuid::new_v4();
    crate::setup::create_running(&**b.service.recorder(), id, "paged").await?;
    let lines: Vec<LogEntry> = (0..LINES)
        .map(|i| LogEntry {
            id: StreamId {
                ms: 1_800_000_000_000 + i as u64,
                seq: 0,
            },
            execution_id: id,
            level: if i % 10 == 0 {
                LogLevel::Warning
            } else {
                LogLevel::Info
            },
            message: format!("line {i}: processed a batch of records without trouble"),
            metadata: Some((&json!({"batch": i})).into()),
            timestamp: Utc::now(),
        })
        .collect();
    let outcome = Outcome {
        status: ExecutionStatus::Success,
        result: Some(json!({"ok": true})),
        result_type: Some("json".into()),
        error_message: None,
        duration_ms: 1000,
        completed_at: Utc::now(),
        peak_memory_bytes: 0,
        cpu_total_seconds: 0.0,
        log_lines_dropped: 0,
    };
    b.service
        .recorder()
        .finish_with_logs(id, &outcome, &lines)
        .await?;
    let page = format!("/runs/{id}");
    let (get, logs) = (
        format!("/api/v1/executions/{id}"),
        format!("/api/v1/executions/{id}/logs?count={LINES}"),
    );
    let run = paired(
        ctx.rounds(11),
        async || {
            per_call(n, async || {
                call(&router, &page, &secret, true).await.map(drop)
            })
            .await
        },
        async || {
            per_call(n, async || {
                call(&router, &get, &secret, false).await?;
                call(&router, &logs, &secret, false).await.map(drop)
            })
            .await
        },
    )
    .await?;
    for (name, p) in [
        (
            "`GET /runs` (50 rows) against `GET /api/v1/executions?limit=50`",
            &runs,
        ),
        (
            "`GET /runs/{id}` (1,000 lines) against the execution and its logs from the API",
            &run,
        ),
    ] {
        section.row([
            name.to_owned(),
            p.against(),
            format!("< {}", fmt_ratio(TARGET_RATIO)),
            verdict(p.ratio() < TARGET_RATIO).to_owned(),
        ]);
    }

    // A log line into a browser's page.
    let latencies = browser_latency(&env, &b).await?;
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let p95 = sorted[((sorted.len() as f64 * 0.95).ceil() as usize).clamp(1, sorted.len()) - 1];
    section.row([
        format!(
            "a log line from `XADD` to the page's DOM ({} samples): median / p95",
            latencies.len()
        ),
        format!("{} / {}", fmt_secs(median(&latencies)), fmt_secs(p95)),
        format!("p95 < {}", fmt_secs(TARGET_P95)),
        verdict(p95 < TARGET_P95).to_owned(),
    ]);
    Ok(section)
}

/// Opens a running execution's page in chromium and appends 100 lines to its stream; each
/// line's arrival in the page minus its append, in seconds.
async fn browser_latency(env: &[(&str, String)], b: &Backends) -> anyhow::Result<Vec<f64>> {
    const FOLLOWED: usize = 100;
    let bin = crate::suites::queue::runner_binary()?;
    let scratch = tempfile::tempdir()?;
    let (_serve, _, base) = crate::suites::queue::listen(
        &bin,
        env,
        &scratch.path().join("cache"),
        &["--concurrency", "0"],
    )?;
    let (_, secret) = app(b).await?;
    let id = Uuid::new_v4();
    crate::setup::create_running(&**b.service.recorder(), id, "followed").await?;

    let browser = bifrost_tests::browser::Browser::start().await?;
    let c = &browser.client;
    // Sign in: the form, as a person does.
    c.goto(&format!("{base}/sign-in")).await?;
    c.find(fantoccini::Locator::Id("token"))
        .await?
        .send_keys(&secret)
        .await?;
    c.find(fantoccini::Locator::Css("form.signin button[type=submit]"))
        .await?
        .click()
        .await?;
    c.goto(&format!("{base}/runs/{id}")).await?;
    // The page is following once its stream says so.
    let clock = Instant::now();
    loop {
        let state: serde_json::Value = c
            .execute(
                "return document.getElementById('log-state').textContent;",
                vec![],
            )
            .await?;
        if state.as_str().is_some_and(|s| s.starts_with("Following")) {
            break;
        }
        anyhow::ensure!(
            clock.elapsed() < Duration::from_secs(30),
            "the page never followed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = b.service.log_stream();
    let mut last: Option<StreamId> = None;
    for _ in 0..FOLLOWED {
        let message = format!("sent {}", Utc::now().timestamp_micros());
        last = Some(crate::suites::queue::append_now(&**logs, id, last, message).await?);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let clock = Instant::now();
    let arrivals = loop {
        let seen: serde_json::Value = c
            .execute(
                "return [...document.querySelectorAll('#log li')].map(li => \
                 [li.querySelector('.msg').textContent, Number(li.dataset.arrived || 0)]);",
                vec![],
            )
            .await?;
        let seen = seen.as_array().cloned().unwrap_or_default();
        if seen.len() >= FOLLOWED {
            break seen;
        }
        anyhow::ensure!(
            clock.elapsed() < Duration::from_secs(30),
            "the page showed {} of {FOLLOWED} lines",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut latencies = Vec::with_capacity(FOLLOWED);
    for pair in arrivals {
        let sent: f64 = pair[0]
            .as_str()
            .and_then(|m| m.strip_prefix("sent "))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("an unexpected line: {pair}"))?;
        let arrived = pair[1].as_f64().unwrap_or(0.0);
        latencies.push((arrived * 1000.0 - sent).max(0.0) / 1e6);
    }
    browser.close().await;
    logs.delete(id).await?;
    Ok(latencies)
}
