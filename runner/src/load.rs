//! Loading workflow components: a file or a deployed version is checked to be a component,
//! compiled (or read back from the disk cache, `disk_cache.rs`), linked against the
//! runner's imports, and kept in memory, bounded, by the file's path, modification time and
//! size, or by the deployed version's hash.
//!
//! A compile takes a second of CPU for a small Rust workflow and 4 to 10 for a Python one.
//! A deployed version is compiled on threads of its own
//! ([`RunnerConfig::compile_threads`](crate::RunnerConfig::compile_threads): every core but
//! one by default), never on a runtime thread, with at most one compile per core at a time
//! and at most one per version: executions of a version being compiled wait for that
//! compile, executions of other versions do not wait at all (a small workflow's compile
//! does not queue behind a Python one), and the core a compile leaves keeps the running
//! executions close to their speed without a compile (see docs/PERFORMANCE.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::{OnceCell, Semaphore};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::compile_process::{self, CompileCommand};
use crate::disk_cache::{CompiledCache, deserialize_compiled};
use crate::engine::CodeSettings;
use crate::instance::HostState;
use crate::{Compiled, RunError, Runner, WorkflowPre};

/// Most components a runner keeps compiled; the one used longest ago goes first.
const CACHED_COMPONENTS: usize = 64;

/// A compiled workflow component, linked and ready to instantiate.
#[derive(Clone)]
pub struct LoadedWorkflow {
    pub(crate) pre: WorkflowPre<HostState>,
}

impl std::fmt::Debug for LoadedWorkflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedWorkflow").finish_non_exhaustive()
    }
}

/// A component file as it was: path, modification time, size.
type FileKey = (PathBuf, SystemTime, u64);

/// What compiles and links components for a runner, and what it keeps of them.
pub(crate) struct Loader {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    /// Compiled components on disk, if configured.
    disk: Option<Arc<CompiledCache>>,
    /// Loaded files by path, modification time and size.
    files: ComponentCache<FileKey>,
    /// Loaded deployed versions by hash.
    versions: ComponentCache<String>,
    /// The deployed versions being loaded now, each with the cell its loaders wait on.
    loading: Mutex<HashMap<String, Arc<OnceCell<LoadedWorkflow>>>>,
    /// One permit per core: compiles of deployed versions running at once.
    compiles: Arc<Semaphore>,
    /// Threads of each compile of a deployed version.
    compile_threads: usize,
    /// Where deployed versions compile: a process of their own with this command (and the
    /// settings of `engine`'s code), or threads of this process.
    compile_process: Option<(CompileCommand, CodeSettings)>,
}

impl Loader {
    pub(crate) fn new(
        engine: Engine,
        linker: Linker<HostState>,
        disk: Option<CompiledCache>,
        compile_threads: usize,
        compile_process: Option<(CompileCommand, CodeSettings)>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            engine,
            linker: Arc::new(linker),
            disk: disk.map(Arc::new),
            files: ComponentCache::default(),
            versions: ComponentCache::default(),
            loading: Mutex::default(),
            compiles: Arc::new(Semaphore::new(cores)),
            compile_threads,
            compile_process,
        }
    }

    /// Compiles `bytes` on threads of its own or in a process of its own (after waiting
    /// for a compile permit; a blocking thread waits for them) and links the component.
    async fn load_bytes_blocking(&self, bytes: Vec<u8>) -> Result<LoadedWorkflow, RunError> {
        let permit =
            self.compiles.clone().acquire_owned().await.map_err(|_| {
                RunError::Load(wasmtime::format_err!("the runner is shutting down"))
            })?;
        let (engine, linker, disk) = (self.engine.clone(), self.linker.clone(), self.disk.clone());
        let threads = self.compile_threads;
        let process = self.compile_process.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            check_component_header(&bytes)
                .map_err(|e| RunError::Load(wasmtime::format_err!("{e}")))?;
            let in_threads = || {
                // A pool of its own, not one shared by every compile: a compile waits for a
                // permit, never for another compile's threads. Everything the compile does
                // (wasmtime compiles functions in parallel on the current rayon pool) runs
                // there.
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("bifrost-compile-{i}"))
                    .build()
                    .map_err(|e| wasmtime::format_err!("cannot start the compile threads: {e}"))?;
                pool.install(|| compile(&engine, disk.as_deref(), &bytes))
            };
            let component = match process {
                Some((command, code)) => {
                    let request = compile_process::Request { code, threads };
                    compile_elsewhere(&engine, disk.as_deref(), &bytes, |bytes| {
                        compile_process::compile(&command, request, bytes)
                    })
                    .or_else(|failure| match failure {
                        compile_process::Failure::Failed(e) => Err(e),
                        compile_process::Failure::NotRun(e) => {
                            // The process could not do the work (its program missing, an
                            // answer of another build): compiling here runs the execution.
                            tracing::warn!(error = %format!("{e:#}"), "the compile process did not run; compiling in this process");
                            in_threads()
                        }
                    })
                }
                None => in_threads(),
            };
            link(&linker, &component.map_err(RunError::Load)?.0)
        })
        .await
        .map_err(|e| RunError::Load(wasmtime::format_err!("the compile stopped: {e}")))?
    }
}

