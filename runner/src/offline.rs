//! Running a workflow offline: a workflow composed with the virtual provider component
//! (`wac plug --plug bifrost_provider.wasm workflow.wasm -o offline.wasm`) imports nothing
//! but WASI, and runs here in plain wasmtime, its executions answered from a JSON fixture.
//! No database, no log stream, no host imports: what a workflow's offline tests need.

use std::path::Path;

use anyhow::Context as _;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

use crate::CompiledCacheConfig;
use crate::disk_cache::CompiledCache;

struct Wasi {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Wasi {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Calls the `run` export of a composed workflow on `input` with only WASI linked. With
/// `cache`, the compiled component is kept on disk ([`CompiledCacheConfig`]), so that the
/// next offline run of the same component loads it instead of compiling it again.
///
/// The fixture's directory is preopened read-only as `.` and `BIFROST_FIXTURE` names the
/// file in it, which is where the provider looks. The guest's stderr goes to this process's
/// stderr. Returns the workflow's own answer: `Ok(result JSON text)` or `Err(its error
/// message)`; the outer error is for a component that cannot run here (it still imports
/// this package, it traps, the fixture file does not exist or its directory cannot be
/// opened).
pub async fn run_composed(
    component: &[u8],
    fixture: &Path,
    input: &str,
    cache: Option<CompiledCacheConfig>,
) -> anyhow::Result<Result<String, String>> {
    let engine = Engine::new(&Config::new()).map_err(anyhow_of)?;
    let component = match cache {
        Some(config) => CompiledCache::new(&engine, config)
            .component(&engine, component)
            .map(|(c, _)| c),
        None => Component::new(&engine, component),
    }
    .map_err(anyhow_of)
    .context("not a component wasmtime can load")?;
    let ty = component.component_type();
    if let Some((import, _)) = ty.imports(&engine).find(|(i, _)| !i.starts_with("wasi:")) {
        anyhow::bail!(
            "the component imports {import}: compose it with the provider first \
             (wac plug --plug bifrost_provider.wasm WORKFLOW.wasm -o OFFLINE.wasm)"
        );
    }
    // The provider would only answer `unavailable` from inside the workflow; say it here.
    if !fixture.is_file() {
        anyhow::bail!("fixture {}: no such file", fixture.display());
    }
    let dir = match fixture.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = fixture
        .file_name()
        .and_then(|n| n.to_str())
        .context("the fixture path names no file")?;
    let mut linker = Linker::<Wasi>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow_of)?;
    let mut wasi = WasiCtx::builder();
    wasi.preopened_dir(dir, ".", FsPerms::ReadOnly)
        .map_err(anyhow_of)
        .with_context(|| format!("opening {}", dir.display()))?
        .env("BIFROST_FIXTURE", name)
        .inherit_stderr();
    let mut store = Store::new(
        &engine,
        Wasi {
            ctx: wasi.build(),
            table: ResourceTable::new(),
        },
    );
    let instance = linker
        .instantiate_async(&mut store, &component)
        .await
        .map_err(anyhow_of)?;
    let run = instance
        .get_typed_func::<(&str,), (Result<String, String>,)>(&mut store, "run")
        .map_err(anyhow_of)
        .context("the component has no `run` export of the workflow world")?;
    let (answer,) = run
        .call_async(&mut store, (input,))
        .await
        .map_err(anyhow_of)?;
    Ok(answer)
}

fn anyhow_of(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}
