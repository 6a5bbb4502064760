//! CreateAccount and GetAccount (I1).

use chrono::Utc;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};

use crate::{
    app::{Identity, RequestKey, audit::Event},
    domain::{Account, NewAccount},
    error::Result,
    store,
};

/// CreateAccount as a command: the account, and what makes its request idempotent.
#[derive(Debug, Clone)]
pub struct CreateAccount {
    pub account: NewAccount,
    pub key: RequestKey,
}

impl Identity {
    /// I1, I12: creates the account once per request id, audited as `context`'s; a replay answers with the
    /// account the first call created.
    pub async fn create_account(
        &self,
        context: &CallContext,
        cmd: CreateAccount,
    ) -> Result<Account> {
        let account_id = new_id("acc");
        let txn =
            match idempotency::claim_key(&self.db, "CreateAccount", &cmd.key, &account_id).await? {
                Claim::Fresh(txn) => txn,
                Claim::Replay(id) => return store::find_account(&self.db, &id).await,
            };
        let account = cmd.account.into_account(account_id, Utc::now());
        let account = store::insert_account(&txn, &account).await?;
        Event::AccountCreated(&account)
            .record(&txn, context)
            .await?;
        txn.commit().await?;
        Ok(account)
    }

    pub async fn account(&self, account_id: &str) -> Result<Account> {
        store::find_account(&self.db, account_id).await
    }
}
