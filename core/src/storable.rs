//! What every store keeps: text with U+0000 replaced, and which JSON values a store keeps
//! exactly as they are.
//!
//! PostgreSQL stores no U+0000 in `text` or `jsonb`, and its `numeric` (what jsonb holds
//! numbers as) has a range. The rules live here, applied alike on every backend, so that a
//! workflow behaves the same on the embedded default and on the servers.

/// Text as every store keeps it: U+0000 becomes U+FFFD, the replacement character.
///
/// PostgreSQL stores no U+0000 in `text` or `jsonb`: a value holding one fails the statement.
/// The host applies this to the plain text it stores, on every backend alike (what a
/// workflow logs or prints as a message, fails with; the workflow name and names of a run;
/// the `workflow_name` filter of a query), so such text is kept, with its NULs replaced,
/// instead of failing a write and losing what came with it. JSON values are not changed:
/// one holding U+0000 is refused ([`unstorable_json`]).
pub fn storable_text(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

/// [`storable_text`] applied to every string and key of a JSON value: only for JSON that
/// another writer put where the host reads it (a live stream's entries moved into the
/// store). What a caller hands the host is checked instead ([`unstorable_json`]).
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

/// Why `value` cannot be stored exactly as it is, if it cannot; `None` if every store keeps
/// it as written. Two things are refused, each reported with where it is (a JSON path such
/// as `$.items[2].name`):
///
/// - U+0000 in a string or a key: PostgreSQL's jsonb holds none, and replacing it would
///   change the value without a word, on one backend or on all. The embedded default
///   refuses it alike, so that a workflow behaves the same on both.
/// - a number with more than [`MAX_NUMBER_INTEGER_DIGITS`] digits before the decimal
///   point or [`MAX_NUMBER_FRACTION_DIGITS`] after it, once its exponent is applied
///   (`1e200000`, `1e-20000`).
///
/// Every other number is kept as written, digit for digit (the host parses JSON with
/// `serde_json`'s `arbitrary_precision`); PostgreSQL may give an exponent form back in
/// full (`1e2` as `100`).
///
/// ```
/// use bifrost_core::storable::unstorable_json;
/// use serde_json::json;
///
/// assert_eq!(unstorable_json(&json!({"a": ["ok", "b\u{0}"]})).unwrap(),
///     "$.a[1] holds U+0000, which no store keeps");
/// assert_eq!(unstorable_json(&json!({"fine": 1})), None);
/// ```
pub fn unstorable_json(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    fn walk(value: &Value, path: &mut String) -> Option<String> {
        match value {
            Value::String(s) if s.contains('\0') => {
                Some(format!("{path} holds U+0000, which no store keeps"))
            }
            Value::Number(n) => {
                let text = n.to_string();
                (!number_fits(&text)).then(|| {
                    let shown: String = text.chars().take(40).collect();
                    let more = if shown.len() < text.len() { "…" } else { "" };
                    format!(
                        "the number {shown}{more} at {path} is out of range: at most {MAX_NUMBER_INTEGER_DIGITS} digits before the decimal point and {MAX_NUMBER_FRACTION_DIGITS} after it"
                    )
                })
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            Value::Object(map) => map.iter().find_map(|(key, item)| {
                let len = path.len();
                if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !key.is_empty() {
                    path.push_str(&format!(".{key}"));
                } else {
                    path.push_str(&format!("[{}]", serde_json::Value::from(key.as_str())));
                }
                let found = if key.contains('\0') {
                    Some(format!(
                        "a key at {path} holds U+0000, which no store keeps"
                    ))
                } else {
                    walk(item, path)
                };
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(value, &mut "$".to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_becomes_the_replacement_character_in_text_and_foreign_json() {
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
    fn json_with_nul_is_refused_naming_where() {
        for (value, reason) in [
            (json!("\0"), "$ holds U+0000, which no store keeps"),
            (
                json!({"s": "a\0"}),
                "$.s holds U+0000, which no store keeps",
            ),
            (
                json!({"a": [1, {"b c": ["x", "\0"]}]}),
                r#"$.a[1]["b c"][1] holds U+0000, which no store keeps"#,
            ),
            (
                json!({"k\0": 1}),
                r#"a key at $["k\u0000"] holds U+0000, which no store keeps"#,
            ),
        ] {
            assert_eq!(unstorable_json(&value).as_deref(), Some(reason), "{value}");
        }
        assert_eq!(
            unstorable_json(&json!({"a": ["\u{FFFD}", 1.5, null]})),
            None
        );
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
}
