//! The suite's contracts: generated tonic/prost modules for `proto/portal/**` and the descriptor set that
//! server reflection serves. Nothing here is written by hand but the module tree, its short aliases and the
//! list of requests that carry a `request_id` ([`Idempotent`]).

#![allow(clippy::all, clippy::pedantic, missing_docs)]

/// Generated code, nested as the protobuf packages are (prost's cross-package paths rely on it).
pub mod portal {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("portal.common.v1");
        }
    }
    pub mod identity {
        pub mod v1 {
            tonic::include_proto!("portal.identity.v1");
        }
    }
    pub mod licensing {
        pub mod v1 {
            tonic::include_proto!("portal.licensing.v1");
        }
    }
    pub mod billing {
        pub mod v1 {
            tonic::include_proto!("portal.billing.v1");
        }
    }
    pub mod notification {
        pub mod v1 {
            tonic::include_proto!("portal.notification.v1");
        }
    }
}

pub mod vocabulary;

/// `portal.billing.v1`: catalog, purchases, invoices, payments, renewals.
pub use portal::billing::v1 as billing;
/// `portal.common.v1`: messages shared by several services.
pub use portal::common::v1 as common;
/// `portal.identity.v1`: accounts, users, roles, personas, access decisions, audit.
pub use portal::identity::v1 as identity;
/// `portal.licensing.v1`: product keys, activations, deployments, login-based licensing.
pub use portal::licensing::v1 as licensing;
/// `portal.notification.v1`: advisories, deliveries, transactional notices.
pub use portal::notification::v1 as notification;

/// The encoded `FileDescriptorSet` of every contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/portal_descriptor.bin"));

/// The fully-qualified gRPC service names, as health and reflection report them.
pub mod service_names {
    pub const IDENTITY: &str = "portal.identity.v1.IdentityService";
    pub const LICENSING: &str = "portal.licensing.v1.LicensingService";
    pub const BILLING: &str = "portal.billing.v1.BillingService";
    pub const NOTIFICATION: &str = "portal.notification.v1.NotificationService";
}

/// A request that carries a client-chosen `request_id`, so a retry of it is answered, not acted on twice.
pub trait Idempotent: prost::Message + Clone {
    fn request_id(&self) -> &str;

    /// The same request without its id: what a replay must match.
    fn without_request_id(&self) -> Self;
}

macro_rules! idempotent {
    ($($request:ty),* $(,)?) => {
        $(impl Idempotent for $request {
            fn request_id(&self) -> &str {
                &self.request_id
            }

            fn without_request_id(&self) -> Self {
                Self { request_id: String::new(), ..self.clone() }
            }
        })*
    };
}

idempotent!(
    identity::CreateAccountRequest,
    identity::CreateUserRequest,
    licensing::IssueKeysRequest,
    licensing::RevokeKeyRequest,
    licensing::RegisterDeploymentRequest,
    licensing::RequestActivationReportRequest,
    licensing::IssueElearningCodesRequest,
    licensing::ProvisionSiteSeatsRequest,
    billing::CreatePurchaseRequest,
    billing::RecordPaymentRequest,
    billing::CreateRenewalInvoiceRequest,
    notification::PublishAdvisoryRequest,
    notification::PublishCsafAdvisoryRequest,
    notification::SendNoticeRequest,
    notification::RemindAdvisoryRequest,
);
