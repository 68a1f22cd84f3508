//! `serve --listen ADDR`: `/healthz` and Prometheus `/metrics` for operators.
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `bifrost_executions_started_total` | counter | executions this process started |
//! | `bifrost_executions_finished_total{status}` | counter | executions it recorded, by final status |
//! | `bifrost_execution_duration_seconds` | histogram | from instantiation to the recorded final status |
//! | `bifrost_live_instances` | gauge | instances alive in this process |
//! | `bifrost_queue_depth` | gauge | due executions no runner has claimed yet (read from the store at each scrape) |
//! | `bifrost_compiled_cache_hits_total`, `bifrost_compiled_cache_misses_total` | counter | components loaded from the compiled-code cache, and compiled |
//!
//! `/healthz` answers 200 `ok` when the store answers, 503 with the reason otherwise.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use bifrost_core::model::Execution;
use bifrost_core::queue::QueueStore;
use bifrost_runner::{RunEvents, Runner};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

/// The metrics of one `serve` process.
pub struct Metrics {
    registry: Registry,
    started: Counter,
    finished: Family<StatusLabel, Counter>,
    duration: Histogram,
    live: Gauge,
    queue_depth: Gauge,
    cache_hits: Counter,
    cache_misses: Counter,
}

impl Metrics {
    /// The metrics, registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("bifrost");
        let started = Counter::default();
        let finished = Family::<StatusLabel, Counter>::default();
        // 1 ms to about 9 minutes.
        let duration = Histogram::new(exponential_buckets(0.001, 2.0, 20));
        let live = Gauge::default();
        let queue_depth = Gauge::default();
        let cache_hits = Counter::default();
        let cache_misses = Counter::default();
        registry.register(
            "executions_started",
            "Executions this process started",
            started.clone(),
        );
        registry.register(
            "executions_finished",
            "Executions this process recorded, by final status",
            finished.clone(),
        );
        registry.register(
            "execution_duration_seconds",
            "From instantiation to the recorded final status",
            duration.clone(),
        );
        registry.register(
            "live_instances",
            "Instances alive in this process",
            live.clone(),
        );
        registry.register(
            "queue_depth",
            "Due executions no runner has claimed yet",
            queue_depth.clone(),
        );
        registry.register(
            "compiled_cache_hits",
            "Components loaded from the compiled-code cache",
            cache_hits.clone(),
        );
        registry.register(
            "compiled_cache_misses",
            "Components compiled (not in the compiled-code cache)",
            cache_misses.clone(),
        );
        Self {
            registry,
            started,
            finished,
            duration,
            live,
            queue_depth,
            cache_hits,
            cache_misses,
        }
    }
}

impl RunEvents for Metrics {
    fn started(&self, _workflow_name: &str) {
        self.started.inc();
    }

    fn finished(&self, execution: &Execution, took: Duration) {
        self.finished
            .get_or_create(&StatusLabel {
                status: execution.status.as_str().to_owned(),
            })
            .inc();
        self.duration.observe(took.as_secs_f64());
    }
}

#[derive(Clone)]
struct Ops {
    metrics: Arc<Metrics>,
    runner: Arc<Runner>,
    queue: Arc<dyn QueueStore>,
    /// Scrapes one at a time: the cache counters are brought up to date by differences.
    scrape: Arc<Mutex<()>>,
}

async fn healthz(State(ops): State<Ops>) -> impl IntoResponse {
    match ops.queue.queue_depth(chrono::Utc::now()).await {
        Ok(_) => (StatusCode::OK, "ok\n".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")),
    }
}

async fn scrape(State(ops): State<Ops>) -> impl IntoResponse {
    let depth = ops.queue.queue_depth(chrono::Utc::now()).await;
    let m = &ops.metrics;
    let mut text = String::new();
    {
        let _one = ops.scrape.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(depth) = depth {
            m.queue_depth.set(depth as i64);
        }
        m.live.set(ops.runner.live_instances() as i64);
        let (hits, misses) = ops.runner.compiled_cache_counts();
        m.cache_hits.inc_by(hits.saturating_sub(m.cache_hits.get()));
        m.cache_misses
            .inc_by(misses.saturating_sub(m.cache_misses.get()));
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &m.registry) {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain")],
                format!("cannot encode the metrics: {e}\n"),
            );
        }
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}

/// Serves `/healthz`, `/metrics` and `api` (the HTTP API's routes) on `listener` until the
/// process ends.
pub fn spawn(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    runner: Arc<Runner>,
    queue: Arc<dyn QueueStore>,
    api: Router,
) -> tokio::task::JoinHandle<()> {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(scrape))
        .with_state(Ops {
            metrics,
            runner,
            queue,
            scrape: Arc::default(),
        })
        .merge(api);
    // No Nagle: an event of the stream after another small write would otherwise wait for
    // the client's delayed acknowledgement (up to 40 ms).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the HTTP endpoint stopped");
        }
    })
}
