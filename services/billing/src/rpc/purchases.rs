//! Purchases (B3): CreatePurchase and GetPurchase, translated to and from `app::purchases`.

use portal_proto::billing as pb;
use portal_runtime::{CallContext, error::Violations};

use super::convert;
use crate::{
    BillingApi,
    app::{
        RequestKey,
        purchases::{self, NewOrder},
    },
    domain::{Item, order},
    error::{Error, Result},
};

/// The order's items, or every problem with them (B3).
pub(super) fn items(v: &mut Violations, raw: &[pb::PurchaseItem]) -> Vec<Item> {
    let items: Vec<Item> = raw
        .iter()
        .map(|i| Item {
            sku: i.sku.trim().to_string(),
            quantity: i.quantity,
        })
        .collect();
    for problem in order::check_items(&items) {
        v.add(&problem.field, problem.description);
    }
    items
}

/// A CreatePurchase request, checked (B3).
impl TryFrom<&pb::CreatePurchaseRequest> for NewOrder {
    type Error = Error;

    fn try_from(r: &pb::CreatePurchaseRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("request_id", &r.request_id);
        let items = items(&mut v, &r.items);
        v.finish().map_err(Error::invalid_fields)?;
        Ok(Self {
            account_id: r.account_id.clone(),
            items,
            key: RequestKey::of(r),
        })
    }
}

impl BillingApi {
    pub(super) async fn create_purchase(
        &self,
        context: CallContext,
        r: pb::CreatePurchaseRequest,
    ) -> Result<pb::Purchase> {
        let caller = self.caller(&context).await?;
        let bought = purchases::create(self, &context, &caller, &r.account_id, &r).await?;
        Ok(convert::purchase(&bought.purchase, &bought.lines))
    }

    pub(super) async fn get_purchase(
        &self,
        context: CallContext,
        r: pb::GetPurchaseRequest,
    ) -> Result<pb::Purchase> {
        let mut v = Violations::default();
        v.require("purchase_id", &r.purchase_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let bought = purchases::get(self, &caller, &r.purchase_id).await?;
        Ok(convert::purchase(&bought.purchase, &bought.lines))
    }
}
