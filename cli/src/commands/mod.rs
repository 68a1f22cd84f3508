//! One module per command.

pub mod executions;
pub mod offline;
pub mod ops;
pub mod queue;
pub mod run;
pub mod sweep;
pub mod wit_package;
pub mod workflows;
