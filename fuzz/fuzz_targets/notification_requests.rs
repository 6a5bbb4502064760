//! NotificationService: the requests that become typed commands (PublishAdvisory, SendNotice).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portal_notification::domain::{NewAdvisory, NewNotice, Tlp};
use portal_proto::notification as pb;
use tonic::Status;

fn checked<T, E: Into<Status>>(result: Result<T, E>) -> Result<(), Status> {
    result.map(drop).map_err(Into::into)
}

fuzz_target!(|data: &[u8]| {
    portal_fuzz::run(
        data,
        portal_fuzz::checks![
            // The configured default TLP label comes with the request (N1).
            "PublishAdvisory": pb::PublishAdvisoryRequest => |r| checked(NewAdvisory::try_from((&r, Tlp::Clear))),
            "SendNotice": pb::SendNoticeRequest => |r| checked(NewNotice::try_from(&r)),
        ],
    );
});
