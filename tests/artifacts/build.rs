//! Builds every component the tests and the benchmarks run, in one place: the guest
//! programs in `tests/programs/` and the example workflows for wasm32-wasip2 (in this
//! build's profile), the virtual provider, and with the `python` feature the Python
//! programs and examples. Emits one path constant per component plus `COMPONENTS`, the list
//! of the Rust ones (which the component validation test walks, so a new program is checked
//! without more code).
//!
//! The Python programs (`tests/python/raw`, `tests/python/workflows`) and the Python
//! examples (`examples/python`) are built into components of the `workflow` world, each
//! with a constant `PYTHON_<NAME>` (see `python_programs`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.ancestors().nth(2).unwrap().to_path_buf();
    let tests_dir = root.join("tests");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    // A target directory of its own: the outer cargo holds the lock on the main one.
    let target_dir = root.join("target").join("guests");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");

    // What the guests are built from: the programs, the examples, the guest crate and its
    // types, the WIT, and the provider with the core it links.
    for dir in [
        "tests/programs",
        "tests/protocol",
        "guest",
        "wit",
        "examples/hello",
        "examples/failure-report",
        "provider",
        "core",
        "types",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }

    let programs = example_names(&tests_dir.join("programs/Cargo.toml"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .current_dir(&root)
        .args(["build", "--target", "wasm32-wasip2", "--lib", "--examples"])
        .args(["-p", "test-programs", "-p", "hello", "-p", "failure-report"])
        .args(["-p", "bifrost-provider"])
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for the native build (coverage, sanitizers) must not reach wasm.
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
        "building the guest programs for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );

    let wasm_dir = target_dir
        .join("wasm32-wasip2")
        .join(if release { "release" } else { "debug" });
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
    if std::env::var_os("CARGO_FEATURE_PYTHON").is_some() {
        code += &python_programs(&root, &tests_dir);
    }
    if std::env::var_os("CARGO_FEATURE_JS").is_some() {
        code += &js_programs(&root, &tests_dir);
    }
    std::fs::write(out_dir.join("artifacts.rs"), code).unwrap();
}

/// Builds the Python test programs and examples into components; returns the constants
/// naming them.
///
/// One virtual environment, `target/python`, holds the repository's Python package
/// (`python/`, installed editable with its test extra, so componentize-py comes in at the
/// version the package pins, and pytest for its unit tests); it is made once and installed
/// again when `python/pyproject.toml` changes. `tests/python/raw/*.py` are built with
/// componentize-py alone (programs against the generated bindings, as any Python component
/// would be); `tests/python/workflows/*.py` and `examples/python/*.py` with `bifrost-build`,
/// as workflow authors build theirs. A component newer than its inputs is not built again.
fn python_programs(root: &Path, tests_dir: &Path) -> String {
    let package = root.join("python");
    let raw_dir = tests_dir.join("python").join("raw");
    let workflows_dir = tests_dir.join("python").join("workflows");
    let examples_dir = root.join("examples").join("python");
    // The package's own sources, not `python/src` (where `pip install --editable` writes
    // its egg-info): a build must not change its own inputs, or the next one runs again.
    for dir in [
        &package.join("src").join("bifrost"),
        &package.join("pyproject.toml"),
        &raw_dir,
        &workflows_dir,
        &examples_dir,
    ] {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    let venv = python_env(root, &package);
    let bin = venv.join("bin");
    // The current version's file: the directory also holds the earlier versions, which
    // componentize-py would read as well.
    let wit = root.join("wit").join("executions.wit");
    let out = root.join("target").join("guests").join("python");
    std::fs::create_dir_all(&out).unwrap();

    let tool_changed = newest_change(&[&bin.join("componentize-py")]);
    let mut built: Vec<(String, String, PathBuf)> = Vec::new();
    let mut jobs: Vec<(String, Command)> = Vec::new();
    for (source, via_package) in py_files(&raw_dir)
        .into_iter()
        .map(|s| (s, false))
        .chain(py_files(&workflows_dir).into_iter().map(|s| (s, true)))
        .chain(py_files(&examples_dir).into_iter().map(|s| (s, true)))
    {
        let name = source.file_stem().unwrap().to_str().unwrap().to_owned();
        let component = out.join(format!("{name}.wasm"));
        let shown = shown(root, &source);
        let inputs = if via_package {
            newest_change(&[&source, &wit, &package.join("src").join("bifrost")])
        } else {
            newest_change(&[&source, &wit])
        }
        .max(tool_changed);
        if stale(&component, inputs) {
            let mut cmd = if via_package {
                let mut cmd = Command::new(bin.join("bifrost-build"));
                cmd.arg(&source).arg("-o").arg(&component);
                cmd
            } else {
                // componentize-py's own interpreter writes `__pycache__` beside the
                // module it imports: it imports a copy, so that the sources, this
                // script's inputs, stay as they are (a change there runs it again).
                let copy = out.join("src").join(&name);
                std::fs::create_dir_all(&copy).unwrap();
                std::fs::copy(&source, copy.join(source.file_name().unwrap())).unwrap();
                let mut cmd = Command::new(bin.join("componentize-py"));
                cmd.arg("-d")
                    .arg(&wit)
                    .args(["-w", "workflow", "componentize", &name, "-p"])
                    .arg(&copy)
                    .arg("-o")
                    .arg(&component);
                cmd
            };
            // No `__pycache__` beside the sources from the host's Python either.
            cmd.env_remove("PYTHONPATH")
                .env("PYTHONDONTWRITEBYTECODE", "1");
            jobs.push((shown.clone(), cmd));
        }
        let tool = if via_package {
            "bifrost-build"
        } else {
            "componentize-py"
        };
        built.push((name, format!("`{shown}` with {tool}"), component));
    }
    // Each build is a separate process of a few seconds: run them side by side.
    let at_once = jobs.len();
    run_side_by_side(&mut jobs, at_once);
    component_constants("PYTHON", "Python program and example", &built)
}

/// Builds the JavaScript and TypeScript test programs and examples into components with
/// the package's `bifrost-build`; returns the constants naming them (`JS_<NAME>`).
///
/// The package (`js/`) is copied to `target/js/bifrost` and its locked dependencies
/// (componentize-js, esbuild, TypeScript) installed there with `npm ci`, once and again when
/// `js/package-lock.json` changes; the copy's sources are refreshed on every build. Each of
/// `tests/js/*` and `examples/js/*` (`.js`, `.ts`) is built with that copy's `bifrost-build`,
/// as an author builds theirs. A component newer than its inputs is not built again.
fn js_programs(root: &Path, tests_dir: &Path) -> String {
    let package = root.join("js");
    let programs_dir = tests_dir.join("js");
    let examples_dir = root.join("examples").join("js");
    for path in [
        package.join("src"),
        package.join("bin"),
        package.join("types"),
        package.join("wit"),
        package.join("package.json"),
        package.join("package-lock.json"),
        programs_dir.clone(),
        examples_dir.clone(),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let installed = js_package(root, &package);
    let wit = package.join("wit").join("executions.wit");
    let out = root.join("target").join("guests").join("js");
    std::fs::create_dir_all(&out).unwrap();
    let tool_changed = newest_change(&[
        &package.join("src"),
        &package.join("bin"),
        &package.join("package-lock.json"),
        &wit,
    ]);
    let mut built: Vec<(String, String, PathBuf)> = Vec::new();
    let mut jobs: Vec<(String, Command)> = Vec::new();
    for source in js_files(&programs_dir)
        .into_iter()
        .chain(js_files(&examples_dir))
    {
        let name = source.file_stem().unwrap().to_str().unwrap().to_owned();
        let component = out.join(format!("{name}.wasm"));
        let shown = shown(root, &source);
        let inputs = newest_change(&[&source]).max(tool_changed);
        if stale(&component, inputs) {
            let mut cmd = Command::new("node");
            cmd.arg(installed.join("bin").join("bifrost-build.js"))
                .arg(&source)
                .arg("-o")
                .arg(&component);
            jobs.push((shown.clone(), cmd));
        }
        built.push((
            name,
            format!("`{shown}` with the JavaScript package's bifrost-build"),
            component,
        ));
    }
    // Each build is a Node.js process of several seconds of one core: two at a time.
    run_side_by_side(&mut jobs, 2);
    let mut code = component_constants(
        "JS",
        "JavaScript and TypeScript program and example",
        &built,
    );
    code += &format!(
        "/// The JavaScript package as installed for the tests (with its dependencies).\npub const JS_PACKAGE: &str = {:?};\n",
        installed.display().to_string()
    );
    code
}

/// A source's path as the build shows it: from the repository's root.
fn shown(root: &Path, source: &Path) -> String {
    source
        .strip_prefix(root)
        .unwrap_or(source)
        .display()
        .to_string()
}

/// Whether `component` is missing or older than its newest input.
fn stale(component: &Path, inputs: std::time::SystemTime) -> bool {
    std::fs::metadata(component)
        .and_then(|m| m.modified())
        .map_or(true, |built| built < inputs)
}

/// Runs the build commands `jobs` (what each builds, and the command), `at_once` at a time,
/// failing the build if one fails.
fn run_side_by_side(jobs: &mut [(String, Command)], at_once: usize) {
    for batch in jobs.chunks_mut(at_once.max(1)) {
        std::thread::scope(|scope| {
            for (shown, cmd) in batch.iter_mut() {
                let what = format!("building {shown}");
                scope.spawn(move || run(cmd, &what));
            }
        });
    }
}

/// The constants naming built components: `<PREFIX>_<NAME>` for each (name, how it was
/// built, path) of `built`, and `<PREFIX>_COMPONENTS` listing them (each a `what`).
fn component_constants(prefix: &str, what: &str, built: &[(String, String, PathBuf)]) -> String {
    let mut code = String::new();
    let mut list = String::new();
    for (name, how, path) in built {
        let konst = format!("{prefix}_{}", name.to_uppercase());
        code += &format!(
            "/// Component built from {how}.\npub const {konst}: &str = {:?};\n",
            path.display().to_string()
        );
        list += &format!("    ({name:?}, {konst}),\n");
    }
    code += &format!(
        "/// Every {what}: name and component path.\npub const {prefix}_COMPONENTS: &[(&str, &str)] = &[\n{list}];\n"
    );
    code
}

/// The JavaScript package copied into `target/js/bifrost` with its locked dependencies
/// installed (see [`js_programs`]).
fn js_package(root: &Path, package: &Path) -> PathBuf {
    let copy = root.join("target").join("js").join("bifrost");
    let stamp = copy.join("bifrost-installed-package-lock.json");
    let lock = std::fs::read_to_string(package.join("package-lock.json"))
        .expect("read js/package-lock.json");
    // The sources, refreshed every time (cheap).
    for dir in ["src", "bin", "types", "wit"] {
        let _ = std::fs::remove_dir_all(copy.join(dir));
        copy_dir(&package.join(dir), &copy.join(dir));
    }
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(package.join(file), copy.join(file)).unwrap();
    }
    let installed = std::fs::read_to_string(&stamp).ok();
    if installed.as_deref() != Some(lock.as_str()) || !copy.join("node_modules").exists() {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&copy),
            "npm ci in target/js/bifrost (the JavaScript package's locked dependencies from the \
             npm registry; Node.js 20 or later and npm are needed for the JavaScript workflows)",
        );
        std::fs::write(&stamp, lock).unwrap();
    }
    copy
}

