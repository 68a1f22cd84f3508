//! The pages' HTML (maud: escaped by default, checked when the crate compiles).

use axum::http::StatusCode;
use bifrost_core::access::Scopes;
use bifrost_core::model::{Execution, ExecutionStatus, LogEntry};
use bifrost_core::workflows::Deployment;
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{DOCTYPE, Markup, html};

use super::{ListParams, RunForm, Session, TAIL_LINES, encode};

/// A page: its title, the signed-in browser if any, and its main part.
fn page(title: &str, session: Option<&Session>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Bifrost" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/runs" { "Bifrost" }
                    @if let Some(s) = session {
                        nav aria-label="Main" {
                            a href="/runs" { "Runs" }
                            a href="/workflows" { "Workflows" }
                        }
                        span.who {
                            (s.caller.identity().user_name)
                            @if s.caller.identity().is_platform_admin { " (admin)" }
                        }
                        form.inline method="post" action="/sign-out" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (main) }
            }
        }
    }
}

/// A time: UTC in the text (the script shows it in the reader's zone) and on hover.
fn when(t: DateTime<Utc>) -> Markup {
    let utc = t.to_rfc3339_opts(SecondsFormat::Secs, true);
    html! {
        time datetime=(t.to_rfc3339_opts(SecondsFormat::Millis, true)) title={ (utc) " UTC" } {
            (t.format("%Y-%m-%d %H:%M:%S UTC"))
        }
    }
}

fn when_opt(t: Option<DateTime<Utc>>) -> Markup {
    match t {
        Some(t) => when(t),
        None => html! { "—" },
    }
}

/// A status as a badge: its name in words, coloured by kind.
pub(super) fn badge(status: ExecutionStatus) -> Markup {
    let kind = match status {
        ExecutionStatus::Success => "ok",
        ExecutionStatus::Failed | ExecutionStatus::Timeout | ExecutionStatus::Stuck => "bad",
        ExecutionStatus::CompletedWithErrors => "warn",
        ExecutionStatus::Cancelled | ExecutionStatus::Cancelling => "off",
        ExecutionStatus::Running => "live",
        ExecutionStatus::Pending | ExecutionStatus::Scheduled => "wait",
    };
    html! { span class={ "badge " (kind) } data-status=(status.as_str()) { (status.as_str()) } }
}

/// A duration in people's units.
fn duration(ms: i64) -> String {
    match ms {
        ms if ms < 1_000 => format!("{ms} ms"),
        ms if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ms if ms < 3_600_000 => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
        ms => format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

/// A size in people's units.
fn bytes(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / 1048576.0),
    }
}

/// How long a run took, or has taken so far.
fn took(e: &Execution, now: DateTime<Utc>) -> String {
    match (e.duration_ms, e.started_at) {
        (Some(ms), _) => duration(ms),
        (None, Some(t)) if e.status.is_live() => {
            format!("{} so far", duration((now - t).num_milliseconds().max(0)))
        }
        _ => "—".to_owned(),
    }
}

/// One row of the runs table.
fn row(e: &Execution, now: DateTime<Utc>) -> Markup {
    html! {
        tr id={ "run-" (e.id) } data-id=(e.id) data-unfinished[!e.status.is_final()] {
            td { (badge(e.status)) }
            td { a href={ "/runs/" (e.id) } { (e.workflow_name) } }
            td { (e.executed_by_name) }
            td { (when_opt(e.started_at.or(Some(e.created_at)))) }
            td { (took(e, now)) }
        }
    }
}

/// Rows on their own: the refresh of unfinished runs.
pub(super) fn rows(executions: &[Execution], now: DateTime<Utc>) -> Markup {
    html! { table { tbody { @for e in executions { (row(e, now)) } } } }
}

