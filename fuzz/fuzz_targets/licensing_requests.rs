//! LicensingService: every request that becomes a typed command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portal_licensing::domain::{
    KeyRevocation, NewActivation, NewDeployment, NewElearningCodes, NewKeys,
    activation::Deactivation,
    lblm::{NewSiteRole, RunRequest},
    refresh::KeyRefresh,
    site::SeatProvision,
};
use portal_proto::licensing as pb;
use tonic::Status;

fn checked<T, E: Into<Status>>(result: Result<T, E>) -> Result<(), Status> {
    result.map(drop).map_err(Into::into)
}

fuzz_target!(|data: &[u8]| {
    portal_fuzz::run(
        data,
        portal_fuzz::checks![
            "IssueKeys": pb::IssueKeysRequest => |r| checked(NewKeys::try_from(r)),
            "RefreshKey": pb::RefreshKeyRequest => |r| checked(KeyRefresh::try_from(r)),
            "ActivateKey": pb::ActivateKeyRequest => |r| checked(NewActivation::try_from(r)),
            "DeactivateKey": pb::DeactivateKeyRequest => |r| checked(Deactivation::try_from(r)),
            "RegisterDeployment": pb::RegisterDeploymentRequest => |r| checked(NewDeployment::try_from(r)),
            "IssueElearningCodes": pb::IssueElearningCodesRequest => |r| checked(NewElearningCodes::try_from(r)),
            "SetSiteRole": pb::SetSiteRoleRequest => |r| checked(NewSiteRole::try_from(r)),
            "AuthorizeToRun": pb::AuthorizeToRunRequest => |r| checked(RunRequest::try_from(r)),
            "RevokeKey": pb::RevokeKeyRequest => |r| checked(KeyRevocation::try_from(&r)),
            "ProvisionSiteSeats": pb::ProvisionSiteSeatsRequest => |r| checked(SeatProvision::try_from(&r)),
        ],
    );
});
