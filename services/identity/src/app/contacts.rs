//! ListPointsOfContact: every active holder of a contact permission, account by account, with the
//! Administrators of accounts that have none as `fallback` (N2 builds on it; the choice is
//! `domain::contacts::recipients`). Accounts are read in pages, so 100k accounts stream in constant memory; the
//! bounded channel the contacts are sent to pushes back on a slow reader.

use std::collections::BTreeMap;

use tokio::sync::mpsc;

use crate::{
    app::Identity,
    domain::{Account, ContactKind, User, contacts},
    error::Result,
    store,
};

/// Accounts resolved per query.
const BATCH: usize = 500;

/// Who a ListPointsOfContact call asks for.
#[derive(Debug, Clone, Copy)]
pub struct ContactChoice {
    pub kind: ContactKind,
    pub include_fallback: bool,
    pub include_unreachable: bool,
}

/// One answer of ListPointsOfContact.
#[derive(Debug, Clone, Copy)]
pub enum Contact<'a> {
    /// A person of the account to tell; `fallback` when they are told as an Administrator of an account
    /// without contacts.
    Reachable {
        account: &'a Account,
        user: &'a User,
        fallback: bool,
    },
    /// N7: nobody to tell is said, not left out.
    Unreachable(&'a Account),
}

impl Identity {
    /// Sends the points of contact of the accounts `ids` (every account that is not academic when empty) to
    /// `tx`, each as `item` makes it, until done or the reader has gone away.
    pub async fn points_of_contact<T>(
        &self,
        ids: Vec<String>,
        choice: ContactChoice,
        tx: &mpsc::Sender<T>,
        item: impl Fn(Contact<'_>) -> T,
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
                if !self.send_batch(&accounts, choice, tx, &item).await? {
                    return Ok(());
                }
            }
        }
        for chunk in ids.chunks(BATCH) {
            let accounts = store::accounts_by_ids(&self.db, chunk).await?;
            if !self.send_batch(&accounts, choice, tx, &item).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Sends one batch; `false` when the reader has gone away.
    async fn send_batch<T>(
        &self,
        accounts: &[Account],
        choice: ContactChoice,
        tx: &mpsc::Sender<T>,
        item: &impl Fn(Contact<'_>) -> T,
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
                if tx.send(item(Contact::Unreachable(account))).await.is_err() {
                    return Ok(false);
                }
                continue;
            }
            for user in chosen.users {
                let contact = Contact::Reachable {
                    account,
                    user,
                    fallback: chosen.fallback,
                };
                if tx.send(item(contact)).await.is_err() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}
