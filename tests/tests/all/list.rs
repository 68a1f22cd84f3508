//! `list` through the guest: every filter and their combinations against an oracle, the
//! limit, dates with offsets and bad dates, ties, cursor pages, and hostile strings.

use bifrost_core::model::ExecutionStatus;
use bifrost_tests::protocol::ListArgs;
use bifrost_tests::{Backend, ErrorKind, Harness, Seed, admin, ids, list, logs, user};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Seeds 3 workflows x 4 statuses x 5 days, and returns the seeds with their ids.
async fn seed_grid(h: &Harness, org: Uuid) -> Vec<(Uuid, Seed)> {
    let mut seeds = Vec::new();
    let by = Uuid::new_v4();
    let base = utc("2026-04-20T12:00:00Z");
    let statuses = [
        ExecutionStatus::Success,
        ExecutionStatus::Failed,
        ExecutionStatus::Timeout,
        ExecutionStatus::CompletedWithErrors,
    ];
    let mut n = 0;
    for workflow in ["alpha", "beta", "gamma"] {
        for (si, status) in statuses.into_iter().enumerate() {
            for day in 0..5 {
                n += 1;
                let seed = Seed {
                    by,
                    org: Some(org),
                    workflow: workflow.into(),
                    status,
                    started_at: base
                        + TimeDelta::days(day)
                        + TimeDelta::minutes((si * 7 + n) as i64),
                };
                seeds.push((h.env.seed(&seed).await, seed));
            }
        }
    }
    seeds
}

/// The expected answer, computed from the seeds: filters AND, newest first, ties by id.
fn oracle(
    seeds: &[(Uuid, Seed)],
    workflow: Option<&str>,
    status: Option<ExecutionStatus>,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: usize,
) -> Vec<Uuid> {
    let mut hits: Vec<&(Uuid, Seed)> = seeds
        .iter()
        .filter(|(_, s)| workflow.is_none_or(|w| s.workflow == w))
        .filter(|(_, s)| status.is_none_or(|st| s.status == st))
        .filter(|(_, s)| from.is_none_or(|f| s.started_at >= f))
        .filter(|(_, s)| until.is_none_or(|u| s.started_at <= u))
        .collect();
    hits.sort_by_key(|(id, s)| std::cmp::Reverse((s.started_at, *id)));
    hits.into_iter().take(limit).map(|(id, _)| *id).collect()
}

async fn every_filter_combination_matches_the_oracle(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = Uuid::new_v4();
    let seeds = seed_grid(&h, org).await;
    let me = admin(Some(org));

    let workflows = [None, Some("beta")];
    let statuses = [None, Some(ExecutionStatus::Failed)];
    let froms = [None, Some(("2026-04-21", utc("2026-04-21T00:00:00Z")))];
    let untils = [
        None,
        Some(("2026-04-23", utc("2026-04-23T23:59:59.999999Z"))),
    ];
    let limits = [None, Some(3u32)];

    let mut calls = Vec::new();
    let mut params = Vec::new();
    for w in workflows {
        for st in statuses {
            for f in froms {
                for u in untils {
                    for l in limits {
                        let call = ListArgs {
                            workflow_name: w.map(str::to_owned),
                            status: st.map(|st| st.as_str().to_owned()),
                            start_date: f.map(|(text, _)| text.to_owned()),
                            end_date: u.map(|(text, _)| text.to_owned()),
                            limit: l,
                        };
                        calls.push(call.page());
                        params.push((w, st, f.map(|x| x.1), u.map(|x| x.1), l.unwrap_or(50)));
                    }
                }
            }
        }
    }
    let (run, answers) = h.probe(&me, calls.clone()).await;
    // The probe's own execution is in the organisation too, and was Running while it
    // listed: the oracle knows it as one more row.
    let mut seeds = seeds;
    seeds.push((
        run.id,
        Seed {
            by: me.user_id,
            org: Some(org),
            workflow: "probe".into(),
            status: ExecutionStatus::Running,
            started_at: run.started_at.unwrap(),
        },
    ));
    let expected: Vec<Vec<Uuid>> = params
        .iter()
        .map(|&(w, st, f, u, l)| oracle(&seeds, w, st, f, u, l as usize))
        .collect();
    for ((call, answer), want) in calls.iter().zip(&answers).zip(&expected) {
        assert_eq!(&ids(answer), want, "{call:?}");
    }
    // Some combinations must be non-trivial for this test to mean anything.
    let sizes: std::collections::BTreeSet<usize> = expected.iter().map(Vec::len).collect();
    assert!(
        sizes.len() >= 5,
        "filters should cut differently: {sizes:?}"
    );
    h.close().await;
}

