//! IdentityService: the requests that become typed commands (CreateAccount, CreateUser).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portal_identity::domain::{NewAccount, NewUser};
use portal_proto::identity as pb;
use tonic::Status;

fn checked<T, E: Into<Status>>(result: Result<T, E>) -> Result<(), Status> {
    result.map(drop).map_err(Into::into)
}

fuzz_target!(|data: &[u8]| {
    portal_fuzz::run(
        data,
        portal_fuzz::checks![
            "CreateAccount": pb::CreateAccountRequest => |r| checked(NewAccount::try_from(r)),
            "CreateUser": pb::CreateUserRequest => |r| checked(NewUser::try_from(r)),
        ],
    );
});
