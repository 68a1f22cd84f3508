//! Every component the project builds (test programs and examples) is a valid component of
//! the `workflow` world: it validates, imports nothing but WASI and this package's
//! interfaces, and exports `run`; the virtual provider and the binary WIT package validate
//! too. What composition tools (wac, wasm-tools) rely on. (`wasmparser` is the validator
//! `wasm-tools validate` runs.)

use bifrost_tests::compose::checked_shape;

fn check(name: &str, path: &str) {
    // The one program built against the earlier version, which the host still runs.
    let version = if name == "v0_1" { "@0.1.0" } else { "@0.2.0" };
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {path}: {e}"));
    let (imports, exports) = checked_shape(name, &bytes);
    for import in imports {
        let ours = import.starts_with("bifrost:executions/") && import.ends_with(version);
        assert!(
            ours || import.starts_with("wasi:"),
            "{name} imports {import}, which is neither WASI nor bifrost:executions{version}"
        );
    }
    assert_eq!(exports, ["run"], "{name} exports only the entry point");
}

#[test]
fn every_built_component_is_a_valid_workflow() {
    for (name, path) in bifrost_tests::COMPONENTS {
        check(name, path);
    }
    assert!(bifrost_tests::COMPONENTS.len() >= 3);
}

/// The virtual provider is a component of the `provider` world: it exports the package's
/// four interfaces and imports nothing but WASI.
#[test]
fn the_provider_exports_the_package_and_imports_only_wasi() {
    let bytes = std::fs::read(bifrost_tests::PROVIDER).unwrap();
    let (imports, mut exports) = checked_shape("the provider", &bytes);
    for import in imports {
        assert!(import.starts_with("wasi:"), "the provider imports {import}");
    }
    exports.sort();
    assert_eq!(
        exports,
        [
            "bifrost:executions/context@0.2.0",
            "bifrost:executions/executions@0.2.0",
            "bifrost:executions/logging@0.2.0",
            "bifrost:executions/types@0.2.0",
        ]
    );
}

/// The binary WIT package `bifrost-runner wit-package` writes validates as a component.
#[test]
fn the_binary_wit_package_validates() {
    let package = bifrost_runner::wit::package().unwrap();
    checked_shape(&package.file_name, &package.bytes);
}
