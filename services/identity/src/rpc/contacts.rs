//! ListPointsOfContact: streams every active holder of a contact permission, account by account, with the
//! Administrators of accounts that have none as `fallback` (N2 builds on it; the choice is
//! `domain::contacts::recipients`). Accounts are read in pages, so 100k accounts stream in constant memory; the
//! bounded channel pushes back on a slow reader.

use std::collections::BTreeMap;

use portal_proto::identity::{self as pb};
use portal_runtime::CallContext;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert;
use crate::{
    IdentityApi,
    domain::{Account, ContactKind, User, access, contacts},
    error::Result,
    store,
};

pub type ContactStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::PointOfContact, Status>> + Send>>;

/// Accounts resolved per query.
const BATCH: usize = 500;

/// Who a ListPointsOfContact call asks for.
#[derive(Debug, Clone, Copy)]
struct Choice {
    kind: ContactKind,
    include_fallback: bool,
    include_unreachable: bool,
}

impl IdentityApi {
    pub(super) async fn list_points_of_contact(
        &self,
        context: CallContext,
        r: pb::ListPointsOfContactRequest,
    ) -> Result<ContactStream> {
        access::ensure_may_list_points_of_contact(&*self.caller(&context).await?)?;
        let kind = convert::contact_kind(r.kind)?;
        let (tx, rx) = mpsc::channel(256);
        let api = self.clone();
        let mut ids = r.account_ids;
        ids.sort();
        ids.dedup();
        tokio::spawn(async move {
            let choice = Choice {
                kind,
                include_fallback: r.include_fallback,
                include_unreachable: r.include_unreachable,
            };
            if let Err(e) = api.stream(ids, choice, &tx).await {
                let _ = tx.send(Err(Status::from(e))).await;
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    async fn stream(
        &self,
        ids: Vec<String>,
        choice: Choice,
        tx: &mpsc::Sender<Result<pb::PointOfContact, Status>>,
    ) -> Result<()> {
        if ids.is_empty() {
            let mut after: Option<String> = None;
            loop {
                let mut accounts =
                    store::accounts_page(&self.db, after.as_deref(), BATCH as u64).await?;
                let Some(last) = accounts.last() else {
                    return Ok(());
                };
                after = Some(last.account_id.clone());
                // "Every account" is every account that is not academic, as the contract says.
                accounts.retain(|a| !a.academic);
                if !self.send_batch(&accounts, choice, tx).await? {
                    return Ok(());
                }
            }
        }
        for chunk in ids.chunks(BATCH) {
            let accounts = store::accounts_by_ids(&self.db, chunk).await?;
            if !self.send_batch(&accounts, choice, tx).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Sends one batch; `false` when the reader has gone away.
    async fn send_batch(
        &self,
        accounts: &[Account],
        choice: Choice,
        tx: &mpsc::Sender<Result<pb::PointOfContact, Status>>,
    ) -> Result<bool> {
        let ids: Vec<String> = accounts.iter().map(|a| a.account_id.clone()).collect();
        let mut by_account: BTreeMap<String, Vec<User>> = BTreeMap::new();
        for user in store::contacts_and_admins(&self.db, &ids, choice.kind).await? {
            by_account
                .entry(user.account_id.clone())
                .or_default()
                .push(user);
        }
        for account in accounts {
            let members = by_account
                .get(&account.account_id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let chosen = contacts::recipients(members, choice.kind, choice.include_fallback);
            if chosen.users.is_empty() && choice.include_unreachable {
                // N7: nobody to tell is said, not left out.
                let unreachable = pb::PointOfContact {
                    account_id: account.account_id.clone(),
                    account_name: account.name.clone(),
                    unreachable: true,
                    ..Default::default()
                };
                if tx.send(Ok(unreachable)).await.is_err() {
                    return Ok(false);
                }
                continue;
            }
            for user in chosen.users {
                let contact = pb::PointOfContact {
                    account_id: user.account_id.clone(),
                    user_id: user.user_id.clone(),
                    email: user.email.clone(),
                    display_name: user.display_name.clone(),
                    fallback: chosen.fallback,
                    account_name: account.name.clone(),
                    unreachable: false,
                };
                if tx.send(Ok(contact)).await.is_err() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}
