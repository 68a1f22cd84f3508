//! Write to the current execution's log.
//!
//! The usual way is the [`log` crate](::log): [`workflow!`](crate::workflow) installs a logger (see
//! [`init`]) that sends every record to the execution's log, where
//! [`executions::get_current_logs`](crate::executions::get_current_logs) and the platform's UI
//! read it. Levels map as `error!` → `ERROR`, `warn!` → `WARNING`, `info!` → `INFO`, and
//! `debug!` and `trace!` → `DEBUG`. Structured key-values become the line's JSON metadata:
//!
//! ```no_run
//! let user = "ada";
//! log::info!(user, attempts = 3, ok = true; "signed in");
//! // message "signed in", metadata {"user": "ada", "attempts": 3, "ok": true}
//!
//! // Any `serde::Serialize` value, with the `:serde` capture:
//! let tags = vec!["a", "b"];
//! log::warn!(tags:serde; "retrying");
//! ```
//!
//! The `log` crate has no critical level: use [`critical`], or [`log()`](log()) with
//! [`LogLevel::Critical`].

use serde_json::{Map, Value};
use std::sync::Once;

pub use crate::types::LogLevel;
use crate::{Error, wit};

/// Appends one line to the current execution's log.
///
/// `metadata`, if given, must be a JSON object ([`Error::InvalidArgument`] naming `metadata`
/// otherwise). Fails with [`Error::NoExecutionContext`] outside an execution and
/// [`Error::TooLarge`] if the line exceeds the host's limit.
///
/// ```no_run
/// use bifrost::logging::{self, LogLevel};
///
/// # fn main() -> Result<(), bifrost::Error> {
/// logging::log(LogLevel::Info, "step done", Some(&serde_json::json!({"step": 2})))?;
/// # Ok(())
/// # }
/// ```
pub fn log(level: LogLevel, message: &str, metadata: Option<&Value>) -> Result<(), Error> {
    let metadata = match metadata {
        None => None,
        Some(value @ Value::Object(_)) => Some(value.to_string()),
        Some(_) => {
            return Err(Error::InvalidArgument {
                parameter: "metadata".into(),
                reason: "must be a JSON object".into(),
            });
        }
    };
    wit::logging::log(level.into(), message, metadata.as_deref())?;
    Ok(())
}

/// Appends one line with any serializable value as its metadata: a struct, a map, or JSON
/// text kept as it is (`serde_json::value::RawValue`, so that no number goes through `f64`).
///
/// The value must serialize to a JSON object ([`Error::InvalidArgument`] naming `metadata`
/// otherwise, from the host); other errors as for [`log()`](log()).
///
/// ```no_run
/// use bifrost::logging::{self, LogLevel};
///
/// #[derive(serde::Serialize)]
/// struct Step {
///     step: u32,
///     name: &'static str,
/// }
///
/// # fn main() -> Result<(), bifrost::Error> {
/// logging::log_with(LogLevel::Info, "step done", &Step { step: 2, name: "fetch" })?;
/// # Ok(())
/// # }
/// ```
pub fn log_with<T: serde::Serialize + ?Sized>(
    level: LogLevel,
    message: &str,
    metadata: &T,
) -> Result<(), Error> {
    let metadata = serde_json::to_string(metadata)?;
    wit::logging::log(level.into(), message, Some(&metadata))?;
    Ok(())
}

/// Appends a `CRITICAL` line, the level above `ERROR` that the `log` crate lacks.
/// Same as [`log()`](log()) with [`LogLevel::Critical`].
pub fn critical(message: &str, metadata: Option<&Value>) -> Result<(), Error> {
    log(LogLevel::Critical, message, metadata)
}

/// Installs the logger that sends `log` records to the execution's log, with maximum level
/// `Debug` (raise it with `log::set_max_level(log::LevelFilter::Trace)` to keep `trace!` too).
///
/// [`workflow!`](crate::workflow) calls this before the workflow function runs; calling it
/// again does nothing. If another logger was installed first, that one stays.
///
/// A line the host refuses (say, too large) is written to standard error instead, which the
/// platform also captures; the `log` macros have no way to report an error.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if log::set_logger(&HostLogger).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
    });
}

/// The `log::Log` implementation behind [`init`].
struct HostLogger;

impl log::Log for HostLogger {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = LogLevel::from(record.level());
        let message = record.args().to_string();
        let metadata = metadata_of(record.key_values());
        if let Err(e) = log(level, &message, metadata.as_ref()) {
            eprintln!("bifrost: could not write a log line ({e}): {level} {message}");
        }
    }

    fn flush(&self) {}
}

/// The key-values of a record as a JSON object, or `None` if it has none. Values keep their
/// JSON type (numbers, booleans, strings; `:serde` captures serialise as themselves); a value
/// that fails to serialise is recorded as its display text.
fn metadata_of(source: &dyn log::kv::Source) -> Option<Value> {
    struct Collect(Map<String, Value>);

    impl<'kvs> log::kv::VisitSource<'kvs> for Collect {
        fn visit_pair(
            &mut self,
            key: log::kv::Key<'kvs>,
            value: log::kv::Value<'kvs>,
        ) -> Result<(), log::kv::Error> {
            let json =
                serde_json::to_value(&value).unwrap_or_else(|_| Value::String(value.to_string()));
            self.0.insert(key.as_str().to_owned(), json);
            Ok(())
        }
    }

    let mut collect = Collect(Map::new());
    // Collecting into a map cannot fail.
    let _ = source.visit(&mut collect);
    (!collect.0.is_empty()).then_some(Value::Object(collect.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_values_become_a_json_object() {
        let pairs: [(&str, log::kv::Value<'_>); 4] = [
            ("user", log::kv::Value::from("ada")),
            ("count", log::kv::Value::from(3_u32)),
            ("ratio", log::kv::Value::from(0.5_f64)),
            ("ok", log::kv::Value::from(true)),
        ];
        let metadata = metadata_of(&pairs).unwrap();
        assert_eq!(
            metadata,
            json!({"user": "ada", "count": 3, "ratio": 0.5, "ok": true})
        );
    }

    #[test]
    fn serde_captures_keep_their_structure() {
        let tags = vec!["a", "b"];
        let pairs = [("tags", log::kv::Value::from_serde(&tags))];
        assert_eq!(metadata_of(&pairs), Some(json!({"tags": ["a", "b"]})));
    }

    #[test]
    fn no_key_values_means_no_metadata() {
        let pairs: [(&str, log::kv::Value<'_>); 0] = [];
        assert_eq!(metadata_of(&pairs), None);
    }

    #[test]
    fn rejects_non_object_metadata_before_calling_the_host() {
        let err = log(LogLevel::Info, "x", Some(&json!([1, 2]))).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { parameter, .. } if parameter == "metadata"),
            "{err}"
        );
    }
}
