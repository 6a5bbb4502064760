//! A real browser for tests: Debian's Chromium, headless, driven through its ChromeDriver over WebDriver
//! (fantoccini). `scripts/prepare.sh` installs both, and axe-core (npm, `tests/browser`) for accessibility
//! checks. In CI (`CI` set) a test that needs them fails when they are missing; elsewhere it is skipped with
//! the reason printed.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// axe-core's browser bundle, installed by `npm ci --prefix tests/browser`.
fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/browser/node_modules/axe-core/axe.min.js")
}

/// Whether Chromium, ChromeDriver and axe-core are installed; why not, when they are not.
pub fn available() -> Result<(), String> {
    for path in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(path).exists() {
            return Err(format!(
                "{path} is missing (Debian packages chromium, chromium-driver)"
            ));
        }
    }
    let axe = axe_path();
    if !axe.exists() {
        return Err(format!(
            "{} is missing (npm ci --prefix tests/browser)",
            axe.display()
        ));
    }
    Ok(())
}

/// A headless browser for a test that needs one. Missing: in CI the test fails; elsewhere `None`, with the
/// reason printed, and the test returns early.
pub async fn required(test: &str) -> Option<Browser> {
    match available() {
        Ok(()) => Some(
            Browser::start()
                .await
                .unwrap_or_else(|e| panic!("{test}: starting the browser: {e}")),
        ),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: {why}; run scripts/prepare.sh")
        }
        Err(why) => {
            eprintln!("{test}: skipped: {why} (scripts/prepare.sh installs them)");
            None
        }
    }
}

/// ChromeDriver (killed on drop) and one browser session.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

/// One accessibility rule axe-core found broken on the page.
#[derive(Debug, Clone)]
pub struct Violation {
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    pub help: String,
    pub nodes: usize,
}

impl Browser {
    async fn start() -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("a free port: {e}"))?
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{CHROMEDRIVER}: {e}"))?;
        let mut browser_guard = DriverGuard(Some(driver));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1024,768", "--lang=en-US"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = String::new();
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    let driver = browser_guard.0.take().ok_or("driver gone")?;
                    return Ok(Self { client, driver });
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("no WebDriver session at {url}: {last}"))
    }

    /// Runs axe-core on the current page; every rule it finds broken.
    pub async fn accessibility_violations(&self) -> Result<Vec<Violation>, String> {
        let axe = std::fs::read_to_string(axe_path()).map_err(|e| format!("axe-core: {e}"))?;
        self.client
            .execute(&axe, vec![])
            .await
            .map_err(|e| format!("loading axe-core: {e}"))?;
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                    .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))))
                    .catch(e => done({error: String(e)}));",
                vec![],
            )
            .await
            .map_err(|e| format!("running axe-core: {e}"))?;
        let Value::Array(found) = result else {
            return Err(format!("axe-core failed: {result}"));
        };
        Ok(found
            .iter()
            .map(|v| Violation {
                id: v["id"].as_str().unwrap_or_default().to_string(),
                impact: v["impact"].as_str().unwrap_or("unknown").to_string(),
                help: v["help"].as_str().unwrap_or_default().to_string(),
                nodes: v["nodes"].as_u64().unwrap_or(0) as usize,
            })
            .collect())
    }

    /// Saves a PNG of the viewport to `<artifacts>/<name>.png` (see [`artifacts_dir`]); returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, String> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| format!("screenshot: {e}"))?;
        let dir = artifacts_dir().join("screenshots");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    /// Ends the session and ChromeDriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Kills ChromeDriver if no session came of it.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where tests leave what CI keeps: `$PORTAL_ARTIFACTS`, else `target/artifacts` of the workspace.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("PORTAL_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/artifacts"))
}
