//! The one definition of how the core's values cross the WIT boundary.
//!
//! [`wit_conversions!`](crate::wit_conversions) is expanded in each crate that has
//! bindings of `bifrost:executions/types`: the host (imports) and the virtual provider
//! (exports), and so will be in a binding of a later WIT version whose records keep these
//! fields. The helpers below are what it expands to; they are not for other use.

use uuid::Uuid;

/// A UUID in canonical (hyphenated, lower-case) text, without the formatting machinery.
#[doc(hidden)]
pub fn uuid_text(id: &Uuid) -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut buf).to_owned()
}

/// A JSON value as compact text.
#[doc(hidden)]
pub fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| v.to_string())
}

/// `From` conversions between the core's model and the types bindgen generates for
/// `bifrost:executions/types`, in both crates that serve the interface:
///
/// - [`ExecutionStatus`](crate::model::ExecutionStatus) and
///   [`LogLevel`](crate::model::LogLevel), both ways;
/// - [`ApiError`](crate::ApiError) to `error`;
/// - [`Execution`](crate::model::Execution) to `workflow-execution`,
///   [`LogEntry`](crate::model::LogEntry) to `execution-log`,
///   [`Identity`](crate::Identity) to `caller`;
/// - `list-filter` to [`ListFilter`](crate::query::ListFilter).
///
/// It serves wasmtime's `bindgen!` types (the host) and wit-bindgen's export types (the
/// provider) alike: both generate these records with owned fields of the same types.
///
/// `$types` is the generated `types` module, in scope under that name:
///
/// ```ignore
/// use bindings::bifrost::executions::types;
/// bifrost_core::wit_conversions!(types);
/// ```
#[macro_export]
macro_rules! wit_conversions {
    ($types:ident) => {
        $crate::__types::wit_enum_conversions!($types);

        impl ::core::convert::From<$crate::ApiError> for $types::Error {
            fn from(e: $crate::ApiError) -> Self {
                use $crate::ApiError as E;
                match e {
                    E::NotFound(id) => Self::NotFound(id),
                    E::PermissionDenied(id) => Self::PermissionDenied(id),
                    E::InvalidArgument { parameter, reason } => {
                        Self::InvalidArgument($types::InvalidArgument {
                            parameter: parameter.to_owned(),
                            reason,
                        })
                    }
                    E::NoExecutionContext => Self::NoExecutionContext,
                    E::Unavailable(m) => Self::Unavailable(m),
                    E::TooLarge(m) => Self::TooLarge(m),
                    E::Internal(m) => Self::Internal(m),
                }
            }
        }

        impl ::core::convert::From<$crate::model::LogEntry> for $types::ExecutionLog {
            fn from(e: $crate::model::LogEntry) -> Self {
                Self {
                    id: e.id.to_string(),
                    execution_id: $crate::wit::uuid_text(&e.execution_id),
                    level: e.level.into(),
                    message: e.message,
                    metadata: e.metadata.as_ref().map(|m| m.as_str().to_owned()),
                    timestamp: $crate::values::rfc3339(&e.timestamp),
                }
            }
        }

        impl ::core::convert::From<$crate::model::Execution> for $types::WorkflowExecution {
            fn from(e: $crate::model::Execution) -> Self {
                use $crate::values::rfc3339;
                use $crate::wit::{json_text, uuid_text};
                Self {
                    execution_id: uuid_text(&e.id),
                    workflow_name: e.workflow_name,
                    org_id: e.organization_id.as_ref().map(uuid_text),
                    form_id: e.form_id.as_ref().map(uuid_text),
                    executed_by: uuid_text(&e.executed_by),
                    executed_by_name: e.executed_by_name,
                    status: e.status.into(),
                    input_data: json_text(&e.parameters),
                    result: e.result.as_ref().map(json_text),
                    result_type: e.result_type,
                    error_message: e.error_message,
                    duration_ms: e.duration_ms,
                    started_at: e.started_at.as_ref().map(rfc3339),
                    completed_at: e.completed_at.as_ref().map(rfc3339),
                    created_at: rfc3339(&e.created_at),
                    logs: e
                        .logs
                        .map(|logs| logs.into_iter().map(::core::convert::Into::into).collect()),
                    variables: e.variables.as_ref().map(json_text),
                    session_id: e.session_id,
                    peak_memory_bytes: e.peak_memory_bytes,
                    cpu_total_seconds: e.cpu_total_seconds,
                }
            }
        }

        impl ::core::convert::From<&$crate::Identity> for $types::Caller {
            fn from(who: &$crate::Identity) -> Self {
                Self {
                    user_id: $crate::wit::uuid_text(&who.user_id),
                    user_name: who.user_name.clone(),
                    org_id: who.organization_id.as_ref().map($crate::wit::uuid_text),
                    is_platform_admin: who.is_platform_admin,
                }
            }
        }

        impl ::core::convert::From<$types::ListFilter> for $crate::query::ListFilter {
            fn from(f: $types::ListFilter) -> Self {
                Self {
                    workflow_name: f.workflow_name,
                    status: f.status.map(::core::convert::Into::into),
                    start_date: f.start_date,
                    end_date: f.end_date,
                    limit: f.limit,
                }
            }
        }
    };
}
