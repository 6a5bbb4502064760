//! Issue 14: a bound on every string, bytes and repeated field of every request, nested messages included,
//! checked on the request's protobuf wire bytes by the server [`Gate`](crate::server::Gate) before a handler
//! decodes it. The fields and their types come from the descriptor set the suite serves, so a field added
//! tomorrow is bounded without anyone remembering to.
//!
//! Every string or bytes field holds at most [`MAX_TEXT_BYTES`] bytes and every repeated field (maps included)
//! at most [`MAX_ELEMENTS`] elements, unless [`LONGER_TEXT`] or [`LONGER_LISTS`] says otherwise. A domain bound
//! (names, e-mail, request ids, …) stays where it is and is tighter, so the domain's own error stays the one a
//! caller sees for a value between the two; the bounds here are at least four bytes per character of any domain
//! bound counted in characters.
//!
//! One pass over the bytes, no allocation but for a message with more than [`STACK_COUNTERS`] repeated fields;
//! a body that is not valid protobuf is left to the decoder (and its error to the gate's blaming).

use std::collections::HashMap;

use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorSet};

use crate::error::FieldViolation;

mod descriptors;
mod walk;

use descriptors::{collect, rules};
use walk::Walk;

/// The most bytes of a string or bytes field without an entry in [`LONGER_TEXT`].
pub const MAX_TEXT_BYTES: usize = 1024;
/// The most elements of a repeated or map field without an entry in [`LONGER_LISTS`].
pub const MAX_ELEMENTS: usize = 1000;
/// The largest message the servers decode (tonic's default `max_decoding_message_size`): a field bounded by it
/// has no bound of its own; a larger message is refused as `MESSAGE_TOO_LARGE` before any field is looked at.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Fields that legitimately hold more than [`MAX_TEXT_BYTES`], by full name, with the domain bound they serve.
pub const LONGER_TEXT: &[(&str, usize)] = &[
    // N1: 20,000 characters each (`advisory::TEXT_LIMIT`), at up to 4 bytes a character.
    (
        "portal.notification.v1.PublishAdvisoryRequest.summary",
        80_000,
    ),
    (
        "portal.notification.v1.PublishAdvisoryRequest.impact",
        80_000,
    ),
    (
        "portal.notification.v1.PublishAdvisoryRequest.conditions",
        80_000,
    ),
    (
        "portal.notification.v1.PublishAdvisoryRequest.resolution",
        80_000,
    ),
    // A CSAF document: 4 MiB (`csaf::MAX_DOCUMENT_BYTES`), i.e. the message itself.
    (
        "portal.notification.v1.PublishCsafAdvisoryRequest.document",
        MAX_MESSAGE_BYTES,
    ),
    // N6: attachments are bounded in all (5 MiB), so by the message.
    (
        "portal.notification.v1.Attachment.content",
        MAX_MESSAGE_BYTES,
    ),
    // N6: a template field's value, 2,000 bytes.
    (
        "portal.notification.v1.SendNoticeRequest.FieldsEntry.value",
        2000,
    ),
    // L13: a revocation's reason, 1,000 characters.
    ("portal.licensing.v1.RevokeKeyRequest.reason", 4000),
    // An invoice is voided for a reason of 500 characters.
    ("portal.billing.v1.VoidInvoiceRequest.reason", 2000),
];

/// Repeated fields that legitimately hold more than [`MAX_ELEMENTS`], by full name.
pub const LONGER_LISTS: &[(&str, usize)] = &[
    // N1: an advisory may name up to 100,000 accounts (PublishAdvisory and PublishCsafAdvisory).
    ("portal.notification.v1.AccountList.account_ids", 100_000),
];

/// What a bound violation's description ends with, so a caller (and a test) can tell it from a domain check.
pub const BOUND_NOTE: &str = "(request bound)";

/// Repeated fields a message may have before its counters move off the stack.
pub const STACK_COUNTERS: usize = 16;
/// The wire shape of a field, as far as bounds care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// string or bytes: the length is bounded.
    Text,
    /// A message (a map's entries too): looked into.
    Message(usize),
    /// A scalar that packs as varints (ints, bools, enums).
    Varint,
    /// A scalar that packs as 4 bytes.
    Fixed32,
    /// A scalar that packs as 8 bytes.
    Fixed64,
}

#[derive(Debug)]
struct Field {
    number: u32,
    name: String,
    kind: Kind,
    /// Its counter among the message's repeated fields, if it is repeated.
    slot: Option<usize>,
    max_bytes: usize,
    max_elements: usize,
}

#[derive(Debug, Default)]
struct Rules {
    /// Sorted by number.
    fields: Vec<Field>,
    repeated: usize,
}