/// The runs page.
pub(super) fn runs(
    session: &Session,
    params: &ListParams,
    executions: &[Execution],
    next: Option<&str>,
    now: DateTime<Utc>,
) -> Markup {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let status = v(&params.status);
    let older = next.map(|cursor| {
        let mut q = Vec::new();
        for (k, val) in [
            ("workflow_name", &params.workflow_name),
            ("status", &params.status),
            ("start_date", &params.start_date),
            ("end_date", &params.end_date),
        ] {
            if let Some(val) = val {
                q.push(format!("{k}={}", encode(val)));
            }
        }
        q.push(format!("cursor={}", encode(cursor)));
        format!("/runs?{}", q.join("&"))
    });
    page(
        "Runs",
        Some(session),
        html! {
            h1 { "Runs" }
            form.filters method="get" action="/runs" role="search" {
                label { "Workflow"
                    input name="workflow_name" value=(v(&params.workflow_name)) autocomplete="off";
                }
                label { "Status"
                    select name="status" {
                        option value="" selected[status.is_empty()] { "Any" }
                        @for s in ExecutionStatus::ALL {
                            option value=(s.as_str()) selected[status.eq_ignore_ascii_case(s.as_str())] { (s.as_str()) }
                        }
                    }
                }
                label { "From (UTC)" input type="date" name="start_date" value=(v(&params.start_date)); }
                label { "To (UTC)" input type="date" name="end_date" value=(v(&params.end_date)); }
                button type="submit" { "Filter" }
                a href="/runs" { "Clear" }
            }
            @if executions.is_empty() {
                p.empty { "No runs match." }
            } @else {
                div.scroll {
                    table.runs id="runs" {
                        caption.sr { "Runs, newest first" }
                        thead { tr { th scope="col" { "Status" } th scope="col" { "Workflow" } th scope="col" { "Who" } th scope="col" { "Started" } th scope="col" { "Duration" } } }
                        tbody { @for e in executions { (row(e, now)) } }
                    }
                }
            }
            @if let Some(href) = older {
                p { a.older href=(href) rel="next" { "Older runs →" } }
            }
        },
    )
}

