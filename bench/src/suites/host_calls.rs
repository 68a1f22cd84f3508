//! 2. Host-call overhead: `get` and `list` (limit 50) called from inside a wasm guest,
//!    against the same service call made from native Rust in the same process, on the
//!    same data (the seeded million rows).

use std::time::Instant;

use bifrost_core::query::ListFilter;
use bifrost_core::{ExecutionsService, Identity};
use bifrost_runner::{Ended, LoadedWorkflow, Runner};
use serde_json::json;

use crate::report::{Section, verdict};
use crate::stats::{fmt_ratio, fmt_secs, paired, per_call};
use crate::{Ctx, guests, setup};

/// Target: guest over native at most 1.10.
const TARGET_RATIO: f64 = 1.10;

/// Times one guest instance that makes `n` calls (its input says which); seconds per call.
pub async fn guest_per_call(
    runner: &Runner,
    wf: &LoadedWorkflow,
    who: &Identity,
    input: &serde_json::Value,
    n: u32,
) -> anyhow::Result<f64> {
    let input = input.to_string();
    let start = Instant::now();
    match runner.call_detached(wf, who, &input).await {
        Ended::Returned(_) => Ok(start.elapsed().as_secs_f64() / f64::from(n)),
        other => anyhow::bail!("bench workflow ended {other:?}"),
    }
}

/// Times `n` native calls of `get(id)` (or, with `get` false, `list` with limit 50) as
/// `who`, checking each answer's size; seconds per call.
pub async fn native_per_call(
    service: &ExecutionsService,
    who: &Identity,
    get: bool,
    id: &str,
    n: u32,
) -> anyhow::Result<f64> {
    let filter = ListFilter {
        limit: Some(50),
        ..ListFilter::default()
    };
    per_call(n, async || {
        if get {
            let e = service.get(who, id).await?;
            anyhow::ensure!(e.logs.as_ref().is_some_and(|l| l.len() == 20));
        } else {
            anyhow::ensure!(service.list(who, &filter).await?.len() == 50);
        }
        Ok(())
    })
    .await
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "host-calls",
        "2. Host-call overhead: guest against native",
        "One guest instance (`tests/programs/src/bench.rs`) calls `get` (or `list`, limit 50) \
         n times in a loop; the native side makes the same `ExecutionsService` call n times \
         from Rust in the same process, as the same identity (a platform admin), on the \
         seeded million-row table. A sample is the time per call over the n calls (the \
         guest's includes its share of one instantiation); guest and native samples \
         alternate.",
        &[
            "call",
            "guest (median)",
            "native (median)",
            "guest / native",
            "target",
            "result",
        ],
    );
    let (service, _) = ctx.scale_service().await?;
    let runner = setup::runner(service.clone(), true)?;
    let wf = setup::load(&runner, guests::BENCH)?;
    let who = Identity::operator();
    let n = ctx.scaled(200);

    let id = ctx.get_target().await?;
    let id_text = id.to_string();

    let get_input = json!({"op": "get", "id": id_text, "n": n});
    let list_input = json!({"op": "list", "n": n, "limit": 50});
    let raw_input = json!({"op": "list_raw", "n": n});
    for (call, input) in [
        ("get", &get_input),
        ("list (limit 50)", &list_input),
        ("list (limit 50), raw bindings", &raw_input),
    ] {
        let native = async || native_per_call(&service, &who, call == "get", &id_text, n).await;
        guest_per_call(&runner, &wf, &who, input, n).await?;
        native().await?;
        let p = paired(
            ctx.rounds(11),
            async || guest_per_call(&runner, &wf, &who, input, n).await,
            native,
        )
        .await?;
        section.row([
            call.to_owned(),
            fmt_secs(p.a()),
            fmt_secs(p.b()),
            fmt_ratio(p.ratio()),
            format!("<= {TARGET_RATIO:.2}x"),
            verdict(p.ratio() <= TARGET_RATIO).into(),
        ]);
    }
    section.note(format!("n = {n} calls per sample."));
    Ok(section)
}
