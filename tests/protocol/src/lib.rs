//! The probe's protocol: the calls a test asks the probe program to make, and what each
//! call answered.
//!
//! The probe (`tests/programs/src/probe.rs`) is a workflow whose input is an [`Input`]: a
//! list of [`Call`]s. It makes each call through the guest crate, in order, and returns one
//! [`Answer`] per call as its result. Both sides use these types, so a call the program
//! does not know, or an answer the tests cannot read, is a compile error rather than a
//! runtime surprise in JSON.
//!
//! The wire form is JSON (the workflow's input and result): a call is an object tagged by
//! `op` (`{"op": "list", "limit": 5}`), an answer is `{"ok": value}` or
//! `{"err": {"kind": ..., "parameter": ..., "message": ...}}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The probe's input. `C` is [`Call`] for the tests and raw JSON for the program, which
/// first replaces the [`nul`](Input::nul) marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Input<C = Call> {
    /// The calls to make, in order.
    pub calls: Vec<C>,
    /// With a marker here, the program turns it into U+0000 in every string of the calls
    /// (keys included), so that a call can carry text the workflow's own input could not
    /// (PostgreSQL stores no U+0000, and the input is stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nul: Option<String>,
}

impl Input {
    /// These calls, with no marker.
    pub fn new(calls: Vec<Call>) -> Input {
        Input { calls, nul: None }
    }

    /// The input as the workflow's JSON input.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a probe input is always JSON")
    }
}

/// One call for the probe to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Call {
    /// One page of `executions::list`.
    List(ListArgs),
    /// Every page, through the cursor; `limit` is the page size.
    ListAll(ListArgs),
    /// `executions::get`.
    Get {
        /// The execution id, as text (so that a test can send one that does not parse).
        id: String,
    },
    /// One page of `executions::get_current_logs`.
    Logs(LogsArgs),
    /// Every entry through the log reader; `count` is the page size, `start` is ignored.
    ReadAllLogs(LogsArgs),
    /// `logging::log` with a level given by name (so that a test can send a bad one).
    Log {
        /// `DEBUG`, `INFO`, ...
        level: String,
        /// The message.
        message: String,
        /// Metadata, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Value>,
    },
    /// `n` lines through the `log` crate, numbered from 0, with key-value metadata.
    LogMany {
        /// How many.
        n: u32,
    },
    /// A line on stdout.
    Print {
        /// The text.
        text: String,
    },
    /// A line on stderr.
    Eprint {
        /// The text.
        text: String,
    },
    /// The execution context: id, workflow name and caller.
    Context,
    /// `context::set_variable`.
    SetVariable {
        /// The variable's name.
        name: String,
        /// Its value.
        value: Value,
    },
    /// Ends the workflow with this error.
    Fail {
        /// The error message.
        message: String,
    },
    /// Panics with this message.
    Panic {
        /// The panic message.
        message: String,
    },
    /// Loops forever without calling the host.
    Spin,
    /// Allocates and holds this many MiB.
    GrowMemory {
        /// MiB to hold.
        mebibytes: usize,
    },
    /// Unbounded recursion: a stack overflow.
    Recurse,
    /// `std::process::abort`: a wasm `unreachable`.
    Abort,
    /// One line whose message is `bytes` long.
    LogHuge {
        /// The message's length.
        bytes: usize,
    },
    /// `n` lines of `bytes` characters each on stdout.
    PrintHuge {
        /// Each line's length.
        bytes: usize,
        /// How many lines.
        n: u32,
    },
    /// Answers a JSON string of `bytes` characters.
    Huge {
        /// The string's length.
        bytes: usize,
    },
    /// Fails with an error message of `bytes` characters.
    FailHuge {
        /// The message's length.
        bytes: usize,
    },
    /// `n` lines, `pause_ms` apart.
    LogSlowly {
        /// How many lines.
        n: u32,
        /// Milliseconds between lines.
        pause_ms: u64,
    },
    /// Logs until stopped from outside.
    LogForever,
    /// Calls `list` `n` times, logging the count every `every` calls; answers
    /// `{"calls": n, "errors": how many failed}`.
    ListLoop {
        /// How many calls.
        n: u64,
        /// Log the count every this many calls.
        every: u64,
    },
}

/// The arguments of `list`, each left to the guest crate's default when absent. Build with
/// [`list`] and the setters: `list().workflow_name("w").limit(5).page()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListArgs {
    /// Only executions of this workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    /// Only executions with this status, by name (parsed by the guest crate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Started at or after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// Started at or before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `list` with no filter: the start of a builder.
pub fn list() -> ListArgs {
    ListArgs::default()
}

impl ListArgs {
    /// Only executions of this workflow.
    pub fn workflow_name(mut self, name: impl Into<String>) -> Self {
        self.workflow_name = Some(name.into());
        self
    }

    /// Only executions with this status (by name, as an author would write it).
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Started at or after.
    pub fn start_date(mut self, date: impl Into<String>) -> Self {
        self.start_date = Some(date.into());
        self
    }

    /// Started at or before.
    pub fn end_date(mut self, date: impl Into<String>) -> Self {
        self.end_date = Some(date.into());
        self
    }

    /// Page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// One page: [`Call::List`].
    pub fn page(self) -> Call {
        Call::List(self)
    }

    /// Every page: [`Call::ListAll`].
    pub fn all(self) -> Call {
        Call::ListAll(self)
    }
}

/// The arguments of `get_current_logs`, each left to the guest crate's default when
/// absent. Build with [`logs`] and the setters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogsArgs {
    /// Another execution's logs; the probe's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// The first stream id to return (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// `get_current_logs` of the probe's own execution: the start of a builder.
