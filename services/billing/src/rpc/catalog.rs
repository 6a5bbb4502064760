//! The catalog (B2): listing SKUs and what they issue, and editing them by a service principal (UpdateSku, with
//! AIP-134 masks and `allow_missing` creation).

use chrono::Utc;
use portal_proto::billing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
};
use serde_json::json;

use super::convert;
use crate::{
    BillingApi,
    domain::{Currency, Money, Sku, access, catalog},
    error::{Error, Result},
    store,
};

/// The fields UpdateSku may change.
const UPDATABLE: [&str; 5] = [
    "description",
    "unit_price_minor",
    "currency",
    "grant",
    "active",
];

/// An UpdateSku request, checked: the SKU's code, the fields to change, and the values to change them to.
pub(super) struct SkuPatch {
    patch: pb::Sku,
    paths: Vec<String>,
    allow_missing: bool,
}

/// The paths an empty mask stands for: the fields set (non-default) in `patch` (AIP-134).
fn implied_paths(patch: &pb::Sku) -> Vec<String> {
    let mut paths = Vec::new();
    if !patch.description.is_empty() {
        paths.push("description".to_string());
    }
    if patch.unit_price_minor != 0 {
        paths.push("unit_price_minor".to_string());
    }
    if !patch.currency.is_empty() {
        paths.push("currency".to_string());
    }
    if patch.grant.is_some() {
        paths.push("grant".to_string());
    }
    if patch.active {
        paths.push("active".to_string());
    }
    paths
}

impl TryFrom<pb::UpdateSkuRequest> for SkuPatch {
    type Error = Error;

    fn try_from(r: pb::UpdateSkuRequest) -> Result<Self> {
        let Some(patch) = r.sku else {
            return Err(Error::invalid("sku", "required"));
        };
        let mut v = Violations::default();
        v.check(catalog::check_code("sku.sku", &patch.sku));
        let mask = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let paths: Vec<String> = if mask.iter().any(|p| p == "*") {
            UPDATABLE.iter().map(|p| p.to_string()).collect()
        } else if mask.is_empty() {
            implied_paths(&patch)
        } else {
            mask
        };
        if !r.allow_missing {
            for path in paths.iter().filter(|p| !UPDATABLE.contains(&p.as_str())) {
                v.add(
                    "update_mask",
                    format!("`{path}` cannot be updated; use {}", UPDATABLE.join(", ")),
                );
            }
        }
        v.finish().map_err(Error::invalid_fields)?;
        Ok(Self {
            patch,
            paths,
            allow_missing: r.allow_missing,
        })
    }
}

impl SkuPatch {
    /// AIP-134 creation: the SKU the request describes as a whole (the mask does not apply).
    pub(super) fn whole(&self) -> Result<Sku> {
        let patch = &self.patch;
        let mut v = Violations::default();
        let currency = v.check(Currency::parse("sku.currency", &patch.currency));
        let grant = convert::grant_from_proto("sku.grant", patch.grant.as_ref(), &mut v);
        let sku = match (currency, grant) {
            (Some(currency), Some(grant)) => Some(Sku {
                code: patch.sku.clone(),
                description: patch.description.trim().to_string(),
                unit_price: Money::new(patch.unit_price_minor, currency),
                grant,
                active: patch.active,
            }),
            _ => None,
        };
        checked(sku, v)
    }

    /// `current` with the masked fields of the request.
    fn apply(&self, current: &Sku) -> Result<Sku> {
        let patch = &self.patch;
        let mut next = current.clone();
        let mut v = Violations::default();
        for path in &self.paths {
            match path.as_str() {
                "description" => next.description = patch.description.trim().to_string(),
                "unit_price_minor" => next.unit_price.minor = patch.unit_price_minor,
                "currency" => {
                    if let Some(currency) =
                        v.check(Currency::parse("sku.currency", &patch.currency))
                    {
                        next.unit_price.currency = currency;
                    }
                }
                "grant" => {
                    if let Some(grant) =
                        convert::grant_from_proto("sku.grant", patch.grant.as_ref(), &mut v)
                    {
                        next.grant = grant;
                    }
                }
                "active" => next.active = patch.active,
                other => v.add("update_mask", format!("`{other}` cannot be updated")),
            }
        }
        checked(Some(next), v)
    }
}

/// B2: `sku` if it is whole and consistent; otherwise every problem, with those already in `v`.
fn checked(sku: Option<Sku>, mut v: Violations) -> Result<Sku> {
    if let Some(sku) = &sku {
        for problem in sku.problems("sku") {
            v.add(&problem.field, problem.description);
        }
    }
    v.finish().map_err(Error::invalid_fields)?;
    sku.ok_or_else(|| Error::invalid("sku", "incomplete"))
}

fn snapshot(sku: &Sku) -> serde_json::Value {
    json!({
        "description": sku.description,
        "unit_price_minor": sku.unit_price.minor,
        "currency": sku.unit_price.currency.as_str(),
        "grant": sku.grant,
        "active": sku.active,
    })
}

impl BillingApi {
    /// Open to any authenticated caller: the gate has verified the token before the handler runs.
    pub(super) async fn list_catalog(
        &self,
        _context: CallContext,
        r: pb::ListCatalogRequest,
    ) -> Result<pb::ListCatalogResponse> {
        self.catalog_ready().await?;
        let skus = store::catalog::list(&self.db, r.show_inactive).await?;
        Ok(pb::ListCatalogResponse {
            skus: skus.iter().map(convert::sku).collect(),
        })
    }

    pub(super) async fn update_sku(
        &self,
        context: CallContext,
        r: pb::UpdateSkuRequest,
    ) -> Result<pb::Sku> {
        self.require_service(&context, access::B2_EDIT_CATALOG)
            .await?;
        let patch = SkuPatch::try_from(r)?;
        self.catalog_ready().await?;
        let now = Utc::now();
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let code = patch.patch.sku.clone();
        let Some(before) = store::catalog::lock(&txn, &code).await? else {
            if !patch.allow_missing {
                return Err(Error::SkuNotFound);
            }
            let sku = patch.whole()?;
            let created = store::catalog::insert(&txn, &sku, now).await?;
            let change = Change {
                account_id: "",
                action: "CreateSku",
                resource_type: "sku",
                resource_id: &sku.code,
                before: None,
                after: Some(snapshot(&sku)),
            };
            audit::record(&txn, &context, change).await?;
            txn.commit().await?;
            return Ok(convert::sku(&created));
        };
        let next = patch.apply(&before)?;
        // B4: invoices keep the description, price and grant of their lines; only future sales see the change.
        let after = store::catalog::update(&txn, &next, now).await?;
        let change = Change {
            account_id: "",
            action: "UpdateSku",
            resource_type: "sku",
            resource_id: &next.code,
            before: Some(snapshot(&before)),
            after: Some(snapshot(&next)),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        Ok(convert::sku(&after))
    }
}
