//! Builds the guest programs in `programs/` and the example workflows for wasm32-wasip2,
//! and emits one path constant per component plus `COMPONENTS`, the list of them all (which
//! the component validation test walks, so a new program is checked without more code).

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
        "../guest",
        "../wit",
        "../examples",
        "../provider",
        "../query",
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
    std::fs::write(out_dir.join("programs.rs"), code).unwrap();
}

/// The `[[example]]` names of the programs crate.
fn example_names(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut names = Vec::new();
    let mut in_example = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_example = line == "[[example]]";
        } else if in_example && let Some(rest) = line.strip_prefix("name") {
            let name = rest
                .trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"');
            names.push(name.to_owned());
        }
    }
    names
}
