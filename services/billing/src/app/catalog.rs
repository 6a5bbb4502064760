//! The catalog (B2): listing SKUs and what they issue, and editing them by a service principal (UpdateSku, with
//! AIP-134 masks and `allow_missing` creation).

use chrono::Utc;
use portal_clients::Caller;
use portal_runtime::CallContext;

use super::{audit::Event, catalog_ready};
use crate::{
    BillingApi,
    domain::{Sku, access, catalog::Listed},
    error::{Error, Result},
    store,
};

/// A change of one SKU as a request asks for it (the mask applied by whoever read the request).
pub(crate) trait SkuChange {
    /// The code of the SKU to change.
    fn code(&self) -> &str;
    /// AIP-134: a SKU that does not exist is created whole.
    fn allow_missing(&self) -> bool;
    /// The SKU to create, as a whole, or every problem with it.
    fn whole(&self) -> Result<Sku>;
    /// `current` with the change, or every problem with the result.
    fn apply(&self, current: &Sku) -> Result<Sku>;
}

/// B2: the catalog, without retired SKUs unless asked for. Open to any authenticated caller.
pub(crate) async fn list(api: &BillingApi, show_inactive: bool) -> Result<Vec<Listed>> {
    catalog_ready(api).await?;
    store::catalog::list(&api.db, show_inactive).await
}

/// B2: changes a SKU, or creates it when missing and allowed, for a service principal; audited.
pub(crate) async fn update<R: TryInto<C, Error = Error>, C: SkuChange>(
    api: &BillingApi,
    context: &CallContext,
    caller: &Caller,
    request: R,
) -> Result<Listed> {
    caller.require_scope(access::B2_EDIT_CATALOG)?;
    let change = request.try_into()?;
    catalog_ready(api).await?;
    let now = Utc::now();
    let txn = portal_runtime::db::begin_write(&api.db).await?;
    let Some(before) = store::catalog::lock(&txn, change.code()).await? else {
        if !change.allow_missing() {
            return Err(Error::SkuNotFound);
        }
        let sku = change.whole()?;
        let created = store::catalog::insert(&txn, &sku, now).await?;
        Event::SkuCreated(&sku).record(&txn, context).await?;
        txn.commit().await?;
        return Ok(created);
    };
    let next = change.apply(&before)?;
    // B4: invoices keep the description, price and grant of their lines; only future sales see the change.
    let after = store::catalog::update(&txn, &next, now).await?;
    Event::SkuUpdated {
        before: &before,
        after: &next,
    }
    .record(&txn, context)
    .await?;
    txn.commit().await?;
    Ok(after)
}
