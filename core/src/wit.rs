//! The one definition of how the core's values cross the WIT boundary.
//!
//! [`wit_conversions!`](crate::wit_conversions) is expanded in each crate that has
//! bindings of `bifrost:executions/types`: the host (imports, both versions it links) and
//! the virtual provider (exports). The helpers below are what it expands to; they are not
//! for other use.

use bifrost_types::{StreamId, Timestamp};
use chrono::{DateTime, Utc};
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

/// A time as a WIT `datetime` record (0.2.0 and later).
#[doc(hidden)]
pub fn datetime<T: From<Timestamp>>(t: &DateTime<Utc>) -> T {
    timestamp(t).into()
}

pub use crate::model::timestamp;

/// A stream id as a WIT `stream-id` record (0.2.0 and later).
#[doc(hidden)]
pub fn stream_id<T: From<StreamId>>(id: &StreamId) -> T {
    (*id).into()
}

/// A stream id as text, `<milliseconds>-<sequence>` (0.1.0).
#[doc(hidden)]
pub fn stream_id_text(id: &StreamId) -> String {
    id.to_string()
}

/// `From` conversions between the core's model and the types bindgen generates for
/// `bifrost:executions/types`, in both crates that serve the interface:
///
/// - [`ExecutionStatus`](crate::model::ExecutionStatus) and
///   [`LogLevel`](crate::model::LogLevel), both ways; from 0.2.0 on, `stream-id` and
///   `datetime` both ways with [`StreamId`] and [`Timestamp`];
/// - [`ApiError`](crate::ApiError) to `error`;
/// - [`Execution`](crate::model::Execution) to `workflow-execution`,
///   [`LogEntry`](crate::model::LogEntry) to `execution-log`,
///   [`Identity`](crate::Identity) to `caller`;
/// - `list-filter` to [`ListFilter`](crate::query::ListFilter).
///
/// It serves wasmtime's `bindgen!` types (the host) and wit-bindgen's export types (the
/// provider) alike: both generate these records with owned fields of the same types. The
/// versions differ only in how times and log entry ids travel (records from 0.2.0, text in
/// 0.1.0) and in the fields 0.2.0 and 0.3.0 added; the rest is written once, below.
///
/// `$types` is the generated `types` module, in scope under that name:
///
/// ```ignore
/// use bindings::bifrost::executions::types;
/// // A binding of bifrost:executions@0.2.0:
/// bifrost_core::wit_conversions!(types);
/// // Of 0.3.0 and 0.1.0:
/// bifrost_core::wit_conversions!(v0_3_types, 0.3);
/// bifrost_core::wit_conversions!(v0_1_types, 0.1);
/// ```
#[macro_export]
macro_rules! wit_conversions {
    ($types:ident) => {
        $crate::__types::wit_record_conversions!($types);
        $crate::wit_conversions!(@records $types,
            time = $crate::wit::datetime,
            id = $crate::wit::stream_id,
            added = { log_lines_dropped = |e: &$crate::model::Execution| {
                e.log_lines_dropped.and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0)
            } },
            // Before 0.3.0 nothing reaches a limit of child executions; were one reported,
            // it is a size limit of the host's.
            limit = TooLarge
        );
    };
    ($types:ident, 0.3) => {
        $crate::__types::wit_record_conversions!($types);
        $crate::wit_conversions!(@records $types,
            time = $crate::wit::datetime,
            id = $crate::wit::stream_id,
            added = {
                log_lines_dropped = |e: &$crate::model::Execution| {
                    e.log_lines_dropped.and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0)
                },
                parent_execution_id = |e: &$crate::model::Execution| {
                    e.parent_execution_id.as_ref().map($crate::wit::uuid_text)
                }
            },
            limit = LimitReached
        );
    };
    ($types:ident, 0.1) => {
        $crate::wit_conversions!(@records $types,
            time = $crate::model::rfc3339,
            id = $crate::wit::stream_id_text,
            added = {},
            limit = TooLarge
        );
    };
    (@records $types:ident, time = $time:path, id = $id:path,
        added = { $($field:ident = $value:expr),* }, limit = $limit:ident) => {
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
                    E::LimitReached(m) => Self::$limit(m),
                    E::Internal(m) => Self::Internal(m),
                }
            }
        }

        impl ::core::convert::From<$crate::model::LogEntry> for $types::ExecutionLog {
            fn from(e: $crate::model::LogEntry) -> Self {
                Self {
                    id: $id(&e.id),
                    execution_id: $crate::wit::uuid_text(&e.execution_id),
                    level: e.level.into(),
                    message: e.message,
                    metadata: e.metadata.as_ref().map(|m| m.as_str().to_owned()),
                    timestamp: $time(&e.timestamp),
                }
            }
        }

        impl ::core::convert::From<$crate::model::Execution> for $types::WorkflowExecution {
            fn from(e: $crate::model::Execution) -> Self {
                use $crate::wit::{json_text, uuid_text};
                $(let $field = ($value)(&e);)*
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
                    started_at: e.started_at.as_ref().map($time),
                    completed_at: e.completed_at.as_ref().map($time),
                    created_at: $time(&e.created_at),
                    logs: e
                        .logs
                        .map(|logs| logs.into_iter().map(::core::convert::Into::into).collect()),
                    variables: e.variables.as_ref().map(json_text),
                    session_id: e.session_id,
                    peak_memory_bytes: e.peak_memory_bytes,
                    cpu_total_seconds: e.cpu_total_seconds,
                    $($field,)*
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A time crosses as the seconds and nanoseconds chrono holds, and shows as the text
    /// chrono writes for it (RFC 3339, microseconds, `Z`), the 0.1.0 interface's and the
    /// 0.2.0 guest crate's alike.
    #[test]
    fn a_time_converts_and_displays_as_chrono_writes_it() {
        let mut seconds = -62_167_219_200_i64; // 0000-01-01
        while seconds < 253_402_400_000 {
            for nanos in [0, 1_000, 999_999_999, 123_456_789] {
                let t = Utc.timestamp_opt(seconds, nanos).unwrap();
                let ts = timestamp(&t);
                assert_eq!(
                    ts.to_string(),
                    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    "{seconds} {nanos}"
                );
                assert_eq!((ts.seconds(), ts.nanoseconds()), (seconds, nanos));
            }
            seconds += 7_777_777;
        }
        for t in [
            Utc.with_ymd_and_hms(-5, 3, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(12345, 3, 1, 0, 0, 0).unwrap(),
            Utc.timestamp_opt(253_402_300_800, 0).unwrap(),
        ] {
            assert_eq!(
                crate::model::rfc3339(&t),
                t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "{t:?}"
            );
        }
    }
}
