//! The streams notification reads to resolve an advisory's recipients (N2): licensing's accounts holding
//! products, and identity's points of contact, through the shared clients.

use portal_clients::{Directory, Licensing};
use portal_runtime::client::Caller;
use tonic::transport::Channel;

#[derive(Debug, Clone)]
pub struct Upstream {
    pub identity: Directory,
    pub licensing: Licensing,
}

impl Upstream {
    pub fn new(identity: (Channel, Caller), licensing: (Channel, Caller)) -> Self {
        Self {
            identity: Directory::new(identity.0, identity.1),
            licensing: Licensing::new(licensing.0, licensing.1),
        }
    }
}