async fn default_limit_and_cap(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = Uuid::new_v4();
    let by = Uuid::new_v4();
    let base = utc("2026-01-01T00:00:00Z");
    for i in 0..1005 {
        h.env
            .seed(&Seed {
                by,
                org: Some(org),
                workflow: "bulk".into(),
                status: ExecutionStatus::Success,
                started_at: base + TimeDelta::seconds(i),
            })
            .await;
    }
    let me = admin(Some(org));
    let (_, answers) = h
        .probe(
            &me,
            vec![
                list().workflow_name("bulk").page(),
                list().workflow_name("bulk").limit(1000).page(),
                list().workflow_name("bulk").limit(1001).page(),
                list().workflow_name("bulk").limit(4294967295u32).page(),
                list().workflow_name("bulk").limit(0).page(),
            ],
        )
        .await;
    assert_eq!(ids(&answers[0]).len(), 50);
    assert_eq!(ids(&answers[1]).len(), 1000);
    assert_eq!(ids(&answers[2]).len(), 1000);
    assert_eq!(ids(&answers[3]).len(), 1000);
    assert_eq!(answers[4].kind(), ErrorKind::InvalidArgument);
    assert_eq!(answers[4].err().parameter.as_deref(), Some("limit"));
    // Newest first.
    let first = answers[0].ok().as_array().unwrap();
    assert!(first[0]["started_at"].as_str() > first[49]["started_at"].as_str());
    h.close().await;
}

async fn dates_with_offsets_and_whole_days(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = Uuid::new_v4();
    let by = Uuid::new_v4();
    let at = |t: &str| Seed {
        by,
        org: Some(org),
        workflow: "dated".into(),
        status: ExecutionStatus::Success,
        started_at: utc(t),
    };
    let early = h.env.seed(&at("2026-04-25T09:30:00Z")).await;
    let late = h.env.seed(&at("2026-04-25T10:30:00Z")).await;
    let last_moment = h.env.seed(&at("2026-04-25T23:59:59.999Z")).await;
    let next_day = h.env.seed(&at("2026-04-26T00:00:00Z")).await;
    let day_before = h.env.seed(&at("2026-04-24T23:59:59Z")).await;

    let list = |start: Option<&str>, end: Option<&str>| {
        ListArgs {
            workflow_name: Some("dated".into()),
            start_date: start.map(str::to_owned),
            end_date: end.map(str::to_owned),
            ..ListArgs::default()
        }
        .page()
    };
    let (_, a) = h
        .probe(
            &admin(Some(org)),
            vec![
                // 12:00 at +02:00 is 10:00 UTC: only the 10:30 one and later.
                list(Some("2026-04-25T12:00:00+02:00"), Some("2026-04-25")),
                // An end date alone covers its whole day.
                list(Some("2026-04-25"), Some("2026-04-25")),
                // 11:00 at -01:00 is 12:00 UTC.
                list(None, Some("2026-04-25T11:00:00-01:00")),
                // No offset: UTC.
                list(Some("2026-04-25T10:00:00"), Some("2026-04-25T11:00:00")),
                list(Some("2026-04-26T00:00:00Z"), None),
            ],
        )
        .await;
    assert_eq!(ids(&a[0]), vec![last_moment, late]);
    assert_eq!(ids(&a[1]), vec![last_moment, late, early]);
    assert_eq!(ids(&a[2]), vec![late, early, day_before]);
    assert_eq!(ids(&a[3]), vec![late]);
    assert_eq!(ids(&a[4]), vec![next_day]);
    h.close().await;
}

