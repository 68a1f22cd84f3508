//! The components the tests and the benchmarks run, built from source by this crate's
//! build script: the guest programs of `tests/programs` (one constant per program, e.g.
//! [`PROBE`]), the example workflows, the virtual provider and, with the `python` feature,
//! the Python programs and examples (`PYTHON_<NAME>`) and, with the `js` feature, the
//! JavaScript and TypeScript programs and examples (`JS_<NAME>`). [`COMPONENTS`] lists every Rust
//! guest and example, so that a new program is validated without more code.
//!
//! The guests are built for `wasm32-wasip2` in the profile this crate is built in (a
//! release benchmark runs release guests), into `target/guests`, a target directory of
//! their own: cargo rebuilds only what changed, and the build script runs again only when
//! one of its inputs did. A Python component newer than its inputs is not built again.

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
