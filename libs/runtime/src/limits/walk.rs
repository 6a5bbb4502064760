//! The limits walker: one pass over a request's protobuf wire bytes, counting repeated fields and measuring
//! text against the rules of each message, descending into nested messages.

use super::{BOUND_NOTE, Kind, Limits, STACK_COUNTERS};
use crate::error::FieldViolation;

/// Nested messages deeper than this are not looked into (the decoder stops at 100; no contract nests past 4).
const MAX_DEPTH: u32 = 32;

impl Limits {
    pub(super) fn walk(
        &self,
        message: usize,
        mut bytes: &[u8],
        at: Option<&Crumb<'_>>,
        depth: u32,
    ) -> Walk {
        let Some(rules) = self.messages.get(message) else {
            return Walk::Fine;
        };
        let mut stack = [0usize; STACK_COUNTERS];
        let mut heap = Vec::new();
        let counts: &mut [usize] = if rules.repeated <= STACK_COUNTERS {
            &mut stack[..rules.repeated]
        } else {
            heap.resize(rules.repeated, 0);
            heap.as_mut_slice()
        };
        while !bytes.is_empty() {
            let Some(key) = varint(&mut bytes) else {
                return Walk::Malformed;
            };
            let (number, wire) = ((key >> 3) as u32, (key & 7) as u8);
            let field = rules
                .fields
                .binary_search_by_key(&number, |f| f.number)
                .ok()
                .and_then(|i| rules.fields.get(i));
            let payload = match wire {
                0 => {
                    if varint(&mut bytes).is_none() {
                        return Walk::Malformed;
                    }
                    None
                }
                1 => match bytes.get(8..) {
                    Some(rest) => {
                        bytes = rest;
                        None
                    }
                    None => return Walk::Malformed,
                },
                5 => match bytes.get(4..) {
                    Some(rest) => {
                        bytes = rest;
                        None
                    }
                    None => return Walk::Malformed,
                },
                2 => {
                    let Some(len) = varint(&mut bytes).and_then(|n| usize::try_from(n).ok()) else {
                        return Walk::Malformed;
                    };
                    if len > bytes.len() {
                        return Walk::Malformed;
                    }
                    let (payload, rest) = bytes.split_at(len);
                    bytes = rest;
                    Some(payload)
                }
                _ => return Walk::Malformed, // groups: nothing of ours uses them
            };
            let Some(field) = field else { continue }; // an unknown field: the decoder skips it
            let index = match field.slot.and_then(|s| counts.get_mut(s)) {
                Some(count) => {
                    let index = *count;
                    *count += match (field.kind, payload) {
                        (Kind::Varint, Some(p)) => p.iter().filter(|b| **b < 0x80).count(),
                        (Kind::Fixed32, Some(p)) => p.len() / 4,
                        (Kind::Fixed64, Some(p)) => p.len() / 8,
                        _ => 1,
                    };
                    if *count > field.max_elements {
                        let crumb = Crumb {
                            parent: at,
                            name: &field.name,
                            index: None,
                        };
                        return Walk::Over(FieldViolation::new(
                            crumb.path(),
                            format!(
                                "must have at most {} elements {BOUND_NOTE}",
                                field.max_elements
                            ),
                        ));
                    }
                    Some(index)
                }
                None => None,
            };
            let crumb = Crumb {
                parent: at,
                name: &field.name,
                index,
            };
            match (field.kind, payload) {
                (Kind::Text, Some(p)) if p.len() > field.max_bytes => {
                    return Walk::Over(FieldViolation::new(
                        crumb.path(),
                        format!("must be at most {} bytes {BOUND_NOTE}", field.max_bytes),
                    ));
                }
                (Kind::Message(m), Some(p)) if depth < MAX_DEPTH => {
                    match self.walk(m, p, Some(&crumb), depth + 1) {
                        Walk::Fine => {}
                        other => return other,
                    }
                }
                _ => {}
            }
        }
        Walk::Fine
    }
}

pub(super) enum Walk {
    Fine,
    Over(FieldViolation),
    /// Not protobuf: the handler's decoder says so.
    Malformed,
}

/// Where the walk is, kept on the stack and only spelled out for a violation.
pub(super) struct Crumb<'a> {
    parent: Option<&'a Crumb<'a>>,
    name: &'a str,
    index: Option<usize>,
}

impl Crumb<'_> {
    fn path(&self) -> String {
        let mut parts = Vec::new();
        let mut at = Some(self);
        while let Some(crumb) = at {
            parts.push(match crumb.index {
                Some(i) => format!("{}[{i}]", crumb.name),
                None => crumb.name.to_string(),
            });
            at = crumb.parent;
        }
        parts.reverse();
        parts.join(".")
    }
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in 0..10 {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << (shift * 7);
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}