async fn bad_dates_and_statuses_are_errors_that_name_the_parameter(backend: Backend) {
    let h = Harness::new(backend).await;
    let (_, a) = h
        .probe(
            &admin(None),
            vec![
                list().start_date("yesterday").page(),
                list().end_date("2026-13-45").page(),
                list().start_date("2026-04-25T25:00:00Z").page(),
                list()
                    .start_date("2026-04-26")
                    .end_date("2026-04-25")
                    .page(),
                list().status("Exploded").page(),
                list().status("Completed").page(),
                list().status("failed").page(),
                list().workflow_name("").page(),
            ],
        )
        .await;
    for (i, param) in [
        (0, "start_date"),
        (1, "end_date"),
        (2, "start_date"),
        (3, "end_date"),
    ] {
        assert_eq!(a[i].kind(), ErrorKind::InvalidArgument, "{:?}", a[i]);
        assert_eq!(a[i].err().parameter.as_deref(), Some(param), "{:?}", a[i]);
    }
    assert_eq!(a[4].kind(), ErrorKind::InvalidStatus);
    let message = a[4].err().message.as_str();
    assert!(
        message.contains("CompletedWithErrors") && message.contains("Failed"),
        "{message}"
    );
    a[5].ok();
    a[6].ok();
    assert_eq!(a[7].err().parameter.as_deref(), Some("workflow_name"));
    h.close().await;
}

