//! [`Json`]: an open JSON payload as the host sent it, decoded only when asked.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// An open JSON payload (input data, result, variables, log metadata) as the host sent it:
/// JSON text, kept as it came and decoded only when asked, so that a query pays for the
/// payloads it reads and not for the others.
///
/// [`value`](Self::value) decodes it into a [`serde_json::Value`]: text that is not valid JSON
/// (which the host does not send) becomes a [`Value::String`](serde_json::Value::String)
/// holding the raw text rather than failing. [`parse`](Self::parse) decodes it into any
/// type. It compares with a `Value` by decoding (`execution.input_data == json!({...})`)
/// and serialises as the JSON value it holds.
///
/// ```
/// use bifrost::executions::Json;
/// use serde_json::json;
///
/// let input: Json = json!({"name": "Ada", "n": 1}).into();
/// assert_eq!(input.as_str(), r#"{"n":1,"name":"Ada"}"#);
/// assert_eq!(input.value()["name"], "Ada");
/// #[derive(serde::Deserialize)]
/// struct Args { n: u32 }
/// assert_eq!(input.parse::<Args>().unwrap().n, 1);
/// assert_eq!(input, json!({"name": "Ada", "n": 1}));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(String);

impl Json {
    /// The JSON text, as the host sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON text, as the host sent it.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The decoded value; text that is not valid JSON becomes a JSON string of that text.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_else(|_| serde_json::Value::String(self.0.clone()))
    }

    /// Decodes the payload into `T`; [`Error::Json`] if it does not fit.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_str(&self.0)?)
    }

    /// A payload of JSON text as received from the host (not checked).
    pub(crate) fn from_host(text: String) -> Self {
        Json(text)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Json").field(&self.0).finish()
    }
}

impl fmt::Display for Json {
    /// The JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        Json(value.to_string())
    }
}

impl PartialEq<serde_json::Value> for Json {
    fn eq(&self, other: &serde_json::Value) -> bool {
        self.value() == *other
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(Json::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_text_and_decodes_on_request() {
        let j = Json::from_host(r#"{"k": [1, 2]}"#.into());
        assert_eq!(j.as_str(), r#"{"k": [1, 2]}"#);
        assert_eq!(j.value(), json!({"k": [1, 2]}));
        assert_eq!(j, json!({"k": [1, 2]}));
        assert_eq!(
            j.parse::<std::collections::BTreeMap<String, Vec<u8>>>()
                .unwrap()["k"],
            [1, 2]
        );
        assert!(matches!(j.parse::<u32>(), Err(Error::Json(_))));
    }

    #[test]
    fn text_that_is_not_json_is_a_string() {
        let j = Json::from_host("not json".into());
        assert_eq!(j.value(), json!("not json"));
        assert_eq!(serde_json::to_value(&j).unwrap(), json!("not json"));
    }

    #[test]
    fn serde_round_trips_the_value() {
        let j = Json::from_host(r#"{"a":1.5,"b":null}"#.into());
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v, json!({"a": 1.5, "b": null}));
        assert_eq!(
            serde_json::from_value::<Json>(v).unwrap().value(),
            j.value()
        );
    }
}
