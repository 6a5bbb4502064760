//! The caller's own gRPC framing, checked as the request body streams in: an empty body, a frame cut short,
//! bytes after the one message a method takes, a compression flag that is not 0 or 1 (or 1 with no encoding
//! named), and gRPC-Web text that is not base64 are the caller's fault. Left to tonic, each was `INTERNAL` with
//! its parser's words ("Unexpected EOF decoding stream.", "Missing request message."); here each becomes
//! `INVALID_ARGUMENT` (`INVALID_FIELD`). A compressed message with an encoding the server lacks is left to tonic,
//! which answers `UNIMPLEMENTED` naming the encodings it takes.
//!
//! The check is lazy: it only wraps the body, so nothing is read before the [`crate::server::Gate`] has checked
//! the token, and whoever reads the body first (the Gate reading the message for its bounds, or tonic) meets the
//! refusal as the body's error.

use std::{
    collections::HashSet,
    pin::Pin,
    sync::LazyLock,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use prost::Message;
use tonic::{Code, Status, body::Body};
use tower::{Layer, Service};

use crate::error::{self, reason};

/// The gRPC message prefix: a compression flag and a big-endian length.
const PREFIX: usize = 5;

/// The methods whose request is exactly one message (unary and server-streaming: every portal RPC, and health),
/// from the descriptor sets the server serves; client-streaming methods (reflection) may send any number.
static SINGLE_MESSAGE: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut paths = HashSet::new();
    for set in [
        portal_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ] {
        let set = match prost_types::FileDescriptorSet::decode(set) {
            Ok(set) => set,
            Err(e) => {
                // Compiled in, so this is a build fault; every other framing rule still holds without it.
                tracing::error!(error = %e, "the descriptor set does not decode; not counting request messages");
                continue;
            }
        };
        for file in &set.file {
            for service in &file.service {
                for method in service.method.iter().filter(|m| !m.client_streaming()) {
                    paths.insert(format!(
                        "/{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
    }
    paths
});

/// Checks the framing of every request body ([`Framing`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct FramingLayer;

impl FramingLayer {
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for FramingLayer {
    type Service = Framing<S>;

    fn layer(&self, inner: S) -> Framing<S> {
        Framing { inner }
    }
}

/// A service whose request bodies refuse bad framing as `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct Framing<S> {
    inner: S,
}

impl<S> Service<http::Request<Body>> for Framing<S>
where
    S: Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let rules = Rules::of(&request);
        self.inner
            .call(request.map(|body| Body::new(Checked::new(body, rules))))
    }
}

/// What a request's body must hold.
#[derive(Debug, Clone, Copy)]
struct Rules {
    /// Exactly one message (the method is not client-streaming).
    single: bool,
    /// The request names an encoding (`grpc-encoding` other than `identity`), so a compressed message (flag 1)
    /// may come; whether the server takes that encoding is tonic's to say.
    encoded: bool,
    /// gRPC-Web text: the body was base64, decoded on the way here.
    text: bool,
}

impl Rules {
    fn of(request: &http::Request<Body>) -> Self {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        // gRPC-Web arrives here as gRPC (tonic-web converted it); its content type says what it was.
        let text = header("content-type").starts_with("application/grpc-web-text");
        let encoding = header("grpc-encoding");
        Self {
            single: SINGLE_MESSAGE.contains(request.uri().path()),
            encoded: !encoding.is_empty() && encoding != "identity",
            text,
        }
    }
}

/// Where the body is within its framing.
#[derive(Debug, Clone, Copy)]
enum At {
    /// Reading a message prefix, `have` bytes of it so far.
    Prefix { prefix: [u8; PREFIX], have: usize },
    /// Inside a message, `left` bytes of it still to come.
    Message { left: usize },
}

/// A request body that refuses bad framing.
struct Checked {
    body: Body,
    rules: Rules,
    at: At,
    messages: usize,
    /// A refusal was given: the body ends there.
    refused: bool,
}

impl Checked {
    fn new(body: Body, rules: Rules) -> Self {
        Self {
            body,
            rules,
            at: At::Prefix {
                prefix: [0; PREFIX],
                have: 0,
            },
            messages: 0,
            refused: false,
        }
    }

    /// Follows `data` through the framing; the refusal when it breaks a rule.
    fn follow(&mut self, mut data: &[u8]) -> Result<(), Status> {
        while !data.is_empty() {
            match &mut self.at {
                At::Message { left } => {
                    let taken = (*left).min(data.len());
                    *left -= taken;
                    data = &data[taken..];
                    if *left == 0 {
                        self.at = At::Prefix {
                            prefix: [0; PREFIX],
                            have: 0,
                        };
                    }
                }
                At::Prefix { prefix, have } => {
                    let taken = (PREFIX - *have).min(data.len());
                    prefix[*have..*have + taken].copy_from_slice(&data[..taken]);
                    *have += taken;
                    data = &data[taken..];
                    if *have == PREFIX {
                        let [flag, a, b, c, d] = *prefix;
                        self.start_message(flag)?;
                        let left = u32::from_be_bytes([a, b, c, d]) as usize;
                        // An empty message (every field at its default) is whole once its prefix is.
                        self.at = if left == 0 {
                            At::Prefix {
                                prefix: [0; PREFIX],
                                have: 0,
                            }
                        } else {
                            At::Message { left }
                        };
                    }
                }
            }
        }
        Ok(())
    }

    fn start_message(&mut self, flag: u8) -> Result<(), Status> {
        match flag {
            0 => {}
            1 if self.rules.encoded => {}
            1 => {
                return Err(refusal(
                    "the request message is flagged compressed but the request names no grpc-encoding",
                ));
            }
            other => {
                return Err(refusal(format!(
                    "the request message has compression flag {other}; only 0 (uncompressed) and 1 \
                     (compressed with the grpc-encoding named) exist"
                )));
            }
        }
        self.messages += 1;
        if self.rules.single && self.messages > 1 {
            return Err(refusal(
                "the request body holds more than the one message this method takes",
            ));
        }
        Ok(())
    }

    /// The body ended: the refusal if it ended inside a message, or before the one message it must hold.
    fn end(&self) -> Result<(), Status> {
        match self.at {
            At::Prefix { have: 0, .. } if self.rules.single && self.messages == 0 => {
                Err(refusal("the request body holds no message"))
            }
            At::Prefix { have: 0, .. } => Ok(()),
            At::Prefix { .. } | At::Message { .. } => Err(refusal(
                "the request body ends inside a message: a gRPC frame is cut short",
            )),
        }
    }

    /// A body that could not be read: gRPC-Web text that is not base64, or a frame tonic-web could not take.
    /// A client that went away (`CANCELLED`) stays what it is.
    fn unreadable(&self, status: Status) -> Status {
        if !matches!(status.code(), Code::Internal | Code::Unknown) {
            return status;
        }
        tracing::debug!(error = %status.message(), "unreadable request body");
        if self.rules.text {
            refusal("the request body is not valid base64 (application/grpc-web-text)")
        } else {
            refusal("the request body could not be read as gRPC frames")
        }
    }
}

fn refusal(message: impl Into<String>) -> Status {
    error::invalid(reason::INVALID_ARGUMENT, message, &[])
}

impl HttpBody for Checked {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.refused {
            return Poll::Ready(None);
        }
        let polled = match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(polled) => polled,
        };
        let checked = match polled {
            Some(Ok(frame)) => match frame.data_ref().cloned() {
                Some(data) => self.follow(&data).map(|()| Some(frame)),
                None => Ok(Some(frame)),
            },
            Some(Err(status)) => Err(self.unreadable(status)),
            None => self.end().map(|()| None),
        };
        match checked {
            Ok(frame) => Poll::Ready(frame.map(Ok)),
            Err(status) => {
                self.refused = true;
                Poll::Ready(Some(Err(status)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // The end is where a body cut short is found, so it is polled for, never assumed.
        self.refused
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(single: bool, encoded: bool) -> Checked {
        Checked::new(
            Body::empty(),
            Rules {
                single,
                encoded,
                text: false,
            },
        )
    }

    /// The code a body of `chunks` ends with, fed to a [`Checked`] of `single`/`encoded`.
    fn verdict(single: bool, encoded: bool, chunks: &[&[u8]]) -> Result<(), Status> {
        let mut body = checked(single, encoded);
        for chunk in chunks {
            body.follow(chunk)?;
        }
        body.end()
    }

    #[test]
    fn one_well_formed_message_passes_in_any_chunks() {
        let message: &[u8] = &[0, 0, 0, 0, 3, 0x0a, 0x01, b'a'];
        assert!(verdict(true, false, &[message]).is_ok());
        assert!(verdict(true, false, &[&message[..2], &message[2..6], &message[6..]]).is_ok());
        assert!(verdict(true, false, &[&[0, 0, 0, 0, 0]]).is_ok());
        assert!(
            verdict(true, true, &[&[1, 0, 0, 0, 0]]).is_ok(),
            "compressed, an encoding named"
        );
    }

    #[test]
    fn bad_framing_is_invalid_argument() {
        for (what, chunks, encoded) in [
            ("empty", vec![], false),
            ("half a prefix", vec![&[0u8, 0, 0][..]], false),
            ("cut short", vec![&[0u8, 0, 0, 0, 10, 1][..]], false),
            ("trailing bytes", vec![&[0u8, 0, 0, 0, 0, 7, 7][..]], false),
            (
                "two messages",
                vec![&[0u8, 0, 0, 0, 0][..], &[0, 0, 0, 0, 0][..]],
                false,
            ),
            ("flag 222", vec![&[222u8, 0, 0, 0, 0][..]], false),
            ("flag 0x80", vec![&[0x80u8, 0, 0, 0, 0][..]], false),
            (
                "compressed, no encoding",
                vec![&[1u8, 0, 0, 0, 0][..]],
                false,
            ),
            (
                "flag 2 with an encoding",
                vec![&[2u8, 0, 0, 0, 0][..]],
                true,
            ),
        ] {
            let status = verdict(true, encoded, &chunks).expect_err(what);
            assert_eq!(status.code(), Code::InvalidArgument, "{what}");
            assert_eq!(
                error::reason_of(&status).as_deref(),
                Some(reason::INVALID_ARGUMENT),
                "{what}"
            );
        }
    }

    #[test]
    fn a_streaming_request_may_hold_any_number_of_messages() {
        assert!(verdict(false, false, &[]).is_ok());
        assert!(verdict(false, false, &[&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]).is_ok());
        assert!(
            verdict(false, false, &[&[0, 0, 0, 0, 1]]).is_err(),
            "still not cut short"
        );
    }

    #[test]
    fn an_unreadable_body_is_the_callers_fault_but_a_cancelled_one_stays_cancelled() {
        let text = Checked::new(
            Body::empty(),
            Rules {
                single: true,
                encoded: false,
                text: true,
            },
        );
        let base64 = text.unreadable(Status::internal("tonic-web: Invalid symbol 32, offset 3."));
        assert_eq!(base64.code(), Code::InvalidArgument);
        assert!(!base64.message().contains("offset"), "{}", base64.message());
        let gone = text.unreadable(Status::cancelled("h2 reset"));
        assert_eq!(gone.code(), Code::Cancelled);
    }

    #[test]
    fn every_portal_rpc_takes_one_message() {
        assert!(SINGLE_MESSAGE.contains("/portal.identity.v1.IdentityService/GetAccount"));
        assert!(SINGLE_MESSAGE.contains("/grpc.health.v1.Health/Watch"));
        assert!(
            !SINGLE_MESSAGE.contains("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
        );
    }
}
