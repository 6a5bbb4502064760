//! ListAccountsWithProducts: streams, in pages, every account holding an active key or active deployment of
//! the given products — how an advisory finds its targets (N1).

use portal_proto::{common, licensing as pb};
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert;
use crate::{
    LicensingApi,
    domain::holders::ProductQuery,
    error::{Error, Result},
    store,
};

pub type AccountStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<pb::AccountWithProducts, Status>> + Send>,
>;

const PAGE: u64 = 500;

impl LicensingApi {
    pub(super) async fn list_accounts_with_products(
        &self,
        context: CallContext,
        r: pb::ListAccountsWithProductsRequest,
    ) -> Result<AccountStream> {
        self.caller(&context)
            .await?
            .require_scope(&[INTERNAL_SCOPE, "notification.publish"])?;
        let mut products = Vec::new();
        for raw in &r.products {
            products.push(convert::product("products", *raw)?);
        }
        if products.is_empty() {
            return Err(Error::invalid("products", "name at least one product"));
        }
        let query = ProductQuery::new(products);
        let families = query.families();
        let deployments = query.counts_deployments();
        let (tx, rx) = mpsc::channel(256);
        let db = self.db.clone();
        tokio::spawn(async move {
            let mut after: Option<String> = None;
            loop {
                let page = match store::accounts::accounts_holding(
                    &db,
                    &families,
                    deployments,
                    after.as_deref(),
                    PAGE,
                )
                .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                };
                let Some(last) = page.last() else {
                    return;
                };
                after = Some(last.account_id.clone());
                for account in page {
                    let item = pb::AccountWithProducts {
                        products: query
                            .held_by(&account)
                            .into_iter()
                            .map(|p| common::Product::from(p) as i32)
                            .collect(),
                        account_id: account.account_id,
                    };
                    if tx.send(Ok(item)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }
}