/// Loads `bytes` from `disk`, or has `compile` make its compiled form (the bytes
/// `Engine::precompile_component` writes) and loads that, keeping it in `disk`. An answer
/// this runner's engine cannot load (of another build) counts as a process that did not
/// run.
fn compile_elsewhere(
    engine: &Engine,
    disk: Option<&CompiledCache>,
    bytes: &[u8],
    compile: impl FnOnce(&[u8]) -> Result<Vec<u8>, compile_process::Failure>,
) -> Result<(Component, Compiled), compile_process::Failure> {
    if let Some(component) = disk.and_then(|cache| cache.lookup(engine, bytes)) {
        return Ok((component, Compiled::Hit));
    }
    let compiled = compile(bytes)?;
    let component =
        deserialize_compiled(engine, &compiled).map_err(compile_process::Failure::NotRun)?;
    Ok(match disk {
        Some(cache) => {
            cache.keep(bytes, &compiled);
            (component, Compiled::Miss)
        }
        None => (component, Compiled::Uncached),
    })
}

/// Checks, compiles (or loads from `disk`) and links `bytes`.
fn load_bytes(
    engine: &Engine,
    linker: &Linker<HostState>,
    disk: Option<&CompiledCache>,
    bytes: &[u8],
) -> Result<LoadedWorkflow, RunError> {
    check_component_header(bytes).map_err(|e| RunError::Load(wasmtime::format_err!("{e}")))?;
    let (component, _) = compile(engine, disk, bytes).map_err(RunError::Load)?;
    link(linker, &component)
}

fn compile(
    engine: &Engine,
    disk: Option<&CompiledCache>,
    bytes: &[u8],
) -> wasmtime::Result<(Component, Compiled)> {
    match disk {
        Some(cache) => cache.component(engine, bytes),
        None => Ok((Component::new(engine, bytes)?, Compiled::Uncached)),
    }
}

fn link(linker: &Linker<HostState>, component: &Component) -> Result<LoadedWorkflow, RunError> {
    crate::engine::check_fits(component)
        .map_err(|e| RunError::Load(wasmtime::format_err!("{e}")))?;
    let pre = linker.instantiate_pre(component).map_err(RunError::Load)?;
    let pre = WorkflowPre::new(pre).map_err(RunError::Load)?;
    Ok(LoadedWorkflow { pre })
}

