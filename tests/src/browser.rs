//! Headless Chromium driven through WebDriver (chromedriver), for the web
//! UI's tests and benchmarks: Debian's `chromium` and `chromium-driver`,
//! which `cargo xtask test` installs (paths from `WEFT_CHROMIUM` and
//! `WEFT_CHROMEDRIVER`, else `/usr/bin`). Screenshots go to
//! `WEFT_UI_SCREENSHOTS` (default `target/ui-screenshots`).

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Chromium, driven through chromedriver on a free port; both end with it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

impl Browser {
    pub async fn start() -> Browser {
        let chromium = std::env::var("WEFT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let driver_path = std::env::var("WEFT_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        assert!(
            Path::new(&chromium).exists() && Path::new(&driver_path).exists(),
            "the browser tests need Debian's chromium and chromium-driver ({chromium}, {driver_path}): \
             `cargo xtask test` installs them"
        );
        let port = crate::free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1440,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot start Chromium through chromedriver: {e}"),
            }
        };
        let shots = std::env::var("WEFT_UI_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ui-screenshots"));
        std::fs::create_dir_all(&shots).unwrap();
        Browser { client, driver, _profile: profile, shots }
    }

    /// The element `css`, once it is there (10 s at most).
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                self.screenshot("failed").await;
                panic!("no {css} on {url}: {e} (screenshot: failed.png)")
            }
        }
    }

    /// The text of `css` once `ok` accepts it (10 s at most).
    pub async fn text_until(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if ok(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "{css} reads {text:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Replace what field `css` holds with `text`, as a user would: select
    /// all, delete, type. (WebDriver's clear sets the value behind a React
    /// form's back: the form never hears of it and may put the old value back.)
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        // Control+A (then release all keys), Backspace: an input event the page sees.
        field.send_keys("\u{E009}a\u{E000}\u{E003}").await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn script(&self, js: &str) -> Value {
        self.client.execute(js, vec![]).await.unwrap()
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
