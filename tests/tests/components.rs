//! Every component the project builds (test programs and examples) is a valid component of
//! the `workflow` world: it validates, imports nothing but WASI and this package's
//! interfaces, and exports `run`. What composition tools (wac, wasm-tools) rely on.

use wasmparser::{Validator, WasmFeatures};
use wasmtime::component::Component;

fn check(name: &str, path: &str) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {path}: {e}"));
    assert!(
        wasmparser::Parser::is_component(&bytes),
        "{name} is a component, not a core module"
    );
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&bytes)
        .unwrap_or_else(|e| panic!("{name} does not validate: {e}"));

    let engine = wasmtime::Engine::default();
    let component = Component::new(&engine, &bytes).unwrap();
    let ty = component.component_type();
    for (import, _) in ty.imports(&engine) {
        let ours = import.starts_with("bifrost:executions/") && import.ends_with("@0.1.0");
        assert!(
            ours || import.starts_with("wasi:"),
            "{name} imports {import}, which is neither WASI nor bifrost:executions@0.1.0"
        );
    }
    let exports: Vec<String> = ty.exports(&engine).map(|(e, _)| e.to_owned()).collect();
    assert_eq!(exports, ["run"], "{name} exports only the entry point");
}

#[test]
fn every_built_component_is_a_valid_workflow() {
    for (name, path) in bifrost_tests::COMPONENTS {
        check(name, path);
    }
    assert!(bifrost_tests::COMPONENTS.len() >= 3);
}
