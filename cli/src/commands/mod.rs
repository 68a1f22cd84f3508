//! One module per command.

pub mod cancel;
pub mod executions;
pub mod offline;
pub mod ops;
pub mod purge;
pub mod run;
pub mod serve;
pub mod submit;
pub mod sweep;
pub mod tokens;
pub mod wit_package;
pub mod workflows;
