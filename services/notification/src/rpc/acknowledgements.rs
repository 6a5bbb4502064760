//! AcknowledgeAdvisory and ListUnacknowledgedAccounts (N9).

use chrono::Utc;
use portal_proto::notification as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, paging, time::to_proto};

use super::{PUBLISH, convert, service_caller};
use crate::{
    NotificationApi,
    app::acknowledgement,
    error::{Error, Result},
    store::{acknowledgements, advisories, deliveries},
};

impl NotificationApi {
    /// N9: the token names one advisory delivery; its first acknowledgement is recorded and audited.
    pub(super) async fn acknowledge_advisory(
        &self,
        context: CallContext,
        r: pb::AcknowledgeAdvisoryRequest,
    ) -> Result<pb::Acknowledgement> {
        service_caller(&context, &[INTERNAL_SCOPE, PUBLISH])?;
        let (acknowledged, _) =
            acknowledgement::acknowledge(&self.db, &context, &r.token, Utc::now()).await?;
        Ok(pb::Acknowledgement {
            advisory_id: acknowledged.advisory_id,
            account_id: acknowledged.account_id,
            email: acknowledged.email,
            user_id: acknowledged.user_id,
            acknowledge_time: Some(to_proto(acknowledged.time)),
            delivery_id: acknowledged.delivery_id,
        })
    }

    /// N9: accounts nobody acknowledged the advisory at, with their deliveries, paged by account id.
    pub(super) async fn list_unacknowledged_accounts(
        &self,
        context: CallContext,
        r: pb::ListUnacknowledgedAccountsRequest,
    ) -> Result<pb::ListUnacknowledgedAccountsResponse> {
        service_caller(&context, &[PUBLISH, INTERNAL_SCOPE])?;
        let scope = paging::Scope::new("ListUnacknowledgedAccounts", r.advisory_id.as_str());
        let page = paging::parse(r.page_size, &r.page_token, &scope)
            .map_err(|v| Error::invalid_fields(vec![v]))?;
        let advisory = advisories::find(&self.db, &r.advisory_id).await?;
        let ids = acknowledgements::unacknowledged_page(
            &self.db,
            &advisory.advisory_id,
            page.after.as_deref(),
            page.size,
        )
        .await?;
        let rows = deliveries::of_accounts(&self.db, &advisory.advisory_id, &ids).await?;
        let domain = self.mailer.domain();
        let accounts = ids
            .iter()
            .map(|id| {
                let contacts: Vec<_> = rows.iter().filter(|d| &d.to.account_id == id).collect();
                pb::UnacknowledgedAccount {
                    account_id: id.clone(),
                    account_name: contacts
                        .first()
                        .map(|d| d.to.account_name.clone())
                        .unwrap_or_default(),
                    contacts: contacts
                        .iter()
                        .map(|d| convert::delivery(d, domain))
                        .collect(),
                }
            })
            .collect();
        let next_page_token =
            paging::next_token(&scope, ids.last().map(String::as_str), ids.len(), page.size);
        Ok(pb::ListUnacknowledgedAccountsResponse {
            accounts,
            next_page_token,
        })
    }
}
