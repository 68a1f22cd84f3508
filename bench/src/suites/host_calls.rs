//! 2. Host-call overhead: `get` and `list` (limit 50) called from inside a wasm guest,
//!    against the same service call made from native Rust in the same process, on the
//!    same data (the seeded million rows).

use std::time::Instant;

use bifrost_core::query::ListFilter;
use bifrost_core::{ExecutionsService, Identity};
use bifrost_runner::{Ended, LoadedWorkflow, Runner};
use serde_json::json;

use crate::report::{Section, verdict};
use crate::stats::{fmt_ratio, fmt_secs, median, paired, per_call, process_cpu};
use crate::{Ctx, guests, setup};

/// Target: guest over native at most 1.10.
const TARGET_RATIO: f64 = 1.10;

/// The medians, in seconds per call, of two guests making the same `n` calls (`input`) and
/// of the native call (`get` or `list`), each warmed up once, then sampled in rotating
/// order for `rounds` rounds: (first guest, second guest, native).
#[allow(clippy::too_many_arguments)]
pub async fn two_guests_and_native(
    runner: &Runner,
    (first, second): (&LoadedWorkflow, &LoadedWorkflow),
    service: &ExecutionsService,
    who: &Identity,
    input: &serde_json::Value,
    get: bool,
    id: &str,
    n: u32,
    rounds: usize,
) -> anyhow::Result<(f64, f64, f64)> {
    let native = async || native_per_call(service, who, get, id, n).await;
    guest_per_call(runner, first, who, input, n).await?;
    guest_per_call(runner, second, who, input, n).await?;
    native().await?;
    let (mut a, mut b, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        for k in 0..3 {
            match (round + k) % 3 {
                0 => a.push(guest_per_call(runner, first, who, input, n).await?),
                1 => b.push(guest_per_call(runner, second, who, input, n).await?),
                _ => v.push(native().await?),
            }
        }
    }
    Ok((median(&a), median(&b), median(&v)))
}

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
    native_calls(service, who, get, id, n, false).await
}

/// [`native_per_call`], each answer converted into the host's WIT records when `convert`
/// is set (as the host does before lowering), then dropped.
async fn native_calls(
    service: &ExecutionsService,
    who: &Identity,
    get: bool,
    id: &str,
    n: u32,
    convert: bool,
) -> anyhow::Result<f64> {
    use bifrost_host::bindings::bifrost::executions::types::WorkflowExecution;
    let filter = ListFilter {
        limit: Some(50),
        ..ListFilter::default()
    };
    per_call(n, async || {
        if get {
            let e = service.get(who, id).await?;
            anyhow::ensure!(e.logs.as_ref().is_some_and(|l| l.len() == 20));
            if convert {
                std::hint::black_box(WorkflowExecution::from(e));
            }
        } else {
            let rows = service.list(who, &filter).await?;
            anyhow::ensure!(rows.len() == 50);
            if convert {
                let rows: Vec<WorkflowExecution> = rows.into_iter().map(Into::into).collect();
                std::hint::black_box(rows);
            }
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

/// One way of making the call, each a whole call timed on its own: the steps of a guest
/// call, cumulative.
#[derive(Clone, Copy)]
enum Step {
    /// The service call from native Rust.
    Native,
    /// The service call and the host's conversion of its answer into the records bindgen
    /// generates (`wit_conversions!`), dropped at once.
    Converted,
    /// From a guest through the raw bindings: adds the boundary (wasmtime's lowering into
    /// linear memory, the guest's allocations, the instance's share).
    Raw,
    /// From a guest through the guest crate's typed API.
    Crate,
}

const STEPS: [Step; 4] = [Step::Native, Step::Converted, Step::Raw, Step::Crate];

/// 2b. The guest's extra time per call split into its steps, all four measured in the
/// same rounds (the order rotating each round); medians of wall-clock time and of this
/// process's CPU time per call.
pub async fn run_split(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "host-call-split",
        "2b. Where a guest call's extra time goes",
        "The calls of benchmark 2, each made four ways in the same rounds (which goes first \
         rotates each round): the native service call; the same call with the host's \
         conversion of its answer into the WIT records (`wit_conversions!`), as the host \
         does before lowering; from the guest through the raw bindings, which adds \
         wasmtime's lowering of the records into linear memory and the guest's allocations \
         (one `realloc` call into the guest per string and list); and from the guest \
         through the guest crate's typed API. Each cell is a median per call, cumulative; \
         in brackets, what the step adds to the one before it (µs, and share of the native \
         call's wall time). Wall time carries the servers' time and the machine's noise; \
         this process's CPU time (all its threads, `CLOCK_PROCESS_CPUTIME_ID`) is what the \
         steps themselves cost, since the guest adds no work on the servers.",
        &[
            "call",
            "measure",
            "native",
            "+ host's conversion",
            "+ boundary (raw bindings)",
            "+ guest crate",
        ],
    );
    let (service, _) = ctx.scale_service().await?;
    let runner = setup::runner(service.clone(), true)?;
    let wf = setup::load(&runner, guests::BENCH)?;
    let who = Identity::operator();
    let n = ctx.scaled(200);
    let id_text = ctx.get_target().await?.to_string();

    for get in [true, false] {
        let (raw, typed) = if get {
            (
                json!({"op": "get_raw", "id": id_text, "n": n}),
                json!({"op": "get", "id": id_text, "n": n}),
            )
        } else {
            (
                json!({"op": "list_raw", "n": n}),
                json!({"op": "list", "n": n, "limit": 50}),
            )
        };
        // One sample: (wall, CPU) seconds per call.
        let sample = async |step: Step| -> anyhow::Result<(f64, f64)> {
            let cpu = process_cpu();
            let wall = match step {
                Step::Native => native_calls(&service, &who, get, &id_text, n, false).await,
                Step::Converted => native_calls(&service, &who, get, &id_text, n, true).await,
                Step::Raw => guest_per_call(&runner, &wf, &who, &raw, n).await,
                Step::Crate => guest_per_call(&runner, &wf, &who, &typed, n).await,
            }?;
            Ok((wall, (process_cpu() - cpu) / f64::from(n)))
        };
        for step in STEPS {
            sample(step).await?;
        }
        let mut wall: [Vec<f64>; 4] = Default::default();
        let mut cpu: [Vec<f64>; 4] = Default::default();
        for round in 0..ctx.rounds(21) {
            for k in 0..STEPS.len() {
                let i = (round + k) % STEPS.len();
                let (w, c) = sample(STEPS[i]).await?;
                wall[i].push(w);
                cpu[i].push(c);
            }
        }
        let call = if get { "get" } else { "list (limit 50)" };
        let native_wall = median(&wall[0]);
        for (measure, samples) in [("wall time", &wall), ("CPU time, this process", &cpu)] {
            let medians = samples.each_ref().map(|s| median(s));
            let mut row = vec![call.to_owned(), measure.to_owned(), fmt_secs(medians[0])];
            for w in medians.windows(2) {
                let added = w[1] - w[0];
                row.push(format!(
                    "{} ({:+.1} µs, {:+.1}%)",
                    fmt_secs(w[1]),
                    added * 1e6,
                    100.0 * added / native_wall
                ));
            }
            section.row(row);
        }
    }
    section.note(format!(
        "n = {n} calls per sample, {} rounds; differences of medians, so a step smaller \
         than the noise can come out negative. Benchmark 2's target (guest / native <= \
         1.10x) leaves the last three steps together a tenth of the native call's wall \
         time.",
        ctx.rounds(21)
    ));
    Ok(section)
}
