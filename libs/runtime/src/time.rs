//! Conversions between `chrono` and `google.protobuf.Timestamp`.

use chrono::{DateTime, TimeZone, Utc};
use prost_types::Timestamp;

pub fn to_proto(time: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

pub fn to_proto_opt(time: Option<DateTime<Utc>>) -> Option<Timestamp> {
    time.map(to_proto)
}

/// `None` for an out-of-range or negative-nanos timestamp.
pub fn from_proto(time: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(time.nanos).ok()?;
    Utc.timestamp_opt(time.seconds, nanos).single()
}
