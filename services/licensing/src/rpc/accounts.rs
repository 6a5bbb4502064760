//! ListAccountsWithProducts: streams, in pages, every account holding an active key or active deployment of
//! the given products — how an advisory finds its targets (N1).

use portal_proto::licensing as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert;
use crate::{
    LicensingApi,
    domain::{Family, Product},
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
        products.sort();
        products.dedup();
        let families: Vec<Family> = Family::ALL
            .into_iter()
            .filter(|f| products.iter().any(|p| f.covers(*p)))
            .collect();
        let deployments = products.contains(&Product::Server);
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
                let Some((last, _, _)) = page.last() else {
                    return;
                };
                after = Some(last.clone());
                for (account_id, held, site) in page {
                    let mut held_products: Vec<Product> = products
                        .iter()
                        .copied()
                        .filter(|p| {
                            held.iter().any(|f| f.covers(*p)) || (site && *p == Product::Server)
                        })
                        .collect();
                    held_products.dedup();
                    let item = pb::AccountWithProducts {
                        account_id,
                        products: held_products
                            .into_iter()
                            .map(|p| convert::product_to_proto(p) as i32)
                            .collect(),
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
