//! Assertions on the errors the suites expect: the gRPC code, the `ErrorInfo` reason and the field violations
//! (`BadRequest`) every service attaches, written once for every suite.

use std::fmt::Debug;

use portal_runtime::error::{reason_of, violations_of};
use tonic::{Code, Status};

/// The status of a call that must fail.
#[track_caller]
fn failure<T: Debug>(result: Result<T, Status>) -> Status {
    match result {
        Err(status) => status,
        Ok(value) => panic!("expected an error, got {value:?}"),
    }
}

/// The call failed with `code` and the reason `reason`.
#[track_caller]
pub fn assert_status<T: Debug>(result: Result<T, Status>, code: Code, reason: &str) {
    let status = failure(result);
    assert_eq!(
        (status.code(), reason_of(&status).as_deref()),
        (code, Some(reason)),
        "{status:?}"
    );
}

/// The call failed with INVALID_ARGUMENT and a violation of `field`, whatever the reason.
#[track_caller]
pub fn assert_violation<T: Debug>(result: Result<T, Status>, field: &str) {
    let status = failure(result);
    assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
    assert!(
        violations_of(&status).iter().any(|v| v.field == field),
        "{field}: {:?}",
        violations_of(&status)
    );
}

/// The call failed with INVALID_ARGUMENT, the reason `reason` and a violation of `field`.
#[track_caller]
pub fn assert_invalid<T: Debug>(result: Result<T, Status>, reason: &str, field: &str) {
    let status = failure(result);
    assert_eq!(
        (status.code(), reason_of(&status).as_deref()),
        (Code::InvalidArgument, Some(reason)),
        "{status:?}"
    );
    assert!(
        violations_of(&status).iter().any(|v| v.field == field),
        "{field}: {:?}",
        violations_of(&status)
    );
}

/// The code and reason (empty if none) of a call that must fail, for a test that compares them itself.
#[track_caller]
pub fn reason<T: Debug>(result: Result<T, Status>) -> (Code, String) {
    let status = failure(result);
    (status.code(), reason_of(&status).unwrap_or_default())
}

/// The fields a status names as violated, in the order the service reported them.
pub fn violated_fields(status: &Status) -> Vec<String> {
    violations_of(status).into_iter().map(|v| v.field).collect()
}
