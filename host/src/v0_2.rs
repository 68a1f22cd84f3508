//! The imports of `bifrost:executions@0.2.0`, for components built against it (the guest
//! crate and the Python package today): times as `datetime` records, log entry ids as
//! `stream-id` records, `log-lines-dropped`.

use bifrost_core::model::StreamId;
use bifrost_core::query::LogRange;
use bifrost_core::{ApiError, InvalidArgument};

use crate::bindings::v0_2::bifrost::executions::{context, executions, logging, types};
use crate::ctx::{ExecutionsCtx, HasExecutions};
use crate::impls::host_impls;

bifrost_core::wit_conversions!(types);

// `start` is a `stream-id` record.
host_impls!(
    start: types::StreamId,
    range: |start, count| LogRange::from_id(start.map_or(StreamId::MIN, Into::into), count)
);
