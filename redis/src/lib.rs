//! [`LogStream`] on Redis Streams: one stream per execution, `XADD` with the writer's ids in
//! pipelines, `XRANGE` by entry id, in the layout of Bifrost's own streams, so that one
//! Redis serves both.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::StreamRangeReply;
use std::time::Duration;
use uuid::Uuid;

use bifrost_core::error::LogStreamError;
use bifrost_core::logs::{LogStream, Wait};
use bifrost_core::model::rfc3339;
use bifrost_core::model::{
    LogEntry, LogLevel, LogMetadata, ParseLogLevelError, ParseStreamIdError, StreamId,
};

mod waits;

/// Default key prefix of log streams: the stream of execution `X` is `bifrost:logs:X`.
pub const DEFAULT_KEY_PREFIX: &str = "bifrost:logs:";

/// What a Redis error means for a caller: the server cannot be reached (retry later), or
/// it answered with something this host cannot read.
fn stream_error(e: redis::RedisError) -> LogStreamError {
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
        LogStreamError::Unavailable(e.to_string())
    } else {
        LogStreamError::Malformed(e.to_string())
    }
}

/// The largest stream id, as an `XRANGE` end.
const STREAM_END: &str = "+";
/// The smallest stream id, as an `XREVRANGE` end.
const STREAM_START: &str = "-";

/// Live logs in Redis Streams, Bifrost's layout: key `{prefix}{execution_id}`, entry fields
/// `execution_id`, `level` (upper case), `message`, `metadata` (JSON text, `{}` when none),
/// `timestamp` (ISO-8601).
#[derive(Clone)]
pub struct RedisLogStream {
    conn: ConnectionManager,
    prefix: String,
    /// The waits of this stream and its clones, served by one `XREAD BLOCK` at a time on
    /// a connection of their own ([`waits`]).
    waits: std::sync::Arc<waits::Waits>,
}

