//! Guest stdout and stderr as log lines: each line written becomes one entry.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bifrost_core::storable::storable_text;
use chrono::Utc;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use bifrost_core::model::{LogLevel, LogLine};
use bifrost_host::LogWriter;

/// Longest line kept whole; a longer one is split at this many bytes.
const MAX_LINE: usize = 64 * 1024;

/// Bytes of the end of the guest's output a [`OutputTail`] keeps.
const TAIL_BYTES: usize = 4096;

/// A WASI output stream that turns each line into a log entry at one level.
#[derive(Clone)]
pub struct GuestOutput {
    log: LogWriter,
    level: LogLevel,
    tail: Option<OutputTail>,
}

impl GuestOutput {
    /// Output whose lines go to `log` at `level`.
    pub fn new(log: LogWriter, level: LogLevel) -> Self {
        Self {
            log,
            level,
            tail: None,
        }
    }

    /// Also keeps the last bytes written in `tail` (for stderr: what a guest writes just
    /// before it traps names the cause, such as a panic message or an exception).
    pub fn with_tail(mut self, tail: OutputTail) -> Self {
        self.tail = Some(tail);
        self
    }

    fn emit(&self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        self.log.write(LogLine {
            level: self.level,
            message: storable_text(text.to_owned()),
            metadata: None,
            timestamp: Utc::now(),
        });
    }
}

/// The last few KiB a guest wrote to one output, shared between the output stream and the
/// runner, which reads it when the guest traps.
#[derive(Clone, Default)]
pub struct OutputTail(Arc<Mutex<VecDeque<u8>>>);

impl OutputTail {
    /// An empty tail.
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self, bytes: &[u8]) {
        let Ok(mut tail) = self.0.lock() else { return };
        let bytes = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
        let excess = (tail.len() + bytes.len()).saturating_sub(TAIL_BYTES);
        tail.drain(..excess);
        tail.extend(bytes);
    }

    /// The last lines written (at most 4 KiB, whole lines where they fit), without
    /// trailing blank lines and without Rust's hint about `RUST_BACKTRACE`, which says
    /// nothing about the cause; `None` if nothing was written.
    pub fn text(&self) -> Option<String> {
        let bytes: Vec<u8> = self.0.lock().ok()?.iter().copied().collect();
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if bytes.len() >= TAIL_BYTES
            && let Some(first_newline) = text.find('\n')
        {
            // The first line is probably cut: start at a line.
            text.drain(..=first_newline);
        }
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE=1`"))
            .collect();
        let text = lines.join("\n");
        let text = text.trim_end();
        (!text.trim().is_empty()).then(|| text.to_owned())
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineSplitter {
            out: self.clone(),
            pending: Vec::new(),
            scanned: 0,
        })
    }
}

struct LineSplitter {
    out: GuestOutput,
    pending: Vec<u8>,
    /// Bytes at the start of `pending` known to hold no newline: a long line arrives in
    /// many writes, and each looks only at what is new.
    scanned: usize,
}

impl LineSplitter {
    /// Emits every complete line of `pending`, and a line of `MAX_LINE` bytes for every
    /// `MAX_LINE` bytes without a newline; keeps the rest. One pass, one move of the rest.
    fn split(&mut self) {
        let mut start = 0;
        let mut from = self.scanned;
        loop {
            let rest = &self.pending[start..];
            let window = &rest[from..rest.len().min(MAX_LINE)];
            match memchr::memchr(b'\n', window) {
                Some(pos) => {
                    self.out.emit(&rest[..from + pos]);
                    start += from + pos + 1;
                }
                None if rest.len() >= MAX_LINE => {
                    self.out.emit(&rest[..MAX_LINE]);
                    start += MAX_LINE;
                }
                None => {
                    self.scanned = rest.len();
                    break;
                }
            }
            from = 0;
        }
        self.pending.drain(..start);
    }

    fn emit_rest(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.scanned = 0;
            self.out.emit(&rest);
        }
    }
}

impl AsyncWrite for LineSplitter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        if let Some(tail) = &this.out.tail {
            tail.record(buf);
        }
        this.pending.extend_from_slice(buf);
        this.split();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.emit_rest();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineSplitter {
    /// A last line without a newline is still a line.
    fn drop(&mut self) {
        self.emit_rest();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bifrost_core::logs::MemoryLogStream;

    /// What `writes` become as log lines, written one after another.
    async fn lines_of(writes: &[&[u8]]) -> Vec<String> {
        let id = uuid::Uuid::new_v4();
        let (log, task) = LogWriter::spawn(
            std::sync::Arc::new(MemoryLogStream::new()),
            id,
            &bifrost_core::limits::Limits::default(),
        );
        let mut splitter = LineSplitter {
            out: GuestOutput::new(log, LogLevel::Info),
            pending: Vec::new(),
            scanned: 0,
        };
        for w in writes {
            let _ = std::pin::Pin::new(&mut splitter)
                .poll_write(&mut Context::from_waker(std::task::Waker::noop()), w);
        }
        drop(splitter);
        task.finish()
            .await
            .entries
            .into_iter()
            .map(|e| e.message)
            .collect()
    }

    #[tokio::test]
    async fn lines_are_split_at_newlines_and_at_64_kib_across_writes() {
        let long = vec![b'a'; MAX_LINE + 10];
        let lines = lines_of(&[
            b"one\ntw",
            b"o\r\n",
            &long[..40_000],
            &long[40_000..],
            b"\nlast",
        ])
        .await;
        assert_eq!(
            lines.len(),
            5,
            "{:?}",
            lines.iter().map(String::len).collect::<Vec<_>>()
        );
        assert_eq!(lines[0], "one");
        assert_eq!(lines[1], "two");
        assert_eq!(lines[2].len(), MAX_LINE);
        assert_eq!(lines[3], "a".repeat(10));
        assert_eq!(lines[4], "last");
    }

    #[test]
    fn the_tail_keeps_the_last_lines_without_the_backtrace_hint() {
        let tail = OutputTail::new();
        assert_eq!(tail.text(), None);
        tail.record(b"early noise\n");
        tail.record(b"thread '<unnamed>' panicked at src/lib.rs:3:5:\nboom\n");
        tail.record(
            b"note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n",
        );
        assert_eq!(
            tail.text().unwrap(),
            "early noise\nthread '<unnamed>' panicked at src/lib.rs:3:5:\nboom"
        );
        // Past 4 KiB, only the end is kept, from a line start.
        tail.record(&b"x".repeat(5000));
        tail.record(b"\nValueError: bad input");
        assert_eq!(tail.text().unwrap(), "ValueError: bad input");
    }
}
