//! The `bifrost-runner` command line, run as people and scripts run it, in one test binary
//! (each binary links wasmtime, sqlx and redis). One module per area.
//!
//! `cargo test -p bifrost-cli --test all -- queue::` runs one area.

mod cli;
mod common;
mod embedded;
mod follow;
mod queue;
mod terminal;
mod workflows;
