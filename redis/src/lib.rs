//! [`LogStream`] on Redis Streams: one stream per execution, `XADD` with the writer's ids in
//! pipelines, `XRANGE` by entry id, in the layout of Bifrost's own streams, so that one
//! Redis serves both.
//!
//! One Redis server (`redis://host:port/db`) or a Redis Cluster
//! (`redis+cluster://host:port,host:port`, [`cluster_nodes`]). Every command of the stream
//! names one key, the stream of one execution, so on a cluster each goes to the slot of
//! that key whole: an append of several executions' lines is one pipeline per execution,
//! and a `MOVED` or `ASK` while slots move is followed by the cluster client. Waiting for
//! new entries differs: on one server every waiter of a process shares one `XREAD BLOCK`
//! ([`waits`]); a cluster refuses a read of keys in different slots, so there each waiter
//! looks at its stream every [`CLUSTER_POLL`] instead.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::streams::StreamRangeReply;
use redis::{ErrorKind, ServerErrorKind};
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

/// The URL scheme of a Redis Cluster: `redis+cluster://host:port,host:port`.
pub const CLUSTER_SCHEME: &str = "redis+cluster://";

/// How often a waiter on a cluster looks at its stream.
pub const CLUSTER_POLL: Duration = Duration::from_millis(50);

/// What a Redis error means for a caller: the server cannot be reached, or a cluster is
/// between masters (retry later), or it answered with something this host cannot read.
fn stream_error(e: redis::RedisError) -> LogStreamError {
    let passing = matches!(
        e.kind(),
        ErrorKind::ClusterConnectionNotFound
            | ErrorKind::Server(
                ServerErrorKind::ClusterDown
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::Moved
                    | ServerErrorKind::Ask
                    | ServerErrorKind::BusyLoading
                    | ServerErrorKind::ReadOnly
            )
    );
    if passing
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
    {
        LogStreamError::Unavailable(e.to_string())
    } else {
        LogStreamError::Malformed(e.to_string())
    }
}

/// The node URLs of a cluster URL, `redis+cluster://[user:password@]host[:port],host[:port]...`
/// (port 6379 when left out): `Ok(None)` for any other URL, an error for a cluster URL that
/// names no node or a database (a cluster has database 0 only).
pub fn cluster_nodes(url: &str) -> Result<Option<Vec<String>>, String> {
    let Some(rest) = url.strip_prefix(CLUSTER_SCHEME) else {
        return Ok(None);
    };
    let rest = match rest.split_once('/') {
        None => rest,
        Some((nodes, "" | "0")) => nodes,
        Some((_, db)) => {
            return Err(format!(
                "a Redis Cluster has database 0 only, not {db:?}: leave the path out"
            ));
        }
    };
    let (auth, hosts) = match rest.rsplit_once('@') {
        Some((auth, hosts)) => (format!("{auth}@"), hosts),
        None => (String::new(), rest),
    };
    let nodes: Vec<String> = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| {
            if h.rsplit_once(':')
                .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
            {
                format!("redis://{auth}{h}")
            } else {
                format!("redis://{auth}{h}:6379")
            }
        })
        .collect();
    if nodes.is_empty() {
        return Err(format!(
            "{CLUSTER_SCHEME} names no node: {CLUSTER_SCHEME}host:port,host:port"
        ));
    }
    for node in &nodes {
        redis::Client::open(node.as_str()).map_err(|e| format!("invalid node {node}: {e}"))?;
    }
    Ok(Some(nodes))
}

/// A connection to one Redis server or to a Redis Cluster, from a URL of either kind
/// ([`RedisConnection::open`]); cheap to clone, shared by its clones. Commands go through
/// it as through any of redis-rs's connections (`query_async(&mut conn)`); on a cluster,
/// each to the node of its key's slot.
#[derive(Clone)]
pub enum RedisConnection {
    /// One server, reconnected after a failure.
    Server(ConnectionManager),
    /// A cluster: a connection to each master, following `MOVED` and `ASK`.
    Cluster(ClusterConnection),
}

impl RedisConnection {
    /// Connects to `url`: `redis://host:port/db`, or a cluster's
    /// `redis+cluster://host:port,host:port` ([`cluster_nodes`]). A connection waits at
    /// most 3 s, an answer 5 s; a failed command is tried twice more.
    pub async fn open(url: &str) -> Result<Self, LogStreamError> {
        Ok(Self::open_with_client(url).await?.0)
    }

