//! `executions purge`: ended executions older than the cut are deleted with their log
//! lines, oldest first, of the statuses asked for; one that has not ended never is; each
//! purge is in the audit record.

use std::time::{Duration, Instant};

use bifrost_core::model::StreamId;
use bifrost_core::{Identity, Scope};
use bifrost_tests::{Backend, EXAMPLE_HELLO, FAMILY, TestEnv};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Server, TempDir, assert_exit_0, json_out, runner};
use crate::queue::{PATIENCE, deploy, submit};

/// Runs `file` with `input` in a `run` process; its execution id.
fn run(env: &TestEnv, file: &str, input: Value) -> Uuid {
    let out = runner(env)
        .args(["run", file, "--input", &input.to_string()])
        .output()
        .unwrap();
    let printed = json_out(&out);
    printed["execution_id"].as_str().unwrap().parse().unwrap()
}

fn purge(env: &TestEnv, args: &[&str]) -> Value {
    let out = runner(env)
        .args(["executions", "purge"])
        .args(args)
        .output()
        .unwrap();
    assert_exit_0(&out);
    json_out(&out)
}

async fn exists(env: &TestEnv, id: Uuid) -> bool {
    env.service
        .get(&Identity::operator(), &id.to_string())
        .await
        .is_ok()
}

