//! What commands print on stdout: JSON lines. Every line is one complete JSON document
//! (compact); a command about one thing prints one line, a command about several prints one
//! line per item (none for an empty answer). The query commands (`executions list|get|logs`)
//! print for a person on a terminal instead ([`crate::human`]), and as one JSON document
//! with `--output json`. A closed stdout (`bifrost-runner ... | head -c
//! 1`) ends the output quietly; the exit code is what it would have been.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

use crate::exit::Failure;
use crate::human::{OutputFormat, Zone};

/// How the query commands print: the format and the clock (global flags).
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// `--output`, resolved.
    pub format: OutputFormat,
    /// `--local-time`.
    pub zone: Zone,
}

/// Set once stdout is closed by its reader: nothing more is written, and that is no error.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` and a newline to stdout; a closed stdout ends the output quietly.
fn print_line(text: &str) -> Result<(), Failure> {
    write_line(&mut std::io::stdout().lock(), text)
}

/// Writes text for a person (see [`crate::human`]) and a newline to stdout: its colours
/// only where they belong (a terminal that shows them, no `NO_COLOR`).
pub fn human(text: &str) -> Result<(), Failure> {
    write_line(&mut anstream::stdout().lock(), text)
}

fn write_line(out: &mut impl Write, text: &str) -> Result<(), Failure> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other
            .context("writing to stdout")
            .map_err(Failure::infrastructure),
    }
}

/// Prints one JSON document as one line.
pub fn json_line(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string(value)
        .context("encoding the output as JSON")
        .map_err(Failure::infrastructure)?;
    print_line(&text)
}

/// Prints each item as a line of its own.
pub fn json_lines<T: serde::Serialize>(items: impl IntoIterator<Item = T>) -> Result<(), Failure> {
    items.into_iter().try_for_each(|item| json_line(&item))
}

/// Prints the items as one JSON array.
pub fn json_array<T: serde::Serialize>(items: &[T]) -> Result<(), Failure> {
    json_line(&items)
}
