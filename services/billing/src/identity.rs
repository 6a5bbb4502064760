//! What billing asks identity: who a portal user is, and whether an account exists (the shared
//! [`portal_clients::Directory`]).

pub use portal_clients::Directory as Identity;

use crate::error::Error;

portal_clients::client_errors!(Error);
