//! Background work of the licensing service, started from [`crate::LicensingApi`]: the expiry sweep (L7).

mod expiry;

pub(crate) use expiry::spawn_expiry_sweep;