pub fn logs() -> LogsArgs {
    LogsArgs::default()
}

impl LogsArgs {
    /// Another execution's logs.
    pub fn of(mut self, execution_id: impl ToString) -> Self {
        self.execution_id = Some(execution_id.to_string());
        self
    }

    /// The first stream id to return (inclusive).
    pub fn start(mut self, start: impl Into<String>) -> Self {
        self.start = Some(start.into());
        self
    }

    /// Page size.
    pub fn count(mut self, count: u32) -> Self {
        self.count = Some(count);
        self
    }

    /// One page: [`Call::Logs`].
    pub fn page(self) -> Call {
        Call::Logs(self)
    }

    /// Every entry through the reader: [`Call::ReadAllLogs`].
    pub fn all(self) -> Call {
        Call::ReadAllLogs(self)
    }
}

impl Call {
    /// `get` of this id (any text: it is parsed by the host).
    pub fn get(id: impl ToString) -> Call {
        Call::Get { id: id.to_string() }
    }

    /// A log line at this level (by name) with no metadata.
    pub fn log(level: impl Into<String>, message: impl Into<String>) -> Call {
        Call::Log {
            level: level.into(),
            message: message.into(),
            metadata: None,
        }
    }

    /// A log line with metadata.
    pub fn log_with(level: impl Into<String>, message: impl Into<String>, metadata: Value) -> Call {
        Call::Log {
            level: level.into(),
            message: message.into(),
            metadata: Some(metadata),
        }
    }

    /// A line on stdout.
    pub fn print(text: impl Into<String>) -> Call {
        Call::Print { text: text.into() }
    }

    /// A line on stderr.
    pub fn eprint(text: impl Into<String>) -> Call {
        Call::Eprint { text: text.into() }
    }

    /// Panics with this message.
    pub fn panic(message: impl Into<String>) -> Call {
        Call::Panic {
            message: message.into(),
        }
    }

    /// Ends the workflow with this error.
    pub fn fail(message: impl Into<String>) -> Call {
        Call::Fail {
            message: message.into(),
        }
    }

    /// `set_variable`.
    pub fn set_variable(name: impl Into<String>, value: Value) -> Call {
        Call::SetVariable {
            name: name.into(),
            value,
        }
    }
}

/// What one call answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The call's value, as the guest crate serialises it.
    Ok(Value),
    /// The guest crate's error.
    Err(ProbeError),
}

/// An error of the guest crate, as the probe reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeError {
    /// Which error.
    pub kind: ErrorKind,
    /// The parameter named by `invalid-argument`.
    pub parameter: Option<String>,
    /// The error's display text.
    pub message: String,
}

/// The guest crate's error variants, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// `Error::NotFound`.
    NotFound,
    /// `Error::PermissionDenied`.
    PermissionDenied,
    /// `Error::InvalidArgument`.
    InvalidArgument,
    /// `Error::NoExecutionContext`.
    NoExecutionContext,
    /// `Error::Unavailable`.
    Unavailable,
    /// `Error::TooLarge`.
    TooLarge,
    /// `Error::Internal`.
    Internal,
    /// `Error::InvalidStatus`: a status name the guest crate does not know.
    InvalidStatus,
    /// `Error::InvalidLogLevel`: a level name the guest crate does not know.
    InvalidLogLevel,
    /// `Error::Json`: a payload that is not the JSON expected.
    Json,
    /// A variant added to the guest crate after this protocol.
    Other,
}

impl Answer {
    /// The value; panics with the error otherwise.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        match self {
            Answer::Ok(v) => v,
            Answer::Err(e) => panic!("expected ok, got {e:?}"),
        }
    }

    /// The error; panics with the value otherwise.
    #[track_caller]
    pub fn err(&self) -> &ProbeError {
        match self {
            Answer::Err(e) => e,
            Answer::Ok(v) => panic!("expected an error, got ok {v}"),
        }
    }

    /// The error's kind; panics if the call succeeded.
    #[track_caller]
    pub fn kind(&self) -> ErrorKind {
        self.err().kind
    }

    /// Whether the call succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Answer::Ok(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_have_the_documented_wire_form() {
        let calls = vec![
            list().workflow_name("w").limit(5).page(),
            list().all(),
            Call::get("abc"),
            logs().of("id").start("0-0").count(3).page(),
            Call::Context,
        ];
        assert_eq!(
            serde_json::to_value(&calls).unwrap(),
            json!([
                {"op": "list", "workflow_name": "w", "limit": 5},
                {"op": "list_all"},
                {"op": "get", "id": "abc"},
                {"op": "logs", "execution_id": "id", "start": "0-0", "count": 3},
                {"op": "context"},
            ])
        );
        let back: Vec<Call> =
            serde_json::from_value(serde_json::to_value(&calls).unwrap()).unwrap();
        assert_eq!(back, calls);
    }

    #[test]
    fn answers_read_back_with_their_error_kind() {
        let answers: Vec<Answer> = serde_json::from_value(json!([
            {"ok": [1, 2]},
            {"err": {"kind": "invalid-argument", "parameter": "limit", "message": "m"}},
        ]))
        .unwrap();
        assert_eq!(answers[0].ok(), &json!([1, 2]));
        assert_eq!(answers[1].kind(), ErrorKind::InvalidArgument);
        assert_eq!(answers[1].err().parameter.as_deref(), Some("limit"));
        assert!(!answers[1].is_ok());
    }
}