/// Pretty JSON of a value.
fn json(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// The details of a run.
pub(super) fn summary(session: &Session, e: &Execution, now: DateTime<Utc>) -> Markup {
    let may_cancel = !e.status.is_final() && session.caller.token.scopes.contains(Scopes::RUN);
    html! {
        section id="summary" data-final[e.status.is_final()] aria-live="polite" {
            div.head {
                span id="status" { (badge(e.status)) }
                @if may_cancel {
                    form.inline id="cancel" method="post" action={ "/runs/" (e.id) "/cancel" } {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button.danger type="submit" { "Cancel" }
                    }
                }
            }
            dl {
                dt { "Execution" } dd { code { (e.id) } }
                dt { "Workflow" } dd { (e.workflow_name)
                    @if let Some(v) = &e.workflow_version { " " code title=(v) { (v.get(..12).unwrap_or(v)) } } }
                @if let Some(parent) = e.parent_execution_id {
                    dt { "Started by run" } dd { a href=(format!("/runs/{parent}")) { code { (parent) } } }
                }
                dt { "Run by" } dd { (e.executed_by_name) " " code.dim { (e.executed_by) } }
                @if let Some(org) = e.organization_id { dt { "Organisation" } dd { code { (org) } } }
                dt { "Created" } dd { (when(e.created_at)) }
                dt { "Started" } dd { (when_opt(e.started_at)) }
                dt { "Ended" } dd { (when_opt(e.completed_at)) }
                dt { "Duration" } dd { (took(e, now)) }
                @if let Some(m) = e.peak_memory_bytes { dt { "Peak memory" } dd { (bytes(m.max(0) as u64)) } }
                @if let Some(c) = e.cpu_total_seconds { dt { "CPU time" } dd { (format!("{c:.3} s")) } }
                @if let Some(d) = e.log_lines_dropped { dt { "Log lines dropped" } dd { (d) } }
            }
            @if let Some(r) = &e.result {
                h2 { "Result" @if let Some(t) = &e.result_type { " " span.dim { "(" (t) ")" } } }
                pre.json id="result" { (json(r)) }
            }
            @if let Some(m) = &e.error_message {
                h2 { "Error" }
                pre.error id="error" { (m) }
            }
            @if let Some(vars) = &e.variables {
                h2 { "Variables" }
                pre.json { (json(vars)) }
            }
        }
    }
}

/// One log line.
fn line(entry: &LogEntry) -> Markup {
    let level = entry.level.as_str();
    html! {
        li data-level=(level) data-id=(entry.id.to_string()) {
            (when(entry.timestamp)) " "
            span class={ "level " (level.to_ascii_lowercase()) } { (level) } " "
            span.msg { (entry.message) }
            @if let Some(m) = &entry.metadata {
                " " span.meta { (serde_json::to_string(m).unwrap_or_default()) }
            }
        }
    }
}

/// A run's page: its details and its log (the last lines; live while it runs).
pub(super) fn run(
    session: &Session,
    e: &Execution,
    lines: &[LogEntry],
    now: DateTime<Utc>,
) -> Markup {
    let after = lines.last().map(|l| l.id.to_string()).unwrap_or_default();
    page(
        &format!("{} run", e.workflow_name),
        Some(session),
        html! {
            h1 { (e.workflow_name) " " span.dim { "run" } }
            (summary(session, e, now))
            h2 id="logs-title" { "Log" }
            div.logbar role="group" aria-label="Log controls" {
                label { "Level "
                    select id="level" {
                        option value="DEBUG" { "All" }
                        option value="INFO" { "Info and above" }
                        option value="WARNING" { "Warnings and errors" }
                        option value="ERROR" { "Errors" }
                    }
                }
                label.check { input type="checkbox" id="follow" checked; "Follow" }
                button type="button" id="jump" { "Jump to end" }
                a href={ "/runs/" (e.id) "/log.jsonl" } download { "Download the full log (JSON lines)" }
            }
            p.dim id="truncated" {
                @if lines.len() >= TAIL_LINES { "Showing the last " (TAIL_LINES) " lines; the download has them all." }
            }
            ol.log id="log" aria-labelledby="logs-title" tabindex="0"
                data-events=[(!e.status.is_final()).then(|| format!("/runs/{}/events?after={after}", e.id))]
                data-summary={ "/runs/" (e.id) "/summary" } {
                @for l in lines { (line(l)) }
            }
            p.dim id="log-state" aria-live="polite" {
                @if e.status.is_final() { "The run has ended." } @else { "Following the log…" }
            }
            h2 { "Input" }
            pre.json id="input" { (json(&e.parameters)) }
        },
    )
}

/// The workflows page: deployed names and versions, and the run form.
pub(super) fn workflows(
    session: &Session,
    all: &[Deployment],
    form: &RunForm,
    error: Option<&str>,
) -> Markup {
    let may_run = session.caller.token.scopes.contains(Scopes::RUN);
    page(
        "Workflows",
        Some(session),
        html! {
            h1 { "Workflows" }
            @if all.is_empty() {
                p.empty { "No workflow is deployed." }
            } @else {
                div.scroll {
                    table {
                        caption.sr { "Deployed workflows" }
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Version" } th scope="col" { "Size" } th scope="col" { "Deployed" } th scope="col" { "By" } } }
                        tbody {
                            @for d in all {
                                tr {
                                    td { a href={ "/runs?workflow_name=" (encode(&d.name)) } { (d.name) } }
                                    td { code title=(d.hash) { (d.hash.get(..12).unwrap_or(&d.hash)) } }
                                    td { (bytes(d.size)) }
                                    td { (when(d.deployed_at)) }
                                    td { (d.deployed_by_name) }
                                }
                            }
                        }
                    }
                }
            }
            @if may_run && !all.is_empty() {
                h2 id="run-title" { "Run a workflow" }
                form.run id="run-form" method="post" action="/runs" aria-labelledby="run-title" novalidate {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="at" value="";
                    label { "Workflow"
                        select name="workflow" required {
                            @for d in all { option value=(d.name) selected[d.name == form.workflow] { (d.name) } }
                        }
                    }
                    label for="input" { "Input (JSON)" }
                    textarea id="input" name="input" rows="6" spellcheck="false" aria-describedby="input-error" {
                        @if form.input.is_empty() { "{}" } @else { (form.input) }
                    }
                    p.error id="input-error" role="alert" { @if let Some(e) = error { (e) } }
                    label { "Start at (optional, your local time)"
                        input type="datetime-local" name="at_local" value=(form.at_local);
                    }
                    button type="submit" { "Run" }
                }
            }
        },
    )
}

/// The sign-in page.
pub(super) fn sign_in(csrf: &str, next: &str, error: Option<&str>) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            p { "Paste an API token (" code { "bifrost-runner tokens create" } " makes one). It is kept in a cookie of this site only; signing out removes it." }
            form.signin method="post" action="/sign-in" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="token" { "Token" }
                input id="token" type="password" name="token" autocomplete="off" required placeholder="bfr_…" aria-describedby="token-error";
                p.error id="token-error" role="alert" { @if let Some(e) = error { (e) } }
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// A refusal or a failure as a page.
pub(super) fn failure(status: StatusCode, message: &str) -> Markup {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Denied",
        StatusCode::BAD_REQUEST => "Not understood",
        StatusCode::CONFLICT => "Not possible now",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
        _ => "Something failed",
    };
    page(
        title,
        None,
        html! {
            h1 { (title) }
            p.failure data-status=(status.as_u16()) { (message) }
            p { a href="/runs" { "Back to the runs" } }
        },
    )
}
