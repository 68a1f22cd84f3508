//! The imports of `bifrost:executions@0.1.0`, for components built against it: the same
//! calls as 0.2.0 (`host_impls!` in `impls.rs`), with times and log entry ids as text and no
//! `log-lines-dropped`.

use bifrost_core::query::LogRange;
use bifrost_core::{ApiError, InvalidArgument};

use crate::bindings::v0_1::bifrost::executions::{context, executions, logging, types};
use crate::ctx::{ExecutionsCtx, HasExecutions};
use crate::impls::host_impls;

bifrost_core::wit_conversions!(types, 0.1);

host_impls!(
    start: String,
    range: |start, count| LogRange::validate(start.as_deref(), count)
);
