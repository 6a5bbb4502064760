//! Where a product runs for an account (L2): what licensing records and support eligibility (I11) reads.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentKind {
    OnPremise,
    CloudSite,
}

/// One deployment of an account, as far as the rules of other services need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    pub kind: DeploymentKind,
    pub active: bool,
}
