//! The transactional outbox for notices (N6): a service writes the notice in the same transaction as the change
//! that causes it, and a relay hands it to notification's `SendNotice` afterwards, retrying with backoff while
//! notification is down. The outbox id is the notice's request id, so a relay that sends twice (two replicas,
//! a crash between send and delete) still yields one delivery.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use portal_proto::notification::{
    SendNoticeRequest, notification_service_client::NotificationServiceClient,
};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use tonic::{codegen::InterceptedService, transport::Channel};

use crate::client::{Caller, is_unavailable};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub outbox_id: String,
        pub payload: String,
        pub attempts: i32,
        pub next_attempt_time: DateTimeUtc,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Queues `notice` with the caller's transaction.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    mut notice: SendNoticeRequest,
) -> Result<(), DbErr> {
    let id = crate::new_id("obx");
    notice.request_id = id.clone();
    let now = Utc::now();
    entity::ActiveModel {
        outbox_id: Set(id),
        payload: Set(STANDARD.encode(notice.encode_to_vec())),
        attempts: Set(0),
        next_attempt_time: Set(now),
        create_time: Set(now),
    }
    .insert(db)
    .await
    .map(|_| ())
}

pub type NotificationClient = NotificationServiceClient<InterceptedService<Channel, Caller>>;

/// Relays queued notices until the task is dropped.
pub async fn relay(db: DatabaseConnection, client: NotificationClient) {
    loop {
        match relay_once(&db, &client).await {
            Ok(0) => tokio::time::sleep(Duration::from_millis(500)).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// Sends what is due; returns how many were handed over.
pub async fn relay_once(
    db: &DatabaseConnection,
    client: &NotificationClient,
) -> Result<usize, DbErr> {
    let now = Utc::now();
    let due = entity::Entity::find()
        .filter(entity::Column::NextAttemptTime.lte(now))
        .order_by_asc(entity::Column::CreateTime)
        .limit(100)
        .all(db)
        .await?;
    let mut sent = 0;
    for row in due {
        let Some(notice) = STANDARD
            .decode(&row.payload)
            .ok()
            .and_then(|b| SendNoticeRequest::decode(b.as_slice()).ok())
        else {
            tracing::error!(outbox_id = %row.outbox_id, "undecodable outbox row dropped");
            entity::Entity::delete_by_id(row.outbox_id).exec(db).await?;
            continue;
        };
        match client.clone().send_notice(notice).await {
            Ok(_) => {
                entity::Entity::delete_by_id(row.outbox_id).exec(db).await?;
                sent += 1;
            }
            Err(status) if is_unavailable(&status) => {
                let attempts = row.attempts.saturating_add(1);
                let backoff = Duration::from_secs(1u64 << attempts.clamp(0, 6) as u32);
                let mut active: entity::ActiveModel = row.into();
                active.attempts = Set(attempts);
                active.next_attempt_time =
                    Set(now + chrono::Duration::from_std(backoff).unwrap_or_default());
                active.update(db).await?;
                // The receiver is down: the rest can wait for the next round.
                break;
            }
            Err(status) => {
                tracing::error!(outbox_id = %row.outbox_id, code = ?status.code(), message = status.message(), "notice refused; dropped");
                entity::Entity::delete_by_id(row.outbox_id).exec(db).await?;
            }
        }
    }
    Ok(sent)
}
