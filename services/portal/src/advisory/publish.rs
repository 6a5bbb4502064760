//! `publish`: the request read from an advisory file or a CSAF document and its target flags, and what was
//! published, for people.

use portal_proto::{
    common::Product,
    notification::{
        AccountList, Advisory, ProductList, PublishAdvisoryRequest, PublishCsafAdvisoryRequest,
        Severity, publish_csaf_advisory_request::Target as CsafTarget,
    },
};
use sha2::{Digest, Sha256};

use super::{
    Source,
    file::{hex, product, read_advisory},
};
use crate::remote::{Failure, enum_name, exit};

/// A publish request, read from the command line and its file.
pub(super) enum Publish {
    File(PublishAdvisoryRequest),
    Csaf(PublishCsafAdvisoryRequest),
}

impl Publish {
    pub(super) fn read(source: &Source) -> Result<Self, Failure> {
        let usage = |message: String| Failure {
            message,
            code: exit::USAGE,
        };
        if let Some(file) = &source.file {
            return read_advisory(file).map(Publish::File);
        }
        let Some(path) = &source.csaf else {
            return Err(usage("--file or --csaf".into()));
        };
        let document = std::fs::read(path)
            .map_err(|e| Failure::new(format!("reading {}: {e}", path.display())))?;
        let target = csaf_target(source).map_err(usage)?;
        let request_id = source.request_id.clone().unwrap_or_else(|| {
            let mut seed = document.clone();
            seed.extend_from_slice(format!("{target:?}").as_bytes());
            format!("csaf-{}", &hex(&Sha256::digest(&seed))[..32])
        });
        Ok(Publish::Csaf(PublishCsafAdvisoryRequest {
            document,
            target: Some(target),
            request_id,
        }))
    }
}

/// The target of a CSAF import: exactly one of the target flags.
fn csaf_target(source: &Source) -> Result<CsafTarget, String> {
    let given = [
        source.all_accounts,
        !source.product.is_empty(),
        source.affected_products,
        !source.account.is_empty(),
    ];
    if given.iter().filter(|&&g| g).count() != 1 {
        return Err(
            "with --csaf, exactly one of --all-accounts, --product, --affected-products, --account"
                .into(),
        );
    }
    Ok(if source.all_accounts {
        CsafTarget::AllAccounts(true)
    } else if !source.account.is_empty() {
        CsafTarget::AccountIds(AccountList {
            account_ids: source.account.clone(),
        })
    } else {
        // --affected-products is an empty list: the service reads it as the document's affected products.
        CsafTarget::Products(ProductList {
            products: source
                .product
                .iter()
                .map(|p| product(p).map(|p| p as i32))
                .collect::<Result<_, _>>()?,
        })
    })
}

/// What was published, for people: id, severity and title; the CSAF tracking of an imported one; CVEs; affected
/// products; how many recipients.
pub(super) fn print_published(advisory: &Advisory) {
    let severity = Severity::try_from(advisory.severity)
        .map(|s| enum_name(s.as_str_name(), "SEVERITY_").to_ascii_uppercase())
        .unwrap_or_default();
    println!(
        "published {} [{severity}] {}",
        advisory.advisory_id, advisory.title
    );
    if !advisory.csaf_tracking_id.is_empty() {
        println!(
            "csaf: {} version {}",
            advisory.csaf_tracking_id, advisory.csaf_tracking_version
        );
    }
    if !advisory.cve_ids.is_empty() {
        println!("cves: {}", advisory.cve_ids.join(", "));
    }
    for affected in &advisory.affected_products {
        let product = Product::try_from(affected.product)
            .map(|p| enum_name(p.as_str_name(), "PRODUCT_").to_ascii_uppercase())
            .unwrap_or_default();
        let fixed = if affected.fixed_versions.is_empty() {
            String::new()
        } else {
            format!(" (fixed in {})", affected.fixed_versions.join(", "))
        };
        println!(
            "affected: {product} {}{fixed}",
            affected.versions.join(", ")
        );
    }
    let stats = advisory.stats.clone().unwrap_or_default();
    println!(
        "recipients: {} in {} accounts",
        stats.total, stats.accounts_targeted
    );
}