impl Runner {
    /// Compiles and links a component file, or returns the cached result for an unchanged
    /// file (the runner keeps the last 64 it used). Compiles on the calling thread: from
    /// an async server, call it on a blocking thread.
    pub fn load_file(&self, path: &Path) -> Result<LoadedWorkflow, RunError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| RunError::Load(wasmtime::format_err!("{}: {e}", path.display())))?;
        let key = (
            path.to_path_buf(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        );
        if let Some(hit) = self.loader.files.get(&key, tick()) {
            return Ok(hit);
        }
        let bytes = std::fs::read(path)
            .map_err(|e| RunError::Load(wasmtime::format_err!("{}: {e}", path.display())))?;
        let loaded = self.load_bytes(&bytes).map_err(|e| match e {
            RunError::Load(e) => RunError::Load(wasmtime::format_err!("{}: {e:#}", path.display())),
            other => other,
        })?;
        self.loader.files.insert(key, loaded.clone(), tick());
        Ok(loaded)
    }

    /// The deployed version `hash`, from memory (the runner keeps the last 64 it used), or
    /// read from `workflows`, compiled (or loaded from the disk cache) and linked on a
    /// blocking thread. Loaders of one version share one compile; loaders of other
    /// versions do not wait for it.
    pub async fn load_deployed(
        &self,
        workflows: &dyn bifrost_core::workflows::WorkflowStore,
        hash: &str,
    ) -> Result<LoadedWorkflow, RunError> {
        let loader = &self.loader;
        if let Some(hit) = loader.versions.get(&hash.to_owned(), tick()) {
            return Ok(hit);
        }
        let cell = loader
            .loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(hash.to_owned())
            .or_default()
            .clone();
        let loaded = cell
            .get_or_try_init(|| async {
                // Loaded while this loader waited for the map: done.
                if let Some(hit) = loader.versions.get(&hash.to_owned(), tick()) {
                    return Ok(hit);
                }
                let bytes = workflows.component(hash).await.map_err(|e| match e {
                    bifrost_core::error::StoreError::NotFound => RunError::Load(
                        wasmtime::format_err!("workflow version {hash} is not stored"),
                    ),
                    other => RunError::Backend(other.into()),
                })?;
                let loaded = loader.load_bytes_blocking(bytes).await?;
                loader
                    .versions
                    .insert(hash.to_owned(), loaded.clone(), tick());
                Ok(loaded)
            })
            .await
            .cloned();
        // The first loader to finish ends the shared load, succeeded or not (a failed one is
        // tried afresh by the next execution of the version).
        let mut loading = loader.loading.lock().unwrap_or_else(|e| e.into_inner());
        if loading.get(hash).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            loading.remove(hash);
        }
        loaded
    }

    /// Checks that `bytes` are a component of the `workflow` world (a component, not a core
    /// module or text; compiled; linked against this runner's imports, exporting `run`),
    /// and returns it ready to run. The error says in one line what is wrong. Compiles on
    /// the calling thread.
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<LoadedWorkflow, RunError> {
        let loader = &self.loader;
        load_bytes(
            &loader.engine,
            &loader.linker,
            loader.disk.as_deref(),
            bytes,
        )
    }

    /// Compiles a component, or loads its compiled form from the disk cache
    /// ([`RunnerConfig::compiled_cache`](crate::RunnerConfig::compiled_cache)) when the same
    /// bytes were compiled before by a runner of the same build and settings.
    pub fn compile(&self, bytes: &[u8]) -> wasmtime::Result<(Component, Compiled)> {
        compile(&self.loader.engine, self.loader.disk.as_deref(), bytes)
    }

    /// Hits and misses of the disk cache of compiled components since this runner started;
    /// zero without one.
    pub fn compiled_cache_counts(&self) -> (u64, u64) {
        self.loader.disk.as_ref().map_or((0, 0), |c| c.counts())
    }

    /// Links a compiled component.
    pub fn load(&self, component: &Component) -> Result<LoadedWorkflow, RunError> {
        link(&self.loader.linker, component)
    }
}

/// Compiled, linked components by key (a file, or a deployed version's hash), at most
/// [`CACHED_COMPONENTS`] of them.
pub(crate) struct ComponentCache<Key, V = LoadedWorkflow> {
    entries: Mutex<HashMap<Key, (V, u64)>>,
}

impl<Key, V> Default for ComponentCache<Key, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
        }
    }
}

