//! The pages in a real browser: Debian's chromium, driven over WebDriver by chromedriver,
//! against the API's process (the router with a worker, as `serve --listen` runs them) on
//! both backends. On a failure the test saves a screenshot and the page's HTML under
//! `target/tmp/browser/` and says where.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bifrost_core::access::Scopes;
use bifrost_tests::browser::Browser;
use bifrost_tests::{Backend, Call, TestEnv, admin, user};
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api::Api;

/// How long a page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until `check` answers `Some`; panics with `what` after [`PATIENCE`].
async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let clock = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(clock.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The ids of the rows of the runs table (none when the page has no table).
async fn row_ids(c: &Client) -> Vec<String> {
    let rows = c.find_all(Locator::Css("#runs tbody tr")).await.unwrap();
    let mut ids = Vec::new();
    for r in rows {
        ids.push(r.attr("data-id").await.unwrap().expect("a row has its id"));
    }
    ids
}

/// The ids the API lists for `token` (newest first), up to 50.
async fn api_ids(api: &Api, token: &str, query: &str) -> Vec<String> {
    let (status, page) = api
        .get(token, &format!("/executions?limit=50{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["execution_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The path and query of the page the browser shows.
async fn here(c: &Client) -> String {
    let url = c.current_url().await.unwrap();
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Clicks the element `css` finds.
async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

/// The status the run page's badge shows.
async fn badge(c: &Client) -> Option<String> {
    let b = c.find(Locator::Css("#status .badge")).await.ok()?;
    b.attr("data-status").await.ok().flatten()
}

/// The log lines the run page shows.
async fn log_lines(c: &Client) -> usize {
    c.find_all(Locator::Css("#log li"))
        .await
        .map_or(0, |l| l.len())
}

/// With `BIFROST_SCREENSHOTS=DIR` (the README's pictures: `docs/images`), saves what the
/// browser shows as `DIR/name`.
async fn picture(c: &Client, backend: Backend, name: &str) {
    if let Ok(dir) = std::env::var("BIFROST_SCREENSHOTS")
        && backend == Backend::Embedded
    {
        let png = c.screenshot().await.expect("a screenshot");
        std::fs::write(std::path::Path::new(&dir).join(name), png).expect("write the picture");
    }
}

async fn sign_in(c: &Client, root: &str, token: &str) {
    c.goto(&format!("{root}/runs")).await.unwrap();
    assert!(
        here(c).await.starts_with("/sign-in"),
        "signed out, a page sends to the sign-in: {}",
        here(c).await
    );
    // With the keyboard: the token, then Enter.
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(&format!("{token}\u{e007}"))
        .await
        .unwrap();
    until("the runs page after signing in", || async {
        (here(c).await == "/runs").then_some(())
    })
    .await;
}

/// Signs in, lists, filters, follows a run live, cancels one, is denied another's run,
/// is refused a POST without its CSRF token, and signs out: as a person does in a browser.
async fn a_person_watches_and_runs_workflows_in_the_browser(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let api = Arc::new(Api::start(&env).await);
    api.deploy_probe().await;
    let who = user(None);
    let token = api.token(&who, Scopes::READ.union(Scopes::RUN)).await;
    let boss = api
        .token(&admin(None), Scopes::READ.union(Scopes::RUN))
        .await;
    // The user's runs: two that succeed, one that fails; and the admin's own.
    let mut mine = Vec::new();
    for calls in [
        vec![Call::Log {
            level: "INFO".into(),
            message: "hello".into(),
            metadata: None,
        }],
        vec![Call::Context],
        vec![Call::Fail {
            message: "no luck".into(),
        }],
    ] {
        mine.push(api.submit_probe(&token, calls).await);
    }
    let theirs = api.submit_probe(&boss, vec![Call::Context]).await;
    for id in &mine {
        api.wait_end(&token, id).await;
    }
    api.wait_end(&boss, &theirs).await;

    let browser = Browser::start().await.expect("a browser");
    let c = browser.client.clone();
    let name = format!("a_person_watches_and_runs_workflows_{backend:?}").to_lowercase();
    let body = {
        let (api, c, token) = (api.clone(), c.clone(), token.clone());
        async move {
            let root = api.root.clone();
            sign_in(&c, &root, &token).await;
            // Exactly what the API lists for this token, in its order.
            let expected = api_ids(&api, &token, "").await;
            assert_eq!(expected.len(), 3, "{expected:?}");
            assert_eq!(row_ids(&c).await, expected);
            assert!(!row_ids(&c).await.contains(&theirs));
            picture(&c, backend, "runs.png").await;

            // A filter is in the URL, and the rows follow it.
            c.find(Locator::Css("select[name=status]"))
                .await
                .unwrap()
                .select_by_value("Failed")
                .await
                .unwrap();
            click(&c, "form.filters button[type=submit]").await;
            until("the filtered URL", || async {
                here(&c).await.contains("status=Failed").then_some(())
            })
            .await;
            assert_eq!(
                row_ids(&c).await,
                api_ids(&api, &token, "&status=Failed").await
            );
            assert_eq!(row_ids(&c).await, vec![mine[2].clone()]);

            // Rows of unfinished runs update by themselves.
            let moving = api
                .submit_probe(
                    &token,
                    vec![Call::LogSlowly {
                        n: 8,
                        pause_ms: 250,
                    }],
                )
                .await;
            c.goto(&format!("{root}/runs")).await.unwrap();
            c.execute("window.sameDocument = true;", vec![])
                .await
                .unwrap();
            let row_status = format!("#run-{moving} .badge");
            until("the moving run's row to show its end", || async {
                let badge = c.find(Locator::Css(&row_status)).await.ok()?;
                let status = badge.attr("data-status").await.ok().flatten()?;
                (status == "Success").then_some(())
            })
            .await;
            let same: Value = c
                .execute("return window.sameDocument === true;", vec![])
                .await
                .unwrap();
            assert_eq!(same, json!(true), "the runs page was not reloaded");

            // A running execution's page: lines arrive without a reload, then the status.
            let live = api
                .submit_probe(
                    &token,
                    vec![Call::LogSlowly {
                        n: 12,
                        pause_ms: 250,
                    }],
                )
                .await;
            c.goto(&format!("{root}/runs/{live}")).await.unwrap();
            c.execute("window.sameDocument = true;", vec![])
                .await
                .unwrap();
            let before = log_lines(&c).await;
            until("three more log lines on the live page", || async {
                (log_lines(&c).await >= before + 3).then_some(())
            })
            .await;
            picture(&c, backend, "run-live.png").await;
            let status = until("the final status on the live page", || async {
                badge(&c).await.filter(|s| s != "Running" && s != "Pending")
            })
            .await;
            assert_eq!(status, "Success");
            let same: Value = c
                .execute("return window.sameDocument === true;", vec![])
                .await
                .unwrap();
            assert_eq!(same, json!(true), "the page was not reloaded");
            assert_eq!(log_lines(&c).await, 12, "every line once");

            // Cancel from the page.
            let forever = api
                .submit_probe(
                    &token,
                    vec![Call::LogSlowly {
                        n: 1000,
                        pause_ms: 100,
                    }],
                )
                .await;
            c.goto(&format!("{root}/runs/{forever}")).await.unwrap();
            until("the run to be running", || async {
                let (_, e) = api.get(&token, &format!("/executions/{forever}")).await;
                (e["status"] == "Running").then_some(())
            })
            .await;
            c.goto(&format!("{root}/runs/{forever}")).await.unwrap();
            click(&c, "#cancel button").await;
            let ended = api.wait_end(&token, &forever).await;
            assert_eq!(ended["status"], "Cancelled", "{ended}");
            until("the cancelled status on the page", || async {
                (badge(&c).await.as_deref() == Some("Cancelled")).then_some(())
            })
            .await;

            // Someone else's run: the page the API's answer gives.
            let (api_status, _) = api.get(&token, &format!("/executions/{theirs}")).await;
            assert_eq!(api_status, StatusCode::FORBIDDEN);
            c.goto(&format!("{root}/runs/{theirs}")).await.unwrap();
            let refused = c.find(Locator::Css("p.failure")).await.unwrap();
            assert_eq!(
                refused.attr("data-status").await.unwrap().as_deref(),
                Some("403")
            );
            assert_eq!(c.title().await.unwrap(), "Denied · Bifrost");
            let nobody = uuid::Uuid::new_v4();
            let (api_status, _) = api.get(&token, &format!("/executions/{nobody}")).await;
            assert_eq!(api_status, StatusCode::NOT_FOUND);
            c.goto(&format!("{root}/runs/{nobody}")).await.unwrap();
            let missing = c.find(Locator::Css("p.failure")).await.unwrap();
            assert_eq!(
                missing.attr("data-status").await.unwrap().as_deref(),
                Some("404")
            );

            // A POST without the CSRF token is refused, and changes nothing.
            let waiting = api
                .post(
                    &token,
                    "/executions",
                    json!({"workflow": "probe", "at": "2999-01-01T00:00:00Z"}),
                )
                .await
                .1["execution_id"]
                .as_str()
                .unwrap()
                .to_owned();
            c.goto(&format!("{root}/runs")).await.unwrap();
            let answered: Value = c
                .execute(
                    "return fetch('/runs/' + arguments[0] + '/cancel', {method: 'POST', \
                     headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: ''}) \
                     .then(r => r.status);",
                    vec![json!(waiting)],
                )
                .await
                .unwrap();
            assert_eq!(answered, json!(403));
            let (_, e) = api.get(&token, &format!("/executions/{waiting}")).await;
            assert_eq!(e["status"], "Scheduled", "{e}");

            // The run form: JSON checked before it is sent, the error beside the field; a
            // good input runs, and the browser lands on the new run's page.
            c.goto(&format!("{root}/workflows")).await.unwrap();
            picture(&c, backend, "workflows.png").await;
            let input = c.find(Locator::Id("input")).await.unwrap();
            input.clear().await.unwrap();
            input.send_keys("{not json").await.unwrap();
            click(&c, "#run-form button[type=submit]").await;
            let error = c
                .find(Locator::Id("input-error"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(error.starts_with("The input is not JSON"), "{error}");
            assert_eq!(here(&c).await, "/workflows", "nothing was sent");
            input.clear().await.unwrap();
            input
                .send_keys(r#"{"calls": [{"op": "context"}]}"#)
                .await
                .unwrap();
            click(&c, "#run-form button[type=submit]").await;
            let started = until("the new run's page", || async {
                here(&c).await.strip_prefix("/runs/").map(str::to_owned)
            })
            .await;
            let (status, e) = api.get(&token, &format!("/executions/{started}")).await;
            assert_eq!(status, StatusCode::OK, "{e}");
            assert_eq!(e["workflow_name"], "probe");
            assert_eq!(e["executed_by"], json!(who.user_id.to_string()));

            // Every control has a label; at 360 px wide no page is wider than the window.
            let pages = [
                "/runs".to_owned(),
                format!("/runs/{}", mine[2]),
                format!("/runs/{started}"),
                "/workflows".to_owned(),
            ];
            for path in &pages {
                c.goto(&format!("{root}{path}")).await.unwrap();
                let unlabelled: Value = c
                    .execute(
                        "return [...document.querySelectorAll('input:not([type=hidden]), \
                         select, textarea')].filter(e => e.labels.length === 0) \
                         .map(e => e.name || e.id);",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert_eq!(unlabelled, json!([]), "unlabelled controls on {path}");
            }
            c.set_window_size(360, 800).await.unwrap();
            for path in &pages {
                c.goto(&format!("{root}{path}")).await.unwrap();
                let over: Value = c
                    .execute(
                        "return document.documentElement.scrollWidth - \
                         document.documentElement.clientWidth;",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert!(
                    over.as_i64().unwrap() <= 0,
                    "{path} is {over} px too wide at 360 px"
                );
                if path == "/runs" {
                    picture(&c, backend, "runs-narrow.png").await;
                }
            }
            c.set_window_size(1280, 900).await.unwrap();

            // Signing out ends access.
            click(&c, "form[action='/sign-out'] button").await;
            until("the sign-in page after signing out", || async {
                here(&c).await.starts_with("/sign-in").then_some(())
            })
            .await;
            c.goto(&format!("{root}/runs/{}", mine[0])).await.unwrap();
            assert!(here(&c).await.starts_with("/sign-in"), "{}", here(&c).await);

            // A token that may only read is offered neither Cancel nor the run form.
            let reader = api.token(&who, Scopes::READ).await;
            sign_in(&c, &root, &reader).await;
            c.goto(&format!("{root}/runs/{waiting}")).await.unwrap();
            assert_eq!(badge(&c).await.as_deref(), Some("Scheduled"));
            assert!(c.find_all(Locator::Id("cancel")).await.unwrap().is_empty());
            c.goto(&format!("{root}/workflows")).await.unwrap();
            assert!(
                c.find_all(Locator::Id("run-form"))
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert!(
                !c.find_all(Locator::Css("tbody tr"))
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
    };
    if let Err(e) = tokio::spawn(body).await {
        let url = c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
        let (png, html) = browser.save(&dir, &name).await;
        eprintln!(
            "browser test {name} failed at {url}: screenshot {}, page {}",
            png.display(),
            html.display()
        );
        browser.close().await;
        std::panic::resume_unwind(e.into_panic());
    }
    browser.close().await;
    Arc::try_unwrap(api)
        .ok()
        .expect("the test body is done")
        .stop()
        .await;
    env.close().await;
}

bifrost_tests::on_both_backends!(a_person_watches_and_runs_workflows_in_the_browser);

/// What a browser is told to keep and allow, seen over plain HTTP: the session cookie is
/// `HttpOnly`, `SameSite=Strict`, and `Secure` only behind a TLS proxy; the sign-in form
/// needs its own CSRF value and a valid token; it sends on only to a path of this site;
/// every page carries a Content-Security-Policy without inline script; the log download is
/// the API's log, for the same identities only.
#[tokio::test]
async fn the_session_cookie_and_the_page_headers_protect_the_pages() {
    use crate::api::urlencode;
    let env = TestEnv::new(Backend::Embedded).await;
    let api = Api::start(&env).await;
    let token = api.token(&user(None), Scopes::READ).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = api.root.clone();
    let set_cookies = |r: &reqwest::Response| -> Vec<String> {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    // Signed out, a page sends to the sign-in form, which sets its CSRF cookie.
    let r = http
        .get(format!("{root}/runs?status=Failed"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/sign-in?next=/runs%3Fstatus%3DFailed"
    );
    let r = http.get(format!("{root}/sign-in")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("bifrost_sign_in="))
        .expect("the sign-in form's cookie");
    let value = cookie["bifrost_sign_in=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let sign_in = |secret: &str, csrf: &str, next: &str, tls: bool| {
        let body = format!(
            "token={}&csrf={}&next={}",
            urlencode(secret),
            urlencode(csrf),
            urlencode(next)
        );
        let mut req = http
            .post(format!("{root}/sign-in"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("bifrost_sign_in={value}"))
            .body(body);
        if tls {
            req = req.header("x-forwarded-proto", "https");
        }
        req.send()
    };
    // The wrong CSRF value: refused, nothing set.
    let r = sign_in(&token, "0123", "/runs", false).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        set_cookies(&r)
            .iter()
            .all(|c| !c.starts_with("bifrost_token="))
    );
    // A token that is not one: the form again, 401, nothing set.
    let r = sign_in("bfr_nothing", &value, "/runs", false)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        set_cookies(&r)
            .iter()
            .all(|c| !c.starts_with("bifrost_token="))
    );
    // Over plain HTTP: no Secure. Another site as `next`: this site's runs instead.
    let r = sign_in(&token, &value, "//elsewhere.example/x", false)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/runs");
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("bifrost_token="))
        .expect("the session cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(part), "{session}");
    }
    assert!(!session.contains("Secure"), "{session}");
    // Behind a TLS proxy: Secure.
    let r = sign_in(&token, &value, "/workflows", true).await.unwrap();
    assert_eq!(r.headers()["location"], "/workflows");
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("bifrost_token="))
        .expect("the session cookie");
    assert!(session.contains("; Secure"), "{session}");
    // The cookie is the session: a page answers, with the policy.
    let r = http
        .get(format!("{root}/runs"))
        .header("cookie", format!("bifrost_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-security-policy"].to_str().unwrap(),
        csp
    );
    assert_eq!(r.headers()["cache-control"], "no-store");

    // The whole log as JSON lines: every entry the API gives, in order, once.
    api.deploy_probe().await;
    let runner = api
        .token(&user(None), Scopes::READ.union(Scopes::RUN))
        .await;
    // Past one page of the store's reads (1,000 entries), to see the pages joined.
    let id = api
        .submit_probe(&runner, vec![Call::LogMany { n: 2100 }])
        .await;
    api.wait_end(&runner, &id).await;
    let mut logs: Vec<Value> = Vec::new();
    loop {
        let start = match logs.last() {
            Some(l) => format!("&start={}", l["id"].as_str().unwrap()),
            None => String::new(),
        };
        let (_, page) = api
            .get(&runner, &format!("/executions/{id}/logs?count=1000{start}"))
            .await;
        let page = page["logs"].as_array().unwrap().clone();
        // `start` is inclusive: a later page begins with the last entry already kept.
        let fresh: Vec<Value> = page
            .into_iter()
            .skip(usize::from(!logs.is_empty()))
            .collect();
        if fresh.is_empty() {
            break;
        }
        logs.extend(fresh);
    }
    assert_eq!(logs.len(), 2100);
    let r = http
        .get(format!("{root}/runs/{id}/log.jsonl"))
        .header("cookie", format!("bifrost_token={runner}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = r
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, logs);
    // Someone else's cookie gets the API's answer for it.
    let r = http
        .get(format!("{root}/runs/{id}/log.jsonl"))
        .header("cookie", format!("bifrost_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    api.stop().await;
    env.close().await;
}
