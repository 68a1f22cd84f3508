//! Composition with standard tooling: a workflow plugged with the virtual provider through
//! the `wac-graph` crate (what `wac plug` does), and the result run in plain wasmtime with
//! nothing but WASI (`bifrost_runner::offline`).

use std::path::Path;

use wac_graph::{CompositionGraph, EncodeOptions, types::Package};

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

/// Writes `fixture` to a file of its own and runs the composed `component` on `input`
/// with [`bifrost_runner::offline::run_composed`].
pub async fn run_with_fixture(
    component: &[u8],
    fixture: &serde_json::Value,
    input: &str,
) -> anyhow::Result<Result<String, String>> {
    let dir =
        std::env::temp_dir().join(format!("bifrost-compose-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("fixture.json");
    std::fs::write(&path, fixture.to_string())?;
    let cache = bifrost_runner::CompiledCacheConfig {
        dir: crate::compiled_cache_dir(),
        max_bytes: bifrost_runner::DEFAULT_COMPILED_CACHE_BYTES,
    };
    let answer = bifrost_runner::offline::run_composed(component, &path, input, Some(cache)).await;
    let _ = std::fs::remove_dir_all(&dir);
    answer
}

/// A component's import and export names, after checking that `bytes` is a component that
/// validates (with `wasmparser`, the validator `wasm-tools validate` runs). Panics, naming
/// `name`, when it is not. Read from the component's own sections, without compiling it.
pub fn checked_shape(name: &str, bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    use wasmparser::{Parser, Payload};
    assert!(
        Parser::is_component(bytes),
        "{name} is a component, not a core module"
    );
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .unwrap_or_else(|e| panic!("{name} does not validate: {e}"));
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    // Only the outer component's own imports and exports: nested modules and components
    // each open with a header and close with an end of their own.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.unwrap_or_else(|e| panic!("{name}: {e}")) {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(section) if depth == 1 => {
                for import in section {
                    imports.push(import.unwrap().name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(section) if depth == 1 => {
                for export in section {
                    exports.push(export.unwrap().name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    (imports, exports)
}
