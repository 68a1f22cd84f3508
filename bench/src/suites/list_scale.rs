//! 3. `list` over a million executions: every combination of the four filters, as a
//!    platform admin, as an organisation admin and as a regular user; the first page
//!    against page 1,000 reached by cursor; with the query plans.

use std::time::Instant;

use bifrost_core::ExecutionsService;
use bifrost_core::Identity;
use bifrost_core::model::ExecutionStatus;
use bifrost_core::query::ListFilter;

use crate::Ctx;
use crate::report::{Section, verdict};
use crate::stats::{fmt_ratio, fmt_secs, median, paired};

/// Target: the first page under 1 ms (median).
const TARGET_FIRST_SECS: f64 = 1e-3;
/// Target: page 1,000 within 1.5 times the first page.
const TARGET_DEEP_RATIO: f64 = 1.5;
/// The page the deep sample reads (or the last page, for a result with fewer).
const DEEP_PAGE: usize = 1000;
const PAGE_SIZE: u32 = 50;
/// Connections in the store's pool (`PostgresStore::connect`).
const POOL_CONNECTIONS: usize = 16;

/// The filter of combination `mask`: bit 0 workflow, 1 status, 2 start date, 3 end date.
fn filter(mask: u32, workflow: &str) -> ListFilter {
    ListFilter {
        workflow_name: (mask & 1 != 0).then(|| workflow.to_owned()),
        status: (mask & 2 != 0).then_some(ExecutionStatus::Failed),
        start_date: (mask & 4 != 0).then(|| "2026-08-01".to_owned()),
        end_date: (mask & 8 != 0).then(|| "2026-10-01".to_owned()),
        limit: Some(PAGE_SIZE),
    }
}

fn describe(mask: u32) -> String {
    let parts: Vec<&str> = [(1, "workflow"), (2, "status"), (4, "start"), (8, "end")]
        .iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" + ")
    }
}

/// One page's time.
async fn time_page(
    service: &ExecutionsService,
    who: &Identity,
    filter: &ListFilter,
    cursor: Option<&str>,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let page = service.list_page(who, filter, cursor).await?;
    let t = start.elapsed().as_secs_f64();
    anyhow::ensure!(!page.executions.is_empty(), "empty page");
    Ok(t)
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let data = ctx.dataset().await?;
    let mut section = Section::new(
        "list",
        "3. `list` over a million executions",
        &format!(
            "The seeded table holds {} executions (`bifrost-bench seed`; the spread is \
             described in `bench/src/seed.rs`). For each of the 16 combinations of the \
             filters (workflow `{}`, status `Failed`, start date 2026-08-01, end date \
             2026-10-01) and each identity, the native `ExecutionsService::list_page` reads \
             the first page of {PAGE_SIZE}, walks the cursor to page {DEEP_PAGE} (or the last \
             full page when there are fewer), runs both queries twice per pooled connection \
             (warm connections and caches, as in a runner that has been up a while), then \
             first-page and deep-page samples alternate. \
             Identities: the platform admin (sees all), the admin of the largest \
             organisation, and that organisation's heaviest user (a service account that \
             started about 16% of all executions).",
            crate::stats::thousands(data.rows as u64),
            data.workflow
        ),
        &[
            "identity",
            "filters",
            "first page",
            "deep page",
            "deep page no.",
            "deep / first",
            "result",
        ],
    );
    let (service, store) = ctx.scale_service().await?;
    let identities = [
        ("platform admin", Identity::operator()),
        (
            "organisation admin",
            Identity {
                user_id: uuid::Uuid::nil(),
                user_name: "org admin".into(),
                organization_id: Some(data.organization),
                is_platform_admin: true,
            },
        ),
        (
            "regular user",
            Identity {
                user_id: data.user,
                user_name: "user 1".into(),
                organization_id: Some(data.organization),
                is_platform_admin: false,
            },
        ),
    ];
    let mut plans = String::from(
        "<details><summary>Query plans (EXPLAIN ANALYZE, BUFFERS) of every case, first page \
         and deep page</summary>\n\n",
    );
    let (mut firsts, mut worst_first, mut worst_ratio) = (Vec::new(), 0f64, 0f64);
    let mut missed = Vec::new();
    for (role, who) in &identities {
        for mask in 0..16 {
            let f = filter(mask, &data.workflow);
            // Walk to the deep page: page 1,000, or the last full page of a shorter
            // result (a last page with fewer rows would flatter the deep figure).
            let mut cursor: Option<String> = None;
            let mut page_no = 1;
            let (mut deep_no, mut deep_cursor) = (1, None);
            loop {
                let page = service.list_page(who, &f, cursor.as_deref()).await?;
                if page.executions.len() == PAGE_SIZE as usize {
                    (deep_no, deep_cursor) = (page_no, cursor.clone());
                }
                match page.next_cursor {
                    Some(next) if page_no < ctx.scaled_usize(DEEP_PAGE) => {
                        cursor = Some(next);
                        page_no += 1;
                    }
                    _ => break,
                }
            }
            // Both queries run on every pooled connection first, as in a runner that has
            // been up a while.
            for _ in 0..2 * POOL_CONNECTIONS {
                service.list_page(who, &f, None).await?;
                service.list_page(who, &f, deep_cursor.as_deref()).await?;
            }
            let deep = deep_cursor.as_deref();
            let p = paired(
                ctx.rounds(15),
                async || time_page(&service, who, &f, None).await,
                async || time_page(&service, who, &f, deep).await,
            )
            .await?;
            let ratio = p.b() / p.a();
            let met = p.a() < TARGET_FIRST_SECS && ratio <= TARGET_DEEP_RATIO;
            if !met {
                missed.push(format!("{role} / {}", describe(mask)));
            }
            firsts.push(p.a());
            worst_first = worst_first.max(p.a());
            worst_ratio = worst_ratio.max(ratio);
            section.row([
                (*role).to_owned(),
                describe(mask),
                fmt_secs(p.a()),
                fmt_secs(p.b()),
                deep_no.to_string(),
                fmt_ratio(ratio),
                verdict(met).to_owned(),
            ]);
            for (which, cur) in [("first page", None), ("deep page", deep)] {
                let q = f.validate(cur)?;
                let plan = store
                    .explain_list(&who.scope(), &q, who.is_platform_admin)
                    .await?;
                plans += &format!(
                    "**{role}, filters: {}, {which}**\n\n```\n{plan}\n```\n\n",
                    describe(mask)
                );
            }
        }
    }
    plans += "</details>";
    section.appendix = Some(plans);
    section.note(format!(
        "Targets: first page under {} (median); the deep page within {TARGET_DEEP_RATIO}x the \
         first. Median of all first pages {}; slowest first page {}; largest deep / first \
         ratio {}.",
        fmt_secs(TARGET_FIRST_SECS),
        fmt_secs(median(&firsts)),
        fmt_secs(worst_first),
        fmt_ratio(worst_ratio)
    ));
    if missed.is_empty() {
        section.note("Every case met both targets.");
    } else {
        section.note(format!(
            "Cases that missed a target: {}.",
            missed.join("; ")
        ));
    }
    Ok(section)
}
