//! Issue 14: a bound on every string, bytes and repeated field of every request, and on every page. The fields
//! are read from the descriptor set the suite serves — every RPC, every field of its request and of the messages
//! it nests — so a field added tomorrow is probed without a new row: one over its bound, the call is refused
//! with `INVALID_ARGUMENT` (`INVALID_FIELD`) naming the field's path; at its bound, the bound does not refuse it
//! (the domain may, with its own more specific error) and nothing fails internally. Fields bounded only by the
//! largest message the server decodes are refused as `MESSAGE_TOO_LARGE`. Every list RPC's `page_size` is read
//! by the one paging parser: a negative one is refused by name, a huge one is clamped, not refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::collections::HashMap;

use bytes::BufMut;
use prost::{
    Message,
    encoding::{WireType, encode_key, encode_varint},
};
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};
use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};

use portal_runtime::{
    error::{reason_of, violations_of},
    limits::{BOUND_NOTE, MAX_MESSAGE_BYTES, bound_of},
};
use portal_testkit::{Backend, TestApp, raw::Raw, storage_test};

#[path = "limits/framing.rs"]
mod framing;

/// How deep the probes go into nested messages (the request is depth 0).
const DEPTH: usize = 3;

struct Contracts {
    /// Every message by full name without the leading dot (`portal.billing.v1.PurchaseItem`).
    messages: HashMap<String, DescriptorProto>,
    /// Every RPC: path, server-streaming, request message name.
    rpcs: Vec<(String, bool, String)>,
}

fn contracts() -> Contracts {
    fn collect(into: &mut HashMap<String, DescriptorProto>, scope: &str, m: &DescriptorProto) {
        let name = format!("{scope}.{}", m.name());
        for nested in &m.nested_type {
            collect(into, &name, nested);
        }
        into.insert(name, m.clone());
    }
    let set = FileDescriptorSet::decode(portal_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut messages = HashMap::new();
    let mut rpcs = Vec::new();
    for file in &set.file {
        for m in &file.message_type {
            collect(&mut messages, file.package(), m);
        }
        if !file.package().starts_with("portal.") {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                assert!(!method.client_streaming(), "{}", method.name());
                rpcs.push((
                    format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                    method.server_streaming(),
                    method.input_type().trim_start_matches('.').to_string(),
                ));
            }
        }
    }
    Contracts { messages, rpcs }
}

/// One probe: the request bytes with one field over (or at) its bound, and the path the gate must name.
#[derive(Debug)]
struct Probe {
    /// `items[0].sku`, `cve_ids`, …
    path: String,
    /// `portal.billing.v1.PurchaseItem.sku`.
    field: String,
    bound: usize,
    /// Bounded only by the largest message the server decodes.
    by_message: bool,
    over: Vec<u8>,
    at: Vec<u8>,
}

fn wire_of(f: &FieldDescriptorProto) -> WireType {
    match f.r#type() {
        Type::String | Type::Bytes | Type::Message | Type::Group => WireType::LengthDelimited,
        Type::Fixed32 | Type::Sfixed32 | Type::Float => WireType::ThirtyTwoBit,
        Type::Fixed64 | Type::Sfixed64 | Type::Double => WireType::SixtyFourBit,
        _ => WireType::Varint,
    }
}

/// `n` elements of `f`, each its zero value (an empty string or message, a 0), one record each.
fn elements(f: &FieldDescriptorProto, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..n {
        let wire = wire_of(f);
        encode_key(f.number() as u32, wire, &mut out);
        match wire {
            WireType::ThirtyTwoBit => out.put_u32_le(0),
            WireType::SixtyFourBit => out.put_u64_le(0),
            _ => out.push(0), // a varint 0, or a length of 0
        }
    }
    out
}

fn length_delimited(number: i32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_key(number as u32, WireType::LengthDelimited, &mut out);
    encode_varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

/// Every probe of `message` and the messages it nests, with `prefix` the path to it.
fn probes(
    c: &Contracts,
    message: &str,
    prefix: &str,
    depth: usize,
    seen: &[&str],
    out: &mut Vec<Probe>,
) {
    let descriptor = c
        .messages
        .get(message)
        .unwrap_or_else(|| panic!("{message} is not in the descriptor set"));
    for f in &descriptor.field {
        let full = format!("{message}.{}", f.name());
        let bound = bound_of(&full);
        let repeated = f.label() == Label::Repeated;
        let name = format!("{prefix}{}", f.name());
        if repeated {
            out.push(Probe {
                path: name.clone(),
                field: full.clone(),
                bound: bound.max_elements,
                by_message: false,
                over: elements(f, bound.max_elements + 1),
                at: elements(f, bound.max_elements),
            });
        }
        let element = if repeated {
            format!("{name}[0]")
        } else {
            name.clone()
        };
        match f.r#type() {
            Type::String | Type::Bytes => {
                let text = |n: usize| length_delimited(f.number(), &vec![b'x'; n]);
                out.push(Probe {
                    path: element,
                    field: full,
                    bound: bound.max_bytes,
                    by_message: bound.max_bytes >= MAX_MESSAGE_BYTES,
                    over: text(bound.max_bytes + 1),
                    at: text(bound.max_bytes),
                });
            }
            Type::Message if depth < DEPTH => {
                let nested = f.type_name().trim_start_matches('.');
                if seen.contains(&nested) {
                    continue;
                }
                let mut inner = Vec::new();
                let mut chain = seen.to_vec();
                chain.push(nested);
                probes(
                    c,
                    nested,
                    &format!("{element}."),
                    depth + 1,
                    &chain,
                    &mut inner,
                );
                out.extend(inner.into_iter().map(|p| Probe {
                    over: length_delimited(f.number(), &p.over),
                    at: length_delimited(f.number(), &p.at),
                    ..p
                }));
            }
            _ => {}
        }
    }
}