async fn ties_are_ordered_by_id_and_pages_have_no_gap_or_duplicate(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = Uuid::new_v4();
    let by = Uuid::new_v4();
    let same = utc("2026-04-25T10:00:00Z");
    let mut seeded = Vec::new();
    for i in 0..23 {
        // Eleven share one instant; the rest spread around it.
        let started_at = if i < 11 {
            same
        } else {
            same + TimeDelta::seconds(if i % 2 == 0 { i } else { -i })
        };
        seeded.push(
            h.env
                .seed(&Seed {
                    by,
                    org: Some(org),
                    workflow: "ties".into(),
                    status: ExecutionStatus::Success,
                    started_at,
                })
                .await,
        );
    }
    let me = admin(Some(org));
    let (_, a) = h
        .probe(
            &me,
            vec![
                list().workflow_name("ties").limit(1000).page(),
                list().workflow_name("ties").limit(1000).page(),
                list().workflow_name("ties").limit(4).all(),
                list().workflow_name("ties").limit(1).all(),
                list().workflow_name("ties").limit(23).all(),
            ],
        )
        .await;
    let once = ids(&a[0]);
    assert_eq!(once.len(), 23);
    assert_eq!(once, ids(&a[1]), "same query, same order");
    // Within the tie, ids descend.
    let rows = a[0].ok().as_array().unwrap();
    let tied: Vec<Uuid> = rows
        .iter()
        .filter(|r| r["started_at"] == json!("2026-04-25T10:00:00.000000Z"))
        .map(|r| r["execution_id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(tied.len(), 11);
    let mut sorted = tied.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(tied, sorted);
    // Cursor pages walk the same order.
    assert_eq!(ids(&a[2]), once);
    assert_eq!(ids(&a[3]), once);
    assert_eq!(ids(&a[4]), once);
    h.close().await;
}

async fn pages_hand_out_cursors_only_while_more_remain(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = Uuid::new_v4();
    for i in 0..6 {
        h.env
            .seed(&Seed {
                by: Uuid::new_v4(),
                org: Some(org),
                workflow: "paged".into(),
                status: ExecutionStatus::Success,
                started_at: utc("2026-04-25T10:00:00Z") + TimeDelta::minutes(i),
            })
            .await;
    }
    let who = admin(Some(org));
    let filter = bifrost_core::query::ListFilter {
        workflow_name: Some("paged".into()),
        limit: Some(3),
        ..Default::default()
    };
    let first = h.env.service.list_page(&who, &filter, None).await.unwrap();
    assert_eq!(first.executions.len(), 3);
    let cursor = first.next_cursor.expect("a second page");
    let second = h
        .env
        .service
        .list_page(&who, &filter, Some(&cursor))
        .await
        .unwrap();
    assert_eq!(second.executions.len(), 3);
    assert_eq!(second.next_cursor, None, "no cursor to an empty page");
    let garbage = h
        .env
        .service
        .list_page(&who, &filter, Some("v1.zz"))
        .await
        .unwrap_err();
    assert!(matches!(
        garbage,
        bifrost_core::ApiError::InvalidArgument {
            parameter: "cursor",
            ..
        }
    ));
    h.close().await;
}

async fn filter_strings_shaped_like_sql_are_plain_data(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = Uuid::new_v4();
    let evil = "x'; DROP TABLE executions; --";
    let quoted = "a\"b\\c' OR '1'='1";
    let mk = |w: &str| Seed {
        by: Uuid::new_v4(),
        org: Some(org),
        workflow: w.into(),
        status: ExecutionStatus::Failed,
        started_at: Utc::now(),
    };
    let evil_id = h.env.seed(&mk(evil)).await;
    let quoted_id = h.env.seed(&mk(quoted)).await;
    h.env.seed(&mk("innocent")).await;
    let (_, a) = h
        .probe(
            &admin(Some(org)),
            vec![
                list().workflow_name(evil).page(),
                list().workflow_name(quoted).page(),
                list().workflow_name("' OR 1=1 --").page(),
                list()
                    .start_date("2026-01-01'; DELETE FROM executions; --")
                    .page(),
                logs()
                    .of(Uuid::new_v4().to_string())
                    .start("0-0'; DROP TABLE execution_logs; --")
                    .page(),
            ],
        )
        .await;
    assert_eq!(ids(&a[0]), vec![evil_id]);
    assert_eq!(ids(&a[1]), vec![quoted_id]);
    assert_eq!(ids(&a[2]), Vec::<Uuid>::new());
    assert_eq!(a[3].kind(), ErrorKind::InvalidArgument);
    assert_eq!(a[4].kind(), ErrorKind::InvalidArgument);
    let all = h
        .env
        .service
        .list(
            &admin(Some(org)),
            &bifrost_core::query::ListFilter {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let count = all.iter().filter(|e| e.workflow_name != "probe").count();
    assert_eq!(count, 3, "the table and its rows are intact");
    h.close().await;
}

async fn regular_user_list_is_scoped_even_with_filters(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = Uuid::new_v4();
    let me = user(Some(org));
    let colleague = user(Some(org));
    for who in [&me, &colleague] {
        h.env
            .seed(&Seed {
                by: who.user_id,
                org: Some(org),
                workflow: "shared-name".into(),
                status: ExecutionStatus::Failed,
                started_at: Utc::now(),
            })
            .await;
    }
    let (_, a) = h
        .probe(
            &me,
            vec![
                list()
                    .workflow_name("shared-name")
                    .status("Failed")
                    .limit(1000)
                    .page(),
            ],
        )
        .await;
    let rows = a[0].ok().as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["executed_by"], json!(me.user_id.to_string()));
    h.close().await;
}

bifrost_tests::on_both_backends!(
    every_filter_combination_matches_the_oracle,
    default_limit_and_cap,
    dates_with_offsets_and_whole_days,
    bad_dates_and_statuses_are_errors_that_name_the_parameter,
    ties_are_ordered_by_id_and_pages_have_no_gap_or_duplicate,
    pages_hand_out_cursors_only_while_more_remain,
    filter_strings_shaped_like_sql_are_plain_data,
    regular_user_list_is_scoped_even_with_filters,
);
