//! Reading the descriptor set: every message by its full name, and the [`Rules`] of its fields.

use std::collections::HashMap;

use prost_types::{DescriptorProto, field_descriptor_proto::Type};

use super::{Field, Kind, Rules, bound_of};

pub(super) fn collect<'a>(
    into: &mut Vec<(String, &'a DescriptorProto)>,
    scope: &str,
    message: &'a DescriptorProto,
) {
    let name = format!("{scope}.{}", message.name());
    for nested in &message.nested_type {
        collect(into, &name, nested);
    }
    into.push((name, message));
}

pub(super) fn rules(
    name: &str,
    descriptor: &DescriptorProto,
    index: &HashMap<&str, usize>,
) -> Rules {
    let mut repeated = 0;
    let mut fields: Vec<Field> = descriptor
        .field
        .iter()
        .map(|f| {
            let kind = match f.r#type() {
                Type::String | Type::Bytes => Kind::Text,
                Type::Message | Type::Group => index
                    .get(f.type_name())
                    .map_or(Kind::Varint, |&m| Kind::Message(m)),
                Type::Fixed32 | Type::Sfixed32 | Type::Float => Kind::Fixed32,
                Type::Fixed64 | Type::Sfixed64 | Type::Double => Kind::Fixed64,
                _ => Kind::Varint,
            };
            let slot =
                (f.label() == prost_types::field_descriptor_proto::Label::Repeated).then(|| {
                    repeated += 1;
                    repeated - 1
                });
            let bound = bound_of(&format!("{}.{}", &name[1..], f.name()));
            Field {
                number: u32::try_from(f.number()).unwrap_or_default(),
                name: f.name().to_string(),
                kind,
                slot,
                max_bytes: bound.max_bytes,
                max_elements: bound.max_elements,
            }
        })
        .collect();
    fields.sort_by_key(|f| f.number);
    Rules { fields, repeated }
}