/// Calls the RPC at `path` with `body`; a unary call's answer, or a stream's first message.
async fn call(
    channel: &Channel,
    path: &str,
    streaming: bool,
    body: Vec<u8>,
    token: &str,
) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let mut request = Request::new(body);
    request.set_timeout(std::time::Duration::from_secs(30));
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    let path = path.parse().unwrap();
    if streaming {
        let mut stream = grpc
            .server_streaming(request, path, Raw)
            .await?
            .into_inner();
        stream.message().await.map(|_| ())
    } else {
        grpc.unary(request, path, Raw).await.map(|_| ())
    }
}

fn refused_by_the_bound(status: &Status) -> bool {
    violations_of(status)
        .iter()
        .any(|v| v.description.ends_with(BOUND_NOTE))
}

const EVERY_SCOPE: &str = "identity.admin licensing.issue licensing.activate billing.payments billing.catalog notification.publish internal";

storage_test!(
    every_string_and_list_of_every_request_is_bounded,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let channel = app.channel().await;
        let token = app.service_token("probe", EVERY_SCOPE);
        let c = contracts();
        let mut wrong = Vec::new();
        let (mut fields, mut calls) = (0, 0);
        let mut by_message = Vec::new();
        for (path, streaming, request) in &c.rpcs {
            let mut all = Vec::new();
            probes(&c, request, "", 0, &[request.as_str()], &mut all);
            for probe in all {
                fields += 1;
                let Probe {
                    path: field_path,
                    field,
                    bound,
                    over,
                    at,
                    ..
                } = &probe;
                calls += 1;
                let refused = call(&channel, path, *streaming, over.clone(), &token).await;
                if probe.by_message {
                    by_message.push(field.clone());
                    match refused {
                        Err(s)
                            if s.code() == Code::ResourceExhausted
                                && reason_of(&s).as_deref() == Some("MESSAGE_TOO_LARGE") => {}
                        other => wrong.push(format!(
                            "{path} {field_path} over the message limit: {other:?}"
                        )),
                    }
                    continue; // at the bound, the field alone fills the message
                }
                match refused {
                    Err(s)
                        if s.code() == Code::InvalidArgument
                            && reason_of(&s).as_deref() == Some("INVALID_FIELD")
                            && violations_of(&s).iter().any(|v| {
                                v.field == *field_path
                                    && v.description.contains(&bound.to_string())
                                    && v.description.ends_with(BOUND_NOTE)
                            }) => {}
                    Err(s) => wrong.push(format!(
                        "{path} {field_path} ({field}) one over {bound}: {:?} {:?} {:?}",
                        s.code(),
                        s.message(),
                        violations_of(&s)
                    )),
                    Ok(()) => wrong.push(format!(
                        "{path} {field_path} ({field}) one over {bound}: OK"
                    )),
                }
                calls += 1;
                match call(&channel, path, *streaming, at.clone(), &token).await {
                    Err(s) if refused_by_the_bound(&s) => wrong.push(format!(
                        "{path} {field_path} at its bound {bound} refused by it: {:?}",
                        violations_of(&s)
                    )),
                    Err(s) if matches!(s.code(), Code::Internal | Code::Unknown) => {
                        wrong.push(format!(
                            "{path} {field_path} at its bound {bound}: {:?} {}",
                            s.code(),
                            s.message()
                        ))
                    }
                    _ => {}
                }
            }
        }
        println!(
            "{} RPCs, {fields} bounded fields probed in {calls} calls; bounded by the message size: {by_message:?}",
            c.rpcs.len()
        );
        assert!(fields >= 150, "only {fields} fields probed");
        assert!(
            wrong.is_empty(),
            "{} of {fields} fields wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
);

storage_test!(
    every_list_rpc_clamps_its_page_size,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let channel = app.channel().await;
        let token = app.service_token("probe", EVERY_SCOPE);
        let account = app.new_account("Acme", false).await;
        let c = contracts();
        let mut wrong = Vec::new();
        let mut lists = 0;
        for (path, streaming, request) in &c.rpcs {
            let descriptor = &c.messages[request];
            let Some(page_size) = descriptor.field.iter().find(|f| f.name() == "page_size") else {
                continue;
            };
            assert_eq!(page_size.r#type(), Type::Int32, "{request}.page_size");
            lists += 1;
            // A real account where the request names one, so the call gets past authorization to the paging.
            let scoped = descriptor
                .field
                .iter()
                .find(|f| f.name() == "account_id")
                .map(|f| length_delimited(f.number(), account.as_bytes()))
                .unwrap_or_default();
            let with_size = |size: i32| {
                let mut body = scoped.clone();
                encode_key(page_size.number() as u32, WireType::Varint, &mut body);
                encode_varint(i64::from(size) as u64, &mut body);
                body
            };
            match call(&channel, path, *streaming, with_size(-1), &token).await {
                Err(s)
                    if s.code() == Code::InvalidArgument
                        && violations_of(&s).iter().any(|v| v.field == "page_size") => {}
                other => wrong.push(format!("{path} page_size -1: {other:?}")),
            }
            match call(&channel, path, *streaming, with_size(i32::MAX), &token).await {
                Err(s)
                    if violations_of(&s).iter().any(|v| v.field == "page_size")
                        || matches!(s.code(), Code::Internal | Code::Unknown) =>
                {
                    wrong.push(format!("{path} page_size {}: {s:?}", i32::MAX));
                }
                _ => {}
            }
        }
        println!("{lists} list RPCs");
        assert!(lists >= 10, "{lists} list RPCs");
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
);
