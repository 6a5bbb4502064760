//! The notification service's settings: CSAF import and export (N11, N12), watch streams (N4), and the public
//! HTTP listener of the acknowledgement page (N9) and the CSAF provider (N15).

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

/// The notification service's CSAF import and export (N11, N12), and its watch streams (N4).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// How a CSAF document's products map to the suite's products (N11); the first name of each entry also
    /// names the product in exported documents (N12).
    pub csaf_products: Vec<CsafProductSettings>,
    /// Who exported documents of advisories published field by field say published them (N12).
    pub csaf_publisher: CsafPublisherSettings,
    /// The longest a WatchAdvisory stream lasts (N4); the stream then ends `OK` and the client watches again.
    pub watch_max_secs: u64,
    /// N1: the TLP label of an advisory that names none (PublishAdvisory without `tlp`, a CSAF document without
    /// `distribution.tlp`): `CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT` or `RED` (TLP 2.0; `WHITE` reads as
    /// `CLEAR`). N15 distributes only `CLEAR` advisories.
    pub default_tlp: String,
    /// The public HTTP listener (N9, N15).
    pub public: PublicSettings,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            csaf_products: Vec::new(),
            csaf_publisher: CsafPublisherSettings::default(),
            watch_max_secs: 300,
            default_tlp: "CLEAR".into(),
            public: PublicSettings::default(),
        }
    }
}

/// One suite product and the CSAF product names, CPEs and package URLs that mean it (N11, N16); the first CPE and
/// purl also identify the product in exported documents (N12).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsafProductSettings {
    /// The suite's product: `DESKTOP`, `PREP_BUILDER`, `SERVER` or `ELEARNING`.
    pub product: String,
    /// CSAF `product_name` branch names (or full product name prefixes), compared without case.
    pub names: Vec<String>,
    /// CPE prefixes, CPE 2.3 (`cpe:2.3:a:example:desktop:`) or 2.2 (`cpe:/a:example:desktop`), compared without
    /// case; either form matches documents written in the other.
    pub cpes: Vec<String>,
    /// Package URL prefixes, e.g. `pkg:rpm/example/example-server`, compared without case up to the version.
    pub purls: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsafPublisherSettings {
    /// CSAF publisher category: `vendor`, `coordinator`, `discoverer`, `translator`, `user` or `other`.
    pub category: String,
    pub name: String,
    /// The publisher's URL, e.g. `https://psirt.example.com`.
    pub namespace: String,
}

impl Default for CsafPublisherSettings {
    fn default() -> Self {
        Self {
            category: "vendor".into(),
            name: "Customer Portal".into(),
            namespace: "https://portal.invalid".into(),
        }
    }
}

/// N9/N15: the notification service's public HTTP listener: the one-click acknowledgement page the advisory
/// mail links to, and the CSAF provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicSettings {
    /// Where it listens. Default `127.0.0.1:8080`; `0.0.0.0:8080` behind an ingress.
    pub listen: Option<SocketAddr>,
    /// The URL people and tools reach the listener at, e.g. `https://portal.example.com` (no query or
    /// fragment). Links in mail and CSAF URLs start with it. Default: `http://<the bound listen address>`,
    /// which only works when that address is reachable as it is (not `0.0.0.0`).
    pub base_url: Option<String>,
    /// A directory whose `ack.html`, `acknowledged.html` and `refused.html` (any of them) replace the built-in
    /// page templates (minijinja).
    pub templates_dir: Option<PathBuf>,
    /// Requests one client address may make per minute to the acknowledgement page; more get `429`. The CSAF
    /// provider's files (N15), the same for everybody, count only towards `global_per_second`.
    pub per_address_per_minute: u32,
    /// Requests the listener answers per second from everybody together; more get `503`.
    pub global_per_second: u32,
    /// N15: the CSAF provider's OpenPGP secret key (ASCII-armored, no passphrase) its documents are signed with.
    /// Default: `<data_dir>/csaf-openpgp-key.asc`, created on first start.
    pub openpgp_key_file: Option<PathBuf>,
}

impl Default for PublicSettings {
    fn default() -> Self {
        Self {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
            base_url: None,
            templates_dir: None,
            per_address_per_minute: 60,
            global_per_second: 500,
            openpgp_key_file: None,
        }
    }
}

impl PublicSettings {
    /// Checks the values; `Err` names the key and what is wrong with it.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if let Some(base) = &self.base_url {
            let parsed = url::Url::parse(base).ok();
            let fine = parsed.is_some_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.has_host()
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if !fine {
                return Err((
                    "notification.public.base_url",
                    "must be an http:// or https:// URL without query or fragment",
                ));
            }
        } else if self.listen.is_some_and(|a| a.ip().is_unspecified()) {
            return Err((
                "notification.public.base_url",
                "is required when notification.public.listen binds every interface: the links in mail must name an address people reach",
            ));
        }
        if self.per_address_per_minute == 0 || self.global_per_second == 0 {
            return Err((
                "notification.public",
                "per_address_per_minute and global_per_second must be positive",
            ));
        }
        Ok(())
    }

    /// The base URL links start with, once the listener is bound at `bound`: the configured one without a
    /// trailing slash, else `http://<bound>`.
    pub fn resolved_base_url(&self, bound: Option<SocketAddr>) -> Option<String> {
        match (&self.base_url, bound) {
            (Some(base), _) => Some(base.trim_end_matches('/').to_string()),
            (None, Some(address)) => Some(format!("http://{address}")),
            (None, None) => None,
        }
    }
}
