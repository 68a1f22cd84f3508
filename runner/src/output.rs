//! Guest stdout and stderr as log lines: each line written becomes one entry.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bifrost_core::storable::storable_text;
use chrono::Utc;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

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

impl GuestOutput {
    fn splitter(&self) -> LineSplitter {
        LineSplitter {
            out: self.clone(),
            pending: Vec::new(),
            scanned: 0,
        }
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.splitter())
    }

    /// The WASIp2 stream writes into the splitter at once, with nothing queued: the
    /// default adapter queues each write for a task of its own, and a guest writing empty
    /// buffers in a loop grew that queue, and the host's memory, without bound
    /// (GHSA-5m8g-xhq4-4h93, fixed in wasmtime-wasi 48.0.9, which this project's registry
    /// does not have yet). Lines go to the log writer, which never blocks.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.splitter())
    }
}

/// How many bytes a guest may write per `check-write`: as much as a line holds, so that a
/// long line needs few calls.
const WRITE_BUDGET: usize = MAX_LINE;

impl LineSplitter {
    fn take(&mut self, buf: &[u8]) {
        if let Some(tail) = &self.out.tail {
            tail.record(buf);
        }
        self.pending.extend_from_slice(buf);
        self.split();
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineSplitter {
    /// Always ready: a write is taken at once.
    async fn ready(&mut self) {}
}

impl OutputStream for LineSplitter {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        if bytes.len() > WRITE_BUDGET {
            return Err(StreamError::Trap(wasmtime::format_err!(
                "write of {} bytes exceeds the permitted {WRITE_BUDGET}",
                bytes.len()
            )));
        }
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
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
        self.take(buf);
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

    /// Resident memory of this process, in bytes (Linux).
    fn rss() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap();
        kib * 1024
    }

    /// The WASIp2 stream takes each write at once, with nothing queued: ten million empty
    /// writes, with nothing else running meanwhile, leave the process's memory as it was
    /// (the default adapter queued each one for a task of its own, 320 MB of queue here;
    /// GHSA-5m8g-xhq4-4h93), and the lines written come out.
    #[tokio::test(flavor = "current_thread")]
    async fn the_wasip2_stream_queues_nothing() {
        let (log, task) = LogWriter::spawn(
            std::sync::Arc::new(MemoryLogStream::new()),
            uuid::Uuid::new_v4(),
            &bifrost_core::limits::Limits::default(),
        );
        let out = GuestOutput::new(log, LogLevel::Info);
        let mut stream = out.p2_stream();
        let before = rss();
        for _ in 0..10_000_000 {
            stream.check_write().unwrap();
            stream.write(bytes::Bytes::new()).unwrap();
        }
        let grown = rss().saturating_sub(before);
        assert!(grown < 64 << 20, "empty writes took {} MiB", grown >> 20);
        stream.check_write().unwrap();
        stream
            .write(bytes::Bytes::from_static(b"one\ntwo\n"))
            .unwrap();
        assert!(matches!(
            stream.write(bytes::Bytes::from(vec![b'x'; WRITE_BUDGET + 1])),
            Err(StreamError::Trap(_))
        ));
        stream.flush().unwrap();
        drop((stream, out));
        let lines: Vec<String> = task
            .finish()
            .await
            .entries
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(lines, ["one", "two"]);
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
