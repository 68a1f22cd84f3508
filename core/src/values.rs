//! Validation of what a guest hands over: log lines with their metadata, and runtime
//! variables, with the caps on their sizes.

use crate::InvalidArgument;
use crate::limits::Limits;
use crate::model::{LogLevel, LogLine, LogMetadata};
use crate::storable::{storable_text, unstorable_json};

/// Why a value was refused: it is malformed (`invalid-argument`) or over a size limit
/// (`too-large`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Malformed.
    Invalid(InvalidArgument),
    /// Over a size limit; the text says which and by how much.
    TooLarge(String),
}

impl From<InvalidArgument> for Rejection {
    fn from(e: InvalidArgument) -> Self {
        Self::Invalid(e)
    }
}

/// How deeply a JSON value nests: 0 for a scalar, 1 for a flat array or object.
pub fn json_depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Parses the optional metadata of a log line: a JSON object text of at most
/// `limits.max_log_metadata_bytes`, nested at most `limits.max_json_depth` levels. An empty
/// object is no metadata. An object that no store keeps as it is (U+0000, a number out of
/// range: [`unstorable_json`]) is refused.
pub fn parse_metadata(
    text: Option<String>,
    limits: &Limits,
) -> Result<Option<LogMetadata>, Rejection> {
    let Some(text) = text else { return Ok(None) };
    let max = limits.max_log_metadata_bytes;
    if text.len() > max {
        return Err(Rejection::TooLarge(format!(
            "log metadata of {} bytes exceeds the limit of {max} bytes",
            text.len()
        )));
    }
    let max_depth = limits.max_json_depth;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(m)) if m.is_empty() => Ok(None),
        Ok(v @ serde_json::Value::Object(_)) if json_depth(&v) > max_depth => Err(
            InvalidArgument::new("metadata", format!("nested deeper than {max_depth} levels"))
                .into(),
        ),
        Ok(v @ serde_json::Value::Object(_)) => match unstorable_json(&v) {
            Some(reason) => Err(InvalidArgument::new("metadata", reason).into()),
            None => Ok(Some(LogMetadata::from_value(&v))),
        },
        Ok(_) => Err(InvalidArgument::new("metadata", "must be a JSON object").into()),
        Err(e) => Err(InvalidArgument::new("metadata", format!("not JSON: {e}")).into()),
    }
}

/// Checks a runtime variable: a name of 1 to `limits.max_variable_name_bytes` bytes and a
/// JSON value text of at most `limits.max_variable_bytes`, nested at most
/// `limits.max_json_depth` levels, which every store keeps as it is ([`unstorable_json`]; a
/// name holding U+0000 is refused too: it is a key of the variables object). Returns the
/// name and the parsed value.
pub fn parse_variable(
    name: &str,
    value: &str,
    limits: &Limits,
) -> Result<(String, serde_json::Value), Rejection> {
    if name.is_empty() || name.len() > limits.max_variable_name_bytes {
        return Err(InvalidArgument::new(
            "name",
            format!("must be 1 to {} bytes", limits.max_variable_name_bytes),
        )
        .into());
    }
    if value.len() > limits.max_variable_bytes {
        return Err(Rejection::TooLarge(format!(
            "variable {name:?} of {} bytes exceeds the limit of {} bytes",
            value.len(),
            limits.max_variable_bytes
        )));
    }
    let value = serde_json::from_str::<serde_json::Value>(value)
        .map_err(|e| InvalidArgument::new("value", format!("not JSON: {e}")))?;
    if json_depth(&value) > limits.max_json_depth {
        return Err(InvalidArgument::new(
            "value",
            format!("nested deeper than {} levels", limits.max_json_depth),
        )
        .into());
    }
    if let Some(reason) = unstorable_json(&value) {
        return Err(InvalidArgument::new("value", reason).into());
    }
    if name.contains('\0') {
        return Err(InvalidArgument::new("name", "holds U+0000, which no store keeps").into());
    }
    Ok((name.to_owned(), value))
}

/// A child's input (`workflows.start` and `execute`) as the host takes it: at most
/// `limits.max_input_bytes`, else `too-large`; JSON text, else `invalid-argument` naming
/// `input`.
pub fn child_input(text: &str, limits: &Limits) -> Result<serde_json::Value, crate::ApiError> {
    if text.len() > limits.max_input_bytes {
        return Err(crate::ApiError::TooLarge(format!(
            "input of {} bytes exceeds the limit of {} bytes",
            text.len(),
            limits.max_input_bytes
        )));
    }
    serde_json::from_str(text).map_err(|e| crate::ApiError::InvalidArgument {
        parameter: "input",
        reason: format!("not JSON: {e}"),
    })
}

