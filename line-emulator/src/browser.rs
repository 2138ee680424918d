//! A headless Chromium for browser tests (feature `browser`).
//!
//! [`Browser::start`] runs Debian's `chromedriver` (path in `CHROMEDRIVER`, default
//! `/usr/bin/chromedriver`) on a free port of 127.0.0.1 and opens a WebDriver session with
//! headless Chromium (binary in `CHROMIUM`, default `/usr/bin/chromium`) and a fresh profile
//! directory. The session is a [`fantoccini::Client`] (re-exported, so tests need no
//! dependency of their own); [`Browser`] dereferences to it. Dropping the [`Browser`] stops
//! chromedriver (and with it Chromium) and removes the profile.
//!
//! When chromedriver is missing, [`Browser::start`] gives `Ok(None)` and prints a notice, so a
//! test can skip; with the environment variable `CI` set it gives an error instead, so the test
//! fails. `bash line-popup/ci-setup.sh` installs Chromium and chromedriver.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use line_emulator::browser::fantoccini::Locator;
//! use line_emulator::browser::Browser;
//!
//! let Some(browser) = Browser::start().await? else {
//!     return Ok(()); // no chromedriver, and CI is not set
//! };
//! browser.goto("data:text/html,<h1>hello</h1>").await?;
//! assert_eq!(browser.find(Locator::Css("h1")).await?.text().await?, "hello");
//! browser.close().await?;
//! # Ok(()) }
//! ```
//!
//! [`Browser::cdp`] sends a Chrome DevTools Protocol command through chromedriver, for what
//! WebDriver cannot do, such as `Page.addScriptToEvaluateOnNewDocument` (a script that runs
//! before the page's own scripts).

use std::net::{Ipv4Addr, TcpListener};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use fantoccini;

use axum::http::Method;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use crate::error::{Error, ErrorKind};

/// Where chromedriver is looked for when `CHROMEDRIVER` is not set.
pub const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Chromium is looked for when `CHROMIUM` is not set.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// What [`Browser::start_with`] starts Chromium with, besides the headless defaults.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BrowserOptions {
    args: Vec<String>,
}

impl BrowserOptions {
    /// The defaults: headless, no sandbox, no background networking, a fresh profile.
    pub fn new() -> Self {
        Self::default()
    }

    /// One more Chromium command-line argument (for example
    /// `--host-resolver-rules=MAP example.com ~NOTFOUND`).
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }
}

/// A chromedriver process and its Chromium profile directory, both gone on drop.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A WebDriver session with headless Chromium. Dereferences to its [`fantoccini::Client`].
pub struct Browser {
    client: Client,
    // Dropped after the client: chromedriver outlives the session.
    _driver: Driver,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("chromedriver_port", &self._driver.port)
            .finish_non_exhaustive()
    }
}

fn browser_error(step: impl Into<String>) -> Error {
    Error::new(ErrorKind::Browser { step: step.into() })
}

fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// The chromedriver to run: `Ok(None)` (after a notice on stderr) when it is missing and `CI`
/// is not set, an error when it is missing and `CI` is set.
pub fn chromedriver() -> Result<Option<PathBuf>, Error> {
    let path = std::env::var_os("CHROMEDRIVER").map_or_else(|| PathBuf::from(DEFAULT_CHROMEDRIVER), PathBuf::from);
    if path.exists() {
        return Ok(Some(path));
    }
    let what = format!(
        "chromedriver not found at {}: run `bash line-popup/ci-setup.sh` (or set CHROMEDRIVER)",
        path.display()
    );
    if ci() {
        return Err(browser_error(what));
    }
    eprintln!("SKIPPED: {what}");
    Ok(None)
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with the default options.
    /// `Ok(None)` when chromedriver is missing and `CI` is not set (see the module docs).
    pub async fn start() -> Result<Option<Self>, Error> {
        Self::start_with(BrowserOptions::new()).await
    }

    /// Starts chromedriver and a headless Chromium session with `options`.
    pub async fn start_with(options: BrowserOptions) -> Result<Option<Self>, Error> {
        let Some(path) = chromedriver()? else {
            return Ok(None);
        };
        let driver = start_driver(&path).await?;
        let client = session(&driver, &options).await?;
        Ok(Some(Self {
            client,
            _driver: driver,
        }))
    }

    /// The WebDriver session.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends the Chrome DevTools Protocol command `method` with `params` (chromedriver's
    /// `goog/cdp/execute`) and gives its result.
    pub async fn cdp(&self, method: &str, params: Value) -> Result<Value, Error> {
        self.client
            .issue_cmd(Cdp {
                method: method.to_owned(),
                params,
            })
            .await
            .map_err(|e| {
                Error::with_source(
                    ErrorKind::Browser {
                        step: format!("cdp {method}"),
                    },
                    e,
                )
            })
    }

    /// Ends the session (Chromium exits); chromedriver stops when `self` is dropped.
    pub async fn close(self) -> Result<(), Error> {
        self.client.clone().close().await.map_err(|e| {
            Error::with_source(
                ErrorKind::Browser {
                    step: "close the session".into(),
                },
                e,
            )
        })
    }
}

impl Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

async fn start_driver(path: &Path) -> Result<Driver, Error> {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Browser {
                    step: "find a free port".into(),
                },
                e,
            )
        })?
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Browser {
                    step: format!("start {}", path.display()),
                },
                e,
            )
        })?;
    let profile = std::env::temp_dir().join(format!("line-browser-{}", uuid::Uuid::new_v4().simple()));
    // From here on, dropping the driver stops the process and removes the profile.
    let driver = Driver { child, port, profile };
    std::fs::create_dir_all(&driver.profile).map_err(|e| {
        Error::with_source(
            ErrorKind::Browser {
                step: format!("create the profile directory {}", driver.profile.display()),
            },
            e,
        )
    })?;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .is_ok()
        {
            return Ok(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(browser_error(format!(
        "chromedriver did not listen on 127.0.0.1:{port} within 10 s"
    )))
}

async fn session(driver: &Driver, options: &BrowserOptions) -> Result<Client, Error> {
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    args.push(format!("--user-data-dir={}", driver.profile.display()));
    args.extend(options.args.iter().cloned());
    let mut opts = json!({ "args": args });
    if let Some(bin) = std::env::var_os("CHROMIUM") {
        opts["binary"] = json!(bin.to_string_lossy());
    } else if Path::new(DEFAULT_CHROMIUM).exists() {
        opts["binary"] = json!(DEFAULT_CHROMIUM);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), opts);
    ClientBuilder::rustls()
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Browser {
                    step: "set up TLS".into(),
                },
                e,
            )
        })?
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Browser {
                    step: "open a WebDriver session".into(),
                },
                e,
            )
        })
}

/// chromedriver's `POST /session/{id}/goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    method: String,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (Method::POST, Some(body.to_string()))
    }
}
