//! DKIM as a receiving domain checks it, with an implementation other than the suite's signer (mail-auth,
//! Stalwart's verifier): the signature of a mail against the TXT record `portal mail dns` prints, looked up in
//! a zone that holds only that record — no network.

use std::{borrow::Borrow, collections::HashMap, hash::Hash, sync::Mutex, time::Instant};

pub use mail_auth::DkimResult;
use mail_auth::{
    AuthenticatedMessage, MessageAuthenticator, Parameters, ResolverCache, Txt,
    common::{parse::TxtRecordParser, verify::DomainKey},
};

/// DNS as the verifier sees it: only the records a test put there.
struct Zone(Mutex<HashMap<String, Txt>>);

impl ResolverCache<String, Txt> for Zone {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.remove(name)
    }

    fn insert(&self, key: String, value: Txt, _: Instant) {
        if let Ok(mut records) = self.0.lock() {
            records.insert(key, value);
        }
    }
}

/// The TXT value published at `name` (`selector._domainkey.domain.`) in zone-file text: its quoted strings,
/// joined.
pub fn txt_value(zone: &str, name: &str) -> String {
    let line = zone
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no record for {name} in:\n{zone}"));
    line.split('"').skip(1).step_by(2).collect()
}

/// The result of every DKIM signature of `raw`, verified against `record` published at `name`.
pub async fn verify(raw: &[u8], name: &str, record: &str) -> Vec<DkimResult> {
    let zone = Zone(Mutex::new(HashMap::new()));
    let key = DomainKey::parse(record.as_bytes()).unwrap_or_else(|e| panic!("{record}: {e:?}"));
    zone.insert(name.to_string(), Txt::from(key), Instant::now());
    let authenticator = MessageAuthenticator::new_cloudflare()
        .unwrap_or_else(|e| panic!("a resolver (never asked): {e}"));
    let message = AuthenticatedMessage::parse(raw).unwrap_or_else(|| panic!("not a message"));
    authenticator
        .verify_dkim(Parameters::new(&message).with_txt_cache(&zone))
        .await
        .iter()
        .map(|output| output.result().clone())
        .collect()
}

/// Whether `raw` carries signatures and all of them pass.
pub fn all_pass(results: &[DkimResult]) -> bool {
    !results.is_empty() && results.iter().all(|r| *r == DkimResult::Pass)
}
