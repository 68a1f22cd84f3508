//! Loading workflow components: a file is checked to be a component, compiled, linked, and
//! kept in a bounded cache keyed by the file's path, modification time and size.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use wasmtime::component::Component;

use crate::{Compiled, LoadedWorkflow, RunError, Runner, WorkflowPre};

/// Most components a runner keeps compiled; the one used longest ago goes first.
const CACHED_COMPONENTS: usize = 64;

/// A component file as it was: path, modification time, size.
type FileKey = (PathBuf, SystemTime, u64);

/// Compiled, linked components by key (a file, or a deployed version's hash), at most
/// [`CACHED_COMPONENTS`] of them.
pub(crate) struct ComponentCache<Key = FileKey, V = LoadedWorkflow> {
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

impl Runner {
    /// Compiles and links a component file, or returns the cached result for an unchanged
    /// file (the runner keeps the last 64 it used).
    pub fn load_file(&self, path: &Path) -> Result<LoadedWorkflow, RunError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| RunError::Load(wasmtime::format_err!("{}: {e}", path.display())))?;
        let key = (
            path.to_path_buf(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        );
        if let Some(hit) = self.cache.get(&key, tick()) {
            return Ok(hit);
        }
        let bytes = std::fs::read(path)
            .map_err(|e| RunError::Load(wasmtime::format_err!("{}: {e}", path.display())))?;
        let loaded = self.load_bytes(&bytes).map_err(|e| match e {
            RunError::Load(e) => RunError::Load(wasmtime::format_err!("{}: {e:#}", path.display())),
            other => other,
        })?;
        self.cache.insert(key, loaded.clone(), tick());
        Ok(loaded)
    }

    /// The deployed version `hash`, from memory (the runner keeps the last 64 it used), or
    /// read from `workflows`, compiled (or loaded from the disk cache) and linked. Versions
    /// not in memory load one at a time, so that executions of one new version compile it
    /// once.
    pub async fn load_deployed(
        &self,
        workflows: &dyn bifrost_core::workflows::WorkflowStore,
        hash: &str,
    ) -> Result<LoadedWorkflow, RunError> {
        if let Some(hit) = self.versions.get(&hash.to_owned(), tick()) {
            return Ok(hit);
        }
        let _one_at_a_time = self.loading.lock().await;
        if let Some(hit) = self.versions.get(&hash.to_owned(), tick()) {
            return Ok(hit);
        }
        let bytes = workflows.component(hash).await.map_err(|e| match e {
            bifrost_core::error::StoreError::NotFound => RunError::Load(wasmtime::format_err!(
                "workflow version {hash} is not stored"
            )),
            other => RunError::Backend(other.into()),
        })?;
        let loaded = self.load_bytes(&bytes)?;
        self.versions
            .insert(hash.to_owned(), loaded.clone(), tick());
        Ok(loaded)
    }

    /// Checks that `bytes` are a component of the `workflow` world (a component, not a core
    /// module or text; compiled; linked against this runner's imports, exporting `run`),
    /// and returns it ready to run. The error says in one line what is wrong.
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<LoadedWorkflow, RunError> {
        check_component_header(bytes).map_err(|e| RunError::Load(wasmtime::format_err!("{e}")))?;
        let (component, _) = self.compile(bytes).map_err(RunError::Load)?;
        self.load(&component)
    }

    /// Compiles a component, or loads its compiled form from the disk cache
    /// ([`RunnerConfig::compiled_cache`](crate::RunnerConfig::compiled_cache)) when the same
    /// bytes were compiled before by a runner of the same build and settings.
    pub fn compile(&self, bytes: &[u8]) -> wasmtime::Result<(Component, Compiled)> {
        match &self.compiled {
            Some(cache) => cache.component(&self.engine, bytes),
            None => Ok((Component::new(&self.engine, bytes)?, Compiled::Uncached)),
        }
    }

    /// Hits and misses of the disk cache of compiled components since this runner started;
    /// zero without one.
    pub fn compiled_cache_counts(&self) -> (u64, u64) {
        self.compiled.as_ref().map_or((0, 0), |c| {
            (
                c.counters.hits.load(std::sync::atomic::Ordering::Relaxed),
                c.counters.misses.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    }

    /// Links a compiled component.
    pub fn load(&self, component: &Component) -> Result<LoadedWorkflow, RunError> {
        crate::engine::check_fits(component)
            .map_err(|e| RunError::Load(wasmtime::format_err!("{e}")))?;
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(RunError::Load)?;
        let pre = WorkflowPre::new(pre).map_err(RunError::Load)?;
        Ok(LoadedWorkflow { pre })
    }
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
