//! Wasmtime host for the `bifrost:executions` WIT package.
//!
//! Workflows compiled to WebAssembly components query execution history and live logs
//! through the `executions`, `logging` and `context` imports. This crate implements them
//! against an [`ExecutionStore`](store::ExecutionStore) (PostgreSQL) and a
//! [`LogStream`](logs::LogStream) (Redis Streams), with each instance's identity and
//! execution bound by the host when the instance is created.
#![deny(missing_docs)]

pub mod backends;
mod ctx;
pub mod error;
pub mod identity;
pub mod limits;
pub mod logs;
pub mod model;
pub mod offline;
pub mod query;
pub mod runner;
pub mod service;
pub mod store;
pub mod wit;

pub use ctx::{ExecutionsCtx, Workflow, WorkflowPre, add_to_linker};
pub use error::ApiError;
pub use identity::{ExecutionContext, Identity, Scope};
pub use service::ExecutionsService;

/// The README's code blocks, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
