//! N15: the suite as a CSAF 2.0 trusted provider (CSAF 2.0 §7): which documents are distributed, where each one
//! sits, the provider metadata and one ROLIE feed per distributed TLP label. Pure: the caller brings the
//! documents, the time and the OpenPGP key's fingerprint; the public listener serves what this decides.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{CsafConfig, n15_document_path};
use crate::domain::Tlp;

/// The provider metadata's place below the provider base (CSAF 2.0 §7.1.7, requirement 9's well-known URL).
pub const METADATA_FILE: &str = "provider-metadata.json";
/// Where the public OpenPGP key sits below the provider base: `openpgp/<fingerprint>.asc`.
pub const OPENPGP_DIRECTORY: &str = "openpgp";
/// The schema every distributed document promises (the ROLIE entries' `format`).
const CSAF_SCHEMA_URL: &str = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json";
/// ROLIE's information-type category that marks a CSAF feed (CSAF 2.0 §7.1.15).
const ROLIE_INFORMATION_TYPE: &str = "urn:ietf:params:rolie:category:information-type";

/// N15: only `TLP:CLEAR` documents are distributed: anything narrower waits for access control to be designed.
pub fn n15_distributed(tlp: Tlp) -> bool {
    tlp == Tlp::Clear
}

/// N15: the labels that get a ROLIE feed, i.e. those distributed.
pub fn n15_feed_labels() -> impl Iterator<Item = Tlp> {
    Tlp::ALL.into_iter().filter(|t| n15_distributed(*t))
}

/// N15: a feed's place below the provider base: `white/csaf-feed-tlp-white.json`.
pub fn n15_feed_path(tlp: Tlp) -> String {
    let dir = tlp.n15_directory();
    format!("{dir}/csaf-feed-tlp-{dir}.json")
}

/// One document the provider serves, at `path` below the provider base.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub path: String,
    pub tlp: Tlp,
    pub tracking_id: String,
    pub title: String,
    pub initial_release: DateTime<Utc>,
    pub current_release: DateTime<Utc>,
    pub document: Value,
}

impl Published {
    /// A document as the provider would serve it, if it is distributed and its tracking is readable.
    fn of(tlp: Tlp, document: Value) -> Option<Self> {
        if !n15_distributed(tlp) {
            return None;
        }
        let text = |pointer: &str| document.pointer(pointer)?.as_str().map(str::to_string);
        let time = |pointer: &str| {
            DateTime::parse_from_rfc3339(&text(pointer)?)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        let tracking_id = text("/document/tracking/id")?;
        let initial_release = time("/document/tracking/initial_release_date")?;
        let current_release = time("/document/tracking/current_release_date")?;
        let title = text("/document/title")?;
        Some(Self {
            path: n15_document_path(tlp, initial_release.year(), &tracking_id),
            tlp,
            tracking_id,
            title,
            initial_release,
            current_release,
            document,
        })
    }
}

/// N15: what the provider serves, by path, from the advisories' documents in publishing order: the distributed
/// ones only, and for a tracking id revised since (a later `current_release_date`; on a tie, the one published
/// later) only its latest revision, which replaces the earlier one at the same URL.
pub fn n15_catalogue(
    documents: impl IntoIterator<Item = (Tlp, Value)>,
) -> BTreeMap<String, Published> {
    let mut catalogue: BTreeMap<String, Published> = BTreeMap::new();
    for published in documents
        .into_iter()
        .filter_map(|(tlp, document)| Published::of(tlp, document))
    {
        match catalogue.get(&published.path) {
            Some(kept) if kept.current_release > published.current_release => {}
            _ => {
                catalogue.insert(published.path.clone(), published);
            }
        }
    }
    catalogue
}

fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The public OpenPGP key the provider signs with, as the metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The key's v4 fingerprint, 40 hexadecimal digits.
    pub fingerprint: String,
    pub created: DateTime<Utc>,
}

