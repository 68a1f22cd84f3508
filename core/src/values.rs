//! Validation of the JSON values a guest hands over: log metadata and runtime variables,
//! and the text form of timestamps on the wire.

use chrono::{DateTime, Utc};

use crate::InvalidArgument;
use crate::limits::Limits;
use crate::model::LogMetadata;

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

/// Text as every store keeps it: U+0000 becomes U+FFFD, the replacement character.
///
/// PostgreSQL stores no U+0000 in `text` or `jsonb`: a value holding one fails the statement.
/// The host applies this to everything it stores, on every backend alike (what a workflow
/// logs, prints, sets as a variable, returns or fails with; the input, workflow name and
/// names of a run; the `workflow_name` filter of a query), so such text is kept, with its
/// NULs replaced, instead of failing a write and losing what came with it.
pub fn storable_text(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

/// [`storable_text`] applied to every string and key of a JSON value.
pub fn storable_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    fn replace(v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(storable_text(s)),
            Value::Array(items) => Value::Array(items.into_iter().map(replace).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (storable_text(k), replace(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    // Log metadata goes through here for every line: the common case allocates nothing.
    if has_nul(&value) {
        replace(value)
    } else {
        value
    }
}

/// Most digits before the decimal point of a JSON number that every store keeps:
/// PostgreSQL's jsonb holds numbers as `numeric`, which refuses more.
pub const MAX_NUMBER_INTEGER_DIGITS: i64 = 131_072;
/// Most digits after the decimal point of a JSON number that every store keeps.
pub const MAX_NUMBER_FRACTION_DIGITS: i64 = 16_383;

/// Finds a number in `value` that a store could not keep digit for digit: one with more
/// than [`MAX_NUMBER_INTEGER_DIGITS`] digits before the decimal point or
/// [`MAX_NUMBER_FRACTION_DIGITS`] after it, once its exponent is applied (`1e200000`,
/// `1e-20000`). Returns a description of the first such number.
///
/// Every other number is kept as written, digit for digit (the host parses JSON with
/// `serde_json`'s `arbitrary_precision`); PostgreSQL may give an exponent form back in
/// full (`1e2` as `100`).
pub fn unstorable_number(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            (!number_fits(&text)).then(|| {
                let shown: String = text.chars().take(40).collect();
                let more = if shown.len() < text.len() { "…" } else { "" };
                format!(
                    "the number {shown}{more} is out of range: at most {MAX_NUMBER_INTEGER_DIGITS} digits before the decimal point and {MAX_NUMBER_FRACTION_DIGITS} after it"
                )
            })
        }
        Value::Array(items) => items.iter().find_map(unstorable_number),
        Value::Object(map) => map.values().find_map(unstorable_number),
        _ => None,
    }
}

/// Whether the JSON number `text` has few enough digits on each side of the point.
fn number_fits(text: &str) -> bool {
    let text = text.trim_start_matches('-');
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i64>().ok()),
        None => (text, Some(0)),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let Some(first) = digits.iter().position(|&b| b != b'0') else {
        return true; // zero, whatever its exponent
    };
    let last = digits.iter().rposition(|&b| b != b'0').unwrap_or(first);
    // An exponent beyond i64 puts a non-zero number far out of range.
    let Some(exponent) = exponent else {
        return false;
    };
    // Digit `i` of `digits` stands for 10^(int.len() - 1 - i + exponent).
    let place = |i: usize| (int.len() as i64 - 1 - i as i64).saturating_add(exponent);
    let before = place(first).saturating_add(1).max(0);
    let after = place(last).saturating_neg().max(0);
    before <= MAX_NUMBER_INTEGER_DIGITS && after <= MAX_NUMBER_FRACTION_DIGITS
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
/// object is no metadata. The object comes back storable ([`storable_json`]).
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
        Ok(v @ serde_json::Value::Object(_)) => match unstorable_number(&v) {
            Some(reason) => Err(InvalidArgument::new("metadata", reason).into()),
            None => Ok(Some(LogMetadata::from_value(&storable_json(v)))),
        },
        Ok(_) => Err(InvalidArgument::new("metadata", "must be a JSON object").into()),
        Err(e) => Err(InvalidArgument::new("metadata", format!("not JSON: {e}")).into()),
    }
}

