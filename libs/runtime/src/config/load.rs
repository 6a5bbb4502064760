//! Loading the layers: built-in defaults, then an optional file, then `PORTAL_*` environment variables, then
//! command-line flags.

use std::path::{Path, PathBuf};

use config::{Environment, File};

use super::{ConfigError, Settings};

/// Values given on the command line; they override every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub smtp_url: Option<String>,
}

impl Settings {
    /// Reads every layer (the process environment included) and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from(file, overrides, None)
    }

    /// Like [`Settings::load`], with the environment given explicitly (tests pass a map, never `set_var`).
    pub fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(File::from(file).required(true));
        }
        let environment = Environment::with_prefix("PORTAL")
            .prefix_separator("_")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("auth.public_key_files")
            .with_list_parse_key("auth.previous_public_key_files")
            .with_list_parse_key("licensing.previous_grant_public_key_files")
            .with_list_parse_key("auth.jwks_url")
            .with_list_parse_key("auth.scope_claims")
            .with_list_parse_key("server.cors_allowed_origins")
            .try_parsing(true)
            .source(env);
        builder = builder
            .add_source(environment)
            .set_override_option(
                "data_dir",
                overrides.data_dir.as_ref().map(|p| p.display().to_string()),
            )?
            .set_override_option("listen", overrides.listen.clone())?
            .set_override_option("database.url", overrides.database_url.clone())?
            .set_override_option("smtp.url", overrides.smtp_url.clone())?;
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::{collections::HashMap, time::Duration};

    #[test]
    fn n13_bounce_and_dkim_names_must_be_domains() {
        let ok = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[
                ("PORTAL_SMTP__BOUNCE_DOMAIN", "bounces.example.com"),
                ("PORTAL_SMTP__DKIM__SELECTOR", "2026a"),
                ("PORTAL_SMTP__INBOUND__LISTEN", "127.0.0.1:2525"),
            ]),
        )
        .unwrap();
        assert_eq!(
            ok.smtp.bounce_domain.as_deref(),
            Some("bounces.example.com")
        );
        assert_eq!(
            ok.smtp.inbound.listen,
            Some("127.0.0.1:2525".parse().unwrap())
        );
        for (key, value) in [
            ("PORTAL_SMTP__BOUNCE_DOMAIN", "bounces example.com"),
            ("PORTAL_SMTP__BOUNCE_DOMAIN", "-x.example.com"),
            ("PORTAL_SMTP__DKIM__DOMAIN", "a..b"),
            ("PORTAL_SMTP__DKIM__SELECTOR", "s;x"),
        ] {
            let err = Settings::load_from(None, &Overrides::default(), env(&[(key, value)]));
            assert!(err.is_err(), "{key}={value} accepted");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_apply_without_any_layer() {
        let s = Settings::load_from(None, &Overrides::default(), env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(s.data_dir, PathBuf::from("portal-data"));
        assert!(s.database.url.is_none());
    }

    #[test]
    fn the_csaf_product_mapping_and_publisher_come_from_the_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(
            &file,
            "[notification.csaf_publisher]\ncategory = \"vendor\"\nname = \"Example PSIRT\"\nnamespace = \"https://psirt.example.com\"\n\n[[notification.csaf_products]]\nproduct = \"DESKTOP\"\nnames = [\"Example Desktop\"]\ncpes = [\"cpe:2.3:a:example:desktop:\"]\n\n[[notification.csaf_products]]\nproduct = \"SERVER\"\nnames = [\"Example Server\"]\n",
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            &Overrides::default(),
            env(&[("PORTAL_NOTIFICATION__CSAF_PUBLISHER__NAME", "From Env")]),
        )
        .unwrap();
        let products = &s.notification.csaf_products;
        assert_eq!(products.len(), 2);
        assert_eq!(products[0].product, "DESKTOP");
        assert_eq!(products[0].cpes, ["cpe:2.3:a:example:desktop:"]);
        assert_eq!(products[1].names, ["Example Server"]);
        assert!(products[1].cpes.is_empty());
        assert_eq!(s.notification.csaf_publisher.name, "From Env");
        assert_eq!(
            s.notification.csaf_publisher.namespace,
            "https://psirt.example.com"
        );
        let defaults = Settings::load_from(None, &Overrides::default(), env(&[])).unwrap();
        assert!(defaults.notification.csaf_products.is_empty());
        assert_eq!(defaults.notification.csaf_publisher.category, "vendor");
    }

    #[test]
    fn file_then_env_then_flags_each_override_the_layer_before() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:6000\"\ndata_dir = \"/from/file\"\n[server]\ndrain_timeout_secs = 7\nconcurrency_limit = 9\n",
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            &Overrides {
                listen: Some("127.0.0.1:7000".into()),
                ..Overrides::default()
            },
            env(&[
                ("PORTAL_LISTEN", "127.0.0.1:6500"),
                ("PORTAL_SERVER__DRAIN_TIMEOUT_SECS", "3"),
                ("PORTAL_DATA_DIR", "/from/env"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.listen.to_string(),
            "127.0.0.1:7000",
            "flag beats env and file"
        );
        assert_eq!(s.server.drain_timeout_secs, 3, "env beats file");
        assert_eq!(s.server.concurrency_limit, 9, "file beats default");
        assert_eq!(s.data_dir, PathBuf::from("/from/env"));
    }

    #[test]
    fn env_lists_split_on_commas() {
        let s = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("PORTAL_AUTH__PUBLIC_KEY_FILES", "/a.pem,/b.pem")]),
        )
        .unwrap();
        assert_eq!(
            s.auth.public_key_files,
            vec![PathBuf::from("/a.pem"), PathBuf::from("/b.pem")]
        );
    }

    #[test]
    fn keys_rotated_out_are_still_accepted() {
        let s = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[
                ("PORTAL_DATA_DIR", "/data"),
                ("PORTAL_AUTH__PREVIOUS_PUBLIC_KEY_FILES", "/old.pub.pem"),
                (
                    "PORTAL_LICENSING__PREVIOUS_GRANT_PUBLIC_KEY_FILES",
                    "/g1.pub.pem,/g2.pub.pem",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.public_key_files(),
            [
                PathBuf::from("/data/signing-key.pub.pem"),
                PathBuf::from("/old.pub.pem")
            ]
        );
        assert_eq!(s.licensing.previous_grant_public_key_files.len(), 2);
        assert_eq!(
            s.grant_signing_key_file(),
            PathBuf::from("/data/grant-signing-key.pem")
        );
    }

    #[test]
    fn jwks_urls_and_cors_origins_take_one_or_many() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(
            &file,
            "[auth]\njwks_url = \"https://idp.example/jwks\"\nscope_claims = [\"scp\"]\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(&file), &Overrides::default(), env(&[])).unwrap();
        assert_eq!(s.auth.jwks_url, ["https://idp.example/jwks"]);
        assert_eq!(s.auth.scope_claims, ["scp"]);
        let s = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[
                (
                    "PORTAL_AUTH__JWKS_URL",
                    "https://a.example/k,http://b.example/k",
                ),
                (
                    "PORTAL_SERVER__CORS_ALLOWED_ORIGINS",
                    "https://portal.example.com,http://localhost:5173",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(s.auth.jwks_url.len(), 2);
        assert_eq!(
            s.server.cors_allowed_origins,
            ["https://portal.example.com", "http://localhost:5173"]
        );
        assert!(
            Settings::load_from(None, &Overrides::default(), env(&[]))
                .unwrap()
                .server
                .cors_allowed_origins
                .is_empty()
        );
        for (key, value) in [
            ("PORTAL_AUTH__JWKS_URL", "ftp://idp.example/jwks"),
            (
                "PORTAL_SERVER__CORS_ALLOWED_ORIGINS",
                "https://portal.example.com/",
            ),
            ("PORTAL_SERVER__CORS_ALLOWED_ORIGINS", "portal.example.com"),
        ] {
            let err =
                Settings::load_from(None, &Overrides::default(), env(&[(key, value)])).unwrap_err();
            assert!(
                err.to_string().contains(if key.contains("JWKS") {
                    "auth.jwks_url"
                } else {
                    "server.cors_allowed_origins"
                }),
                "{err}"
            );
        }
    }

    #[test]
    fn database_timeouts_default_to_seconds_and_must_be_positive() {
        let s = Settings::load_from(None, &Overrides::default(), env(&[])).unwrap();
        assert_eq!(
            (s.database.acquire_timeout(), s.database.statement_timeout()),
            (Duration::from_secs(2), Duration::from_secs(5))
        );
        let set = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("PORTAL_DATABASE__ACQUIRE_TIMEOUT_MS", "750")]),
        )
        .unwrap();
        assert_eq!(set.database.acquire_timeout(), Duration::from_millis(750));
        for key in [
            "PORTAL_DATABASE__ACQUIRE_TIMEOUT_MS",
            "PORTAL_DATABASE__STATEMENT_TIMEOUT_MS",
        ] {
            let err =
                Settings::load_from(None, &Overrides::default(), env(&[(key, "0")])).unwrap_err();
            let named = key.trim_start_matches("PORTAL_DATABASE__").to_lowercase();
            assert!(err.to_string().contains(&named), "{err}");
        }
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("PORTAL_SERVER__DRAIN_TIMEOUT_SECS", "soon")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("drain_timeout_secs"), "{err}");
        let err = Settings::load_from(
            None,
            &Overrides {
                database_url: Some("mysql://x".into()),
                ..Overrides::default()
            },
            env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let err = Settings::load_from(
            None,
            &Overrides {
                listen: Some("nowhere".into()),
                ..Overrides::default()
            },
            env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
    }

    #[test]
    fn an_unknown_key_in_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(&file, "[server]\ndrain_timeout = 7\n").unwrap();
        let err = Settings::load_from(Some(&file), &Overrides::default(), env(&[])).unwrap_err();
        assert!(err.to_string().contains("drain_timeout"), "{err}");
    }
}
