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
/// What one instance of a workflow may hold of the pool. The pool has room for
/// `max_instances` instances that each use all of it, so an execution holding one of the
/// runner's `max_instances` slots always finds room; [`check_fits`] refuses, when it is
/// loaded, a component that needs more. A Rust workflow uses 1 memory, 2 tables and 3 core
/// instances; a Python one (componentize-py) 1 memory, 2 tables and 14 core instances.
/// Memories are the costly budget (each reserves address space, see `RunnerConfig::pooling`);
/// tables and core instances cost little.
pub(crate) const MEMORIES_PER_INSTANCE: u32 = 2;
pub(crate) const TABLES_PER_INSTANCE: u32 = 4;
pub(crate) const CORE_INSTANCES_PER_INSTANCE: u32 = 32;

/// What decides the code an engine compiles, beyond this build's constants: enough for a
/// process of its own to build an engine ([`compiling_engine`]) whose compiled components
/// this runner's engine loads (`compile_process.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CodeSettings {
    /// The address space each linear memory reserves; `None`: wasmtime's default (4 GiB
    /// plus guards on 64-bit hosts), with which compiled code needs no bounds checks.
    pub(crate) memory_reservation: Option<u64>,
}

/// The settings every engine of this build shares, whatever it allocates instances with.
fn base_config(code: CodeSettings) -> Config {
    let mut c = Config::new();
    c.epoch_interruption(true);
    c.max_wasm_stack(1 << 20);
    if let Some(bytes) = code.memory_reservation {
        c.memory_reservation(bytes);
    }
    c
}

/// An engine that only compiles, for a process that compiles components for a runner whose
/// engine was made with the same `code` settings. Its instances would be allocated on
/// demand; it makes none.
pub(crate) fn compiling_engine(code: CodeSettings) -> wasmtime::Result<Engine> {
    Engine::new(&base_config(code))
}

/// The runner's engine, and the settings that decide its compiled code.
pub(crate) fn engine(config: &RunnerConfig) -> wasmtime::Result<(Engine, CodeSettings)> {
    let default_code = CodeSettings {
        memory_reservation: None,
    };
    let mut c = base_config(default_code);
    if config.pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(config.max_instances)
            .total_core_instances(config.max_instances * CORE_INSTANCES_PER_INSTANCE)
            .total_memories(config.max_instances * MEMORIES_PER_INSTANCE)
            .total_tables(config.max_instances * TABLES_PER_INSTANCE)
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
            // What is still decommitted is decommitted when its instance is dropped, not in
            // batches: a batched slot stays out of the pool until its batch fills, and the
            // pool's flush when it runs short misses slots that another thread is
            // decommitting at that moment. Six probe instances in a pool of twelve tables
            // failed that way under load ("maximum concurrent limit of 12 for tables
            // reached"). Unbatched, a slot is back in the pool before its store's drop
            // returns, so before the runner's slot permit is released.
            .decommit_batch_size(1);
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
            Ok(engine) => return Ok((engine, default_code)),
            Err(e) => {
                tracing::warn!(error = %e, "pooling allocator unavailable; allocating on demand");
                let fallback = CodeSettings {
                    memory_reservation: Some(config.max_memory_bytes as u64),
                };
                return Ok((Engine::new(&base_config(fallback))?, fallback));
            }
        }
    }
    Ok((Engine::new(&c)?, default_code))
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

/// Refuses a component whose instance would need more of the pool than
/// [`MEMORIES_PER_INSTANCE`] and [`TABLES_PER_INSTANCE`] allow, so that it fails when it is
/// deployed or loaded, not later, when the pool runs short under load.
pub(crate) fn check_fits(component: &wasmtime::component::Component) -> Result<(), String> {
    let Some(needs) = component.resources_required() else {
        return Err(
            "the component instantiates core modules it imports; a workflow must define them"
                .into(),
        );
    };
    if needs.num_memories > MEMORIES_PER_INSTANCE || needs.num_tables > TABLES_PER_INSTANCE {
        return Err(format!(
            "the component defines {} linear memories and {} tables; a workflow instance may \
             have at most {MEMORIES_PER_INSTANCE} and {TABLES_PER_INSTANCE}",
            needs.num_memories, needs.num_tables
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use wasm_encoder::{
        InstanceSection, MemorySection, MemoryType, Module, ModuleArg, ModuleSection, RefType,
        TableSection, TableType,
    };

    /// A component of core instances that define these memories and tables between them
    /// (the pool allows a core module one of each).
    pub(crate) fn component_with(memories: u32, tables: u32) -> Vec<u8> {
        let mut component = wasm_encoder::Component::new();
        let mut instances = InstanceSection::new();
        for i in 0..memories.max(tables) {
            let mut module = Module::new();
            let mut t = TableSection::new();
            if i < tables {
                t.table(TableType {
                    element_type: RefType::FUNCREF,
                    table64: false,
                    minimum: 1,
                    maximum: None,
                    shared: false,
                });
            }
            module.section(&t);
            let mut m = MemorySection::new();
            if i < memories {
                m.memory(MemoryType {
                    minimum: 1,
                    maximum: None,
                    memory64: false,
                    shared: false,
                    page_size_log2: None,
                });
            }
            module.section(&m);
            component.section(&ModuleSection(&module));
            instances.instantiate(i, Vec::<(&str, ModuleArg)>::new());
        }
        component.section(&instances);
        component.finish()
    }

    #[test]
    fn a_component_that_needs_more_of_the_pool_than_an_instance_has_is_refused() {
        let engine = engine(&RunnerConfig {
            max_instances: 2,
            ..RunnerConfig::default()
        })
        .unwrap()
        .0;
        let load = |memories, tables| {
            let bytes = component_with(memories, tables);
            check_fits(&wasmtime::component::Component::new(&engine, bytes).unwrap())
        };
        assert_eq!(load(MEMORIES_PER_INSTANCE, TABLES_PER_INSTANCE), Ok(()));
        assert_eq!(
            load(MEMORIES_PER_INSTANCE + 1, 1).unwrap_err(),
            "the component defines 3 linear memories and 1 tables; a workflow instance may \
             have at most 2 and 4"
        );
        assert!(
            load(1, TABLES_PER_INSTANCE + 1)
                .unwrap_err()
                .contains("5 tables")
        );
    }

    /// An instance's room (its memories and tables) is back in the pool when its store is
    /// dropped, so that an instantiation on another thread finds it at once: two threads
    /// turn over a pool of exactly two instances that each take all of an instance's
    /// memories and tables, 5,000 times each. With room given back in batches, the pool's
    /// flush when it ran short missed the room the other thread was giving back at that
    /// moment; this failed within the first hundred turns (decommit batches of 8).
    #[test]
    fn pool_room_given_back_on_one_thread_is_found_at_once_on_another() {
        let engine = engine(&RunnerConfig {
            max_instances: 2,
            ..RunnerConfig::default()
        })
        .unwrap()
        .0;
        let bytes = component_with(MEMORIES_PER_INSTANCE, TABLES_PER_INSTANCE);
        let component = wasmtime::component::Component::new(&engine, bytes).unwrap();
        let linker = wasmtime::component::Linker::<()>::new(&engine);
        let pre = linker.instantiate_pre(&component).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for turn in 0..5_000 {
                        let mut store = wasmtime::Store::new(&engine, ());
                        if let Err(e) = pre.instantiate(&mut store) {
                            panic!("turn {turn}: {e:#}");
                        }
                    }
                });
            }
        });
    }
}
