//! A real browser for the pages' tests and benchmarks: Debian's chromium, headless, driven
//! over WebDriver by Debian's chromedriver on a loopback port. Nothing is downloaded; the
//! browser is started with the flags that keep it off the network (no background
//! requests, no component updates, no sync) and a profile of its own that is removed with
//! it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// Where the browser is.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where its WebDriver is.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long chromedriver may take to start a session.
const START: Duration = Duration::from_secs(30);

/// A chromedriver with one headless chromium session; both end when it is dropped (or at
/// [`close`](Self::close)).
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a chromium session through it, 1280x900.
    pub async fn start() -> anyhow::Result<Browser> {
        for program in [CHROMIUM, CHROMEDRIVER] {
            anyhow::ensure!(
                Path::new(program).exists(),
                "{program} is missing: the browser tests need Debian's chromium and \
                 chromium-driver (scripts/test installs them when run as root)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let profile = tempfile::Builder::new()
            .prefix("bifrost-chromium-")
            .tempdir()?;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let clock = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(_) if clock.elapsed() < START => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => anyhow::bail!("chromedriver did not start a session: {e}"),
            }
        };
        Ok(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Saves what the browser shows as `name.png` and `name.html` in `dir`; their paths.
    pub async fn save(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let _ = std::fs::create_dir_all(dir);
        let png = dir.join(format!("{name}.png"));
        let html = dir.join(format!("{name}.html"));
        if let Ok(bytes) = self.client.screenshot().await {
            let _ = std::fs::write(&png, bytes);
        }
        if let Ok(source) = self.client.source().await {
            let _ = std::fs::write(&html, source);
        }
        (png, html)
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}
