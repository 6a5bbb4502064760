//! CreateAccount and GetAccount (I1).

use portal_proto::identity as pb;
use portal_runtime::CallContext;

use super::convert;
use crate::{
    IdentityApi,
    app::{CreateAccount, RequestKey},
    domain::{AccountName, NewAccount, access},
    error::{Error, Result},
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
        access::ensure_may_create_accounts(&*self.app.caller(&context).await?)?;
        let cmd = CreateAccount {
            key: RequestKey::of(&r),
            account: NewAccount::try_from(r)?,
        };
        let account = self.app.create_account(&context, cmd).await?;
        Ok(convert::account(&account))
    }

    pub(super) async fn get_account(
        &self,
        context: CallContext,
        r: pb::GetAccountRequest,
    ) -> Result<pb::Account> {
        access::ensure_may_read_account(&*self.app.caller(&context).await?, &r.account_id)?;
        super::require("account_id", &r.account_id)?;
        Ok(convert::account(&self.app.account(&r.account_id).await?))
    }
}
