//! A virtual provider of the `bifrost:executions` interfaces, backed by a JSON fixture.
//!
//! Built for `wasm32-wasip2`, this crate is a component of the world
//! `bifrost:executions/provider@0.3.0`: it exports `types`, `executions`, `logging`,
//! `context` and `workflows`.
//! Composed into a workflow (with `wac plug` or the `wac-graph` crate) it takes the host's
//! place, and the composed component imports nothing but WASI: the workflow runs in any
//! component runtime, with no database and no log stream. That is how a workflow is tested
//! offline.
//!
//! # The fixture
//!
//! The provider reads the JSON file named by the environment variable `BIFROST_FIXTURE`
//! (default `bifrost-fixture.json`, relative to the working directory), through WASI, on the
//! first call. The runtime must give the component that variable and a preopened directory
//! holding the file (`wasmtime run --env BIFROST_FIXTURE=fixture.json --dir .`).
//!
//! ```json
//! {
//!   "caller": {"user_id": "…", "user_name": "Ada", "org_id": "…", "is_platform_admin": false},
//!   "current_execution": {"execution_id": "…", "workflow_name": "nightly-report"},
//!   "executions": [
//!     {"execution_id": "…", "workflow_name": "sync-users", "executed_by": "…",
//!      "org_id": "…", "status": "Failed", "started_at": "2026-04-25T10:00:00Z",
//!      "error_message": "timeout", "logs": [
//!        {"level": "ERROR", "message": "gave up", "timestamp": "2026-04-25T10:00:01Z"}]}
//!   ]
//! }
//! ```
//!
//! Execution rows have the fields of the WIT `workflow-execution` record with the reference
//! SDK's names, which is also what `bifrost-runner get` and `bifrost-runner list` print: a
//! fixture can start as a copy of real output. Required: `execution_id`, `workflow_name`,
//! `executed_by`, `status`, and `started_at` or `created_at`. Log entry ids may be left
//! out; they then follow each other from the entry's timestamp. A `current_execution` not
//! among the rows is added as a `Running` row started by the caller when the fixture loads,
//! with input `{}` and no form or session (list the row to choose them); a listed one must be
//! `Running`. Times keep whole microseconds, as the host's stores do.
//!
//! ## Workflows a workflow starts
//!
//! The fixture's `workflows` are what `workflows.list` shows and what `workflows.execute` and
//! `workflows.start` start; `current_execution` may name its own `parent_execution_id`.
//!
//! ```json
//! "workflows": [
//!   {"name": "process_order", "runs": [
//!     {"input": {"order_id": "1"}, "result": {"shipped": true}},
//!     {"status": "Failed", "error_message": "no such order"}]},
//!   {"name": "cleanup"}
//! ]
//! ```
//!
//! No child runs: `start` records a child of the current execution (a new id, the caller's
//! identity, the input, the current execution as its parent) that has already ended as the
//! first run whose `input` equals the child's input (or that has none) says; `status`
//! defaults to `Success`, and a workflow that lists no runs succeeds with the result `null`.
//! A workflow the fixture does not list is `not-found`; listed runs of which none answers the
//! input are `internal` (the fixture is incomplete). `wait` answers at once, for a child of the
//! current execution (the fixture's rows with it as their parent included). `version`
//! defaults to `fixture` and `deployed_at` to when the fixture loads. Unlike the host, the
//! provider sets no limit on depth or on the number of children.
//!
//! # Behaviour
//!
//! The provider runs the host's own service: `bifrost_core::ExecutionsService`, over the
//! in-memory store (`bifrost_core::memory::MemoryStore`, which holds the fixture's
//! executions and their log entries) and the in-memory live log stream
//! (`bifrost_core::logs::MemoryLogStream`, which holds the current execution's log, as the
//! host's stream does while an execution runs), and converts its answers to WIT with the
//! host's `bifrost_core::wit_conversions!`. So calls answer as the host does, by the same
//! code: filters, limits and their defaults, newest-first order, cursor pages, the
//! visibility rule, redaction of admin-only fields, the checks and limits of `log` and
//! `set-variable`, and the same errors (`internal` included, for a failure of the provider
//! itself). See [`instance`].
//!
//! `log` appends to the current execution's log (so `get-current-logs` reads it back) and
//! `set-variable` sets the current execution's variable (variables the fixture lists for it
//! count towards the cap on their total); both last as long as the instance, and the file
//! is never written. Differences from the host: no query rate limit; no log volume caps
//! beyond the size of one line; and what the workflow prints to stdout and stderr stays
//! there (the host turns each line into an `INFO` or `ERROR` log entry; the provider cannot
//! see those streams). A fixture that cannot be read or parsed makes every call of
//! `executions`, `logging` and `set-variable` fail with `unavailable` and a message that
//! says why; `context.caller` then answers with the nil user id and no name, and
//! `context.execution-id` and `context.workflow-name` with none.

pub mod fixture;
pub mod instance;

#[cfg(target_arch = "wasm32")]
use std::sync::Mutex;

#[cfg(target_arch = "wasm32")]
use bifrost_core::ApiError;

/// The environment variable that names the fixture file.
pub const FIXTURE_VAR: &str = "BIFROST_FIXTURE";
/// The fixture file read when [`FIXTURE_VAR`] is not set.
pub const DEFAULT_FIXTURE: &str = "bifrost-fixture.json";

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        world: "provider",
        path: "../wit",
    });
}

#[cfg(target_arch = "wasm32")]
mod component;

/// This component instance, loaded from the fixture on first use.
#[cfg(target_arch = "wasm32")]
static INSTANCE: Mutex<Option<Result<instance::Instance, String>>> = Mutex::new(None);

/// Runs `f` on the loaded instance, or fails with `unavailable` and the load error.
#[cfg(target_arch = "wasm32")]
fn with_instance<T>(
    f: impl FnOnce(&mut instance::Instance) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut guard = INSTANCE.lock().unwrap_or_else(|p| p.into_inner());
    match guard.get_or_insert_with(read_fixture) {
        Ok(instance) => f(instance),
        Err(e) => Err(ApiError::Unavailable(e.clone())),
    }
}

#[cfg(target_arch = "wasm32")]
fn read_fixture() -> Result<instance::Instance, String> {
    let path = std::env::var(FIXTURE_VAR).unwrap_or_else(|_| DEFAULT_FIXTURE.to_owned());
    let text = std::fs::read_to_string(&path).map_err(|e| format!("fixture {path}: {e}"))?;
    fixture::load(&text, chrono::Utc::now())
        .and_then(instance::Instance::new)
        .map_err(|e| format!("fixture {path}: {e}"))
}