    /// [`open`](Self::open), with the client of a single server.
    async fn open_with_client(url: &str) -> Result<(Self, Option<redis::Client>), LogStreamError> {
        let invalid =
            |e: redis::RedisError| LogStreamError::Unavailable(format!("invalid URL: {e}"));
        if let Some(nodes) = cluster_nodes(url).map_err(LogStreamError::Unavailable)? {
            let client = redis::cluster::ClusterClient::builder(nodes)
                .connection_timeout(Duration::from_secs(3))
                .response_timeout(Duration::from_secs(5))
                .retries(2)
                .build()
                .map_err(invalid)?;
            let conn = client.get_async_connection().await.map_err(stream_error)?;
            return Ok((Self::Cluster(conn), None));
        }
        let client = redis::Client::open(url).map_err(invalid)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(stream_error)?;
        Ok((Self::Server(conn), Some(client)))
    }
}

impl redis::aio::ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            RedisConnection::Server(c) => c.req_packed_command(cmd),
            RedisConnection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            RedisConnection::Server(c) => c.req_packed_commands(cmd, offset, count),
            RedisConnection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Server(c) => c.get_db(),
            RedisConnection::Cluster(c) => c.get_db(),
        }
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
    conn: RedisConnection,
    prefix: String,
    /// On one server, the waits of this stream and its clones, served by one `XREAD BLOCK`
    /// at a time on a connection of their own ([`waits`]); `None` on a cluster.
    waits: Option<std::sync::Arc<waits::Waits>>,
}

impl std::fmt::Debug for RedisLogStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLogStream")
            .field("prefix", &self.prefix)
            .field("cluster", &self.is_cluster())
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

    /// Connects to `url` (`redis://host:port/db`, or a cluster's
    /// `redis+cluster://host:port,host:port`) with the default key prefix.
    pub async fn connect(url: &str) -> Result<Self, LogStreamError> {
        Self::connect_with_prefix(url, DEFAULT_KEY_PREFIX).await
    }

    /// Checks that `url` is a Redis URL the client accepts, without connecting.
    pub fn check_url(url: &str) -> Result<(), String> {
        if cluster_nodes(url)?.is_some() {
            return Ok(());
        }
        redis::Client::open(url)
            .map(drop)
            .map_err(|e| format!("invalid URL: {e}"))
    }

    /// Connects to `url`, naming streams `{prefix}{execution_id}`.
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, LogStreamError> {
        let (conn, client) = RedisConnection::open_with_client(url).await?;
        let waits = match (&conn, client) {
            (RedisConnection::Server(shared), Some(client)) => {
                Some(waits::Waits::new(client, shared.clone()))
            }
            _ => None,
        };
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            waits,
        })
    }

    /// Appends `entries` in one pipeline (on a cluster, all of one execution).
    async fn append_pipeline(&self, entries: &[LogEntry]) -> Result<(), LogStreamError> {
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

    /// Whether this stream is on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, RedisConnection::Cluster(_))
    }

    /// On a cluster: looks at stream `execution_id` every [`CLUSTER_POLL`] until it has an
    /// entry after `after` (any entry, for `None`) or `timeout` has passed.
    async fn poll(
        &self,
        execution_id: Uuid,
        after: Option<StreamId>,
        timeout: Duration,
    ) -> Result<Wait, LogStreamError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let top = self.last_id(execution_id).await?;
            if top.is_some_and(|top| after.is_none_or(|after| top > after)) {
                return Ok(Wait::Ready);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Wait::TimedOut);
            }
            tokio::time::sleep(CLUSTER_POLL.min(deadline - now)).await;
        }
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
        // A cluster takes a pipeline whose commands are all of one slot: there, each
        // execution's lines go in one of their own.
        if self.is_cluster() {
            let mut rest = entries;
            while let Some(first) = rest.first() {
                let n = rest
                    .iter()
                    .position(|e| e.execution_id != first.execution_id)
                    .unwrap_or(rest.len());
                self.append_pipeline(&rest[..n]).await?;
                rest = &rest[n..];
            }
            return Ok(());
        }
        self.append_pipeline(entries).await
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

    /// On one server, one `XREAD BLOCK` for every waiter of this process ([`waits`]); on
    /// a cluster, a look every [`CLUSTER_POLL`].
    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn wait(
        &self,
        execution_id: Uuid,
        after: Option<StreamId>,
        timeout: Duration,
    ) -> Result<Wait, LogStreamError> {
        let Some(waits) = &self.waits else {
            return self.poll(execution_id, after, timeout).await;
        };
        let ready = waits.wait(self.key(execution_id), after, timeout).await?;
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
