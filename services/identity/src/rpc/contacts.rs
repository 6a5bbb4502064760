//! ListPointsOfContact (N2): the request becomes a [`ContactChoice`]; `app` sends the contacts as protobuf to
//! a bounded channel the response streams from, so a slow reader pushes back.

use portal_proto::identity::{self as pb};
use portal_runtime::CallContext;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert;
use crate::{
    IdentityApi,
    app::{Contact, ContactChoice},
    domain::access,
    error::Result,
};

pub type ContactStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::PointOfContact, Status>> + Send>>;

fn contact(contact: Contact<'_>) -> Result<pb::PointOfContact, Status> {
    Ok(match contact {
        Contact::Unreachable(account) => pb::PointOfContact {
            account_id: account.account_id.clone(),
            account_name: account.name.clone(),
            unreachable: true,
            ..Default::default()
        },
        Contact::Reachable {
            account,
            user,
            fallback,
        } => pb::PointOfContact {
            account_id: user.account_id.clone(),
            user_id: user.user_id.clone(),
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            fallback,
            account_name: account.name.clone(),
            unreachable: false,
        },
    })
}

impl IdentityApi {
    pub(super) async fn list_points_of_contact(
        &self,
        context: CallContext,
        r: pb::ListPointsOfContactRequest,
    ) -> Result<ContactStream> {
        access::ensure_may_list_points_of_contact(&*self.app.caller(&context).await?)?;
        let kind = convert::contact_kind(r.kind)?;
        let (tx, rx) = mpsc::channel(256);
        let app = self.app.clone();
        let mut ids = r.account_ids;
        ids.sort();
        ids.dedup();
        tokio::spawn(async move {
            let choice = ContactChoice {
                kind,
                include_fallback: r.include_fallback,
                include_unreachable: r.include_unreachable,
            };
            if let Err(e) = app.points_of_contact(ids, choice, &tx, contact).await {
                let _ = tx.send(Err(Status::from(e))).await;
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }
}
