//! ListAuditEvents (I12): an account's audit log, oldest first, in pages.

use portal_proto::identity as pb;
use portal_runtime::{CallContext, audit, error::Violations, paging, time::to_proto};

use crate::{IdentityApi, domain::access, error::Result};

impl IdentityApi {
    pub(super) async fn list_audit_events(
        &self,
        context: CallContext,
        r: pb::ListAuditEventsRequest,
    ) -> Result<pb::ListAuditEventsResponse> {
        access::ensure_may_read_audit_log(&*self.app.caller(&context).await?, &r.account_id)?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let scope = paging::Scope::new("ListAuditEvents", r.account_id.as_str());
        let page = super::with_page(v, r.page_size, &r.page_token, &scope)?;
        let rows = self.app.audit_events(&r.account_id, &page).await?;
        let last = rows.last().map(|e| e.event_id.as_str());
        let next_page_token = paging::next_token(&scope, last, rows.len(), page.size);
        let events = rows
            .into_iter()
            .map(|e| pb::AuditEvent {
                before: audit::to_struct(e.before.as_deref()),
                after: audit::to_struct(e.after.as_deref()),
                create_time: Some(to_proto(e.create_time)),
                event_id: e.event_id,
                account_id: e.account_id,
                actor: e.actor,
                action: e.action,
                resource_type: e.resource_type,
                resource_id: e.resource_id,
                request_id: e.request_id,
                trace_id: e.trace_id,
            })
            .collect();
        Ok(pb::ListAuditEventsResponse {
            events,
            next_page_token,
        })
    }
}
