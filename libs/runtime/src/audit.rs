//! The append-only audit log (I12): who did what to which resource, before and after, when, under which
//! request and trace. Written with the same connection (transaction) as the change it records.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::context::CallContext;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub account_id: String,
        pub actor: String,
        pub action: String,
        pub resource_type: String,
        pub resource_id: String,
        pub before: Option<String>,
        pub after: Option<String>,
        pub request_id: String,
        pub trace_id: String,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub account_id: &'a str,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Appends `change`, attributed to the caller in `context`.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    context: &CallContext,
    change: Change<'_>,
) -> Result<(), DbErr> {
    let now: DateTime<Utc> = Utc::now();
    entity::ActiveModel {
        // UUIDv7 ids sort by time, which gives the log a stable order for paging.
        event_id: Set(uuid::Uuid::now_v7().to_string()),
        account_id: Set(change.account_id.into()),
        actor: Set(context.principal.actor()),
        action: Set(change.action.into()),
        resource_type: Set(change.resource_type.into()),
        resource_id: Set(change.resource_id.into()),
        before: Set(change.before.map(|v| v.to_string())),
        after: Set(change.after.map(|v| v.to_string())),
        request_id: Set(context.request_id.clone()),
        trace_id: Set(context.trace_id.clone()),
        create_time: Set(now),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// One page of an account's events, oldest first, after event id `after`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<entity::Model>, DbErr> {
    use entity::Column;
    let mut query = entity::Entity::find().filter(Column::AccountId.eq(account_id));
    if let Some(after) = after {
        query = query.filter(Column::EventId.gt(after));
    }
    query
        .order_by_asc(Column::EventId)
        .limit(limit)
        .all(db)
        .await
}

/// A stored before/after snapshot as a `google.protobuf.Struct` (non-object JSON is wrapped as `{"value": …}`).
pub fn to_struct(json: Option<&str>) -> Option<prost_types::Struct> {
    let value: serde_json::Value = serde_json::from_str(json?).ok()?;
    match to_value(value).kind {
        Some(prost_types::value::Kind::StructValue(s)) => Some(s),
        other => Some(prost_types::Struct {
            fields: [("value".to_string(), prost_types::Value { kind: other })]
                .into_iter()
                .collect(),
        }),
    }
}

fn to_value(json: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    use serde_json::Value as J;
    let kind = match json {
        J::Null => Kind::NullValue(0),
        J::Bool(b) => Kind::BoolValue(b),
        J::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        J::String(s) => Kind::StringValue(s),
        J::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(to_value).collect(),
        }),
        J::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map.into_iter().map(|(k, v)| (k, to_value(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}
