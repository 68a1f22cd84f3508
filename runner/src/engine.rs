//! One engine for many instances: epoch interruption, the pooling allocator (with its
//! fallback), and the thread that advances the epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::RunnerConfig;

/// How often the epoch advances; the deadline's resolution.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each linear memory and table a reused pool slot keeps resident (see `engine`).
const KEEP_RESIDENT_MEMORY: usize = 4 << 20;
const KEEP_RESIDENT_TABLE: usize = 64 << 10;
/// Decommits batched together by the pooling allocator.
const DECOMMIT_BATCH: usize = 32;

pub(crate) fn engine(config: &RunnerConfig) -> wasmtime::Result<Engine> {
    let mut c = Config::new();
    c.epoch_interruption(true);
    c.max_wasm_stack(1 << 20);
    if config.pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(config.max_instances)
            .total_core_instances(config.max_instances * 8)
            .total_memories(config.max_instances * 2)
            .total_tables(config.max_instances * 2)
            .total_stacks(config.max_instances)
            .max_memory_size(config.max_memory_bytes)
            // Reuse a slot without returning its pages to the kernel: reset only the pages
            // the last instance dirtied (PAGEMAP_SCAN, Linux 6.7+; elsewhere the low
            // addresses are reset with memset), up to these sizes, instead of an madvise
            // that unmaps them and a page fault for each on the next use. The
            // instantiation benchmark measured 57 us per instance before, with the time in
            // page faults and TLB shootdowns.
            .pagemap_scan(wasmtime::Enabled::Auto)
            .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
            .table_keep_resident(KEEP_RESIDENT_TABLE)
            // What is still decommitted goes in batches: fewer system calls and shootdowns.
            .decommit_batch_size(DECOMMIT_BATCH);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        // Memory reservation stays at wasmtime's default for 64-bit hosts: 4 GiB of address
        // space (not memory) per slot plus guard regions, so that compiled guest code needs
        // no bounds check on its loads and stores. A reservation of `max_memory_bytes` made
        // every access check its bound; a profile of the host-call benchmark's guest
        // measured that guest code took 21-23% more CPU with it. The growth limit is still
        // `max_memory_bytes`, through `max_memory_size` above and the store's limiter.
        // Where the address space is short (an `ulimit -v`), reserving the pool fails in
        // `Engine::new`; the runner then allocates on demand and reserves only
        // `max_memory_bytes` per memory, trading the bounds checks for address space.
        match Engine::new(&c) {
            Ok(engine) => return Ok(engine),
            Err(e) => {
                tracing::warn!(error = %e, "pooling allocator unavailable; allocating on demand");
                c.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                c.memory_reservation(config.max_memory_bytes as u64);
            }
        }
    }
    Engine::new(&c)
}

/// Starts the thread that advances `engine`'s epoch every [`EPOCH_TICK`]; it stops once
/// the returned flag is set.
pub(crate) fn start_epoch_ticker(engine: &Engine) -> wasmtime::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let engine = engine.clone();
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("bifrost-epoch".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .map_err(|e| wasmtime::format_err!("cannot start the epoch thread: {e}"))?;
    Ok(stop)
}
