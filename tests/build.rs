//! Builds the guest programs in `programs/` and the example workflows for wasm32-wasip2,
//! and emits one path constant per component plus `COMPONENTS`, the list of them all (which
//! the component validation test walks, so a new program is checked without more code).
//!
//! The Python programs in `python/` are built with componentize-py (pinned, installed from
//! PyPI once into a virtual environment in `target/python`), each into a component of the
//! `workflow` world with a constant `PYTHON_<NAME>`; a component newer than its source, the
//! WIT and the tool is not built again.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    // A target directory of its own: the outer cargo holds the lock on the main one.
    let target_dir = root.join("target").join("guests");

    for dir in [
        "programs",
        "protocol",
        "../guest",
        "../wit",
        "../examples",
        "../provider",
        "../core",
        "../types",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(dir).display()
        );
    }

    let programs = example_names(&manifest_dir.join("programs/Cargo.toml"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "--target", "wasm32-wasip2", "--lib", "--examples"])
        .args(["-p", "test-programs", "-p", "hello", "-p", "failure-report"])
        .args(["-p", "bifrost-provider"])
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for the native build (coverage, sanitizers) must not reach wasm.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .status()
        .expect("run cargo to build the guest programs");
    assert!(
        status.success(),
        "building the guest programs for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );

    let wasm_dir = target_dir.join("wasm32-wasip2").join("debug");
    let mut code = String::new();
    let mut names = Vec::new();
    for name in &programs {
        let path = wasm_dir.join("examples").join(format!("{name}.wasm"));
        assert!(path.exists(), "missing {}", path.display());
        code += &format!(
            "/// Component built from `tests/programs/src/{name}.rs`.\npub const {}: &str = {:?};\n",
            name.to_uppercase(),
            path.display().to_string()
        );
        names.push(name.clone());
    }
    for (konst, file) in [
        ("EXAMPLE_HELLO", "hello"),
        ("EXAMPLE_FAILURE_REPORT", "failure_report"),
    ] {
        let path = wasm_dir.join(format!("{file}.wasm"));
        assert!(path.exists(), "missing {}", path.display());
        code += &format!(
            "/// Example workflow component.\npub const {konst}: &str = {:?};\n",
            path.display().to_string()
        );
    }
    let provider = wasm_dir.join("bifrost_provider.wasm");
    assert!(provider.exists(), "missing {}", provider.display());
    code += &format!(
        "/// The virtual provider component (`provider/`), world `bifrost:executions/provider`.\npub const PROVIDER: &str = {:?};\n",
        provider.display().to_string()
    );
    code += "/// Every guest program and example: name and component path.\npub const COMPONENTS: &[(&str, &str)] = &[\n";
    for name in &names {
        code += &format!("    ({name:?}, {}),\n", name.to_uppercase());
    }
    code +=
        "    (\"hello\", EXAMPLE_HELLO),\n    (\"failure-report\", EXAMPLE_FAILURE_REPORT),\n];\n";
    code += &python_programs(&root, &manifest_dir.join("python"));
    std::fs::write(out_dir.join("programs.rs"), code).unwrap();
}

/// componentize-py, pinned.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// Builds each `python/*.py` into a component; returns the constants naming them.
fn python_programs(root: &Path, dir: &Path) -> String {
    println!("cargo:rerun-if-changed={}", dir.display());
    let venv = root.join("target").join("python");
    let tool = venv.join("bin").join("componentize-py");
    if !tool.exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            &format!(
                "{python} -m venv (Python 3 with venv is needed for the Python test programs)"
            ),
        );
        run(
            Command::new(venv.join("bin").join("pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                COMPONENTIZE_PY,
            ]),
            &format!("pip install {COMPONENTIZE_PY} (from PyPI)"),
        );
    }
    let wit = root.join("wit");
    let inputs_changed = newest_change(&[&wit, &tool]);
    let out = root.join("target").join("guests").join("python");
    std::fs::create_dir_all(&out).unwrap();
    let mut programs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "py"))
                .collect()
        })
        .unwrap_or_default();
    programs.sort();
    let mut code = String::new();
    for source in programs {
        let name = source.file_stem().unwrap().to_str().unwrap().to_owned();
        let component = out.join(format!("{name}.wasm"));
        let built = std::fs::metadata(&component)
            .and_then(|m| m.modified())
            .ok();
        if built.is_none_or(|b| b < inputs_changed.max(newest_change(&[&source]))) {
            run(
                Command::new(&tool)
                    .arg("-d")
                    .arg(&wit)
                    .args(["-w", "workflow", "componentize", &name, "-p"])
                    .arg(dir)
                    .arg("-o")
                    .arg(&component),
                &format!("componentize-py for tests/python/{name}.py"),
            );
        }
        code += &format!(
            "/// Component built from `tests/python/{name}.py` with componentize-py.\npub const PYTHON_{}: &str = {:?};\n",
            name.to_uppercase(),
            component.display().to_string()
        );
    }
    code
}

/// Runs a command of the build, failing the build with `what` if it fails.
fn run(cmd: &mut Command, what: &str) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(status.success(), "{what} failed ({status})");
}

/// The latest modification time of these files, or of any file in these directories.
fn newest_change(paths: &[&Path]) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for path in paths {
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                newest = newest.max(newest_change(&[&entry.path()]));
            }
        } else if let Ok(modified) = meta.modified() {
            newest = newest.max(modified);
        }
    }
    newest
}

/// The example targets of the programs crate, as `cargo metadata` reports them.
fn example_names(manifest: &Path) -> Vec<String> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest)
        .no_deps()
        .exec()
        .unwrap_or_else(|e| panic!("cargo metadata of {}: {e}", manifest.display()));
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let programs = metadata
        .packages
        .iter()
        .find(|p| canonical(p.manifest_path.as_std_path()) == canonical(manifest))
        .unwrap_or_else(|| panic!("no package at {}", manifest.display()));
    let mut names: Vec<String> = programs
        .targets
        .iter()
        .filter(|t| t.is_example())
        .map(|t| t.name.clone())
        .collect();
    names.sort();
    names
}
