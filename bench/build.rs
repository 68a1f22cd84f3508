//! Builds the benchmarks' guest programs (`tests/programs`: `trivial` and `bench`; the
//! `hello` example) for
//! wasm32-wasip2, in the profile of this build (a release benchmark runs release guests),
//! and emits their paths as constants.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    // The guests' own target directory (the outer cargo holds the lock on the main one),
    // shared with the tests' build script.
    let target_dir = root.join("target").join("guests");
    for dir in [
        "tests/programs",
        "tests/protocol",
        "examples/hello",
        "guest",
        "wit",
        "types",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .current_dir(&root)
        .args([
            "build",
            "--target",
            "wasm32-wasip2",
            "-p",
            "test-programs",
            "-p",
            "hello",
        ])
        .args(["--lib", "--example", "trivial", "--example", "bench"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS");
    if release {
        build.arg("--release");
    }
    let status = build
        .status()
        .expect("run cargo to build the guest programs");
    assert!(
        status.success(),
        "building the benchmark guests for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );
    let profile_dir =
        target_dir
            .join("wasm32-wasip2")
            .join(if release { "release" } else { "debug" });
    let dir = profile_dir.join("examples");
    let mut code = String::new();
    let hello = profile_dir.join("hello.wasm");
    assert!(hello.exists(), "missing {}", hello.display());
    code += &format!(
        "/// The `hello` example workflow.\npub const EXAMPLE_HELLO: &str = {:?};\n",
        hello.display().to_string()
    );
    for name in ["trivial", "bench"] {
        let path = dir.join(format!("{name}.wasm"));
        assert!(path.exists(), "missing {}", path.display());
        code += &format!(
            "/// Component built from `tests/programs/src/{name}.rs`.\npub const {}: &str = {:?};\n",
            name.to_uppercase(),
            path.display().to_string()
        );
    }
    std::fs::write(out_dir.join("guests.rs"), code).unwrap();
}
