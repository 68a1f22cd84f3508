//! Every component the project builds (the Rust test programs and examples, the Python and
//! the JavaScript programs and examples) is a valid component of the `workflow` world: it
//! validates, imports nothing but WASI and this package's interfaces, and exports `run` (a
//! Python one also componentize-py's own `exports`); the virtual provider and the binary WIT package
//! validate too. What composition tools (wac, wasm-tools) rely on. (`wasmparser` is the validator
//! `wasm-tools validate` runs.)

use bifrost_tests::compose::checked_shape;

/// Checks the component at `path`: it validates, imports WASI and this package only, and
/// exports exactly `exports` (sorted).
fn check_exports(name: &str, path: &str, exports: &[&str]) {
    // The programs built against an earlier version than the guest crate's, with
    // wit-bindgen alone: the host still runs them.
    let version = match name {
        "v0_1" => "@0.1.0",
        "v0_2" => "@0.2.0",
        _ => "@0.3.0",
    };
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {path}: {e}"));
    let (imports, got_exports) = checked_shape(name, &bytes);
    for import in imports {
        let ours = import.starts_with("bifrost:executions/") && import.ends_with(version);
        assert!(
            ours || import.starts_with("wasi:"),
            "{name} imports {import}, which is neither WASI nor bifrost:executions{version}"
        );
    }
    let mut got = got_exports;
    got.sort();
    assert_eq!(got, exports, "{name}'s exports");
}

fn check(name: &str, path: &str) {
    check_exports(name, path, &["run"]);
}

#[test]
fn every_built_component_is_a_valid_workflow() {
    for (name, path) in bifrost_tests::COMPONENTS {
        check(name, path);
    }
    let names: Vec<&str> = bifrost_tests::COMPONENTS.iter().map(|(n, _)| *n).collect();
    for name in [
        "probe",
        "exact",
        "v0_1",
        "v0_2",
        "v0_3",
        "hello",
        "failure-report",
    ] {
        assert!(names.contains(&name), "{name} is not among {names:?}");
    }
}

/// The Python components (componentize-py alone, and `bifrost-build` with the package):
/// one for every Python source of the tests and the examples, each a valid workflow.
#[test]
fn every_python_component_is_a_valid_workflow() {
    // Beside `run`, componentize-py's own interface (`exports`, with its `init`), which
    // initialises the interpreter ahead of the first call.
    for (name, path) in bifrost_tests::PYTHON_COMPONENTS {
        check_exports(name, path, &["exports", "run"]);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let mut sources = Vec::new();
    for dir in [
        "tests/python/raw",
        "tests/python/workflows",
        "examples/python",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "py") {
                sources.push(path.file_stem().unwrap().to_str().unwrap().to_owned());
            }
        }
    }
    sources.sort();
    let mut built: Vec<String> = bifrost_tests::PYTHON_COMPONENTS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    built.sort();
    assert_eq!(built, sources, "one component per Python source");
}

/// The JavaScript and TypeScript components (`bifrost-build` with the npm package): one for
/// every source of the tests and the examples, each a valid workflow that exports `run`
/// alone and imports no `wasi:http` (the build leaves StarlingMonkey's `fetch` out).
#[test]
fn every_javascript_component_is_a_valid_workflow() {
    for (name, path) in bifrost_tests::JS_COMPONENTS {
        check(name, path);
        let bytes = std::fs::read(path).unwrap();
        let (imports, _) = checked_shape(name, &bytes);
        assert!(
            imports.iter().all(|i| !i.starts_with("wasi:http/")),
            "{name} imports {imports:?}"
        );
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let mut sources = Vec::new();
    for dir in ["tests/js", "examples/js"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "js" || e == "ts") {
                sources.push(path.file_stem().unwrap().to_str().unwrap().to_owned());
            }
        }
    }
    sources.sort();
    let mut built: Vec<String> = bifrost_tests::JS_COMPONENTS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    built.sort();
    assert_eq!(built, sources, "one component per JavaScript source");
}

/// The virtual provider is a component of the `provider` world: it exports the package's
/// five interfaces and imports nothing but WASI.
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
            "bifrost:executions/context@0.3.0",
            "bifrost:executions/executions@0.3.0",
            "bifrost:executions/logging@0.3.0",
            "bifrost:executions/types@0.3.0",
            "bifrost:executions/workflows@0.3.0",
        ]
    );
}

/// The binary WIT package `bifrost-runner wit-package` writes validates as a component.
#[test]
fn the_binary_wit_package_validates() {
    let package = bifrost_runner::wit::package().unwrap();
    checked_shape(&package.file_name, &package.bytes);
}
