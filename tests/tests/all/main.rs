//! The integration tests of the host, the runner and the stores, in one test binary: each
//! test binary links wasmtime, cranelift, sqlx and redis, and on two cores the links would
//! dominate the test time. One module per area; a behaviour test runs on both backends as
//! `AREA::NAME::postgres_redis` and `AREA::NAME::embedded`.
//!
//! `cargo test --test all -- visibility::` runs one area (the filter applies to both crates' `all`
//! binaries; `-p` would build the dependencies again for this crate's features alone).

mod components;
mod composition;
mod concurrency;
mod conformance;
mod faults;
mod hostile;
mod javascript;
mod lifecycle;
mod list;
mod logs;
mod memory;
mod props;
mod python;
mod versions;
mod visibility;
