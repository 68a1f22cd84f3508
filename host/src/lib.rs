//! Wasmtime host for the `bifrost:executions` WIT package: the imports `executions`,
//! `logging` and `context` of a workflow component (and, from 0.3.0, `workflows`), in the
//! style of wasmtime-wasi, in versions 0.3.0, 0.2.0 and 0.1.0 alike.
//!
//! An embedder puts an [`ExecutionsCtx`] in its store's data, built per instance with the
//! caller's identity (and, inside an execution, the execution and its [`LogWriter`]), and
//! links the imports with [`add_to_linker`]. The calls are answered by an
//! [`ExecutionsService`](bifrost_core::ExecutionsService) over any
//! [`ExecutionStore`](bifrost_core::store::ExecutionStore) and
//! [`LogStream`](bifrost_core::logs::LogStream): PostgreSQL and SQLite from `bifrost-sql`,
//! Redis from `bifrost-redis`, or the in-memory ones of `bifrost-core`. Whole executions
//! (the row, the deadline, the memory cap, the logs moved at the end) are
//! `bifrost-runner`'s.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use bifrost_core::{ExecutionsService, Identity};
//! use bifrost_host::{ExecutionsCtx, Workflow};
//! use bifrost_redis::RedisLogStream;
//! use bifrost_sql::PostgresStore;
//! use wasmtime::component::{Component, Linker, ResourceTable};
//! use wasmtime::{Engine, Store};
//! use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
//!
//! struct State {
//!     wasi: WasiCtx,
//!     table: ResourceTable,
//!     executions: ExecutionsCtx,
//! }
//!
//! impl WasiView for State {
//!     fn ctx(&mut self) -> WasiCtxView<'_> {
//!         WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> wasmtime::Result<()> {
//!     let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/test").await?;
//!     let logs = RedisLogStream::connect("redis://127.0.0.1:6379").await?;
//!     let service = ExecutionsService::new(Arc::new(store), Arc::new(logs));
//!
//!     let engine = Engine::default();
//!     let mut linker = Linker::<State>::new(&engine);
//!     wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
//!     bifrost_host::add_to_linker(&mut linker, |s: &mut State| &mut s.executions)?;
//!
//!     // Who the instance runs as is fixed here, not by the guest.
//!     let caller = Identity {
//!         user_id: uuid::Uuid::new_v4(),
//!         user_name: "Ada".into(),
//!         organization_id: None,
//!         is_platform_admin: false,
//!     };
//!     let mut store = Store::new(&engine, State {
//!         wasi: WasiCtx::builder().build(),
//!         table: ResourceTable::new(),
//!         executions: ExecutionsCtx::new(caller, service),
//!     });
//!     let component = Component::from_file(&engine, "workflow.wasm")?;
//!     let workflow = Workflow::instantiate_async(&mut store, &component, &linker).await?;
//!     let result = workflow.call_run(&mut store, r#"{"name": "Ada"}"#).await?;
//!     println!("{result:?}");
//!     Ok(())
//! }
//! ```
#![deny(missing_docs)]

mod ctx;
mod impls;
mod rate;
mod v0_1;
mod v0_2;
mod v0_3;
mod writer;

/// The bindings bindgen generates for the `workflow` world of `bifrost:executions@0.3.0`;
/// the host functions return `Result<T, ApiError>` for the WIT `result<T, error>`
/// (`trappable_error_type`).
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "workflow",
        imports: { default: async | trappable },
        exports: { default: async },
        trappable_error_type: {
            "bifrost:executions/types.error" => bifrost_core::ApiError,
        },
    });

    /// The bindings of `bifrost:executions@0.2.0`, whose imports
    /// [`add_to_linker`](crate::add_to_linker) links too. A 0.2.0 component exports the same
    /// `run`, so [`Workflow`](crate::Workflow) calls components of either version.
    pub mod v0_2 {
        wasmtime::component::bindgen!({
            path: "../wit/0.2.0",
            world: "workflow",
            imports: { default: async | trappable },
            exports: { default: async },
            trappable_error_type: {
                "bifrost:executions/types.error" => bifrost_core::ApiError,
            },
        });
    }

    /// The bindings of `bifrost:executions@0.1.0`, whose imports
    /// [`add_to_linker`](crate::add_to_linker) links too. A 0.1.0 component exports the same
    /// `run`, so [`Workflow`](crate::Workflow) calls components of either version.
    pub mod v0_1 {
        wasmtime::component::bindgen!({
            path: "../wit/0.1.0",
            world: "workflow",
            imports: { default: async | trappable },
            exports: { default: async },
            trappable_error_type: {
                "bifrost:executions/types.error" => bifrost_core::ApiError,
            },
        });
    }
}

pub use bindings::{Workflow, WorkflowPre};
pub use ctx::ExecutionsCtx;

/// Adds the `executions`, `logging`, `context` and `workflows` imports to `linker`, in every
/// version of the package this host serves (`bifrost:executions@0.3.0`, `@0.2.0` and
/// `@0.1.0`), so that components built against any of them run; `get` finds the
/// [`ExecutionsCtx`] in the store's data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut ExecutionsCtx,
) -> wasmtime::Result<()> {
    v0_3::link(linker, get)?;
    v0_2::link(linker, get)?;
    v0_1::link(linker, get)
}
pub use writer::{ClosedLog, LogWriter, LogWriterTask, StreamCatchUp, WriterOutcome};