async fn purge_deletes_what_ended_before_the_cut(backend: Backend) {
    let env = TestEnv::new(backend).await;
    deploy(&env, EXAMPLE_HELLO, "hello");
    let old: Vec<Uuid> = (0..3)
        .map(|i| run(&env, EXAMPLE_HELLO, json!({"name": format!("old {i}")})))
        .collect();
    let failed = run(&env, FAMILY, json!({"role": "fail"}));
    // A version deployed, then left by its name, never run: nothing uses it any more.
    let out = runner(&env)
        .args(["workflows", "deploy", FAMILY, "--name", "tmp"])
        .output()
        .unwrap();
    let unused = json_out(&out)["hash"].as_str().unwrap().to_owned();
    let out = runner(&env)
        .args(["workflows", "remove", "tmp"])
        .output()
        .unwrap();
    assert_exit_0(&out);
    let hello_version = env
        .backends()
        .await
        .workflows
        .deployment("hello")
        .await
        .unwrap()
        .hash;
    // Queued, never run: it has not ended, however old it gets.
    let pending = submit(&env, &["hello", "--input", r#"{"name": "later"}"#]);
    // Tokens and idempotency keys: an expired token, a revoked one and a key, all before
    // the cut, go with a purge of every status; an active token and a recent key stay.
    let access = env.backends().await.access;
    let now = chrono::Utc::now();
    let long_ago = now - chrono::Duration::days(30);
    let token = |expires_at| bifrost_core::access::Token {
        id: Uuid::new_v4(),
        name: "t".into(),
        prefix: "bft_x".into(),
        identity: bifrost_tests::user(None),
        scopes: bifrost_core::access::Scopes::READ,
        created_at: long_ago,
        created_by: None,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    let (expired, revoked, active) = (
        token(Some(long_ago)),
        token(None),
        token(Some(now + chrono::Duration::days(30))),
    );
    for t in [&expired, &revoked, &active] {
        access.create_token(t, &t.id.to_string()).await.unwrap();
    }
    access.revoke_token(revoked.id, long_ago).await.unwrap();
    let who = Uuid::new_v4();
    for (key, at) in [("old", long_ago), ("new", now + chrono::Duration::days(1))] {
        access
            .idempotent_execution(who, key, "h", Uuid::new_v4(), at)
            .await
            .unwrap()
            .unwrap();
    }
    // The cut is 4 s: the old ones ended more than 4 s before the purges, the recent one
    // less (two short processes run in between).
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let recent = run(&env, EXAMPLE_HELLO, json!({"name": "new"}));
    assert!(
        !env.store
            .read_logs(old[0], StreamId::MIN, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Only the failed one, with --status.
    let report = purge(&env, &["--older-than", "4s", "--status", "failed"]);
    assert_eq!(report["deleted"], json!(1), "{report}");
    assert_eq!(report["statuses"], json!(["Failed"]));
    assert_eq!(
        report["versions_deleted"],
        json!(0),
        "within the 7 days' grace"
    );
    assert!(!exists(&env, failed).await);
    // A purge narrowed to some statuses deletes executions only.
    assert_eq!(report["tokens_deleted"], json!(0), "{report}");
    assert_eq!(report["keys_deleted"], json!(0), "{report}");
    assert!(exists(&env, old[0]).await);

    // Every status, two a statement, paced: the three old ones in two statements; the
    // recent one and the pending one stay.
    let report = purge(
        &env,
        &[
            "--older-than",
            "4s",
            "--batch",
            "2",
            "--pause-ms",
            "300",
            "--version-grace",
            "1s",
        ],
    );
    // One pause, after the statement that deleted a whole batch.
    assert!(report["seconds"].as_f64().unwrap() >= 0.3, "{report}");
    assert_eq!(report["deleted"], json!(3), "{report}");
    assert_eq!(report["batches"], json!(2), "{report}");
    // The version nothing uses went; hello's, named and to be run, stays.
    assert_eq!(report["versions_deleted"], json!(1), "{report}");
    // The expired and the revoked token went, and the old key: a retry with it now makes
    // a new execution; the active token and the recent key stay.
    assert_eq!(report["tokens_deleted"], json!(2), "{report}");
    assert_eq!(report["keys_deleted"], json!(1), "{report}");
    let left: Vec<Uuid> = access
        .tokens()
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(left, vec![active.id]);
    let again = Uuid::new_v4();
    assert_eq!(
        access
            .idempotent_execution(who, "old", "h", again, now)
            .await
            .unwrap(),
        Ok(again)
    );
    assert_ne!(
        access
            .idempotent_execution(who, "new", "h", again, now)
            .await
            .unwrap(),
        Ok(again)
    );
    let workflows = env.backends().await.workflows;
    assert!(workflows.component(&unused).await.is_err());
    assert!(workflows.component(&hello_version).await.is_ok());
    for id in &old {
        assert!(!exists(&env, *id).await, "{id}");
        assert!(
            env.store
                .read_logs(*id, StreamId::MIN, 10)
                .await
                .unwrap()
                .is_empty(),
            "its log lines went with it"
        );
    }
    assert!(exists(&env, recent).await);
    assert!(exists(&env, pending).await);
    assert_eq!(env.status(pending).await.as_str(), "Pending");

    // Each purge is in the audit record, newest first.
    let audit = env
        .backends()
        .await
        .access
        .audit_log(&Scope::All, None, 10)
        .await
        .unwrap();
    let purges: Vec<&Value> = audit
        .iter()
        .filter(|a| a.action == "execution.purge")
        .map(|a| &a.detail)
        .collect();
    assert_eq!(purges.len(), 2, "{audit:?}");
    assert_eq!(purges[0]["deleted"], json!(3));
    assert_eq!(purges[1]["deleted"], json!(1));
    assert_eq!(purges[0]["trigger"], json!("cli"));

    // A status that has not ended, and an age that is none, are the caller's mistakes.
    for bad in [
        &["--older-than", "1d", "--status", "Running"][..],
        &["--older-than", "soon"][..],
        &["--older-than", "1d", "--pause-ms", "-1"][..],
    ] {
        let out = runner(&env)
            .args(["executions", "purge"])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
    }
    assert!(exists(&env, pending).await);
    env.close().await;
}

/// `serve --retention`: the process purges at start and then every `--purge-every-secs`,
/// and records the purges that deleted something.
async fn serve_purges_past_its_retention(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    let old: Vec<Uuid> = (0..2)
        .map(|i| run(&env, EXAMPLE_HELLO, json!({"name": format!("old {i}")})))
        .collect();
    let server = Server::start(
        &env,
        &logs,
        &[
            "--concurrency",
            "1",
            "--retention",
            "3s",
            "--purge-every-secs",
            "1",
        ],
    );
    let clock = Instant::now();
    loop {
        let mut left = 0;
        for id in &old {
            left += usize::from(exists(&env, *id).await);
        }
        if left == 0 {
            break;
        }
        assert!(clock.elapsed() < PATIENCE, "{left} left: {}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A recent execution stays.
    let recent = run(&env, EXAMPLE_HELLO, json!({"name": "new"}));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(exists(&env, recent).await);
    server.stop();
    let audit = env
        .backends()
        .await
        .access
        .audit_log(&Scope::All, None, 100)
        .await
        .unwrap();
    let deleted: u64 = audit
        .iter()
        .filter(|a| a.action == "execution.purge")
        .inspect(|a| assert_eq!(a.detail["trigger"], json!("serve")))
        .map(|a| a.detail["deleted"].as_u64().unwrap())
        .sum();
    assert_eq!(deleted, 2, "{audit:?}");
    env.close().await;
}

bifrost_tests::on_both_backends!(
    purge_deletes_what_ended_before_the_cut,
    serve_purges_past_its_retention,
);