/// The bounds of every request message of the suite's contracts, by method path.
#[derive(Debug)]
pub struct Limits {
    messages: Vec<Rules>,
    /// `/package.Service/Method` → the request message.
    methods: HashMap<String, usize>,
}

/// The bound on one field, by full name (`package.Message.field`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub max_bytes: usize,
    pub max_elements: usize,
}

/// The bound on the field `full_name` (`package.Message.field`): its override, or the default.
pub fn bound_of(full_name: &str) -> Bound {
    let find = |table: &[(&str, usize)], default| {
        table
            .iter()
            .find(|(name, _)| *name == full_name)
            .map_or(default, |(_, n)| *n)
    };
    Bound {
        max_bytes: find(LONGER_TEXT, MAX_TEXT_BYTES),
        max_elements: find(LONGER_LISTS, MAX_ELEMENTS),
    }
}

impl Limits {
    /// The bounds of the suite's own contracts.
    pub fn of_contracts() -> Result<Self, prost::DecodeError> {
        let set = FileDescriptorSet::decode(portal_proto::FILE_DESCRIPTOR_SET)?;
        Ok(Self::from_set(&set))
    }

    /// The bounds of every request of the services in `set`.
    pub fn from_set(set: &FileDescriptorSet) -> Self {
        // Every message of the set, by its full name (`.package.Message`), nested ones included.
        let mut descriptors: Vec<(String, &DescriptorProto)> = Vec::new();
        for file in &set.file {
            for message in &file.message_type {
                collect(&mut descriptors, &format!(".{}", file.package()), message);
            }
        }
        let index: HashMap<&str, usize> = descriptors
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_str(), i))
            .collect();
        let messages = descriptors
            .iter()
            .map(|(name, descriptor)| rules(name, descriptor, &index))
            .collect();
        let mut methods = HashMap::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    if let Some(&i) = index.get(method.input_type()) {
                        let path =
                            format!("/{}.{}/{}", file.package(), service.name(), method.name());
                        methods.insert(path, i);
                    }
                }
            }
        }
        Self { messages, methods }
    }

    /// Whether `path` is a method whose requests are bounded here.
    pub fn knows(&self, path: &str) -> bool {
        self.methods.contains_key(path)
    }

    /// Checks one request message of the method `path` (an unknown method passes): the first field over its
    /// bound, named by its path (`items[3].sku`), and the bound.
    pub fn check(&self, path: &str, message: &[u8]) -> Result<(), FieldViolation> {
        match self.methods.get(path) {
            Some(&m) => match self.walk(m, message, None, 0) {
                Walk::Over(violation) => Err(violation),
                Walk::Fine | Walk::Malformed => Ok(()),
            },
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use portal_proto::{billing, notification};

    fn limits() -> Limits {
        Limits::of_contracts().unwrap()
    }

    const PURCHASE: &str = "/portal.billing.v1.BillingService/CreatePurchase";

    fn purchase(sku: &str, lines: usize) -> Vec<u8> {
        billing::CreatePurchaseRequest {
            account_id: "ACC-1".into(),
            items: (0..lines)
                .map(|i| billing::PurchaseItem {
                    sku: if i == 3 { sku.into() } else { "TC-1Y".into() },
                    quantity: 1,
                })
                .collect(),
            request_id: "r1".into(),
        }
        .encode_to_vec()
    }

    #[test]
    fn a_nested_string_over_its_bound_is_named_by_its_path() {
        let limits = limits();
        assert!(
            limits
                .check(PURCHASE, &purchase(&"x".repeat(MAX_TEXT_BYTES), 5))
                .is_ok()
        );
        let over = limits
            .check(PURCHASE, &purchase(&"x".repeat(MAX_TEXT_BYTES + 1), 5))
            .unwrap_err();
        assert_eq!(over.field, "items[3].sku");
        assert!(
            over.description.contains("1024 bytes"),
            "{}",
            over.description
        );
    }

    #[test]
    fn a_list_over_its_bound_is_named() {
        let limits = limits();
        assert!(limits.check(PURCHASE, &purchase("A", MAX_ELEMENTS)).is_ok());
        let over = limits
            .check(PURCHASE, &purchase("A", MAX_ELEMENTS + 1))
            .unwrap_err();
        assert_eq!(over.field, "items");
        assert!(over.description.contains("1000 elements"));
    }

    #[test]
    fn overrides_apply_and_name_real_fields() {
        let set = FileDescriptorSet::decode(portal_proto::FILE_DESCRIPTOR_SET).unwrap();
        let mut names = Vec::new();
        for file in &set.file {
            let mut all = Vec::new();
            for m in &file.message_type {
                collect(&mut all, &format!(".{}", file.package()), m);
            }
            for (name, m) in all {
                for f in &m.field {
                    names.push(format!("{}.{}", &name[1..], f.name()));
                }
            }
        }
        for (field, bound) in LONGER_TEXT.iter().chain(LONGER_LISTS) {
            assert!(names.contains(&field.to_string()), "{field} is not a field");
            assert!(
                *bound > MAX_TEXT_BYTES.min(MAX_ELEMENTS),
                "{field} is no longer"
            );
        }
        let path = "/portal.notification.v1.NotificationService/PublishAdvisory";
        let advisory = |summary: usize, accounts: usize| {
            notification::PublishAdvisoryRequest {
                summary: "s".repeat(summary),
                target: Some(notification::publish_advisory_request::Target::AccountIds(
                    notification::AccountList {
                        account_ids: vec![String::new(); accounts],
                    },
                )),
                ..Default::default()
            }
            .encode_to_vec()
        };
        let limits = limits();
        assert!(limits.check(path, &advisory(80_000, 100_000)).is_ok());
        assert_eq!(
            limits.check(path, &advisory(80_001, 1)).unwrap_err().field,
            "summary"
        );
        assert_eq!(
            limits.check(path, &advisory(1, 100_001)).unwrap_err().field,
            "account_ids.account_ids"
        );
    }

    #[test]
    fn map_values_and_packed_lists_are_counted() {
        let limits = limits();
        let notice = |value: usize| {
            notification::SendNoticeRequest {
                fields: [("a".to_string(), "v".repeat(value))].into(),
                ..Default::default()
            }
            .encode_to_vec()
        };
        let path = "/portal.notification.v1.NotificationService/SendNotice";
        assert!(limits.check(path, &notice(2000)).is_ok());
        assert_eq!(
            limits.check(path, &notice(2001)).unwrap_err().field,
            "fields[0].value"
        );
        let products = |n: usize| {
            portal_proto::licensing::ListAccountsWithProductsRequest {
                products: vec![1; n],
            }
            .encode_to_vec()
        };
        let path = "/portal.licensing.v1.LicensingService/ListAccountsWithProducts";
        assert!(limits.check(path, &products(MAX_ELEMENTS)).is_ok());
        assert_eq!(
            limits
                .check(path, &products(MAX_ELEMENTS + 1))
                .unwrap_err()
                .field,
            "products"
        );
    }

    #[test]
    fn what_is_not_protobuf_is_left_to_the_decoder() {
        let limits = limits();
        assert!(limits.check(PURCHASE, &[0xff, 0xff, 0xff]).is_ok());
        assert!(limits.check(PURCHASE, &[0x0a, 0x7f, b'x']).is_ok());
        assert!(limits.check("/unknown/Method", &[0x0a]).is_ok());
    }

    /// The walker's cost on a typical request: `cargo test --release -p portal-runtime limits::tests::cost --
    /// --ignored --nocapture`. Prints, asserts nothing about time.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn cost() {
        let limits = limits();
        let typical = purchase("TC-1Y", 5);
        let advisory = notification::PublishAdvisoryRequest {
            title: "Remote code execution in the extension host".into(),
            summary: "A crafted extension can run code on the server.".repeat(20),
            cve_ids: vec!["CVE-2026-40001".into(); 3],
            affected_products: vec![
                notification::AffectedProduct {
                    product: 3,
                    versions: vec!["2026.1".into()],
                    fixed_versions: vec!["2026.1.3".into()],
                };
                2
            ],
            request_id: "psirt-2026-017".into(),
            ..Default::default()
        }
        .encode_to_vec();
        let get = portal_proto::identity::GetUserRequest {
            user_id: "USR-0190f6a1b2c3".into(),
            ..Default::default()
        }
        .encode_to_vec();
        for (name, path, bytes) in [
            (
                "GetUser",
                "/portal.identity.v1.IdentityService/GetUser",
                &get,
            ),
            ("CreatePurchase (5 lines)", PURCHASE, &typical),
            (
                "PublishAdvisory",
                "/portal.notification.v1.NotificationService/PublishAdvisory",
                &advisory,
            ),
        ] {
            let n = 1_000_000u32;
            let started = std::time::Instant::now();
            for _ in 0..n {
                assert!(
                    limits
                        .check(std::hint::black_box(path), std::hint::black_box(bytes))
                        .is_ok()
                );
            }
            let ns = started.elapsed().as_nanos() / u128::from(n);
            println!("{name}: {} bytes, {ns} ns/op", bytes.len());
        }
    }
}
