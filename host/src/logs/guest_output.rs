//! Guest stdout and stderr as log lines: each line written becomes one entry.

use std::pin::Pin;
use std::task::{Context, Poll};

use bifrost_query::values::storable_text;
use chrono::Utc;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use super::LogWriter;
use crate::model::{LogLevel, LogLine};

/// Longest line kept whole; a longer one is split at this many bytes.
const MAX_LINE: usize = 64 * 1024;

/// A WASI output stream that turns each line into a log entry at one level.
#[derive(Clone)]
pub struct GuestOutput {
    log: LogWriter,
    level: LogLevel,
}

impl GuestOutput {
    /// Output whose lines go to `log` at `level`.
    pub fn new(log: LogWriter, level: LogLevel) -> Self {
        Self { log, level }
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
        })
    }
}

struct LineSplitter {
    out: GuestOutput,
    pending: Vec<u8>,
}

impl LineSplitter {
    fn emit(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        self.out.log.write(LogLine {
            level: self.out.level,
            message: storable_text(text.to_owned()),
            metadata: None,
            timestamp: Utc::now(),
        });
    }
}

impl AsyncWrite for LineSplitter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        this.pending.extend_from_slice(buf);
        while let Some(pos) = this.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = this.pending.drain(..=pos).collect();
            this.emit(&line[..line.len() - 1]);
        }
        while this.pending.len() >= MAX_LINE {
            let line: Vec<u8> = this.pending.drain(..MAX_LINE).collect();
            this.emit(&line);
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineSplitter {
    /// A last line without a newline is still a line.
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest);
        }
    }
}
