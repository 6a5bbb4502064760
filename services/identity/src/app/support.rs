//! CheckSupportEligibility (I11): the account's facts from the store, its deployments from licensing, the
//! answer from `domain::support_eligibility`.

use crate::{
    app::Identity,
    domain::{Eligibility, Email, support_eligibility},
    error::Result,
    store,
};

impl Identity {
    /// I11: whether `email` may open support cases for the account `account_id`, and why.
    pub async fn support_eligibility(
        &self,
        account_id: &str,
        email: &Email,
    ) -> Result<Eligibility> {
        let account = store::find_account(&self.db, account_id).await?;
        let is_user = store::has_active_user(&self.db, &account.account_id, email.key()).await?;
        let deployments = if account.academic {
            Vec::new()
        } else {
            self.licensing.deployments(&account.account_id).await?
        };
        Ok(support_eligibility(account.academic, is_user, &deployments))
    }
}
