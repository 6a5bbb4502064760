//! SendNotice (N6): a transactional notice, written to the same durable ledger as advisories.

use portal_policy::Email;
use portal_proto::notification as pb;
use portal_runtime::{
    CallContext,
    auth::INTERNAL_SCOPE,
    error::{FieldViolation, Violations},
};

use super::{convert, service_caller};
use crate::{
    NotificationApi, app,
    domain::{
        NewNotice, NoticePayload, Recipient, StoredAttachment,
        notice::{n6_check_attachments, n6_check_fields},
    },
    error::{Error, Result},
};

/// N6: every field of a SendNotice request checked, every violation reported at once.
impl TryFrom<&pb::SendNoticeRequest> for NewNotice {
    type Error = Error;

    fn try_from(r: &pb::SendNoticeRequest) -> Result<Self> {
        let mut v = Violations::default();
        let kind = convert::notice_kind(r.kind);
        if kind.is_none() {
            v.add("kind", "must be a known NOTICE_KIND_* value");
        }
        v.require("account_id", &r.account_id);
        let email = v.check(Email::parse(&r.email).map_err(FieldViolation::of("email")));
        n6_check_attachments(&mut v, r.attachments.iter().map(|a| a.content.len()));
        let fields = r.fields.clone().into_iter().collect();
        n6_check_fields(&mut v, &fields);
        v.finish().map_err(Error::invalid_fields)?;
        let (Some(kind), Some(email)) = (kind, email) else {
            return Err(Error::invalid("request", "incomplete"));
        };
        let display_name = match r.display_name.trim() {
            "" => email.as_str().to_string(),
            name => name.to_string(),
        };
        Ok(NewNotice {
            recipient: Recipient {
                account_id: r.account_id.clone(),
                account_name: r.fields.get("account_name").cloned().unwrap_or_default(),
                user_id: r.fields.get("user_id").cloned().unwrap_or_default(),
                email: email.as_str().to_string(),
                display_name,
                fallback: false,
            },
            payload: NoticePayload {
                kind,
                fields,
                attachments: r
                    .attachments
                    .iter()
                    .map(|a| {
                        StoredAttachment::new(
                            a.filename.clone(),
                            a.content_type.clone(),
                            &a.content,
                        )
                    })
                    .collect(),
            },
        })
    }
}

impl NotificationApi {
    /// N6: one e-mail through the durable path, idempotent on the request id.
    pub(super) async fn send_notice(
        &self,
        context: CallContext,
        r: pb::SendNoticeRequest,
    ) -> Result<pb::SendNoticeResponse> {
        service_caller(&context, &[INTERNAL_SCOPE])?;
        let notice = NewNotice::try_from(&r)?;
        let delivery_id = app::deliveries::send_notice(&self.db, &context, &r, &notice).await?;
        self.wake_worker();
        Ok(pb::SendNoticeResponse { delivery_id })
    }
}
