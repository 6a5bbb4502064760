//! Where the other services are.

use serde::Deserialize;

/// Where the other services are; unset means "in this process" (the address this process listens on).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeerSettings {
    pub identity: Option<String>,
    pub licensing: Option<String>,
    pub billing: Option<String>,
    pub notification: Option<String>,
}