/// A line as a guest's `log` call gives it, checked: the metadata must be a JSON object
/// within `limits` that every store keeps as it is ([`parse_metadata`]; an empty one is
/// none); the message has U+0000 replaced ([`storable_text`]) and is cut at
/// `limits.max_log_message_bytes` with a marker. Stamped now.
pub fn log_line(
    level: LogLevel,
    message: String,
    metadata: Option<String>,
    limits: &Limits,
) -> Result<LogLine, Rejection> {
    let metadata = parse_metadata(metadata, limits)?;
    Ok(LogLine {
        level,
        message: crate::limits::truncate_with_marker(
            storable_text(message),
            limits.max_log_message_bytes,
        ),
        metadata,
        timestamp: chrono::Utc::now(),
    })
}

/// The sizes of one execution's runtime variables, for the cap on their total
/// ([`Limits::max_variables_bytes`]): each name's bytes plus its value's JSON text.
#[derive(Debug, Clone, Default)]
pub struct VariableSizes {
    sizes: std::collections::HashMap<String, usize>,
    total: usize,
}

impl VariableSizes {
    /// The sizes of the variables in `variables` (a JSON object; anything else is none).
    pub fn of(variables: Option<&serde_json::Value>) -> Self {
        let mut sizes = Self::default();
        if let Some(serde_json::Value::Object(map)) = variables {
            for (name, value) in map {
                sizes.record(name, name.len() + value.to_string().len());
            }
        }
        sizes
    }

    /// The size setting `name` to a value of `value_bytes` (JSON text) takes, if the total
    /// stays within `limits.max_variables_bytes`; [`record`](Self::record) it once set.
    pub fn check(
        &self,
        name: &str,
        value_bytes: usize,
        limits: &Limits,
    ) -> Result<usize, Rejection> {
        let size = name.len() + value_bytes;
        let total = self.total - self.sizes.get(name).copied().unwrap_or(0) + size;
        if total > limits.max_variables_bytes {
            return Err(Rejection::TooLarge(format!(
                "variable {name:?} would bring this execution's variables to {total} bytes, past the limit of {} bytes",
                limits.max_variables_bytes
            )));
        }
        Ok(size)
    }

    /// Records that `name` now takes `size` bytes.
    pub fn record(&mut self, name: &str, size: usize) {
        let old = self.sizes.insert(name.to_owned(), size).unwrap_or(0);
        self.total = self.total - old + size;
    }

    /// Bytes all variables take together.
    pub fn total(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_and_variables_with_nul_are_refused() {
        let limits = Limits::default();
        let refused = |r: Result<_, Rejection>, parameter: &str, at: &str| match r {
            Err(Rejection::Invalid(e)) => {
                assert_eq!(e.parameter, parameter);
                assert!(
                    e.reason.contains(at) && e.reason.contains("U+0000"),
                    "{}",
                    e.reason
                );
            }
            _ => panic!("{parameter} with U+0000 was not refused"),
        };
        refused(
            parse_metadata(Some(r#"{"k": "v\u0000"}"#.into()), &limits).map(drop),
            "metadata",
            "$.k",
        );
        refused(
            parse_variable("n", r#"["x\u0000"]"#, &limits).map(drop),
            "value",
            "$[0]",
        );
        refused(parse_variable("n\0", "1", &limits).map(drop), "name", "");
        // Without U+0000 they are kept exactly.
        let meta = parse_metadata(Some(r#"{"k": "v\ufffd"}"#.into()), &limits).unwrap();
        assert_eq!(meta.map(|m| m.to_value()), Some(json!({"k": "v\u{FFFD}"})));
    }

    #[test]
    fn variables_are_capped_in_total_and_a_replaced_one_counts_once() {
        let limits = Limits {
            max_variables_bytes: 100,
            ..Limits::default()
        };
        let mut sizes = VariableSizes::default();
        let a = sizes.check("a", 39, &limits).unwrap();
        sizes.record("a", a);
        let b = sizes.check("b", 39, &limits).unwrap();
        sizes.record("b", b);
        assert_eq!(sizes.total(), 80);
        assert!(matches!(
            sizes.check("c", 20, &limits),
            Err(Rejection::TooLarge(m)) if m.contains("101 bytes")
        ));
        // Replacing `a` with a smaller value makes room.
        let a = sizes.check("a", 9, &limits).unwrap();
        sizes.record("a", a);
        assert_eq!(sizes.total(), 50);
        assert!(sizes.check("c", 20, &limits).is_ok());
        let of = VariableSizes::of(Some(&json!({"k": [1, 2], "name": "v"})));
        assert_eq!(of.total(), 1 + 5 + 4 + 3);
    }
}
