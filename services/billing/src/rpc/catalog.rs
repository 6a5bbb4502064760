//! The catalog (B2): ListCatalog and UpdateSku, translated to and from `app::catalog`; an UpdateSku request's
//! AIP-134 mask becomes the change it asks for here.

use portal_proto::billing as pb;
use portal_runtime::{CallContext, error::Violations};

use super::convert;
use crate::{
    BillingApi,
    app::{self, catalog::SkuChange},
    domain::{Currency, Money, Sku, catalog},
    error::{Error, Result},
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

impl SkuChange for SkuPatch {
    fn code(&self) -> &str {
        &self.patch.sku
    }

    fn allow_missing(&self) -> bool {
        self.allow_missing
    }

    fn whole(&self) -> Result<Sku> {
        SkuPatch::whole(self)
    }

    fn apply(&self, current: &Sku) -> Result<Sku> {
        SkuPatch::apply(self, current)
    }
}

impl BillingApi {
    /// Open to any authenticated caller: the gate has verified the token before the handler runs.
    pub(super) async fn list_catalog(
        &self,
        _context: CallContext,
        r: pb::ListCatalogRequest,
    ) -> Result<pb::ListCatalogResponse> {
        let skus = app::catalog::list(self, r.show_inactive).await?;
        Ok(pb::ListCatalogResponse {
            skus: skus.iter().map(convert::sku).collect(),
        })
    }

    pub(super) async fn update_sku(
        &self,
        context: CallContext,
        r: pb::UpdateSkuRequest,
    ) -> Result<pb::Sku> {
        let caller = self.caller(&context).await?;
        let sku = app::catalog::update::<_, SkuPatch>(self, &context, &caller, r).await?;
        Ok(convert::sku(&sku))
    }
}
