//! The executions module with no I/O: its model, its rules, its errors, the interfaces of
//! its backends and the service that answers every call over them.
//!
//! The wasmtime host (`bifrost-host`) and the virtual provider component (`provider/`,
//! built for `wasm32-wasip2`) both answer `list`, `list-page`, `get` and
//! `get-current-logs` through one [`service::ExecutionsService`], so that a workflow sees
//! the same filters, limits, ordering, cursor pages, visibility and errors whichever of the
//! two it is composed with:
//!
//! - [`service`]: the calls themselves, over an [`store::ExecutionStore`] and a
//!   [`logs::LogStream`];
//! - [`store`] and [`logs`]: those two interfaces, with [`memory::MemoryStore`] and
//!   [`logs::MemoryLogStream`], which hold everything in memory (the PostgreSQL and SQLite
//!   stores are in `bifrost-sql`, the Redis stream in `bifrost-redis`);
//! - [`error`]: [`error::ApiError`], what a caller sees, and the backends' errors;
//! - [`query`]: validation of list filters (ISO-8601 bounds, limits), cursors and log
//!   ranges, and [`query::ListQuery::admits`] / [`query::newest_first`] for a store that
//!   evaluates a query in memory.
//! - [`identity`]: who an instance runs as and the visibility rule.
//! - [`access`]: who may reach the platform from outside the sandbox: API tokens and their
//!   scopes, idempotency keys of submissions, the audit record, and the interface of
//!   where they are kept.
//! - [`model`]: an execution and its log entries, as answered.
//! - [`queue`]: submitted executions claimed by runner processes, and the interface of the
//!   store that keeps them.
//! - [`workflows`]: workflows deployed by name, and the interface of where they are kept.
//! - [`backoff`]: the schedule of retries of a backend that failed (exponential, with
//!   jitter).
//! - [`limits`] and [`values`]: the size and depth limits on log lines, metadata and
//!   variables, and their checks; [`storable`]: what every store keeps (U+0000, number
//!   ranges).
//!
//! Every rejection is an [`InvalidArgument`] that names the parameter as the reference SDK
//! spells it.

pub mod access;
pub mod backoff;
pub mod children;
pub mod error;
pub mod identity;
pub mod limits;
pub mod logs;
pub mod memory;
pub mod model;
pub mod query;
pub mod queue;
pub mod service;
pub mod storable;
pub mod store;
pub mod values;
pub mod wit;
pub mod workflows;

pub use error::ApiError;
pub use identity::{ExecutionContext, Identity, Scope};
pub use service::ExecutionsService;

/// The value types crate, for [`wit_conversions!`]; not for other use.
#[doc(hidden)]
pub use bifrost_types as __types;

/// A parameter that was rejected, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidArgument {
    /// The parameter's name as the reference SDK spells it, e.g. `start_date`.
    pub parameter: &'static str,
    /// Why it was rejected, in words a workflow author can act on.
    pub reason: String,
}

impl InvalidArgument {
    /// A rejection of `parameter`.
    pub fn new(parameter: &'static str, reason: impl Into<String>) -> Self {
        Self {
            parameter,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for InvalidArgument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid argument {}: {}", self.parameter, self.reason)
    }
}

impl std::error::Error for InvalidArgument {}
