//! CreateAccount and GetAccount (I1).

use chrono::Utc;
use portal_proto::identity as pb;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};

use super::convert;
use crate::{
    IdentityApi,
    domain::{AccountName, NewAccount, access},
    error::{Error, Result},
    store,
};

impl TryFrom<pb::CreateAccountRequest> for NewAccount {
    type Error = Error;

    fn try_from(r: pb::CreateAccountRequest) -> Result<Self> {
        Ok(NewAccount {
            name: AccountName::parse(&r.name)?,
            academic: r.academic,
        })
    }
}

impl IdentityApi {
    pub(super) async fn create_account(
        &self,
        context: CallContext,
        r: pb::CreateAccountRequest,
    ) -> Result<pb::Account> {
        access::ensure_may_create_accounts(&*self.caller(&context).await?)?;
        let new_account = NewAccount::try_from(r.clone())?;
        let account_id = new_id("acc");
        let txn = match idempotency::claim(&self.db, "CreateAccount", &r, &account_id).await? {
            Claim::Fresh(txn) => txn,
            Claim::Replay(id) => {
                return Ok(convert::account(&store::find_account(&self.db, &id).await?));
            }
        };
        let account = new_account.into_account(account_id, Utc::now());
        let account = store::insert_account(&txn, &account).await?;
        store::record_account_created(&txn, &context, &account).await?;
        txn.commit().await?;
        Ok(convert::account(&account))
    }

    pub(super) async fn get_account(
        &self,
        context: CallContext,
        r: pb::GetAccountRequest,
    ) -> Result<pb::Account> {
        access::ensure_may_read_account(&*self.caller(&context).await?, &r.account_id)?;
        super::require("account_id", &r.account_id)?;
        Ok(convert::account(
            &store::find_account(&self.db, &r.account_id).await?,
        ))
    }
}
