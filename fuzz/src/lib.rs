//! What every request target asserts: a request decoded from arbitrary bytes goes through its RPC's
//! request → typed command step without a panic, and a refusal is a clean gRPC error (a client's fault with a
//! reason, never `INTERNAL` or `UNKNOWN`).

use prost::Message;
use tonic::{Code, Status};

/// One RPC's check: decodes its request from the bytes (`None`: not a message of that type) and validates it.
pub type Check = fn(&[u8]) -> Option<Result<(), Status>>;

/// The request `M` the bytes encode, if they encode one.
pub fn decode<M: Message + Default>(bytes: &[u8]) -> Option<M> {
    M::decode(bytes).ok()
}

/// The first byte picks the RPC, the rest is its request.
pub fn run(data: &[u8], checks: &[(&str, Check)]) {
    let Some((pick, request)) = data.split_first() else {
        return;
    };
    let (rpc, check) = checks[usize::from(*pick) % checks.len()];
    if let Some(Err(status)) = check(request) {
        assert_clean(rpc, &status);
    }
}

/// A refusal is the client's fault, says so with a reason, and leaks nothing internal.
pub fn assert_clean(rpc: &str, status: &Status) {
    assert!(
        !matches!(status.code(), Code::Internal | Code::Unknown),
        "{rpc} answered {:?}: {}",
        status.code(),
        status.message()
    );
    assert!(
        portal_runtime::error::reason_of(status).is_some(),
        "{rpc} answered {:?} without an ErrorInfo reason: {}",
        status.code(),
        status.message()
    );
}

/// The checks of one service, named by RPC: `checks![pb::CreateUserRequest => |r| …]`.
#[macro_export]
macro_rules! checks {
    ($($rpc:literal: $request:ty => $check:expr),+ $(,)?) => {
        &[$((
            $rpc,
            (|bytes: &[u8]| $crate::decode::<$request>(bytes).map($check)) as $crate::Check,
        )),+]
    };
}
