//! PublishCsafAdvisory and GetAdvisoryCsaf (N11, N12, N16): advisories from and as CSAF 2.0 documents.

use portal_proto::{common, notification as pb};
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, error::Violations};

use super::{PUBLISH, convert, service_caller};
use crate::{
    NotificationApi, app,
    domain::{
        NewAdvisory, Target, advisory as rules,
        csaf::{self, CsafConfig, CsafTracking},
    },
    error::{Error, Result},
    store::advisories,
};

/// A checked PublishCsafAdvisory request: the advisory the document maps to, and the document's tracking.
struct CsafImport {
    new: NewAdvisory,
    tracking: CsafTracking,
}

impl CsafImport {
    /// N11: the document parsed, validated against the official schema, mapped; the target checked. Every
    /// violation at once, the document's named by JSON pointer.
    fn check(r: &pb::PublishCsafAdvisoryRequest, config: &CsafConfig) -> Result<Self> {
        use pb::publish_csaf_advisory_request::Target as Wanted;
        let document = csaf::n11_parse(&r.document).map_err(|v| Error::invalid_fields(vec![v]))?;
        csaf::n11_check_schema(&document).map_err(Error::invalid_fields)?;
        let mut v = Violations::default();
        let imported = match csaf::n11_map(&document, config) {
            Ok(imported) => Some(imported),
            Err(violations) => {
                violations
                    .into_iter()
                    .for_each(|x| v.add(&x.field, x.description));
                None
            }
        };
        let target = match &r.target {
            Some(Wanted::AllAccounts(true)) => Some(Target::AllAccounts),
            Some(Wanted::Products(list)) if list.products.is_empty() => {
                // The products the document names as affected; N16: none mapped, nobody would be told.
                let affected: Vec<i32> = imported
                    .iter()
                    .flat_map(|i| &i.content.affected)
                    .map(|a| common::Product::from(a.product) as i32)
                    .collect();
                if let Some(refusal) = imported.as_ref().and_then(|i| i.n16_unmapped_refusal()) {
                    v.add("target.products", refusal);
                }
                Some(Target::Products(rules::n1_target_products(&affected)))
            }
            Some(Wanted::Products(list)) => {
                if list.products.iter().any(|p| convert::product(*p).is_none()) {
                    v.add("target.products", "must be known PRODUCT_* values");
                }
                Some(Target::Products(rules::n1_target_products(&list.products)))
            }
            Some(Wanted::AccountIds(list)) if !list.account_ids.is_empty() => {
                let ids = rules::n1_target_accounts(&list.account_ids);
                rules::n1_check_lists(&mut v, 0, 0, ids.len());
                Some(Target::Accounts(ids))
            }
            _ => {
                v.add(
                    "target",
                    "set all_accounts, a products list (empty: the document's affected products), or a non-empty account_ids list",
                );
                None
            }
        };
        v.finish().map_err(Error::invalid_fields)?;
        let (Some(imported), Some(target)) = (imported, target) else {
            return Err(Error::invalid("request", "incomplete"));
        };
        let Some(tracking) = imported.content.csaf.clone() else {
            return Err(Error::internal("a mapped CSAF document lost its tracking"));
        };
        Ok(Self {
            new: NewAdvisory {
                kind: imported.kind,
                severity: imported.severity,
                tlp: imported.tlp,
                title: imported.title,
                content: imported.content,
                target,
            },
            tracking,
        })
    }
}

impl NotificationApi {
    /// N11/N16: imports a CSAF document as an advisory, idempotent on the request id and on the
    /// document's tracking id + version; recipients are resolved in the background as for PublishAdvisory.
    pub(super) async fn publish_csaf_advisory(
        &self,
        context: CallContext,
        r: pb::PublishCsafAdvisoryRequest,
    ) -> Result<pb::Advisory> {
        service_caller(&context, &[PUBLISH])?;
        let import = CsafImport::check(&r, &self.csaf)?;
        // The document as sent: export gives it back unchanged but for the suite's alias (N12).
        let text = String::from_utf8_lossy(&r.document);
        let published =
            app::advisories::import(&self.db, &context, &r, &import.new, &import.tracking, &text)
                .await?;
        self.published(published).await
    }

    /// N12: the advisory as a CSAF 2.0 document, checked against the same schema as imports.
    pub(super) async fn get_advisory_csaf(
        &self,
        context: CallContext,
        r: pb::GetAdvisoryCsafRequest,
    ) -> Result<pb::GetAdvisoryCsafResponse> {
        service_caller(&context, &[PUBLISH, INTERNAL_SCOPE])?;
        let advisory = advisories::find(&self.db, &r.advisory_id).await?;
        let document = app::csaf::document(&self.db, &self.csaf, &advisory).await?;
        let document =
            serde_json::to_vec_pretty(&document).map_err(|e| Error::internal(e.to_string()))?;
        Ok(pb::GetAdvisoryCsafResponse { document })
    }
}
