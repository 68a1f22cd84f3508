//! The query rules of the `bifrost:executions` module as pure functions, with no I/O.
//!
//! The wasmtime host and the virtual provider component (`provider/`, built for
//! `wasm32-wasip2`) both answer `list`, `list-page`, `get` and `get-current-logs`. They
//! share these rules, so that a workflow sees the same filters, limits, ordering, cursor
//! pages, visibility and errors whichever of the two it is composed with:
//!
//! - [`query`]: validation of list filters (ISO-8601 bounds, limits), cursors and log
//!   ranges, and [`query::ListQuery::admits`] / [`query::newest_first`] for a store that
//!   evaluates a query in memory.
//! - [`identity`]: who an instance runs as and the visibility rule.
//! - [`model`]: an execution and its log entries, as answered.
//! - [`limits`] and [`values`]: the size and depth limits on log lines, metadata and
//!   variables, their checks, and the wire form of timestamps.
//!
//! Every rejection is an [`InvalidArgument`] that names the parameter as the reference SDK
//! spells it.

pub mod identity;
pub mod limits;
pub mod model;
pub mod query;
pub mod values;

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
