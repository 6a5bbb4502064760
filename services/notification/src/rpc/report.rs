//! GetAdvisoryReport (N10): per targeted account, its coverage (N8), mails sent and dead, acknowledgement (N9) and
//! complaints (N14), paged by account
//! id, also as CSV.

use portal_proto::notification as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, paging};

use super::{PUBLISH, convert, service_caller};
use crate::{
    NotificationApi,
    domain::report::{n10_account_report, n10_csv},
    error::{Error, Result},
    store::{acknowledgements, advisories, escalations, reports},
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
        let advisory = advisories::find(&self.db, &r.advisory_id).await?;
        let after = page.after.as_deref();
        let with_rows =
            escalations::account_page(&self.db, &advisory.advisory_id, after, page.size).await?;
        let mut ids: Vec<String> = advisory
            .unreachable
            .iter()
            .map(|u| &u.account_id)
            .filter(|id| after.is_none_or(|after| id.as_str() > after))
            .cloned()
            .chain(with_rows.iter().cloned())
            .collect();
        ids.sort();
        ids.dedup();
        ids.truncate(usize::try_from(page.size).unwrap_or(usize::MAX));
        let mut ledgers = escalations::ledgers(&self.db, &advisory.advisory_id, &with_rows).await?;
        let acknowledged =
            acknowledgements::among(&self.db, &advisory.advisory_id, &with_rows).await?;
        let mut complaints =
            reports::complaints(&self.db, &advisory.advisory_id, &with_rows).await?;
        let unreachable_names: std::collections::HashMap<&str, &str> = advisory
            .unreachable
            .iter()
            .map(|u| (u.account_id.as_str(), u.account_name.as_str()))
            .collect();
        let lines: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let ledger = ledgers.remove(&id);
                let acknowledged = acknowledged.contains(&id);
                let complaints = complaints.remove(&id).unwrap_or(0);
                // An account with ledger rows is named in them; one with nobody to tell (N7) was named when the
                // recipients were resolved.
                let (name, ledger) = match ledger {
                    Some((name, ledger)) => (name, Some(ledger)),
                    None => (
                        unreachable_names
                            .get(id.as_str())
                            .map(|name| name.to_string())
                            .unwrap_or_default(),
                        None,
                    ),
                };
                n10_account_report(id, name, ledger, acknowledged, complaints)
            })
            .collect();
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
