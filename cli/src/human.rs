//! What a person at a terminal reads: a table of executions, a summary of one, and one
//! line per log entry (`time LEVEL message {metadata}`, the level coloured). Scripts get
//! the JSON forms ([`crate::output`]); which one a command prints is [`OutputFormat`]'s
//! choice. Colours are written as ANSI styles and left to `anstream`, which drops them
//! when the stream is no terminal, `NO_COLOR` is set, or the terminal cannot show them.

use anstyle::{AnsiColor, Style};
use bifrost_core::model::{Execution, ExecutionStatus, LogEntry, LogLevel};
use chrono::{DateTime, Local, SecondsFormat, Utc};
use comfy_table::{Table, presets};

/// How a query command prints its answer (`--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table, a summary or log lines for a person; the default on a terminal.
    Human,
    /// One JSON document: an array for a command about several things.
    Json,
    /// JSON lines, one document a line; the default when stdout is no terminal.
    Jsonl,
}

impl OutputFormat {
    /// `chosen`, or by where stdout goes: a terminal reads [`Human`](Self::Human), anything
    /// else [`Jsonl`](Self::Jsonl).
    pub fn resolve(chosen: Option<OutputFormat>) -> OutputFormat {
        use std::io::IsTerminal;
        chosen.unwrap_or(if std::io::stdout().is_terminal() {
            OutputFormat::Human
        } else {
            OutputFormat::Jsonl
        })
    }
}

/// Which clock times are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    /// UTC (the default), marked `Z`.
    #[default]
    Utc,
    /// The machine's local time, with its offset.
    Local,
}

impl Zone {
    /// A time to the millisecond.
    pub fn time(self, t: DateTime<Utc>) -> String {
        match self {
            Zone::Utc => t.to_rfc3339_opts(SecondsFormat::Millis, true),
            Zone::Local => t
                .with_timezone(&Local)
                .to_rfc3339_opts(SecondsFormat::Millis, false),
        }
    }
}

/// Most characters of a workflow name or a user name in the table; longer ones are cut,
/// ending with [`CUT`].
pub const TABLE_CELL: usize = 32;

/// Marks a value cut short in the table.
pub const CUT: char = '…';

/// `text` cut to `max` characters, the last being [`CUT`], when longer.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push(CUT);
    out
}

/// A duration in milliseconds as a person reads it: `850 ms`, `12.3 s`, `4 min 05 s`.
pub fn duration(ms: i64) -> String {
    match ms {
        ..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// Who started an execution: the name, or the id when there is no name.
fn who(e: &Execution) -> String {
    if e.executed_by_name.is_empty() {
        e.executed_by.to_string()
    } else {
        e.executed_by_name.clone()
    }
}

/// The executions as a table: id, workflow, status, started, duration, who.
pub fn table(executions: &[Execution], zone: Zone) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_BORDERS_ONLY)
        .set_header(["ID", "WORKFLOW", "STATUS", "STARTED", "DURATION", "WHO"]);
    for e in executions {
        table.add_row([
            e.id.to_string(),
            cut(&e.workflow_name, TABLE_CELL),
            e.status.as_str().to_owned(),
            e.started_at.map(|t| zone.time(t)).unwrap_or_default(),
            e.duration_ms.map(duration).unwrap_or_default(),
            cut(&who(e), TABLE_CELL),
        ]);
    }
    table.to_string()
}

/// The style of a status: green for success, red for failures, yellow for what still runs.
fn status_style(status: ExecutionStatus) -> Style {
    let colour = match status {
        ExecutionStatus::Success => AnsiColor::Green,
        s if s.is_final() => AnsiColor::Red,
        _ => AnsiColor::Yellow,
    };
    Style::new().fg_color(Some(colour.into())).bold()
}

fn level_style(level: LogLevel) -> Style {
    let colour = match level {
        LogLevel::Debug => AnsiColor::BrightBlack,
        LogLevel::Info => AnsiColor::Green,
        LogLevel::Warning => AnsiColor::Yellow,
        LogLevel::Error | LogLevel::Critical => AnsiColor::Red,
    };
    let style = Style::new().fg_color(Some(colour.into()));
    if level == LogLevel::Critical {
        style.bold()
    } else {
        style
    }
}

