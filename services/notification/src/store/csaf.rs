//! The CSAF documents advisories were imported from (N11), read back on export (N12).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entity::csaf_document;
use crate::{domain::csaf::CsafTracking, error::Result};

/// The advisory already imported from this tracking id and version, if any.
pub async fn imported_as<C: ConnectionTrait>(
    db: &C,
    tracking: &CsafTracking,
) -> Result<Option<String>> {
    Ok(csaf_document::Entity::find()
        .filter(csaf_document::Column::TrackingId.eq(&tracking.id))
        .filter(csaf_document::Column::TrackingVersion.eq(&tracking.version))
        .one(db)
        .await?
        .map(|row| row.advisory_id))
}

/// Keeps the document `advisory_id` was imported from. A second import of the same tracking id and version
/// fails on the unique index (`idempotency::is_conflict`).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    tracking: &CsafTracking,
    document: &str,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    csaf_document::ActiveModel {
        advisory_id: Set(advisory_id.to_string()),
        tracking_id: Set(tracking.id.clone()),
        tracking_version: Set(tracking.version.clone()),
        document: Set(document.to_string()),
        create_time: Set(now),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// The document `advisory_id` was imported from, if it was.
pub async fn document<C: ConnectionTrait>(db: &C, advisory_id: &str) -> Result<Option<String>> {
    Ok(csaf_document::Entity::find_by_id(advisory_id.to_string())
        .one(db)
        .await?
        .map(|row| row.document))
}
