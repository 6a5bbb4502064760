//! The catalog (B2): listing SKUs and what they issue, and editing them by a service principal.

use chrono::Utc;
use portal_proto::billing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
};
use sea_orm::ActiveModelTrait;
use serde_json::json;

use crate::{
    BillingApi,
    authz::CATALOG,
    convert,
    domain::{Currency, Money, Sku, catalog},
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

/// The SKU `patch` describes in full (for `allow_missing` creation); every problem lands in `v`.
fn whole_sku(patch: &pb::Sku, v: &mut Violations) -> Option<Sku> {
    let currency = v.check(Currency::parse("sku.currency", &patch.currency));
    let grant = convert::grant_from_proto("sku.grant", patch.grant.as_ref(), v);
    let (Some(currency), Some(grant)) = (currency, grant) else {
        return None;
    };
    Some(Sku {
        code: patch.sku.clone(),
        description: patch.description.trim().to_string(),
        unit_price: Money::new(patch.unit_price_minor, currency),
        grant,
        active: patch.active,
    })
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
        let rows = store::list_skus(&self.db, r.show_inactive).await?;
        Ok(pb::ListCatalogResponse {
            skus: rows.iter().map(convert::sku).collect::<Result<_>>()?,
        })
    }

    pub(super) async fn update_sku(
        &self,
        context: CallContext,
        r: pb::UpdateSkuRequest,
    ) -> Result<pb::Sku> {
        self.caller(&context).await?.require_scope(&[CATALOG])?;
        let mut v = Violations::default();
        let Some(patch) = r.sku else {
            return Err(Error::invalid("sku", "required"));
        };
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
            for path in &paths {
                if !UPDATABLE.contains(&path.as_str()) {
                    v.add(
                        "update_mask",
                        format!("`{path}` cannot be updated; use {}", UPDATABLE.join(", ")),
                    );
                }
            }
        }
        v.finish().map_err(Error::invalid_fields)?;
        self.catalog_ready().await?;
        let now = Utc::now();
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        if !store::lock_sku(&txn, &patch.sku).await? {
            if !r.allow_missing {
                return Err(Error::SkuNotFound);
            }
            // AIP-134: create the SKU from the request as a whole; the mask does not apply.
            let mut v = Violations::default();
            let created = whole_sku(&patch, &mut v);
            if let Some(sku) = &created {
                for problem in sku.problems("sku") {
                    v.add(&problem.field, problem.description);
                }
            }
            v.finish().map_err(Error::invalid_fields)?;
            let Some(sku) = created else {
                return Err(Error::invalid("sku", "incomplete"));
            };
            let row = store::sku_row(&sku, now).insert(&txn).await?;
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
            return convert::sku(&row);
        }
        let current = store::find_sku(&txn, &patch.sku).await?;
        let before = store::sku_of(&current)?;
        let mut next = before.clone();
        let mut v = Violations::default();
        for path in &paths {
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
        for problem in next.problems("sku") {
            v.add(&problem.field, problem.description);
        }
        v.finish().map_err(Error::invalid_fields)?;
        // B4: invoices keep the description, price and grant of their lines; only future sales see the change.
        let mut row = store::sku_row(&next, now);
        row.create_time = sea_orm::Set(current.create_time);
        row.revision = sea_orm::Set(current.revision);
        let after = row.update(&txn).await?;
        let change = Change {
            account_id: "",
            action: "UpdateSku",
            resource_type: "sku",
            resource_id: &after.sku,
            before: Some(snapshot(&before)),
            after: Some(snapshot(&next)),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        convert::sku(&after)
    }
}
