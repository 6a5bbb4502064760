//! GetAdvisoryReport (N10): per targeted account, its coverage (N8), mails sent and dead, acknowledgement (N9) and
//! complaints (N14), paged by account
//! id, also as CSV.

use portal_proto::notification as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, paging};

use super::{PUBLISH, convert, service_caller};
use crate::{
    NotificationApi, app,
    domain::report::n10_csv,
    error::{Error, Result},
};

impl NotificationApi {
    /// N10: one page of the advisory's targeted accounts: those with ledger rows and those with no one to tell
    /// (N7), merged in account id order.
    pub(super) async fn get_advisory_report(
        &self,
        context: CallContext,
        r: pb::GetAdvisoryReportRequest,
    ) -> Result<pb::GetAdvisoryReportResponse> {
        service_caller(&context, &[PUBLISH, INTERNAL_SCOPE])?;
        let scope = paging::Scope::new("GetAdvisoryReport", r.advisory_id.as_str());
        let page = paging::parse(r.page_size, &r.page_token, &scope)
            .map_err(|v| Error::invalid_fields(vec![v]))?;
        let after = page.after.as_deref();
        let lines = app::report::page(&self.db, &r.advisory_id, after, page.size).await?;
        let csv = n10_csv(&lines, after.is_none())
            .map_err(|e| Error::internal(format!("rendering the report: {e}")))?;
        let last = lines.last().map(|l| l.account_id.clone());
        let next_page_token = paging::next_token(&scope, last.as_deref(), lines.len(), page.size);
        Ok(pb::GetAdvisoryReportResponse {
            accounts: lines.iter().map(convert::account_report).collect(),
            csv,
            next_page_token,
        })
    }
}
