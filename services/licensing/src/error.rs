//! The licensing service's failures, and their one mapping to `tonic::Status`.

use portal_runtime::error::{self, Common, FieldViolation};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the key's family does not include this product")]
    ProductNotInFamily,
    #[error("the person is not an active user of the key's account")]
    UserNotInAccount,
    #[error("every seat of the key is assigned")]
    SeatsExhausted,
    #[error("every Creator seat of the deployment is taken")]
    CreatorSeatsExhausted,
    #[error("the key is expired; a new key is needed")]
    KeyExpired,
    #[error("the key is revoked")]
    KeyRevoked,
    #[error("the key's fulfillment pool is empty; deactivate a machine first")]
    MaxActivations,
    #[error("an activation report was already requested in the last 24 hours")]
    ReportRateLimited,
    #[error("account not found")]
    AccountNotFound,
    #[error("key not found")]
    KeyNotFound,
    #[error("the machine is not active on this key")]
    ActivationNotFound,
    #[error("deployment not found")]
    DeploymentNotFound,
    #[error("report not found")]
    ReportNotFound,
    #[error("user not found")]
    UserNotFound,
    #[error("the deployment is inactive")]
    DeploymentInactive,
    #[error("login-based licensing is not enabled on the deployment")]
    LblmNotEnabled,
    #[error("only Creators may be authorized to run Desktop or Prep Builder")]
    NotACreator,
    #[error(
        "the server key already licenses as many active deployments of this environment as it may: 1 production, 2 non-production"
    )]
    EnvironmentLimitReached,
    #[error("eLearning code not found")]
    CodeNotFound,
    #[error("the eLearning code is already redeemed")]
    CodeAlreadyRedeemed,
    #[error(transparent)]
    Common(#[from] Common),
}

portal_runtime::common_errors!(Error);

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        use Code::*;
        let message = err.to_string();
        let (code, reason) = match err {
            Error::Common(common) => return common.into(),
            Error::ProductNotInFamily => {
                return error::invalid(
                    "PRODUCT_NOT_IN_FAMILY",
                    message,
                    &[FieldViolation::new("product", "not in the key's family")],
                );
            }
            Error::UserNotInAccount => (FailedPrecondition, "USER_NOT_IN_ACCOUNT"),
            Error::SeatsExhausted | Error::CreatorSeatsExhausted => {
                (FailedPrecondition, "SEATS_EXHAUSTED")
            }
            Error::KeyExpired => (FailedPrecondition, "KEY_EXPIRED"),
            Error::KeyRevoked => (FailedPrecondition, "KEY_REVOKED"),
            Error::DeploymentInactive => (FailedPrecondition, "DEPLOYMENT_INACTIVE"),
            Error::LblmNotEnabled => (FailedPrecondition, "LBLM_NOT_ENABLED"),
            Error::NotACreator => (FailedPrecondition, "NOT_A_CREATOR"),
            Error::CodeAlreadyRedeemed => (FailedPrecondition, "CODE_ALREADY_REDEEMED"),
            Error::EnvironmentLimitReached => (FailedPrecondition, "ENVIRONMENT_LIMIT_REACHED"),
            Error::MaxActivations => (ResourceExhausted, "MAX_ACTIVATIONS"),
            Error::ReportRateLimited => (ResourceExhausted, "REPORT_RATE_LIMITED"),
            Error::AccountNotFound => (NotFound, "ACCOUNT_NOT_FOUND"),
            Error::KeyNotFound => (NotFound, "KEY_NOT_FOUND"),
            Error::ActivationNotFound => (NotFound, "ACTIVATION_NOT_FOUND"),
            Error::DeploymentNotFound => (NotFound, "DEPLOYMENT_NOT_FOUND"),
            Error::ReportNotFound => (NotFound, "REPORT_NOT_FOUND"),
            Error::UserNotFound => (NotFound, "USER_NOT_FOUND"),
            Error::CodeNotFound => (NotFound, "ELEARNING_CODE_NOT_FOUND"),
        };
        error::status(code, reason, message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
