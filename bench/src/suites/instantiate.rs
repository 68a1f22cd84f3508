//! 1. Instantiate and call a trivial workflow from a cached `InstancePre`: the pooling
//!    allocator against the default (on-demand) allocator.

use std::time::Instant;

use bifrost_host::Identity;
use bifrost_host::runner::Ended;

use crate::report::{Section, verdict};
use crate::stats::{fmt_ratio, fmt_secs, paired};
use crate::{Ctx, guests, setup};

/// Target: at most 10 µs per instance with pooling.
const TARGET_SECS: f64 = 10e-6;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "instantiate",
        "1. Instantiate and call a trivial workflow",
        "A `Runner` instantiates the trivial workflow (`tests/programs/src/trivial.rs`, which \
         returns its input) from its cached `InstancePre` and calls `run` once, outside any \
         execution (`Runner::call_detached`): a new store with its WASI context and \
         executions context, instantiation, the call, and the store dropped. Each sample is \
         the mean of a batch of sequential instances; pooling and on-demand batches alternate.",
        &[
            "allocator",
            "median per instance",
            "ratio to pooling",
            "target",
            "result",
        ],
    );
    let service = setup::scratch_service().await?;
    let pooled = setup::runner(service.clone(), true)?;
    let on_demand = setup::runner(service, false)?;
    let wf_pooled = setup::load(&pooled, guests::TRIVIAL)?;
    let wf_on_demand = setup::load(&on_demand, guests::TRIVIAL)?;
    let who = Identity::operator();
    let batch = ctx.scaled(2000);

    let one = async |runner: &bifrost_host::runner::Runner, wf| -> anyhow::Result<f64> {
        let start = Instant::now();
        for _ in 0..batch {
            match runner.call_detached(wf, &who, "null").await {
                Ended::Returned(t) if t == "null" => {}
                other => anyhow::bail!("trivial workflow ended {other:?}"),
            }
        }
        Ok(start.elapsed().as_secs_f64() / f64::from(batch))
    };
    // Warm both: first instances fault in the pool's pages and the code.
    one(&pooled, &wf_pooled).await?;
    one(&on_demand, &wf_on_demand).await?;
    let p = paired(
        ctx.rounds(15),
        async || one(&pooled, &wf_pooled).await,
        async || one(&on_demand, &wf_on_demand).await,
    )
    .await?;
    section.row([
        "pooling".to_owned(),
        fmt_secs(p.a()),
        "1.00x".into(),
        format!("<= {}", fmt_secs(TARGET_SECS)),
        verdict(p.a() <= TARGET_SECS).into(),
    ]);
    section.row([
        "on demand (default)".to_owned(),
        fmt_secs(p.b()),
        fmt_ratio(p.b() / p.a()),
        String::new(),
        String::new(),
    ]);
    section.note(format!(
        "{} rounds of {batch} instances each; medians of the per-round means.",
        p.a.len()
    ));
    Ok(section)
}
