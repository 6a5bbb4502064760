//! eLearning access codes (L11): issued with a purchase, listed under the account's licenses, redeemed once.

use portal_proto::licensing as pb;
use portal_runtime::{
    CallContext,
    auth::INTERNAL_SCOPE,
    error::{FieldViolation, Violations},
    paging,
};

use super::{checked, convert};
use crate::{
    LicensingApi, app,
    domain::{
        Email, NewElearningCodes,
        access::{self, ISSUE},
        elearning::{self, MAX_CODES},
    },
    error::{Error, Result},
    store,
};

impl TryFrom<pb::IssueElearningCodesRequest> for NewElearningCodes {
    type Error = Error;

    fn try_from(r: pb::IssueElearningCodesRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let count = u32::try_from(r.count)
            .ok()
            .filter(|n| (1..=MAX_CODES).contains(n));
        if count.is_none() {
            v.add("count", format!("must be between 1 and {MAX_CODES}"));
        }
        v.finish().map_err(Error::invalid_fields)?;
        Ok(NewElearningCodes {
            count: checked(count, "count")?,
            purchase_id: (!r.purchase_id.is_empty()).then_some(r.purchase_id),
            account_id: r.account_id,
        })
    }
}

impl LicensingApi {
    pub(super) async fn issue_elearning_codes(
        &self,
        context: CallContext,
        r: pb::IssueElearningCodesRequest,
    ) -> Result<pb::IssueElearningCodesResponse> {
        let new: NewElearningCodes = self
            .issue_command(&context, &r, |n: &NewElearningCodes| &n.account_id)
            .await?;
        let codes = app::elearning::issue(&self.db, &context, &new, &r).await?;
        Ok(pb::IssueElearningCodesResponse {
            codes: codes.iter().map(convert::code).collect(),
        })
    }

    pub(super) async fn list_elearning_codes(
        &self,
        context: CallContext,
        r: pb::ListElearningCodesRequest,
    ) -> Result<pb::ListElearningCodesResponse> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[INTERNAL_SCOPE, ISSUE])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let scope = paging::Scope::new("ListElearningCodes", r.account_id.as_str());
        let page = v.check(paging::parse(r.page_size, &r.page_token, &scope));
        v.finish().map_err(Error::invalid_fields)?;
        let page = checked(page, "page_token")?;
        let codes =
            store::elearning::list_codes(&self.db, &r.account_id, page.after.as_deref(), page.size)
                .await?;
        let next_page_token = paging::next_token(
            &scope,
            codes.last().map(|c| c.code.as_str()),
            codes.len(),
            page.size,
        );
        Ok(pb::ListElearningCodesResponse {
            codes: codes.iter().map(convert::code).collect(),
            next_page_token,
        })
    }

    pub(super) async fn redeem_elearning_code(
        &self,
        context: CallContext,
        r: pb::RedeemElearningCodeRequest,
    ) -> Result<pb::ElearningCode> {
        let caller = self.caller(&context).await?;
        let mut v = Violations::default();
        v.require("code", &r.code);
        let email = v.check(Email::parse(&r.email).map_err(FieldViolation::of("email")));
        if !access::may_redeem_code(&caller, email.as_ref()) {
            return Err(Error::denied(
                "only the eLearning platform, or a portal user for their own e-mail, may redeem a code",
            ));
        }
        v.finish().map_err(Error::invalid_fields)?;
        let email = checked(email, "email")?;
        let code = elearning::normalize_code(&r.code);
        let redeemed = app::elearning::redeem(&self.db, &context, &code, &email).await?;
        Ok(convert::code(&redeemed))
    }
}
