//! The `bifrost-runner` command line, run as people and scripts run it, in one test binary
//! (each binary links wasmtime, sqlx and redis). One module per area.
//!
//! `cargo test --test all -- queue::` runs one area (the filter applies to both crates' `all`
//! binaries; `-p` would build the dependencies again for this crate's features alone).

mod api;
mod children;
mod cli;
mod common;
mod embedded;
mod follow;
mod purge;
mod queue;
mod terminal;
mod web;
mod workflows;