/// Checks a runtime variable: a name of 1 to `limits.max_variable_name_bytes` bytes and a
/// JSON value text of at most `limits.max_variable_bytes`, nested at most
/// `limits.max_json_depth` levels. Returns the name and the parsed value, both storable
/// ([`storable_text`], [`storable_json`]).
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
    if let Some(reason) = unstorable_number(&value) {
        return Err(InvalidArgument::new("value", reason).into());
    }
    Ok((storable_text(name.to_owned()), storable_json(value)))
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

/// RFC 3339 in UTC with a `Z` and microseconds, the form every timestamp takes on the wire.
///
/// Written digit by digit: it runs for every log line streamed and every timestamp a guest
/// receives, and chrono's formatter is several times slower (the log ingest benchmark).
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    // The accessors of `DateTime` convert to local time on every call; the naive UTC value
    // is converted once.
    let n = t.naive_utc();
    let year = n.year();
    if !(0..=9999).contains(&year) {
        return t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    }
    let micros = (n.nanosecond() / 1000).min(999_999);
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, n.month());
    put(8, 2, n.day());
    put(11, 2, n.hour());
    put(14, 2, n.minute());
    put(17, 2, n.second().min(59));
    put(20, 6, micros);
    String::from_utf8(b.to_vec()).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn nul_becomes_the_replacement_character_in_text_and_json() {
        assert_eq!(storable_text("a\0b\0".into()), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(storable_text("plain é".into()), "plain é");
        let v = json!({"k\0": ["x\0", 1, {"n": "\0"}], "ok": "fine"});
        assert_eq!(
            storable_json(v),
            json!({"k\u{FFFD}": ["x\u{FFFD}", 1, {"n": "\u{FFFD}"}], "ok": "fine"})
        );
        let clean = json!({"a": [1, "b", null], "c": {"d": true}});
        assert_eq!(storable_json(clean.clone()), clean);
    }

    #[test]
    fn metadata_and_variables_come_back_storable() {
        let limits = Limits::default();
        let meta = parse_metadata(Some(r#"{"k\u0000": "v\u0000"}"#.into()), &limits).unwrap();
        assert_eq!(
            meta.map(|m| m.to_value()),
            Some(json!({"k\u{FFFD}": "v\u{FFFD}"}))
        );
        let (name, value) = parse_variable("n\0", r#""x\u0000""#, &limits).unwrap();
        assert_eq!(name, "n\u{FFFD}");
        assert_eq!(value, json!("x\u{FFFD}"));
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

    #[test]
    fn numbers_fit_when_postgresql_numeric_holds_them() {
        for ok in [
            "0",
            "-0",
            "0.0",
            "0e999999999999999999999",
            "12345678901234567890123",
            "1.5e-300",
            "-2.25",
            "1e131071",
            "1e-16383",
            "123e-16383",
            "100e131069",
        ] {
            assert!(number_fits(ok), "{ok}");
        }
        for bad in [
            "1e131072",
            "1e-16384",
            "1.5e-16383",
            "1e99999999999999999999999",
            "10e131071",
        ] {
            assert!(!number_fits(bad), "{bad}");
        }
        assert!(number_fits(&"9".repeat(131_072)));
        assert!(!number_fits(&"9".repeat(131_073)));
        assert!(number_fits(&format!("0.{}", "9".repeat(16_383))));
        assert!(!number_fits(&format!("0.{}", "9".repeat(16_384))));
    }

    #[test]
    fn rfc3339_matches_chrono_with_micros_and_z() {
        for t in [
            Utc.with_ymd_and_hms(2026, 11, 28, 16, 30, 5).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
                + chrono::TimeDelta::microseconds(999_999),
            Utc.timestamp_opt(1_764_347_405, 123_456_789).unwrap(),
            Utc.with_ymd_and_hms(-5, 3, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(12345, 3, 1, 0, 0, 0).unwrap(),
        ] {
            assert_eq!(
                rfc3339(&t),
                t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "{t:?}"
            );
        }
    }
}