impl<Key: std::hash::Hash + Eq + Clone, V: Clone> ComponentCache<Key, V> {
    fn get(&self, key: &Key, tick: u64) -> Option<V> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (loaded, used) = entries.get_mut(key)?;
        *used = tick;
        Some(loaded.clone())
    }

    fn insert(&self, key: Key, loaded: V, tick: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHED_COMPONENTS
            && !entries.contains_key(&key)
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(key, (loaded, tick));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

/// A clock for the cache's use order.
fn tick() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Tells what a file that is no component is, before the parser reports a byte dump.
pub(crate) fn check_component_header(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8] = b"\0asm";
    // The layer field (bytes 6 and 7): 0 for a core module, 1 for a component.
    match bytes.get(..8) {
        Some(header) if header.starts_with(MAGIC) && header[6..8] == [1, 0] => Ok(()),
        Some(header) if header.starts_with(MAGIC) => Err(
            "a core WebAssembly module, not a component: build the workflow for wasm32-wasip2, \
             or wrap the module with `wasm-tools component new`"
                .into(),
        ),
        _ if bytes.trim_ascii_start().starts_with(b"(") => Err(
            "WebAssembly text, not a binary component: compile it with `wasm-tools parse`".into(),
        ),
        _ => Err("not a WebAssembly component (no \\0asm header)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunnerConfig;
    use crate::engine::tests::component_with;

    /// A compile process that cannot run (its program gone, say, or of another build)
    /// leaves the compile to this process: the component is compiled here and then judged
    /// as a workflow, not lost to the process's failure. A process that ran and failed
    /// fails the load with its last line (no second compile in the runner, which a
    /// compiler crash would take down).
    #[tokio::test]
    async fn a_compile_process_that_cannot_run_leaves_the_compile_to_this_process() {
        let (engine, code) = crate::engine::engine(&RunnerConfig {
            max_instances: 2,
            ..RunnerConfig::default()
        })
        .unwrap();
        let loader_with = |program: &str, args: &[&str]| {
            let command = CompileCommand {
                program: program.into(),
                args: args.iter().map(Into::into).collect(),
            };
            Loader::new(
                engine.clone(),
                Linker::new(&engine),
                None,
                1,
                Some((command, code)),
            )
        };
        let loader = loader_with("/nonexistent/bifrost-compile", &[]);
        // Compiled and linked (it imports nothing), then refused for what it is: a
        // component without the workflow's `run` export.
        let refused = loader
            .load_bytes_blocking(component_with(1, 1))
            .await
            .unwrap_err();
        let said = format!("{refused:#}");
        assert!(!said.contains("compile process"), "{said}");
        assert!(said.contains("run"), "{said}");

        let loader = loader_with(
            "/bin/sh",
            &[
                "-c",
                "cat >/dev/null; echo noise >&2; echo 'out of memory' >&2; exit 3",
            ],
        );
        let failed = loader
            .load_bytes_blocking(component_with(1, 1))
            .await
            .unwrap_err();
        assert_eq!(failed.to_string(), "cannot load workflow: out of memory");
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_the_components_used_last() {
        let key = |i: u64| {
            (
                PathBuf::from(format!("w{i}.wasm")),
                SystemTime::UNIX_EPOCH,
                i,
            )
        };
        let cache = ComponentCache::<FileKey, u64>::default();
        for i in 0..CACHED_COMPONENTS as u64 {
            cache.insert(key(i), i, i);
        }
        // Component 0 is used again; 1 is now the one used longest ago.
        assert_eq!(cache.get(&key(0), 100), Some(0));
        cache.insert(key(1000), 1000, 101);
        assert_eq!(cache.len(), CACHED_COMPONENTS);
        assert_eq!(cache.get(&key(1), 102), None);
        assert_eq!(cache.get(&key(0), 103), Some(0));
        assert_eq!(cache.get(&key(1000), 104), Some(1000));
        // The same file changed (another time or size) is another key.
        assert_eq!(
            cache.get(&(PathBuf::from("w2.wasm"), SystemTime::UNIX_EPOCH, 3), 105),
            None
        );
    }

    #[test]
    fn files_that_are_no_component_are_named() {
        let component = [0, b'a', b's', b'm', 0x0d, 0, 1, 0];
        assert_eq!(check_component_header(&component), Ok(()));
        let module = [0, b'a', b's', b'm', 1, 0, 0, 0];
        assert!(
            check_component_header(&module)
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        assert!(
            check_component_header(b"  (component)")
                .unwrap_err()
                .contains("text")
        );
        assert!(
            check_component_header(b"random bytes")
                .unwrap_err()
                .contains("no \\0asm")
        );
        assert!(
            check_component_header(b"")
                .unwrap_err()
                .contains("no \\0asm")
        );
    }
}