impl std::fmt::Debug for RedisLogStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLogStream")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisLogStream {
    /// The entries `command` (`XRANGE` or `XREVRANGE`) answers from `first` to `last`, at
    /// most `count`, in the order it gives them.
    async fn range(
        &self,
        execution_id: Uuid,
        command: &str,
        first: &str,
        last: &str,
        count: u32,
    ) -> Result<Vec<LogEntry>, LogStreamError> {
        let mut conn = self.conn.clone();
        let reply: StreamRangeReply = redis::cmd(command)
            .arg(self.key(execution_id))
            .arg(first)
            .arg(last)
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await
            .map_err(stream_error)?;
        reply
            .ids
            .iter()
            .map(|e| parse_entry(execution_id, e))
            .collect()
    }

    /// Connects to `url` (`redis://host:port/db`) with the default key prefix.
    pub async fn connect(url: &str) -> Result<Self, LogStreamError> {
        Self::connect_with_prefix(url, DEFAULT_KEY_PREFIX).await
    }

    /// Checks that `url` is a Redis URL the client accepts, without connecting.
    pub fn check_url(url: &str) -> Result<(), String> {
        redis::Client::open(url)
            .map(drop)
            .map_err(|e| format!("invalid URL: {e}"))
    }

    /// Connects to `url`, naming streams `{prefix}{execution_id}`.
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, LogStreamError> {
        let client = redis::Client::open(url)
            .map_err(|e| LogStreamError::Unavailable(format!("invalid URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(stream_error)?;
        Ok(Self {
            waits: waits::Waits::new(client, conn.clone()),
            conn,
            prefix: prefix.to_owned(),
        })
    }

    /// The stream key of an execution.
    pub fn key(&self, execution_id: Uuid) -> String {
        format!("{}{}", self.prefix, execution_id)
    }
}

fn field(entry: &redis::streams::StreamId, name: &str) -> Result<String, LogStreamError> {
    entry
        .get::<String>(name)
        .ok_or_else(|| LogStreamError::Malformed(format!("entry {} has no {name} field", entry.id)))
}

fn parse_entry(
    execution_id: Uuid,
    e: &redis::streams::StreamId,
) -> Result<LogEntry, LogStreamError> {
    let malformed = |what: String| LogStreamError::Malformed(format!("entry {}: {what}", e.id));
    let id: StreamId =
        e.id.parse()
            .map_err(|err: ParseStreamIdError| malformed(err.to_string()))?;
    let level: LogLevel = field(e, "level")?
        .parse()
        .map_err(|err: ParseLogLevelError| malformed(err.to_string()))?;
    let metadata_text = field(e, "metadata").unwrap_or_else(|_| "{}".to_owned());
    let metadata = match serde_json::from_str::<serde_json::Value>(&metadata_text) {
        Ok(serde_json::Value::Object(m)) if m.is_empty() => None,
        Ok(v @ serde_json::Value::Object(_)) => Some(LogMetadata::from_value(&v)),
        Ok(_) => return Err(malformed("metadata is not a JSON object".into())),
        Err(err) => return Err(malformed(format!("metadata is not JSON: {err}"))),
    };
    let timestamp = DateTime::parse_from_rfc3339(&field(e, "timestamp")?)
        .map_err(|err| malformed(format!("timestamp: {err}")))?
        .with_timezone(&Utc);
    Ok(LogEntry {
        id,
        execution_id,
        level,
        message: field(e, "message")?,
        metadata,
        timestamp,
    })
}

#[async_trait]
impl LogStream for RedisLogStream {
    #[tracing::instrument(skip_all, fields(n = entries.len()))]
    async fn append(&self, entries: &[LogEntry]) -> Result<(), LogStreamError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        // A batch is usually one execution's: its key and id text are made once.
        let mut current: Option<(Uuid, String, String)> = None;
        for entry in entries {
            let (_, key, execution_id) = match &current {
                Some((id, ..)) if *id == entry.execution_id => current.as_ref().expect("set"),
                _ => current.insert((
                    entry.execution_id,
                    self.key(entry.execution_id),
                    entry.execution_id.to_string(),
                )),
            };
            let cmd = pipe
                .cmd("XADD")
                .arg(key)
                .arg(entry.id.to_string())
                .arg("execution_id")
                .arg(execution_id)
                .arg("level")
                .arg(entry.level.as_str())
                .arg("message")
                .arg(&entry.message)
                .arg("metadata");
            match &entry.metadata {
                Some(m) => cmd.arg(m.as_str()),
                None => cmd.arg("{}"),
            }
            .arg("timestamp")
            .arg(rfc3339(&entry.timestamp))
            .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(stream_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn last_id(&self, execution_id: Uuid) -> Result<Option<StreamId>, LogStreamError> {
        let mut conn = self.conn.clone();
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.key(execution_id))
            .arg(STREAM_END)
            .arg(STREAM_START)
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await
            .map_err(stream_error)?;
        reply
            .ids
            .first()
            .map(|e| {
                e.id.parse()
                    .map_err(|err: ParseStreamIdError| LogStreamError::Malformed(err.to_string()))
            })
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn read(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, LogStreamError> {
        self.range(
            execution_id,
            "XRANGE",
            &start.to_string(),
            STREAM_END,
            count,
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn read_last(
        &self,
        execution_id: Uuid,
        count: u32,
    ) -> Result<Vec<LogEntry>, LogStreamError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut last = self
            .range(execution_id, "XREVRANGE", STREAM_END, STREAM_START, count)
            .await?;
        last.reverse();
        Ok(last)
    }

    /// One `XREAD BLOCK` for every waiter of this process ([`waits`]).
    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn wait(
        &self,
        execution_id: Uuid,
        after: Option<StreamId>,
        timeout: Duration,
    ) -> Result<Wait, LogStreamError> {
        let ready = self
            .waits
            .wait(self.key(execution_id), after, timeout)
            .await?;
        Ok(if ready { Wait::Ready } else { Wait::TimedOut })
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn delete(&self, execution_id: Uuid) -> Result<(), LogStreamError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(self.key(execution_id))
            .query_async(&mut conn)
            .await
            .map_err(stream_error)?;
        Ok(())
    }
}
