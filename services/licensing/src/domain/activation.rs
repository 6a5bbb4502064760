//! Activations (L6): a machine holding one fulfillment of a key's pool for one product.

use chrono::{DateTime, Utc};

use crate::domain::{KeyString, Product};

/// L6: an activation holds a fulfillment while active; deactivating gives it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationState {
    Active,
    Deactivated,
}

impl ActivationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivationState::Active => "ACTIVE",
            ActivationState::Deactivated => "DEACTIVATED",
        }
    }
}

/// One machine's activation of a key for a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    pub activation_id: String,
    pub key_id: String,
    pub account_id: String,
    pub product: Product,
    pub machine_fingerprint: String,
    pub hostname: String,
    pub version: String,
    /// The case-insensitive key of the person's e-mail, or empty when the back end did not name one.
    pub user_email: String,
    pub state: ActivationState,
    pub create_time: DateTime<Utc>,
    pub last_use_time: DateTime<Utc>,
    pub deactivate_time: Option<DateTime<Utc>>,
}

impl Activation {
    /// L10: when the activation was last seen: its release, or its last use while active.
    pub fn last_activity(&self) -> DateTime<Utc> {
        self.deactivate_time.unwrap_or(self.last_use_time)
    }
}

/// L6: an activation as the back end asks for it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActivation {
    pub key: KeyString,
    pub product: Product,
    pub machine_fingerprint: String,
    pub hostname: String,
    pub version: String,
    /// The case-insensitive key of the person's e-mail, or empty.
    pub user_email: String,
}

/// L6: which of a machine's activations a deactivation releases (all of its products when none is named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deactivation {
    pub key: KeyString,
    pub machine_fingerprint: String,
    pub product: Option<Product>,
}
