//! The HTTP API over loopback: the API's router on a port of its own with a worker in the
//! same process (as `serve --listen` runs them), on both backends; and `serve --listen`
//! itself, with a token made by `tokens create`, on the embedded default.

use std::time::{Duration, Instant};

use bifrost_api::{ApiLimits, ApiState};
use bifrost_core::Identity;
use bifrost_core::access::{Scopes, Token};
use bifrost_runner::backends::{BackendConfig, Backends};
use bifrost_runner::worker::{Worker, WorkerConfig};
use bifrost_tests::{
    Answer, Backend, Call, ErrorKind, Harness, PROBE, Seed, TestEnv, admin, ids, list, user,
};
use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::TempDir;

/// An API server and a worker in this process, on a test's backends.
pub(crate) struct Api {
    /// The API's root: `http://ADDR/api/v1`.
    pub(crate) base: String,
    /// The pages' root: `http://ADDR`.
    pub(crate) root: String,
    pub(crate) backends: Backends,
    pub(crate) http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Api {
    pub(crate) async fn start(env: &TestEnv) -> Api {
        Self::with_limits(env, ApiLimits::default()).await
    }

    pub(crate) async fn with_limits(env: &TestEnv, limits: ApiLimits) -> Api {
        Self::with_url(env, &env.database_url, limits).await
    }

    /// On `env`'s backends with the store at `database_url` (the same database, with other
    /// connection options).
    pub(crate) async fn with_url(env: &TestEnv, database_url: &str, limits: ApiLimits) -> Api {
        let backends = BackendConfig {
            database_url: Some(database_url.to_owned()),
            redis_url: env.redis_url.clone(),
            log_prefix: Some(env.prefix.clone()),
            data_dir: None,
            db_connections: None,
            db_pooler: Default::default(),
            db_direct_url: None,
        }
        .connect_all()
        .await
        .expect("connect to the test's backends");
        let runner = std::sync::Arc::new(
            bifrost_runner::Runner::new(backends.service.clone(), bifrost_tests::test_config())
                .expect("a runner"),
        );
        let router = bifrost_api::router(ApiState::new(
            backends.service.clone(),
            backends.queue.clone(),
            backends.workflows.clone(),
            backends.access.clone(),
            runner.clone(),
            limits,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}", listener.local_addr().unwrap());
        let base = format!("{root}/api/v1");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let worker = Worker::new(
            runner,
            backends.queue.clone(),
            backends.workflows.clone(),
            WorkerConfig {
                concurrency: 4,
                poll: Duration::from_millis(20),
                ..WorkerConfig::default()
            },
        );
        let worker = tokio::spawn(async move {
            worker
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Api {
            base,
            root,
            backends,
            http: reqwest::Client::new(),
            stop: Some(stop),
            tasks: vec![server, worker],
        }
    }

    /// A token of `who` with `scopes`, made as the CLI makes one; its secret.
    pub(crate) async fn token(&self, who: &Identity, scopes: Scopes) -> String {
        bifrost_api::tokens::create(
            &*self.backends.access,
            bifrost_api::tokens::NewToken {
                name: "test".into(),
                identity: who.clone(),
                scopes,
                expires_at: None,
            },
            None,
        )
        .await
        .expect("make a token")
        .secret
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub(crate) async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    /// Deploys the probe as `probe` (by the API, as a platform admin with `deploy`).
    pub(crate) async fn deploy_probe(&self) {
        let token = self.token(&admin(None), Scopes::DEPLOY).await;
        let r = self
            .http
            .post(self.url("/workflows?name=probe"))
            .bearer_auth(&token)
            .body(std::fs::read(PROBE).unwrap())
            .send()
            .await
            .unwrap();
        let (status, body) = answer(r).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["name"], "probe");
        assert_eq!(body["outcome"], "deployed");
    }

    /// Submits the probe with `calls`; its id.
    pub(crate) async fn submit_probe(&self, token: &str, calls: Vec<Call>) -> String {
        let (status, body) = self
            .post(
                token,
                "/executions",
                json!({"workflow": "probe", "input": bifrost_tests::protocol::Input::new(calls).to_json()}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["execution_id"].as_str().unwrap().to_owned()
    }

    /// Waits for execution `id` to end; the execution.
    pub(crate) async fn wait_end(&self, token: &str, id: &str) -> Value {
        let clock = Instant::now();
        loop {
            let (status, e) = self.get(token, &format!("/executions/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{e}");
            if !["Pending", "Scheduled", "Running", "Cancelling"]
                .contains(&e["status"].as_str().unwrap())
            {
                return e;
            }
            assert!(
                clock.elapsed() < Duration::from_secs(60),
                "{id} never ended: {e}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn stop(mut self) {
        drop(self.stop.take());
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

/// A response's status and JSON body (`null` for an empty one); panics on a body that is
/// neither.
pub(crate) async fn answer(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, body)
}

/// For four identities, `GET /executions`, `GET /executions/{id}` and its logs answer as
/// the probe, a workflow of the same identity, is answered: the same executions, and the
/// same not-found and permission-denied.
async fn every_identity_sees_through_the_api_what_its_workflows_see(backend: Backend) {
    let harness = Harness::new(backend).await;
    let env = &harness.env;
    let org = Some(Uuid::new_v4());
    let (alice, bob) = (user(org), user(org));
    let identities = [alice.clone(), bob.clone(), admin(org), admin(None)];
    let mut seeded = Vec::new();
    for (by, org) in [
        (alice.user_id, org),
        (alice.user_id, org),
        (bob.user_id, org),
        (Uuid::new_v4(), Some(Uuid::new_v4())),
        (Uuid::new_v4(), None),
    ] {
        seeded.push(
            env.seed(&Seed {
                by,
                org,
                workflow: "seeded".into(),
                status: bifrost_core::model::ExecutionStatus::Success,
                started_at: Utc::now() - TimeDelta::minutes(seeded.len() as i64 + 1),
            })
            .await,
        );
    }
    let missing = Uuid::new_v4();
    let api = Api::start(env).await;
    for who in &identities {
        let token = api.token(who, Scopes::READ).await;
        // The API first: the probe's own execution is not in its list.
        let (status, page) = api.get(&token, "/executions?limit=1000").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let listed: Vec<Uuid> = page["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["execution_id"].as_str().unwrap().parse().unwrap())
            .collect();
        let mut gets = Vec::new();
        for id in seeded.iter().chain([&missing]) {
            let (get, _) = api.get(&token, &format!("/executions/{id}")).await;
            let (logs, _) = api.get(&token, &format!("/executions/{id}/logs")).await;
            gets.push((get, logs));
        }
        let mut calls = vec![Call::ListAll(list().limit(1000))];
        for id in seeded.iter().chain([&missing]) {
            calls.push(Call::Get { id: id.to_string() });
            calls.push(Call::Logs(bifrost_tests::logs().of(id)));
        }
        let probe = harness.run_probe(who, calls).await;
        let answers = bifrost_tests::answers(&probe);
        let mut guest_listed = ids(&answers[0]);
        guest_listed.retain(|id| *id != probe.id);
        assert_eq!(listed, guest_listed, "list of {who:?}");
        assert!(!listed.is_empty() || !who.is_platform_admin);
        for (i, (get, logs)) in gets.iter().enumerate() {
            for (answer, status, what) in [
                (&answers[1 + 2 * i], *get, "get"),
                (&answers[2 + 2 * i], *logs, "logs"),
            ] {
                let expected = match answer {
                    Answer::Ok(_) => StatusCode::OK,
                    Answer::Err(e) if e.kind == ErrorKind::NotFound => StatusCode::NOT_FOUND,
                    Answer::Err(e) if e.kind == ErrorKind::PermissionDenied => {
                        StatusCode::FORBIDDEN
                    }
                    other => panic!("unexpected answer {other:?}"),
                };
                assert_eq!(
                    status, expected,
                    "{what} #{i} as {who:?}: probe said {answer:?}"
                );
            }
        }
    }
    // Alice sees her two, Bob his one; the admins more.
    let token = api.token(&alice, Scopes::READ).await;
    let (_, page) = api.get(&token, "/executions").await;
    let mine: Vec<&str> = page["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["executed_by"].as_str().unwrap())
        .collect();
    assert!(mine.len() >= 2 && mine.iter().all(|u| *u == alice.user_id.to_string()));
    api.stop().await;
    harness.close().await;
}

/// Missing, malformed, unknown, expired and revoked tokens are all one 401; a token
/// without the scope is a 403; a revoked token stops at its next request.
async fn bad_tokens_get_one_answer_and_scopes_are_enforced(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let api = Api::start(&env).await;
    let who = user(None);
    let good = api.token(&who, Scopes::READ).await;
    let (status, _) = api.get(&good, "/executions").await;
    assert_eq!(status, StatusCode::OK);

    // Expired: kept in the store with an end in the past.
    let expired = format!("bfr_{}", "ab".repeat(24));
    api.backends
        .access
        .create_token(
            &Token {
                id: Uuid::new_v4(),
                name: "old".into(),
                prefix: expired[..12].into(),
                identity: who.clone(),
                scopes: Scopes::ALL,
                created_at: Utc::now() - TimeDelta::days(2),
                created_by: None,
                expires_at: Some(Utc::now() - TimeDelta::days(1)),
                last_used_at: None,
                revoked_at: None,
            },
            &bifrost_api::tokens::secret_hash(&expired),
        )
        .await
        .unwrap();
    let revoked = api.token(&who, Scopes::READ).await;
    let revoked_id = api
        .backends
        .access
        .token_by_hash(&bifrost_api::tokens::secret_hash(&revoked))
        .await
        .unwrap()
        .unwrap()
        .id;
    let (status, _) = api.get(&revoked, "/executions").await;
    assert_eq!(status, StatusCode::OK, "works before it is revoked");
    api.backends
        .access
        .revoke_token(revoked_id, Utc::now())
        .await
        .unwrap();
    // Revoked elsewhere (here: in the store, as the command line does), it stops within
    // the second a process keeps a lookup; through the API, at once (the test below).
    tokio::time::sleep(bifrost_api::tokens::CACHE_FOR + Duration::from_millis(100)).await;

    let unknown = format!("bfr_{}", "cd".repeat(24));
    let headers: Vec<Option<String>> = vec![
        None,
        Some("Bearer".into()),
        Some("Bearer not-a-token".into()),
        Some(format!("Basic {good}")),
        Some(format!("Bearer {}", good.to_uppercase())),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {revoked}")),
    ];
    let mut bodies = Vec::new();
    for h in &headers {
        let mut req = api.http.get(api.url("/executions"));
        if let Some(h) = h {
            req = req.header("authorization", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{h:?}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer realm=\"bifrost\"",
            "{h:?}"
        );
        bodies.push(r.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:#?}");
    assert_eq!(
        serde_json::from_str::<Value>(&bodies[0]).unwrap()["kind"],
        "unauthorized"
    );

    // A read token may not submit, deploy or read the audit record.
    for (method, path) in [
        (reqwest::Method::POST, "/executions"),
        (reqwest::Method::POST, "/workflows?name=x"),
        (reqwest::Method::GET, "/audit"),
        (reqwest::Method::GET, "/tokens"),
    ] {
        let r = api
            .http
            .request(method.clone(), api.url(path))
            .bearer_auth(&good)
            .json(&json!({"workflow": "x"}))
            .send()
            .await
            .unwrap();
        let (status, body) = answer(r).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(body["kind"], "forbidden");
    }
    // Deploying needs a platform admin as well as the scope.
    let not_admin = api.token(&who, Scopes::DEPLOY).await;
    let r = api
        .http
        .post(api.url("/workflows?name=x"))
        .bearer_auth(&not_admin)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The admin scope is for platform admins only.
    let e = bifrost_api::tokens::create(
        &*api.backends.access,
        bifrost_api::tokens::NewToken {
            name: String::new(),
            identity: who.clone(),
            scopes: Scopes::ADMIN,
            expires_at: None,
        },
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(e.parts().0, StatusCode::BAD_REQUEST);
    api.stop().await;
    env.close().await;
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    event: String,
    id: Option<String>,
    data: Value,
}

/// Reads events from an event stream until `stop` says so or the stream ends.
async fn read_events(
    mut r: reqwest::Response,
    mut stop: impl FnMut(&[Event]) -> bool,
) -> Vec<Event> {
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    let mut events = Vec::new();
    while let Some(chunk) = r.chunk().await.unwrap() {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let (mut event, mut id, mut data) = (String::from("message"), None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = v.into();
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if data.is_empty() {
                continue; // a keep-alive comment
            }
            events.push(Event {
                event,
                id,
                data: serde_json::from_str(&data).unwrap(),
            });
            if stop(&events) {
                return events;
            }
        }
    }
    events
}

fn stream_url(api: &Api, id: &str) -> String {
    api.url(&format!("/executions/{id}/logs/stream"))
}

/// Followers that connect before, during and after a run each get every line once, in
/// order, then the final status; one that drops and reconnects with `Last-Event-ID`
/// continues without gap or repeat, during the run and after its log moved to the store.
async fn the_event_stream_hands_out_every_line_once(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let api = Api::start(&env).await;
    api.deploy_probe().await;
    let who = user(None);
    let token = api.token(&who, Scopes::READ.union(Scopes::RUN)).await;
    let id = api
        .submit_probe(
            &token,
            vec![Call::LogSlowly {
                n: 30,
                pause_ms: 40,
            }],
        )
        .await;
    let follow = |after: Option<String>| {
        let mut req = api.http.get(stream_url(&api, &id)).bearer_auth(&token);
        if let Some(after) = after {
            req = req.header("last-event-id", after);
        }
        req.send()
    };
    let before = follow(None).await.unwrap();
    let before = tokio::spawn(read_events(before, |_| false));
    // During: once some lines are out.
    let clock = Instant::now();
    loop {
        let (_, logs) = api.get(&token, &format!("/executions/{id}/logs")).await;
        if logs["logs"].as_array().is_some_and(|l| l.len() >= 5) {
            break;
        }
        assert!(clock.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let during = tokio::spawn(read_events(follow(None).await.unwrap(), |_| false));
    // A follower that leaves after 10 lines and comes back with the last id it had.
    let first = read_events(follow(None).await.unwrap(), |e| e.len() == 10).await;
    let last_seen = first.last().unwrap().id.clone().unwrap();
    let rest = read_events(follow(Some(last_seen)).await.unwrap(), |_| false).await;

    let ended = api.wait_end(&token, &id).await;
    assert_eq!(ended["status"], "Success", "{ended}");
    let after = read_events(follow(None).await.unwrap(), |_| false).await;
    // Back after the run, from the store, with an id from the middle.
    let (_, stored) = api.get(&token, &format!("/executions/{id}/logs")).await;
    let stored: Vec<Value> = stored["logs"].as_array().unwrap().clone();
    assert!(stored.len() >= 30, "{} lines stored", stored.len());
    let middle = stored[14]["id"].as_str().unwrap().to_owned();
    let late = read_events(follow(Some(middle)).await.unwrap(), |_| false).await;

    let lines = |events: &[Event]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e.event == "log")
            .map(|e| {
                assert_eq!(
                    e.id.as_deref(),
                    e.data["id"].as_str(),
                    "the event id is the entry id"
                );
                e.data.clone()
            })
            .collect()
    };
    let end_of = |events: &[Event]| {
        let last = events.last().expect("some events");
        assert_eq!(last.event, "end", "{last:?}");
        assert_eq!(last.data["status"], "Success");
        assert_eq!(events.iter().filter(|e| e.event == "end").count(), 1);
    };
    for (name, events) in [
        ("before", before.await.unwrap()),
        ("during", during.await.unwrap()),
        ("after", after),
    ] {
        end_of(&events);
        assert_eq!(lines(&events), stored, "{name}");
    }
    let mut resumed = lines(&first);
    end_of(&rest);
    resumed.extend(lines(&rest));
    assert_eq!(resumed, stored, "left after 10 and came back");
    end_of(&late);
    assert_eq!(lines(&late), stored[15..], "came back after the move");
    api.stop().await;
    env.close().await;
}

/// A submission retried with its `Idempotency-Key` gets the same execution; the key with
/// another request is a 409. Cancels: a scheduled one at once, a running one through
/// `Cancelling`, an ended one 409. Everything is in the audit record.
async fn submit_is_idempotent_and_cancel_works_for_each_state(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let api = Api::start(&env).await;
    api.deploy_probe().await;
    let who = admin(None);
    let token = api
        .token(&who, Scopes::READ.union(Scopes::RUN).union(Scopes::ADMIN))
        .await;
    let body = json!({"workflow": "probe", "input": bifrost_tests::protocol::Input::new(vec![]).to_json()});
    let submit = |key: &str, body: &Value| {
        api.http
            .post(api.url("/executions"))
            .bearer_auth(&token)
            .header("idempotency-key", key)
            .json(body)
            .send()
    };
    let (s1, e1) = answer(submit("order-1", &body).await.unwrap()).await;
    let (s2, e2) = answer(submit("order-1", &body).await.unwrap()).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK), "{e1} {e2}");
    assert_eq!(e1["execution_id"], e2["execution_id"]);
    let (s3, e3) = answer(
        submit("order-1", &json!({"workflow": "probe"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s3, StatusCode::CONFLICT, "{e3}");
    let (s4, e4) = answer(submit("order-2", &body).await.unwrap()).await;
    assert_eq!(s4, StatusCode::CREATED);
    assert_ne!(e4["execution_id"], e1["execution_id"]);

    // Scheduled for tomorrow: cancelled at once.
    let (status, scheduled) = api
        .post(
            &token,
            "/executions",
            json!({"workflow": "probe", "at": (Utc::now() + TimeDelta::days(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{scheduled}");
    assert_eq!(scheduled["status"], "Scheduled");
    let sid = scheduled["execution_id"].as_str().unwrap();
    let (status, c) = api
        .post(&token, &format!("/executions/{sid}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, c["status"].as_str()),
        (StatusCode::OK, Some("Cancelled"))
    );

    // Running (it spins): Cancelling, then Cancelled by its runner.
    let rid = api.submit_probe(&token, vec![Call::Spin]).await;
    let clock = Instant::now();
    while api.get(&token, &format!("/executions/{rid}")).await.1["status"] != "Running" {
        assert!(clock.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, c) = api
        .post(&token, &format!("/executions/{rid}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, c["status"].as_str()),
        (StatusCode::OK, Some("Cancelling"))
    );
    assert_eq!(api.wait_end(&token, &rid).await["status"], "Cancelled");

    // Ended: 409.
    let (status, c) = api
        .post(&token, &format!("/executions/{rid}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{c}");

    // Another user's execution is not theirs to cancel.
    let other = api
        .token(&user(None), Scopes::READ.union(Scopes::RUN))
        .await;
    let (status, _) = api
        .post(&other, &format!("/executions/{sid}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, audit) = api.get(&token, "/audit").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let acts: Vec<(String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let e1_id = e1["execution_id"].as_str().unwrap().to_owned();
    for act in [
        ("execution.submit".to_owned(), e1_id.clone()),
        ("execution.cancel".to_owned(), sid.to_owned()),
        ("execution.cancel".to_owned(), rid.clone()),
        ("workflow.deploy".to_owned(), "probe".to_owned()),
    ] {
        assert!(acts.contains(&act), "{act:?} not in {acts:?}");
    }
    // The retried submission was recorded once.
    assert_eq!(
        acts.iter()
            .filter(|a| a.0 == "execution.submit" && a.1 == e1_id)
            .count(),
        1
    );
    // An organisation's admin reads its own organisation's acts only: here the making of
    // its own token, none of the platform admin's.
    let org = Uuid::new_v4();
    let org_admin = api.token(&admin(Some(org)), Scopes::ADMIN).await;
    let (status, theirs) = api.get(&org_admin, "/audit").await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    let theirs = theirs["entries"].as_array().unwrap();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["action"], "token.create");
    assert_eq!(theirs[0]["organization_id"], org.to_string());
    // Acts through the API name their token; a token made by the CLI names none.
    for e in audit["entries"].as_array().unwrap() {
        let through_api = e["action"] != "token.create";
        assert_eq!(e["token_id"].is_string(), through_api, "{e}");
    }
    api.stop().await;
    env.close().await;
}

/// Deploys: a file that is not a component is a 400 with a one-line message; a second
/// deploy of the same bytes changes nothing; removing twice is a 404.
async fn deploys_check_the_component(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let api = Api::start(&env).await;
    let token = api
        .token(&admin(None), Scopes::DEPLOY.union(Scopes::READ))
        .await;
    let deploy = |name: &str, body: Vec<u8>| {
        api.http
            .post(api.url(&format!("/workflows?name={name}")))
            .bearer_auth(&token)
            .body(body)
            .send()
    };
    let (status, e) = answer(deploy("x", b"\0asm not really".to_vec()).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["kind"], "invalid-argument");
    assert_eq!(e["parameter"], "component");
    assert!(!e["message"].as_str().unwrap().contains('\n'), "{e}");
    let (status, e) = answer(deploy("", vec![]).await.unwrap()).await;
    assert_eq!(
        (status, e["parameter"].as_str()),
        (StatusCode::BAD_REQUEST, Some("workflow_name")),
        "{e}"
    );
    api.deploy_probe().await;
    let (status, again) = answer(
        deploy("probe", std::fs::read(PROBE).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (StatusCode::OK, Some("unchanged"))
    );
    let (_, listed) = api.get(&token, "/workflows").await;
    assert_eq!(listed["workflows"][0]["name"], "probe");
    for expected in [StatusCode::OK, StatusCode::NOT_FOUND] {
        let r = api
            .http
            .delete(api.url("/workflows/probe"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected);
    }
    api.stop().await;
    env.close().await;
}

/// Tokens through the API: the caller's own, never with more than it has.
async fn tokens_made_through_the_api_never_exceed_their_maker(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let api = Api::start(&env).await;
    let me = admin(None);
    let token = api.token(&me, Scopes::READ.union(Scopes::ADMIN)).await;
    let (status, made) = api
        .post(&token, "/tokens", json!({"name": "ci", "scopes": ["read"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let secret = made["token"].as_str().unwrap().to_owned();
    assert_eq!(api.get(&secret, "/executions").await.0, StatusCode::OK);
    for scopes in [json!(["run"]), json!(["read", "deploy"])] {
        let (status, e) = api.post(&token, "/tokens", json!({"scopes": scopes})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{scopes}: {e}");
    }
    let (status, e) = api
        .post(&token, "/tokens", json!({"scopes": ["write"]}))
        .await;
    assert_eq!(
        (status, e["parameter"].as_str()),
        (StatusCode::BAD_REQUEST, Some("scopes"))
    );
    // Listed without secrets; revoked, it stops at once.
    let (_, list) = api.get(&token, "/tokens").await;
    let text = list.to_string();
    assert!(!text.contains(&secret[4..]), "a secret in the list: {text}");
    assert_eq!(list["tokens"].as_array().unwrap().len(), 2);
    let r = api
        .http
        .delete(api.url(&format!("/tokens/{}", made["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        api.get(&secret, "/executions").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Another user's token is not found.
    let theirs = api.token(&admin(None), Scopes::ADMIN).await;
    let (_, their_list) = api.get(&theirs, "/tokens").await;
    let their_id = their_list["tokens"][0]["id"].as_str().unwrap().to_owned();
    let r = api
        .http
        .delete(api.url(&format!("/tokens/{their_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    api.stop().await;
    env.close().await;
}

/// Over a limit: a body over the cap is a 413 before it is read whole, requests over the
/// rate a 429 with `Retry-After`, streams over the count a 429.
async fn limits_answer_413_and_429(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let api = Api::with_limits(
        &env,
        ApiLimits {
            max_body_bytes: 4096,
            requests_per_second: std::num::NonZeroU32::new(5).unwrap(),
            streams_per_token: 1,
            ..ApiLimits::default()
        },
    )
    .await;
    let who = admin(None);
    let token = api.token(&who, Scopes::ALL).await;
    let huge = json!({"workflow": "x", "input": {"s": "x".repeat(8192)}});
    let (status, e) = api.post(&token, "/executions", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    assert_eq!(e["kind"], "too-large");
    // A body that says it is 100 MB is refused on its header, before it is sent.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = api
            .base
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(
            format!(
                "POST /api/v1/executions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{{\"workflow\":"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let mut head = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut head))
            .await
            .expect("an answer before the body is sent")
            .unwrap();
        let head = String::from_utf8_lossy(&head[..n]).into_owned();
        assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    }

    // One stream open; a second is refused while it is.
    let id = env
        .seed_running("seeded", Utc::now(), Utc::now() + TimeDelta::hours(1))
        .await;
    let open = api
        .http
        .get(stream_url(&api, &id.to_string()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    let (status, e) = answer(
        api.http
            .get(stream_url(&api, &id.to_string()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{e}");
    drop(open);

    // The rate: a burst of 10, then 429 with a wait.
    let mut refused = None;
    for _ in 0..30 {
        let r = api
            .http
            .get(api.url("/workflows"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("a 429 within 30 requests at 5 a second");
    assert!(
        refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Another token is not held back.
    let other = api.token(&who, Scopes::READ).await;
    assert_eq!(api.get(&other, "/workflows").await.0, StatusCode::OK);
    api.stop().await;
    env.close().await;
}

bifrost_tests::on_both_backends!(
    every_identity_sees_through_the_api_what_its_workflows_see,
    bad_tokens_get_one_answer_and_scopes_are_enforced,
    the_event_stream_hands_out_every_line_once,
    submit_is_idempotent_and_cancel_works_for_each_state,
    deploys_check_the_component,
    tokens_made_through_the_api_never_exceed_their_maker,
    limits_answer_413_and_429,
);

/// Random query strings, paths, headers and bodies, to the API and to the pages, never get
/// a 500 and never stop the server.
#[test]
fn hostile_requests_never_get_a_500() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = rt.block_on(TestEnv::new(Backend::Embedded));
    let api = rt.block_on(Api::start(&env));
    let token = rt.block_on(api.token(&admin(None), Scopes::ALL));
    let paths = [
        "/executions",
        "/executions/{}",
        "/executions/{}/logs",
        "/executions/{}/cancel",
        "/workflows",
        "/workflows/{}",
        "/tokens",
        "/tokens/{}",
        "/audit",
        "/{}",
    ];
    // The pages, signed in by the cookie instead of the header.
    let pages = [
        "/runs",
        "/runs/{}",
        "/runs/{}/summary",
        "/runs/{}/events",
        "/runs/{}/log.jsonl",
        "/runs/{}/cancel",
        "/runs/rows",
        "/workflows",
        "/sign-in",
        "/sign-out",
        "/{}",
    ];
    let methods = ["GET", "POST", "DELETE", "PUT", "PATCH"];
    let config = ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        path in 0..paths.len(),
        method in 0..methods.len(),
        segment in "[^/?#]{0,40}",
        query in prop::collection::vec(("[a-z_]{1,12}", ".{0,30}"), 0..5),
        body in prop::collection::vec(any::<u8>(), 0..300),
        json_body in any::<bool>(),
        header in "[ -~]{0,60}",
        authed in any::<bool>(),
        page in any::<bool>(),
    )| {
        let url = if page {
            let path = pages[path % pages.len()];
            format!("{}{}", api.root, path.replace("{}", &urlencode(&segment)))
        } else {
            api.url(&paths[path].replace("{}", &urlencode(&segment)))
        };
        let mut req = api.http.request(methods[method].parse().unwrap(), url).query(&query);
        if authed && page {
            req = req.header("cookie", format!("bifrost_token={token}"));
        } else if authed {
            req = req.bearer_auth(&token);
        }
        req = req.header("idempotency-key", header.clone()).header("last-event-id", header);
        req = if json_body {
            let nested = format!("{}{}", "[".repeat(body.len()), "]".repeat(body.len()));
            req.header("content-type", "application/json").body(nested)
        } else {
            req.body(body)
        };
        let status = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), req.send()).await
        })
        .expect("an answer within 10 s")
        .expect("an answer")
        .status();
        prop_assert!(!status.is_server_error(), "{status}");
    });
    // Still serving.
    assert_eq!(
        rt.block_on(api.get(&token, "/executions")).0,
        StatusCode::OK
    );
    rt.block_on(api.stop());
    rt.block_on(env.close());
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `serve --listen` on the embedded default, with no server: a token from `tokens create`
/// lists, submits and follows a run; `tokens list` never shows a secret; `--listen` on a
/// non-loopback address needs `--allow-remote`.
#[tokio::test]
async fn serve_listen_answers_the_api_on_the_embedded_default() {
    let dir = TempDir::new();
    let cmd = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_bifrost-runner"));
        c.env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("BIFROST_DATA_DIR", &dir.0)
            .env("BIFROST_CACHE_DIR", crate::common::cache_dir())
            .args(args);
        c
    };
    let refused = cmd(&["serve", "--listen", "0.0.0.0:0"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--allow-remote"));

    let made = cmd(&[
        "tokens",
        "create",
        "--user",
        &Uuid::new_v4().to_string(),
        "--user-name",
        "Ada",
        "--admin",
        "--scope",
        "read,run",
        "--name",
        "laptop",
    ])
    .output()
    .unwrap();
    crate::common::assert_exit_0(&made);
    let made = crate::common::json_out(&made);
    let secret = made["token"].as_str().unwrap().to_owned();
    assert_eq!(made["scopes"], json!(["read", "run"]));
    let listed = cmd(&["tokens", "list"]).output().unwrap();
    crate::common::assert_exit_0(&listed);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("laptop") && !listed.contains(&secret[12..]),
        "{listed}"
    );
    let deployed = cmd(&["workflows", "deploy", PROBE, "--name", "probe"])
        .output()
        .unwrap();
    crate::common::assert_exit_0(&deployed);

    let mut serve = cmd(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--concurrency",
        "2",
        "--poll-ms",
        "20",
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut stderr = std::io::BufReader::new(serve.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("bifrost-runner: listening on ")
        .unwrap_or_else(|| panic!("no address: {line:?}"))
        .to_owned();
    let http = reqwest::Client::new();
    let (status, created) = answer(
        http.post(format!("{base}/api/v1/executions"))
            .bearer_auth(&secret)
            .json(&json!({"workflow": "probe", "input": bifrost_tests::protocol::Input::new(vec![Call::LogMany { n: 3 }]).to_json()}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["execution_id"].as_str().unwrap();
    let events = read_events(
        http.get(format!("{base}/api/v1/executions/{id}/logs/stream"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap(),
        |_| false,
    )
    .await;
    let logs: Vec<&Event> = events.iter().filter(|e| e.event == "log").collect();
    assert!(logs.len() >= 3, "{events:?}");
    assert_eq!(events.last().unwrap().data["status"], "Success");
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    std::process::Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status()
        .unwrap();
    assert!(serve.wait().unwrap().success());
}

/// The OpenAPI document served is the one committed (`docs/openapi.json`; run this test
/// with `BIFROST_UPDATE_OPENAPI=1` to write it), and every operation it describes is one
/// the router answers.
#[tokio::test]
async fn the_openapi_document_is_committed_and_describes_the_routes() {
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let text = bifrost_api::openapi::text();
    if std::env::var_os("BIFROST_UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/openapi.json differs from the API's document: run \
         `BIFROST_UPDATE_OPENAPI=1 cargo test --test all -- openapi` and commit it"
    );
    let env = TestEnv::new(Backend::Embedded).await;
    let api = Api::start(&env).await;
    let r = api.http.get(api.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "no token needed");
    assert_eq!(r.text().await.unwrap(), text);
    let token = api.token(&admin(None), Scopes::ALL).await;
    for route in bifrost_api::openapi::ROUTES {
        let path = route
            .path
            .replace("{id}", &Uuid::new_v4().to_string())
            .replace("{name}", "x");
        let r = api
            .http
            .request(route.method.to_uppercase().parse().unwrap(), api.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED && !body.contains("no such route"),
            "{} {}: {status} {body}",
            route.method,
            route.path
        );
    }
    api.stop().await;
    env.close().await;
}

#[test]
fn token_secrets_are_kept_as_sha256_hex() {
    assert_eq!(
        bifrost_api::tokens::secret_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

/// A statement held up by a lock ends at the database's statement timeout (here 1 s, set
/// in the URL, which wins over the store's 30 s) as a 503 `unavailable` with `Retry-After`,
/// not a hung request; the API answers again once the lock is gone.
#[tokio::test]
async fn a_statement_held_by_a_lock_is_a_503_at_the_statement_timeout() {
    use sqlx::Connection as _;
    let env = TestEnv::new(Backend::Servers).await;
    let url = format!("{}?options=-c%20statement_timeout%3D1s", env.database_url);
    let api = Api::with_url(&env, &url, ApiLimits::default()).await;
    let token = api.token(&admin(None), Scopes::READ).await;
    assert_eq!(api.get(&token, "/executions").await.0, StatusCode::OK);
    let mut locker = sqlx::PgConnection::connect(&env.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE executions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        api.http
            .get(api.url("/executions"))
            .bearer_auth(&token)
            .send(),
    )
    .await
    .expect("an answer at the statement timeout, not a hung request")
    .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "1");
    let (_, body) = answer(r).await;
    assert_eq!(body["kind"], "unavailable", "{body}");
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    assert_eq!(api.get(&token, "/executions").await.0, StatusCode::OK);
    api.stop().await;
    env.close().await;
}