/// `text` in `style` (ANSI codes, dropped by `anstream` where colours do not belong).
fn styled(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// One log entry as a line: `time LEVEL message {metadata}`, the level coloured and padded
/// so that the messages line up. Newlines in the message stay as they are.
pub fn log_line(entry: &LogEntry, zone: Zone) -> String {
    let level = format!("{:<8}", entry.level.as_str());
    let mut line = format!(
        "{} {} {}",
        zone.time(entry.timestamp),
        styled(level_style(entry.level), &level),
        entry.message
    );
    if let Some(m) = &entry.metadata {
        line.push(' ');
        line.push_str(&styled(Style::new().dimmed(), m.as_str()));
    }
    line
}

/// A final status as `follow` reports it on stderr.
pub fn final_status(e: &Execution) -> String {
    let mut text = format!(
        "execution {} ended {}",
        e.id,
        styled(status_style(e.status), e.status.as_str())
    );
    if let Some(ms) = e.duration_ms {
        text.push_str(&format!(" after {}", duration(ms)));
    }
    if let Some(error) = &e.error_message {
        text.push_str(&format!(": {}", error.lines().next().unwrap_or_default()));
    }
    text
}

/// One execution as a summary: a field a line, the input and result as indented JSON.
pub fn summary(e: &Execution, zone: Zone) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("Execution", e.id.to_string()),
        ("Workflow", e.workflow_name.clone()),
        ("Status", styled(status_style(e.status), e.status.as_str())),
    ];
    if let Some(v) = &e.workflow_version {
        rows.push(("Version", v.clone()));
    }
    if let Some(parent) = e.parent_execution_id {
        rows.push(("Parent", parent.to_string()));
    }
    if let Some(t) = e.started_at {
        rows.push(("Started", zone.time(t)));
    }
    if let Some(t) = e.completed_at {
        rows.push(("Completed", zone.time(t)));
    }
    if let Some(ms) = e.duration_ms {
        rows.push(("Duration", duration(ms)));
    }
    rows.push((
        "Started by",
        format!("{} ({})", e.executed_by_name, e.executed_by),
    ));
    if let Some(org) = e.organization_id {
        rows.push(("Organisation", org.to_string()));
    }
    if let Some(error) = &e.error_message {
        rows.push(("Error", error.clone()));
    }
    if let Some(n) = e.log_lines_dropped.filter(|n| *n > 0) {
        rows.push(("Lines dropped", n.to_string()));
    }
    if let Some(logs) = &e.logs {
        rows.push((
            "Logs",
            format!("{} lines (executions logs {})", logs.len(), e.id),
        ));
    }
    rows.push(("Input", pretty(&e.parameters)));
    if let Some(result) = &e.result {
        rows.push(("Result", pretty(result)));
    }
    if let Some(vars) = &e.variables {
        rows.push(("Variables", pretty(vars)));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        let mut lines = value.lines();
        out.push_str(&format!(
            "{key:<width$}  {}\n",
            lines.next().unwrap_or_default()
        ));
        for more in lines {
            out.push_str(&format!("{:<width$}  {more}\n", ""));
        }
    }
    out
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_with_a_marker() {
        assert_eq!(cut("hello", 5), "hello");
        assert_eq!(cut("hello!", 5), "hell…");
        assert_eq!(cut("ééééééé", 3).chars().count(), 3);
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
    }

    #[test]
    fn times_are_utc_unless_asked() {
        let t = DateTime::parse_from_rfc3339("2026-12-04T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(Zone::Utc.time(t), "2026-12-04T10:00:00.123Z");
        // The same instant, to the millisecond, whatever the machine's zone.
        let local = DateTime::parse_from_rfc3339(&Zone::Local.time(t)).unwrap();
        assert_eq!(local.timestamp_millis(), t.timestamp_millis());
    }
}
