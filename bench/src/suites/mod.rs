//! One module per benchmark.

pub mod api;
pub mod children;
pub mod end_to_end;
pub mod host_calls;
pub mod ingest;
pub mod instantiate;
pub mod js_guest;
pub mod list_scale;
pub mod live_logs;
pub mod log_store;
pub mod memory;
pub mod native_floor;
pub mod pages;
pub mod purge;
pub mod python;
pub mod python_guest;
pub mod queue;
