//! `csaf-downloader <provider-metadata URL>`: walks a CSAF provider as csaf-walker does — the metadata, the
//! OpenPGP keys it lists (fetched, fingerprints checked), every ROLIE feed, every document with its hashes and
//! signature — and prints one JSON object per document:
//! `{"url": …, "digest_ok": true|false|null, "signature_ok": true|false|null, "errors": […]}` (`null`: that file
//! was absent). Exits 1 with the reason on stderr when the walk itself fails (metadata, key, feed).

use std::sync::{Arc, Mutex};

use csaf_walker::{
    discover::DiscoveredAdvisory,
    retrieve::{RetrievalContext, RetrievedAdvisory, RetrievedVisitor, RetrievingVisitor},
    source::{HttpOptions, HttpSource},
    walker::Walker,
};
use serde_json::{Value, json};
use walker_common::{
    fetcher::{Fetcher, FetcherOptions},
    retrieve::RetrievalError,
    utils::openpgp::PublicKey,
    validate::{ValidationOptions, digest::validate_digest, openpgp::validate_signature},
};

/// Every document's verdicts (the walker's own validating visitor stops at the first failure).
struct Collector(Arc<Mutex<Vec<Value>>>);

impl RetrievedVisitor<HttpSource> for Collector {
    type Error = anyhow::Error;
    type Context = Vec<PublicKey>;

    async fn visit_context(
        &self,
        context: &RetrievalContext<'_>,
    ) -> Result<Self::Context, Self::Error> {
        Ok(context.keys.clone())
    }

    async fn visit_advisory(
        &self,
        keys: &Self::Context,
        result: Result<RetrievedAdvisory, RetrievalError<DiscoveredAdvisory, HttpSource>>,
    ) -> Result<(), Self::Error> {
        let walked = match result {
            Err(e) => json!({
                "url": e.discovered().url.to_string(),
                "digest_ok": null,
                "signature_ok": null,
                "errors": [e.to_string()],
            }),
            Ok(advisory) => {
                let mut errors = Vec::new();
                let mut checked = Vec::new();
                if advisory.sha256.is_some() {
                    checked.push(validate_digest(&advisory.sha256));
                }
                if advisory.sha512.is_some() {
                    checked.push(validate_digest(&advisory.sha512));
                }
                let digest_ok = (!checked.is_empty()).then(|| checked.iter().all(Result::is_ok));
                for (want, got) in checked.into_iter().filter_map(Result::err) {
                    errors.push(format!("digest: expected {want}, got {got}"));
                }
                let signature_ok = advisory.signature.as_ref().map(|signature| {
                    validate_signature(&ValidationOptions::default(), keys, signature, &advisory.data)
                        .map_err(|e| errors.push(format!("signature: {e:#}")))
                        .is_ok()
                });
                json!({
                    "url": advisory.url.to_string(),
                    "digest_ok": digest_ok,
                    "signature_ok": signature_ok,
                    "errors": errors,
                })
            }
        };
        self.0.lock().expect("collector").push(walked);
        Ok(())
    }
}

async fn walk(metadata_url: &str) -> anyhow::Result<Vec<Value>> {
    let fetcher = Fetcher::new(
        FetcherOptions::new()
            .timeout(std::time::Duration::from_secs(10))
            .retries(1),
    )
    .await?;
    let source = HttpSource::new(url::Url::parse(metadata_url)?, fetcher, HttpOptions::default());
    let walked = Arc::new(Mutex::new(Vec::new()));
    Walker::new(source.clone())
        .walk(RetrievingVisitor::new(source, Collector(walked.clone())))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let walked = walked.lock().expect("collector").clone();
    Ok(walked)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: csaf-downloader <provider-metadata URL>");
        return std::process::ExitCode::from(2);
    };
    match walk(&url).await {
        Ok(walked) => {
            for document in walked {
                println!("{document}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("csaf-downloader: {url}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
