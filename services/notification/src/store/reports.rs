//! N14: what came back for deliveries — recording a report (the same report once, audited in the same
//! transaction), the hard bounce that ends a delivery `DEAD` even after it was `SENT`, and each account's
//! complaints (N10's report).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};
use serde_json::json;

use super::{
    entity::{delivery, delivery_report},
    inserted,
    ledger::unleased,
};
use crate::{
    domain::{
        About, Delivery, DeliveryState,
        bounce::{Report, ReportKind},
    },
    error::Result,
};

/// What recording a report changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// A report not seen before (a second copy changes nothing).
    pub fresh: bool,
    /// The report ended the delivery `DEAD`.
    pub killed: bool,
}

/// N14: records `report` about `delivery` at `now`, audited as `context`'s; a hard bounce (N14) makes the
/// delivery `DEAD` with the remote diagnostic, whatever state it was in, and releases any worker's lease on it
/// so that an attempt in flight cannot mark it `SENT` again.
pub async fn record(
    db: &DatabaseConnection,
    context: &CallContext,
    delivery: &Delivery,
    report: &Report,
    now: DateTime<Utc>,
) -> Result<Recorded> {
    let txn = portal_runtime::db::begin_write(db).await?;
    let advisory_id = match &delivery.about {
        About::Advisory(id) => Some(id.clone()),
        About::Notice(_) => None,
    };
    let row = delivery_report::ActiveModel {
        report_key: Set(report.key.clone()),
        delivery_id: Set(delivery.delivery_id.clone()),
        advisory_id: Set(advisory_id),
        account_id: Set(delivery.to.account_id.clone()),
        kind: Set(report.kind),
        status: Set(report.status.clone()),
        diagnostic: Set(report.diagnostic.clone()),
        create_time: Set(now),
    };
    let written = inserted(
        delivery_report::Entity::insert(row)
            .on_conflict(
                OnConflict::column(delivery_report::Column::ReportKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await,
    )?;
    if written == 0 {
        txn.rollback().await?;
        return Ok(Recorded {
            fresh: false,
            killed: false,
        });
    }
    let killed = report.kind.n14_kills_delivery()
        && unleased(delivery::Entity::update_many())
            .col_expr(delivery::Column::State, Expr::value(DeliveryState::Dead))
            .col_expr(
                delivery::Column::LastError,
                Expr::value(report.n14_last_error()),
            )
            .col_expr(delivery::Column::UpdateTime, Expr::value(now))
            .filter(delivery::Column::DeliveryId.eq(&delivery.delivery_id))
            .filter(delivery::Column::State.ne(DeliveryState::Dead))
            .exec(&txn)
            .await?
            .rows_affected
            > 0;
    let state_after = if killed {
        DeliveryState::Dead
    } else {
        delivery.state
    };
    audit::record(
        &txn,
        context,
        Change {
            account_id: &delivery.to.account_id,
            action: "RecordDeliveryReport",
            resource_type: "delivery",
            resource_id: &delivery.delivery_id,
            before: Some(json!({ "state": delivery.state.to_value() })),
            after: Some(json!({
                "state": state_after.to_value(),
                "report": report.kind.as_str(),
                "status": report.status,
                "diagnostic": report.diagnostic,
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Recorded {
        fresh: true,
        killed,
    })
}

/// N10: complaints (N14) about `advisory_id`'s mail per account, for the accounts `account_ids`.
pub async fn complaints<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    account_ids: &[String],
) -> Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = delivery_report::Entity::find()
        .select_only()
        .column(delivery_report::Column::AccountId)
        .column_as(delivery_report::Column::ReportKey.count(), "complaints")
        .filter(delivery_report::Column::AdvisoryId.eq(advisory_id))
        .filter(delivery_report::Column::AccountId.is_in(account_ids.iter().cloned()))
        .filter(delivery_report::Column::Kind.eq(ReportKind::Complaint))
        .group_by(delivery_report::Column::AccountId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
