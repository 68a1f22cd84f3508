//! 1. Instantiate and call a trivial workflow from a cached `InstancePre`: the pooling
//!    allocator against the default (on-demand) allocator.

use std::time::Instant;

use bifrost_core::Identity;
use bifrost_runner::Ended;

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

    let one = async |runner: &bifrost_runner::Runner, wf| -> anyhow::Result<f64> {
        let start = Instant::now();
        for _ in 0..batch {
            match runner.call_detached(wf, &who, "null").await {
                Ended::Returned(t) if t == "null" => {}
                other => anyhow::bail!("trivial workflow ended {other:?}"),
            }
        }
        Ok(start.elapsed().as_secs_f64() / f64::from(batch))
    };
    // What wasmtime alone costs for this component on this machine: the same engine and
    // pool, a bare store (no WASI context, no executions context, no limiter or deadline
    // callback), the imports linked to trap stubs (the echo calls none), instantiation from
    // an `InstancePre`, the call, the store dropped.
    let engine = pooled.engine().clone();
    let component = wasmtime::component::Component::from_file(&engine, guests::TRIVIAL)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut linker = wasmtime::component::Linker::<()>::new(&engine);
    linker
        .define_unknown_imports_as_traps(&component)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let bare_pre = linker
        .instantiate_pre(&component)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let run_export = component
        .get_export_index(None, "run")
        .ok_or_else(|| anyhow::anyhow!("the trivial workflow exports no run"))?;
    let bare = async || -> anyhow::Result<f64> {
        let start = Instant::now();
        for _ in 0..batch {
            let mut store = wasmtime::Store::new(&engine, ());
            store.set_epoch_deadline(u64::MAX / 2);
            let instance = bare_pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let run = instance
                .get_typed_func::<(&str,), (Result<String, String>,)>(&mut store, &run_export)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let (answer,) = run
                .call_async(&mut store, ("null",))
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            anyhow::ensure!(answer.as_deref() == Ok("null"), "bare echo: {answer:?}");
        }
        Ok(start.elapsed().as_secs_f64() / f64::from(batch))
    };
    // Warm all: first instances fault in the pool's pages and the code.
    one(&pooled, &wf_pooled).await?;
    one(&on_demand, &wf_on_demand).await?;
    bare().await?;
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
    let floor = paired(
        ctx.rounds(15),
        async || one(&pooled, &wf_pooled).await,
        async || bare().await,
    )
    .await?;
    section.row([
        "pooling, wasmtime alone (bare store)".to_owned(),
        fmt_secs(floor.b()),
        fmt_ratio(floor.b() / floor.a()),
        format!("<= {}", fmt_secs(TARGET_SECS)),
        verdict(floor.b() <= TARGET_SECS).into(),
    ]);
    section.note(format!(
        "{} rounds of {batch} instances each; medians of the per-round means. The last row is \
         wasmtime's own floor for this component on the same engine and pool: a bare store \
         with no WASI or executions context, imports linked to trap stubs, instantiation \
         from an `InstancePre`, the call and the drop (its ratio is to the runner's pooling \
         figure of its own alternating rounds, {}).",
        p.a.len(),
        fmt_secs(floor.a())
    ));
    Ok(section)
}
