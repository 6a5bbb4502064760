//! ListPointsOfContact: streams every active holder of a contact permission, account by account, with the
//! Administrators of accounts that have none as `fallback` (N2 builds on it). Accounts are read in pages, so
//! 100k accounts stream in constant memory; the bounded channel pushes back on a slow reader.

use std::collections::BTreeMap;

use portal_proto::identity::{self as pb};
use portal_runtime::CallContext;
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::{
    IdentityApi,
    authz::{ADMIN, INTERNAL},
    domain::contacts,
    error::{Error, Result},
    store::{self, account, user},
};

pub type ContactStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::PointOfContact, Status>> + Send>>;

/// Accounts resolved per query.
const BATCH: usize = 500;

impl IdentityApi {
    pub(super) async fn list_points_of_contact(
        &self,
        context: CallContext,
        r: pb::ListPointsOfContactRequest,
    ) -> Result<ContactStream> {
        self.caller(&context)
            .await?
            .require_scope(&[INTERNAL, "notification.publish", ADMIN])?;
        let security = match pb::ContactKind::try_from(r.kind) {
            Ok(pb::ContactKind::Security) => true,
            Ok(pb::ContactKind::Technical) => false,
            _ => {
                return Err(Error::invalid(
                    "kind",
                    "must be CONTACT_KIND_SECURITY or CONTACT_KIND_TECHNICAL",
                ));
            }
        };
        let (tx, rx) = mpsc::channel(256);
        let db = self.db.clone();
        let mut ids = r.account_ids;
        ids.sort();
        ids.dedup();
        tokio::spawn(async move {
            if let Err(e) = stream(&db, ids, security, r.include_fallback, &tx).await {
                let _ = tx.send(Err(Status::from(e))).await;
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }
}

async fn stream(
    db: &DatabaseConnection,
    ids: Vec<String>,
    security: bool,
    include_fallback: bool,
    tx: &mpsc::Sender<Result<pb::PointOfContact, Status>>,
) -> Result<()> {
    if ids.is_empty() {
        let mut after: Option<String> = None;
        loop {
            let accounts = store::account_ids_page(db, after.as_deref(), BATCH as u64).await?;
            let Some(last) = accounts.last() else {
                return Ok(());
            };
            after = Some(last.account_id.clone());
            if !send_batch(db, &accounts, security, include_fallback, tx).await? {
                return Ok(());
            }
        }
    }
    for chunk in ids.chunks(BATCH) {
        let accounts = store::accounts_by_ids(db, chunk).await?;
        if !send_batch(db, &accounts, security, include_fallback, tx).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// Sends one batch; `false` when the reader has gone away.
async fn send_batch(
    db: &DatabaseConnection,
    accounts: &[account::Model],
    security: bool,
    include_fallback: bool,
    tx: &mpsc::Sender<Result<pb::PointOfContact, Status>>,
) -> Result<bool> {
    let ids: Vec<String> = accounts.iter().map(|a| a.account_id.clone()).collect();
    let users = store::contacts_and_admins(db, &ids, security).await?;
    let mut by_account: BTreeMap<&str, Vec<&user::Model>> = BTreeMap::new();
    for u in &users {
        by_account.entry(u.account_id.as_str()).or_default().push(u);
    }
    for account in accounts {
        let members = by_account
            .get(account.account_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let facts: Vec<contacts::Member> = members
            .iter()
            .map(|u| contacts::Member {
                role: store::role_of(u),
                permissions: store::permissions_of(u),
            })
            .collect();
        let (chosen, fallback) = contacts::recipients(&facts, security, include_fallback);
        for u in chosen.into_iter().map(|i| members[i]) {
            let contact = pb::PointOfContact {
                account_id: u.account_id.clone(),
                user_id: u.user_id.clone(),
                email: u.email.clone(),
                display_name: u.display_name.clone(),
                fallback,
                account_name: account.name.clone(),
            };
            if tx.send(Ok(contact)).await.is_err() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}
