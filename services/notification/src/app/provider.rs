//! N15: what the CSAF provider serves — each distributed document with its `.sha256`, `.sha512` and `.asc`, the
//! provider metadata, one ROLIE feed per distributed label and the public OpenPGP key — built from the
//! advisories and kept until the set of distributed advisories changes. An advisory's content is never edited,
//! so one cheap count on every request is enough for every replica to serve what was published: a new advisory,
//! or a revision imported on any replica, is served by the next request to any other.

use std::{collections::HashMap, sync::Arc};

use bytes::Bytes;
use portal_runtime::error::Common;
use sha2::{Digest, Sha256, Sha512};
use tokio::sync::Mutex;

use crate::{
    app,
    domain::{
        Tlp,
        csaf::{
            CsafConfig, METADATA_FILE, n12_file_name, n15_catalogue, n15_feed_labels,
            n15_feed_path, n15_key_path, n15_provider_metadata, n15_rolie_feed,
        },
    },
    error::{Error, Result},
    openpgp::OpenPgpKey,
    store::advisories,
};

/// One file the provider serves.
#[derive(Debug, Clone)]
pub struct File {
    pub content_type: &'static str,
    pub body: Bytes,
}

/// The provider's files by their path below the provider base (`white/2026/adv-2026-012.json`).
type Files = HashMap<String, File>;

/// What the files were built from: the number of distributed advisories and the last one's number.
type Version = (i64, Option<i64>);

/// The CSAF provider: its key, the CSAF configuration, and the files last built.
#[derive(Debug)]
pub struct Provider {
    key: OpenPgpKey,
    config: Arc<CsafConfig>,
    built: Mutex<Option<(Version, Arc<Files>)>>,
}

impl Provider {
    pub fn new(key: OpenPgpKey, config: Arc<CsafConfig>) -> Self {
        Self {
            key,
            config,
            built: Mutex::new(None),
        }
    }

    /// The file at `path` below the provider base, if the provider has one there.
    pub async fn file(&self, db: &sea_orm::DatabaseConnection, path: &str) -> Result<Option<File>> {
        let labels: Vec<Tlp> = n15_feed_labels().collect();
        let version = advisories::labelled_version(db, &labels).await?;
        let mut built = self.built.lock().await;
        let files = match built.as_ref() {
            Some((at, files)) if *at == version => files.clone(),
            _ => {
                let files = Arc::new(self.build(db, &labels).await?);
                *built = Some((version, files.clone()));
                files
            }
        };
        Ok(files.get(path).cloned())
    }

    /// Every file, from the distributed advisories' documents.
    async fn build(&self, db: &sea_orm::DatabaseConnection, labels: &[Tlp]) -> Result<Files> {
        let mut documents = Vec::new();
        for advisory in advisories::labelled(db, labels).await? {
            match app::csaf::document(db, &self.config, &advisory).await {
                Ok(document) => documents.push((advisory.tlp, document)),
                // The database is away: nothing is served until it is back.
                Err(e @ Error::Common(Common::Unavailable(..))) => return Err(e),
                // One document that cannot be given out (it fails the schema) does not take the others down.
                Err(e) => {
                    tracing::error!(advisory = %advisory.advisory_id, error = %e, "not distributed by the CSAF provider")
                }
            }
        }
        let catalogue = n15_catalogue(documents);
        let key = self.key.published();
        let mut files = Files::new();
        for (path, published) in &catalogue {
            let body = json_bytes(&published.document)?;
            let name = n12_file_name(&published.tracking_id);
            let signature = self
                .key
                .sign(&body)
                .map_err(|e| Error::internal(format!("signing {path}: {e}")))?;
            // `sha256sum` format: the digest, two spaces, the file name.
            let sha256 = format!("{:x}  {name}\n", Sha256::digest(&body));
            let sha512 = format!("{:x}  {name}\n", Sha512::digest(&body));
            files.insert(format!("{path}.sha256"), text(sha256));
            files.insert(format!("{path}.sha512"), text(sha512));
            files.insert(
                format!("{path}.asc"),
                File {
                    content_type: "application/pgp-signature",
                    body: signature.into(),
                },
            );
            files.insert(path.clone(), json(body));
        }
        for tlp in n15_feed_labels() {
            let feed = n15_rolie_feed(&self.config, tlp, key, &catalogue);
            files.insert(n15_feed_path(tlp), json(json_bytes(&feed)?));
        }
        let metadata = n15_provider_metadata(&self.config, key, &catalogue);
        files.insert(METADATA_FILE.into(), json(json_bytes(&metadata)?));
        files.insert(
            n15_key_path(key),
            File {
                content_type: "application/pgp-keys",
                body: Bytes::copy_from_slice(self.key.public_armored().as_bytes()),
            },
        );
        Ok(files)
    }
}

fn json_bytes(value: &serde_json::Value) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| Error::internal(e.to_string()))
}

fn json(body: Vec<u8>) -> File {
    File {
        content_type: "application/json",
        body: body.into(),
    }
}

fn text(body: String) -> File {
    File {
        content_type: "text/plain; charset=utf-8",
        body: body.into(),
    }
}
