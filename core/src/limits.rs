//! Per-execution limits on what crosses the boundary between guest and host, each with a
//! documented default that a runner can change. The virtual provider applies the defaults.

/// Caps on one execution's traffic through the imports.
///
/// What exceeds a cap is never dropped silently: it is refused with the `too-large` error,
/// truncated with an explicit marker, or counted and reported (log volume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest log message kept whole; longer ones are cut there and end with
    /// `… [truncated N bytes]`. Default 64 KiB. (Guest stdout/stderr lines longer than this
    /// are split into several entries instead.)
    pub max_log_message_bytes: usize,
    /// Largest log metadata (JSON text); larger is refused with `too-large`. Default 16 KiB.
    pub max_log_metadata_bytes: usize,
    /// Most log lines one execution keeps; later lines are counted, not kept, and the log
    /// ends with a line that says how many. Default 100,000.
    pub max_log_lines: u64,
    /// Most bytes of log messages and metadata one execution keeps, counted like
    /// `max_log_lines`. Default 64 MiB.
    pub max_log_bytes: u64,
    /// Largest runtime variable value (JSON text); larger is refused with `too-large`.
    /// Default 64 KiB.
    pub max_variable_bytes: usize,
    /// Longest variable name; longer is `invalid-argument`. Default 256 bytes.
    pub max_variable_name_bytes: usize,
    /// Most bytes all of one execution's variables take together (each name and the JSON
    /// text of its value); a `set-variable` that would pass it is refused with
    /// `too-large` (replacing a variable counts its new size instead of its old one).
    /// Default 1 MiB.
    pub max_variables_bytes: usize,
    /// Deepest nesting of a variable value or of log metadata; deeper is
    /// `invalid-argument`. Default 64 levels (stored JSON must stay readable by JSON
    /// parsers with a recursion limit, serde_json's being 128).
    pub max_json_depth: usize,
    /// Largest workflow result (JSON text); a larger one fails the execution with a message
    /// that gives both sizes. Default 1 MiB.
    pub max_result_bytes: usize,
    /// Largest input (JSON text); a larger one is refused before any execution is recorded.
    /// Default 1 MiB.
    pub max_input_bytes: usize,
    /// Longest error message kept whole (the workflow's own or a trap's); longer ones are
    /// truncated with a marker. Default 64 KiB.
    pub max_error_message_bytes: usize,
    /// Executions queries (`list`, `list-page`, `get`, `get-current-logs`) one execution may
    /// make per second; beyond that the calls wait, so that a workflow that queries in a
    /// loop cannot starve the others of the database. Default 1,000.
    pub max_queries_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_log_message_bytes: 64 << 10,
            max_log_metadata_bytes: 16 << 10,
            max_log_lines: 100_000,
            max_log_bytes: 64 << 20,
            max_variable_bytes: 64 << 10,
            max_variable_name_bytes: 256,
            max_variables_bytes: 1 << 20,
            max_json_depth: 64,
            max_result_bytes: 1 << 20,
            max_input_bytes: 1 << 20,
            max_error_message_bytes: 64 << 10,
            max_queries_per_second: 1_000,
        }
    }
}

/// Cuts `text` to at most `max` bytes (at a character boundary) and appends
/// `… [truncated N bytes]`, N being the bytes removed. Unchanged when it fits.
///
/// The result is a new allocation of its own size: the original, which may be as large as
/// the guest's memory, is freed, not kept behind a short text.
pub fn truncate_with_marker(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let removed = text.len() - cut;
    let marker = format!("… [truncated {removed} bytes]");
    let mut out = String::with_capacity(cut + marker.len());
    out.push_str(&text[..cut]);
    out.push_str(&marker);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_marks_what_was_cut() {
        assert_eq!(truncate_with_marker("short".into(), 10), "short");
        assert_eq!(
            truncate_with_marker("abcdefgh".into(), 3),
            "abc… [truncated 5 bytes]"
        );
        // Never splits a character: "é" is two bytes.
        assert_eq!(
            truncate_with_marker("aé".into(), 2),
            "a… [truncated 2 bytes]"
        );
        // What is kept holds no more memory than its own text.
        let cut = truncate_with_marker("x".repeat(1 << 20), 10);
        assert_eq!(cut.capacity(), cut.len());
    }
}
