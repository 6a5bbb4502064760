//! Boots any set of portal services on `127.0.0.1:0` with a fresh database — a SQLite file in a temp dir, or
//! a new PostgreSQL database created for the test and dropped after it — and mints tokens with the app's key.
//! `assert` checks the errors the suites expect, `wait` waits (bounded) on observable conditions, `smtp` is a real
//! SMTP listener, `postfix` a real relay, `dkim` an independent DKIM verifier, `python` PyJWT and `cryptography`
//! (verifiers and key readers of their own), `csaf` the BSI's CSAF validator. `TEST_LOG=1` shows the services'
//! logs. `TEST_POSTGRES_URL` overrides the PostgreSQL server (default `postgres://postgres@127.0.0.1:5432/postgres`).

pub mod assert;
pub mod audit;
pub mod browser;
pub mod clients;
pub mod cluster;
pub mod csaf;
pub mod database;
pub mod dkim;
pub mod downloader;
pub mod fixtures;
pub mod postfix;
pub mod python;
pub mod raw;
pub mod smtp;
pub mod wait;
pub mod web;

use std::{net::SocketAddr, sync::Arc, time::Duration};

pub use database::{Backend, TestDatabase};
pub use portal_app::ServiceKind;
use portal_runtime::{Settings, auth::Minter, config::LogFormat};
use secrecy::SecretString;
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::{
    Request,
    metadata::MetadataValue,
    transport::{Channel, Endpoint},
};

/// Runs every storage test twice: `::sqlite` and `::postgres`.
///
/// ```ignore
/// storage_test!(creates_a_user, |backend| async move { /* … */ });
/// ```
#[macro_export]
macro_rules! storage_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::Backend::Postgres).await
            }
        }
    };
}

/// A running app for one test; stops (and drops its database) when dropped.
pub struct TestApp {
    pub address: SocketAddr,
    /// The metrics listener, when `admin_listen` was set.
    pub admin: Option<SocketAddr>,
    /// N14: the inbound SMTP listener for delivery reports, when `smtp.inbound.listen` was set.
    pub inbound: Option<SocketAddr>,
    /// N9: the notification service's public listener (the acknowledgement page), when it runs here.
    pub public: Option<SocketAddr>,
    pub settings: Settings,
    minter: Arc<Minter>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Owned by the app that created them; apps made with [`TestApp::spawn_sharing`] borrow them.
    _database: Option<TestDatabase>,
    _data_dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Test settings: port 0, a temp data dir, text logs, a short drain.
pub fn settings_for(data_dir: &std::path::Path) -> Settings {
    let mut settings = Settings {
        data_dir: data_dir.to_path_buf(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Settings::default()
    };
    settings.server.drain_timeout_secs = 5;
    // N9/N15: the public listener on a free port; the links in mail then name it.
    settings.notification.public.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    settings.telemetry.log_format = LogFormat::Text;
    settings
}

pub fn init_logs() {
    let show = std::env::var_os("TEST_LOG").is_some();
    let provider = portal_runtime::telemetry::TracerProvider::builder().build();
    let _ = portal_runtime::telemetry::install(provider, "info", LogFormat::Text, show);
}

impl TestApp {
    /// All four services.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &ServiceKind::ALL, |_| {}).await
    }

    /// The given services, after `configure` has adjusted the test settings.
    pub async fn spawn_with(
        backend: Backend,
        services: &[ServiceKind],
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        init_logs();
        let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let database = TestDatabase::create(backend, data_dir.path()).await;
        let mut settings = settings_for(data_dir.path());
        settings.database.url = Some(SecretString::from(database.url().to_string()));
        configure(&mut settings);
        let mut app = Self::start(settings, services).await;
        app._database = Some(database);
        app._data_dir = Some(data_dir);
        app
    }

    /// All four services, mailing to `sink` with quick retries (100–400 ms) and frequent polls, so a test
    /// observes the notices it causes within seconds.
    pub async fn spawn_with_mail(backend: Backend, sink: &smtp::SmtpSink) -> Self {
        let url = sink.url();
        Self::spawn_with(backend, &ServiceKind::ALL, |s| {
            s.smtp.url = Some(url.into());
            s.smtp.retry_first_ms = 100;
            s.smtp.retry_max_ms = 400;
            s.smtp.poll_ms = 50;
            s.smtp.max_attempts = 50;
        })
        .await
    }

    /// Another process of the same deployment: the same data directory (keys) and database, other services
    /// or another replica. Keep `self` alive as long as this one runs.
    pub async fn spawn_sharing(
        &self,
        services: &[ServiceKind],
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = self.settings.clone();
        settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        configure(&mut settings);
        Self::start(settings, services).await
    }

    async fn start(settings: Settings, services: &[ServiceKind]) -> Self {
        let app = portal_app::App::build(&settings, services)
            .await
            .unwrap_or_else(|e| panic!("building the app: {e}"));
        let (minter, _) = portal_app::keys(&settings).unwrap_or_else(|e| panic!("keys: {e}"));
        let address = app.address();
        let admin = app.admin_address();
        let inbound = app.inbound_address();
        let public = app.public_address();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            if let Err(e) = app
                .run_until(async {
                    let _ = stopped.await;
                })
                .await
            {
                panic!("app failed: {e}");
            }
        });
        Self {
            address,
            admin,
            inbound,
            public,
            settings,
            minter,
            stop: Some(stop),
            task: Some(task),
            _database: None,
            _data_dir: None,
        }
    }

    /// A fresh channel to the app.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.address))
            .unwrap_or_else(|e| panic!("endpoint: {e}"))
            .timeout(Duration::from_secs(30))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.address))
    }

    /// A token acting for portal user `user_id`.
    pub fn user_token(&self, user_id: &str) -> String {
        self.minter.user(user_id, Duration::from_secs(600))
    }

    /// A token for `svc:<name>` with `scopes`.
    pub fn service_token(&self, name: &str, scopes: &str) -> String {
        self.minter.service(name, scopes, Duration::from_secs(600))
    }

    /// The signing key's path (tests that forge tokens read it).
    pub fn signing_key_file(&self) -> std::path::PathBuf {
        self.settings.signing_key_file()
    }

    /// An IdentityService client acting with `token`.
    pub async fn identity(&self, token: &str) -> clients::Identity {
        clients::identity(self.channel().await, token)
    }

    /// A LicensingService client acting with `token`.
    pub async fn licensing(&self, token: &str) -> clients::Licensing {
        clients::licensing(self.channel().await, token)
    }

    /// A BillingService client acting with `token`.
    pub async fn billing(&self, token: &str) -> clients::Billing {
        clients::billing(self.channel().await, token)
    }

    /// A NotificationService client acting with `token`.
    pub async fn notification(&self, token: &str) -> clients::Notification {
        clients::notification(self.channel().await, token)
    }

    /// A service principal holding every scope of the suite (the vendor's operators).
    pub fn operator_token(&self) -> String {
        self.service_token(
            "ops",
            "identity.admin licensing.issue licensing.activate billing.payments billing.catalog notification.publish",
        )
    }

    /// Stops gracefully and waits for the drain to finish, keeping the database and data directory.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stops gracefully and waits for the drain to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// `message` with `authorization: Bearer <token>`.
pub fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}")
        .parse()
        .unwrap_or_else(|e| panic!("token metadata: {e}"));
    request.metadata_mut().insert("authorization", value);
    request
}
