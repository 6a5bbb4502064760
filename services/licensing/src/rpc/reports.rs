//! Activation summary reports (L10): requested by an Administrator at most once a day, e-mailed to them and
//! downloadable.

use portal_proto::licensing as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, time::to_proto};

use super::convert;
use crate::{
    LicensingApi, app,
    domain::access,
    error::{Error, Result},
    store,
};

impl LicensingApi {
    pub(super) async fn request_activation_report(
        &self,
        context: CallContext,
        r: pb::RequestActivationReportRequest,
    ) -> Result<pb::RequestActivationReportResponse> {
        let caller = self.caller(&context).await?;
        if !access::may_request_report(&caller, &r.account_id) {
            return Err(Error::denied(
                "only an Administrator of the account requests activation reports",
            ));
        }
        let made =
            app::reports::request(&self.db, &context, &r.account_id, caller.member(), &r).await?;
        Ok(pb::RequestActivationReportResponse {
            report_id: made.report_id,
            csv: made.csv.into_bytes(),
            create_time: Some(to_proto(made.create_time)),
        })
    }

    pub(super) async fn get_activation_report(
        &self,
        context: CallContext,
        r: pb::GetActivationReportRequest,
    ) -> Result<pb::ActivationReport> {
        let caller = self.caller(&context).await?;
        let found = store::reports::find_report(&self.db, &r.report_id).await?;
        match found {
            Some(done) if access::may_download_report(&caller, &done.account_id) => {
                Ok(convert::report(&done))
            }
            None if caller.has_scope(&[INTERNAL_SCOPE]) => Err(Error::ReportNotFound),
            _ => Err(Error::denied(
                "only Administrators of the report's account download it",
            )),
        }
    }
}