/// N15: the public key's place below the provider base.
pub fn n15_key_path(key: &SigningKey) -> String {
    format!("{OPENPGP_DIRECTORY}/{}.asc", key.fingerprint)
}

/// N15 (CSAF 2.0 §7.1.7): the provider metadata of a `csaf_trusted_provider`: its canonical URL, one ROLIE feed per
/// distributed label, the public OpenPGP key with its fingerprint, the publisher. `last_updated` is the latest
/// release among the documents (the key's creation when there are none), so the metadata changes only when what
/// it describes does. TLP:CLEAR documents are public: aggregators may list and mirror them.
pub fn n15_provider_metadata(
    config: &CsafConfig,
    key: &SigningKey,
    catalogue: &BTreeMap<String, Published>,
) -> Value {
    let base = &config.provider_base;
    let last_updated = catalogue
        .values()
        .map(|p| p.current_release)
        .max()
        .unwrap_or(key.created);
    let feeds: Vec<Value> = n15_feed_labels()
        .map(|tlp| {
            json!({
                "summary": format!("{} advisories of {}", tlp.n12_csaf_label(), config.publisher.name),
                "tlp_label": tlp.n12_csaf_label(),
                "url": format!("{base}/{}", n15_feed_path(tlp)),
            })
        })
        .collect();
    json!({
        "canonical_url": format!("{base}/{METADATA_FILE}"),
        "distributions": [{"rolie": {"feeds": feeds}}],
        "last_updated": timestamp(last_updated),
        "list_on_CSAF_aggregators": true,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": true,
        "public_openpgp_keys": [{
            "fingerprint": key.fingerprint,
            "url": format!("{base}/{}", n15_key_path(key)),
        }],
        "publisher": {
            "category": config.publisher.category,
            "name": config.publisher.name,
            "namespace": config.publisher.namespace,
        },
        "role": "csaf_trusted_provider",
    })
}

/// N15 (CSAF 2.0 §7.1.15): the ROLIE feed of one label: an entry per document with its URL, hashes and
/// signature, newest first. `updated` is the latest release in it (the key's creation when it is empty).
pub fn n15_rolie_feed(
    config: &CsafConfig,
    tlp: Tlp,
    key: &SigningKey,
    catalogue: &BTreeMap<String, Published>,
) -> Value {
    let base = &config.provider_base;
    let label = tlp.n12_csaf_label();
    let mut entries: Vec<&Published> = catalogue.values().filter(|p| p.tlp == tlp).collect();
    entries.sort_by(|a, b| {
        b.current_release
            .cmp(&a.current_release)
            .then_with(|| a.path.cmp(&b.path))
    });
    let updated = entries
        .first()
        .map(|p| p.current_release)
        .unwrap_or(key.created);
    let entry: Vec<Value> = entries
        .iter()
        .map(|p| {
            let url = format!("{base}/{}", p.path);
            json!({
                "id": p.tracking_id,
                "title": p.title,
                "link": [
                    {"rel": "self", "href": url},
                    {"rel": "hash", "href": format!("{url}.sha256")},
                    {"rel": "hash", "href": format!("{url}.sha512")},
                    {"rel": "signature", "href": format!("{url}.asc")},
                ],
                "published": timestamp(p.initial_release),
                "updated": timestamp(p.current_release),
                "content": {"type": "application/json", "src": url},
                "format": {"schema": CSAF_SCHEMA_URL, "version": "2.0"},
            })
        })
        .collect();
    json!({
        "feed": {
            "id": format!("csaf-feed-tlp-{}", tlp.n15_directory()),
            "title": format!("{} CSAF feed (TLP:{label})", config.publisher.name),
            "link": [{"rel": "self", "href": format!("{base}/{}", n15_feed_path(tlp))}],
            "category": [{"scheme": ROLIE_INFORMATION_TYPE, "term": "csaf"}],
            "updated": timestamp(updated),
            "entry": entry,
        }
    })
}