/// Copies the files of `from` (recursively) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The `*.js` and `*.ts` files of a directory, sorted; none if it does not exist.
fn js_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "js" || x == "ts"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The virtual environment with the Python package installed (see [`python_programs`]).
fn python_env(root: &Path, package: &Path) -> PathBuf {
    let venv = root.join("target").join("python");
    let stamp = venv.join("bifrost-installed-pyproject.toml");
    let pyproject = std::fs::read_to_string(package.join("pyproject.toml"))
        .expect("read python/pyproject.toml");
    let installed = std::fs::read_to_string(&stamp).ok();
    if installed.as_deref() == Some(pyproject.as_str())
        && venv.join("bin").join("bifrost-build").exists()
    {
        return venv;
    }
    if !venv.join("bin").join("python").exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            &format!(
                "{python} -m venv (Python 3.11 or later with venv is needed for the Python workflows)"
            ),
        );
    }
    run(
        Command::new(venv.join("bin").join("pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--editable",
            ])
            .arg(format!("{}[test]", package.display())),
        "pip install --editable python[test] (the package, componentize-py and pytest from PyPI)",
    );
    std::fs::write(&stamp, pyproject).unwrap();
    venv
}

/// The `*.py` files of a directory, sorted; none if it does not exist.
fn py_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "py"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
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
