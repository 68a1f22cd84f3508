//! Composition with standard tooling: a workflow plugged with the virtual provider through
//! the `wac-graph` crate (what `wac plug` does), and the result run in plain wasmtime with
//! nothing but WASI.

use std::path::Path;

use wac_graph::{CompositionGraph, EncodeOptions, types::Package};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

/// Plugs the provider's exports into the workflow's imports, as
/// `wac plug --plug bifrost_provider.wasm workflow.wasm` does, and encodes the composition.
pub fn plug_provider(workflow: &Path) -> anyhow::Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let socket = Package::from_file("workflow:socket", None, workflow, graph.types_mut())?;
    let socket = graph.register_package(socket)?;
    let plug = Package::from_file("bifrost:provider", None, crate::PROVIDER, graph.types_mut())?;
    let plug = graph.register_package(plug)?;
    wac_graph::plug(&mut graph, vec![plug], socket)?;
    Ok(graph.encode(EncodeOptions::default())?)
}

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

/// Runs a composed workflow's `run` export on `input` in wasmtime with only WASI linked:
/// the fixture is `fixture.json` in a directory preopened as `.`, named by
/// `BIFROST_FIXTURE`. Synchronous WASI: call it off an async runtime's threads
/// (`spawn_blocking`).
pub fn run_composed(
    component: &[u8],
    fixture: &serde_json::Value,
    input: &str,
) -> anyhow::Result<Result<String, String>> {
    let dir =
        std::env::temp_dir().join(format!("bifrost-compose-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("fixture.json"), fixture.to_string())?;
    let result = (|| -> wasmtime::Result<Result<String, String>> {
        let engine = Engine::new(&Config::new())?;
        let component = Component::new(&engine, component)?;
        let mut linker = Linker::<Wasi>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let mut wasi = WasiCtx::builder();
        wasi.preopened_dir(&dir, ".", FsPerms::ReadOnly)?
            .env("BIFROST_FIXTURE", "fixture.json")
            .inherit_stderr();
        let ctx = wasi.build();
        let mut store = Store::new(
            &engine,
            Wasi {
                ctx,
                table: ResourceTable::new(),
            },
        );
        let instance = linker.instantiate(&mut store, &component)?;
        let run =
            instance.get_typed_func::<(&str,), (Result<String, String>,)>(&mut store, "run")?;
        let (answer,) = run.call(&mut store, (input,))?;
        Ok(answer)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result.map_err(|e| anyhow::anyhow!("{e:?}"))
}
