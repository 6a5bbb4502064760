//! The NotificationService handlers: proto in, authorization and rules, ledger, proto out.

use std::{collections::BTreeMap, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{Datelike, Utc};
use portal_proto::notification::{self as pb, notification_service_server::NotificationService};
use portal_runtime::{
    CallContext, Principal,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Begun, fingerprint},
    new_id, paging,
};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::{
    NotificationApi, convert,
    domain::{
        AdvisoryContent, DeliveryState, Kind, Severity, Target, advisory as rules,
        advisory::Affected,
    },
    error::{Error, Result},
    store::{self, advisory, delivery},
    worker::{NoticePayload, StoredAttachment},
};

const PUBLISH: &str = "notification.publish";
const INTERNAL: &str = "internal";
/// Most attachment bytes one notice may carry.
const MAX_ATTACHMENTS_BYTES: usize = 5 * 1024 * 1024;
/// Fallback accounts named in one stats message.
const FALLBACK_SHOWN: u64 = 1000;

type StatsStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::AdvisoryStats, Status>> + Send>>;

fn respond<T>(result: Result<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

fn require(principal: &Principal, scopes: &[&str]) -> Result<()> {
    if scopes.iter().any(|s| principal.has_scope(s)) {
        Ok(())
    } else {
        Err(Error::denied(format!(
            "requires a service principal with scope {}",
            scopes.join(" or ")
        )))
    }
}

impl NotificationApi {
    async fn stats(&self, row: &advisory::Model) -> Result<pb::AdvisoryStats> {
        let counts = store::counts(&self.db, &row.advisory_id).await?;
        let fallback = store::fallback_accounts(&self.db, &row.advisory_id, FALLBACK_SHOWN).await?;
        Ok(convert::stats(row, counts, fallback))
    }

    async fn publish_advisory(
        &self,
        context: CallContext,
        r: pb::PublishAdvisoryRequest,
    ) -> Result<pb::Advisory> {
        require(&context.principal, &[PUBLISH])?;
        let mut v = Violations::default();
        let kind = match pb::AdvisoryKind::try_from(r.kind) {
            Ok(pb::AdvisoryKind::Security) => Some(Kind::Security),
            Ok(pb::AdvisoryKind::Technical) => Some(Kind::Technical),
            _ => {
                v.add(
                    "kind",
                    "must be ADVISORY_KIND_SECURITY or ADVISORY_KIND_TECHNICAL",
                );
                None
            }
        };
        let severity = match pb::Severity::try_from(r.severity) {
            Ok(pb::Severity::Critical) => Some(Severity::Critical),
            Ok(pb::Severity::High) => Some(Severity::High),
            Ok(pb::Severity::Medium) => Some(Severity::Medium),
            Ok(pb::Severity::Low) => Some(Severity::Low),
            _ => {
                v.add("severity", "must be a known SEVERITY_* value");
                None
            }
        };
        rules::check_title(&mut v, &r.title);
        rules::check_text(&mut v, "summary", &r.summary, true, rules::TEXT_LIMIT);
        for (field, value) in [
            ("impact", &r.impact),
            ("conditions", &r.conditions),
            ("resolution", &r.resolution),
        ] {
            rules::check_text(&mut v, field, value, false, rules::TEXT_LIMIT);
        }
        let mut affected = Vec::new();
        for (i, a) in r.affected_products.iter().enumerate() {
            let product = convert::product_name(a.product);
            if product.is_empty() || product == "UNSPECIFIED" {
                v.add(
                    &format!("affected_products[{i}].product"),
                    "must be a known PRODUCT_* value",
                );
            }
            affected.push(Affected {
                product,
                versions: a.versions.clone(),
                fixed_versions: a.fixed_versions.clone(),
            });
        }
        let cve_ids: Vec<String> = r
            .cve_ids
            .iter()
            .filter_map(|c| v.check(rules::cve_id(c)))
            .collect();
        let target = match &r.target {
            Some(pb::publish_advisory_request::Target::AllAccounts(true)) => {
                Some(Target::AllAccounts)
            }
            Some(pb::publish_advisory_request::Target::Products(list))
                if !list.products.is_empty() =>
            {
                if list
                    .products
                    .iter()
                    .any(|p| convert::product_name(*p).is_empty() || *p == 0)
                {
                    v.add("target.products", "must be known PRODUCT_* values");
                }
                let mut products = list.products.clone();
                products.sort();
                products.dedup();
                Some(Target::Products(products))
            }
            Some(pb::publish_advisory_request::Target::AccountIds(list))
                if !list.account_ids.is_empty() =>
            {
                let mut ids: Vec<String> = list
                    .account_ids
                    .iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                ids.sort();
                ids.dedup();
                Some(Target::Accounts(ids))
            }
            _ => {
                v.add(
                    "target",
                    "set all_accounts, a non-empty products list, or a non-empty account_ids list",
                );
                None
            }
        };
        let account_count = match &target {
            Some(Target::Accounts(ids)) => ids.len(),
            _ => 0,
        };
        rules::check_lists(&mut v, affected.len(), cve_ids.len(), account_count);
        v.finish().map_err(Error::invalid_fields)?;
        let (Some(kind), Some(severity), Some(target)) = (kind, severity, target) else {
            return Err(Error::invalid("request", "incomplete"));
        };
        let content = AdvisoryContent {
            summary: r.summary.clone(),
            impact: r.impact.clone(),
            affected,
            conditions: r.conditions.clone(),
            resolution: r.resolution.clone(),
            cve_ids,
        };

        let hash = fingerprint(
            &pb::PublishAdvisoryRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let txn = match idempotency::begin(&self.db, "PublishAdvisory", &r.request_id, &hash, "")
            .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(id) => {
                let row = store::find_advisory(&self.db, &id).await?;
                let stats = self.stats(&row).await?;
                return Ok(convert::advisory(&row, stats));
            }
            Begun::Reused => return Err(Error::request_id_reused()),
        };
        let now = Utc::now();
        let year = now.year();
        let sequence = store::next_advisory_number(&txn, year).await?;
        let advisory_id = rules::advisory_id(year, sequence);
        if !r.request_id.is_empty() {
            idempotency::set_resource(&txn, "PublishAdvisory", &r.request_id, &advisory_id).await?;
        }
        let row =
            advisory::ActiveModel {
                advisory_id: Set(advisory_id.clone()),
                ordinal: Set(i64::from(year) * 1_000_000_000 + sequence),
                kind: Set(kind.as_str().into()),
                severity: Set(severity.as_str().into()),
                title: Set(r.title.trim().into()),
                body: Set(
                    serde_json::to_string(&content).map_err(|e| Error::internal(e.to_string()))?
                ),
                target: Set(
                    serde_json::to_string(&target).map_err(|e| Error::internal(e.to_string()))?
                ),
                state: Set(store::RESOLVING.into()),
                accounts_targeted: Set(0),
                fallback_accounts: Set("[]".into()),
                unreachable_accounts: Set("[]".into()),
                resolver_lease_until: Set(None),
                create_time: Set(now),
                resolve_time: Set(None),
            }
            .insert(&txn)
            .await?;
        let after =
            json!({ "kind": kind.as_str(), "severity": severity.as_str(), "title": row.title });
        audit::record(
            &txn,
            &context,
            Change {
                account_id: "",
                action: "PublishAdvisory",
                resource_type: "advisory",
                resource_id: &advisory_id,
                before: None,
                after: Some(after),
            },
        )
        .await?;
        txn.commit().await?;
        self.start_resolving(advisory_id);
        let stats = self.stats(&row).await?;
        Ok(convert::advisory(&row, stats))
    }

    async fn get_advisory(
        &self,
        context: CallContext,
        r: pb::GetAdvisoryRequest,
    ) -> Result<pb::Advisory> {
        require(&context.principal, &[PUBLISH, INTERNAL])?;
        let row = store::find_advisory(&self.db, &r.advisory_id).await?;
        let stats = self.stats(&row).await?;
        Ok(convert::advisory(&row, stats))
    }

    async fn watch_advisory(
        &self,
        context: CallContext,
        r: pb::WatchAdvisoryRequest,
    ) -> Result<StatsStream> {
        require(&context.principal, &[PUBLISH, INTERNAL])?;
        store::find_advisory(&self.db, &r.advisory_id).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let api = self.clone();
        tokio::spawn(async move {
            let mut last: Option<pb::AdvisoryStats> = None;
            loop {
                let stats = match store::find_advisory(&api.db, &r.advisory_id).await {
                    Ok(row) => api.stats(&row).await,
                    Err(e) => Err(e),
                };
                let stats = match stats {
                    Ok(stats) => stats,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                };
                let settled = stats.settled;
                if last.as_ref() != Some(&stats) {
                    last = Some(stats.clone());
                    if tx.send(Ok(stats)).await.is_err() {
                        return;
                    }
                }
                if settled {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    async fn list_deliveries(
        &self,
        context: CallContext,
        r: pb::ListDeliveriesRequest,
    ) -> Result<pb::ListDeliveriesResponse> {
        require(&context.principal, &[PUBLISH, INTERNAL])?;
        let mut v = Violations::default();
        v.require("advisory_id", &r.advisory_id);
        let states: Option<Vec<&str>> = match pb::DeliveryState::try_from(r.state) {
            Ok(pb::DeliveryState::Unspecified) => None,
            Ok(pb::DeliveryState::Pending) => Some(vec!["STAGED", "PENDING"]),
            Ok(pb::DeliveryState::Sent) => Some(vec!["SENT"]),
            Ok(pb::DeliveryState::Failed) => Some(vec!["FAILED"]),
            Ok(pb::DeliveryState::Dead) => Some(vec!["DEAD"]),
            Err(_) => {
                v.add("state", "unknown delivery state");
                None
            }
        };
        let scope = format!("{}|{}", r.advisory_id, r.state);
        let page = v.check(paging::parse(r.page_size, &r.page_token, &scope));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(page) = page else {
            return Err(Error::invalid("page_token", "invalid"));
        };
        store::find_advisory(&self.db, &r.advisory_id).await?;
        let mut query = delivery::Entity::find()
            .filter(delivery::Column::AdvisoryId.eq(r.advisory_id.as_str()));
        if let Some(states) = states {
            query = query.filter(delivery::Column::State.is_in(states));
        }
        if let Some(after) = &page.after {
            query = query.filter(delivery::Column::DeliveryId.gt(after.as_str()));
        }
        let rows = query
            .order_by_asc(delivery::Column::DeliveryId)
            .limit(page.size)
            .all(&self.db)
            .await?;
        let next_page_token = paging::next_token(
            &scope,
            rows.last().map(|d| d.delivery_id.as_str()),
            rows.len(),
            page.size,
        );
        let domain = self.mailer.domain().to_string();
        Ok(pb::ListDeliveriesResponse {
            deliveries: rows.iter().map(|d| convert::delivery(d, &domain)).collect(),
            next_page_token,
        })
    }

    async fn retry_deliveries(
        &self,
        context: CallContext,
        r: pb::RetryDeliveriesRequest,
    ) -> Result<pb::RetryDeliveriesResponse> {
        require(&context.principal, &[PUBLISH])?;
        let mut v = Violations::default();
        v.require("advisory_id", &r.advisory_id);
        v.finish().map_err(Error::invalid_fields)?;
        store::find_advisory(&self.db, &r.advisory_id).await?;
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let mut update = delivery::Entity::update_many()
            .col_expr(
                delivery::Column::State,
                Expr::value(DeliveryState::Pending.as_str()),
            )
            .col_expr(delivery::Column::Attempts, Expr::value(0))
            .col_expr(delivery::Column::NextAttemptTime, Expr::value(Utc::now()))
            .col_expr(delivery::Column::UpdateTime, Expr::value(Utc::now()))
            .filter(delivery::Column::AdvisoryId.eq(r.advisory_id.as_str()))
            .filter(delivery::Column::State.eq(DeliveryState::Dead.as_str()));
        if !r.delivery_ids.is_empty() {
            update = update.filter(delivery::Column::DeliveryId.is_in(r.delivery_ids.clone()));
        }
        let requeued = update.exec(&txn).await?.rows_affected;
        audit::record(
            &txn,
            &context,
            Change {
                account_id: "",
                action: "RetryDeliveries",
                resource_type: "advisory",
                resource_id: &r.advisory_id,
                before: None,
                after: Some(json!({ "requeued": requeued })),
            },
        )
        .await?;
        txn.commit().await?;
        self.wake_worker();
        Ok(pb::RetryDeliveriesResponse {
            requeued: i32::try_from(requeued).unwrap_or(i32::MAX),
        })
    }

    async fn list_advisories(
        &self,
        context: CallContext,
        r: pb::ListAdvisoriesRequest,
    ) -> Result<pb::ListAdvisoriesResponse> {
        require(&context.principal, &[PUBLISH, INTERNAL])?;
        let page = paging::parse(r.page_size, &r.page_token, "advisories")
            .map_err(|v| Error::invalid_fields(vec![v]))?;
        let mut query = advisory::Entity::find();
        if let Some(after) = &page.after {
            let after: i64 = after
                .parse()
                .map_err(|_| Error::invalid("page_token", "invalid"))?;
            query = query.filter(advisory::Column::Ordinal.gt(after));
        }
        let rows = query
            .order_by_asc(advisory::Column::Ordinal)
            .limit(page.size)
            .all(&self.db)
            .await?;
        let last = rows.last().map(|a| a.ordinal.to_string());
        let next_page_token =
            paging::next_token("advisories", last.as_deref(), rows.len(), page.size);
        let mut advisories = Vec::with_capacity(rows.len());
        for row in &rows {
            let stats = self.stats(row).await?;
            advisories.push(convert::advisory(row, stats));
        }
        Ok(pb::ListAdvisoriesResponse {
            advisories,
            next_page_token,
        })
    }

    async fn send_notice(
        &self,
        context: CallContext,
        r: pb::SendNoticeRequest,
    ) -> Result<pb::SendNoticeResponse> {
        require(&context.principal, &[INTERNAL])?;
        let mut v = Violations::default();
        let kind = match pb::NoticeKind::try_from(r.kind) {
            Ok(pb::NoticeKind::Unspecified) | Err(_) => {
                v.add("kind", "must be a known NOTICE_KIND_* value");
                None
            }
            Ok(kind) => Some(
                kind.as_str_name()
                    .trim_start_matches("NOTICE_KIND_")
                    .to_string(),
            ),
        };
        v.require("account_id", &r.account_id);
        let email = r.email.trim();
        if email.is_empty()
            || !email.contains('@')
            || email.len() > 254
            || email.contains(char::is_whitespace)
        {
            v.add("email", "must be an e-mail address");
        }
        let size: usize = r.attachments.iter().map(|a| a.content.len()).sum();
        if size > MAX_ATTACHMENTS_BYTES {
            v.add("attachments", "at most 5 MiB in all");
        }
        if r.fields.len() > 50
            || r.fields
                .iter()
                .any(|(k, v)| k.len() > 100 || v.len() > 2000)
        {
            v.add("fields", "at most 50 fields of at most 2000 characters");
        }
        v.finish().map_err(Error::invalid_fields)?;
        let Some(kind) = kind else {
            return Err(Error::invalid("kind", "required"));
        };
        let hash = fingerprint(
            &pb::SendNoticeRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let delivery_id = new_id("dlv");
        let txn =
            match idempotency::begin(&self.db, "SendNotice", &r.request_id, &hash, &delivery_id)
                .await?
            {
                Begun::Fresh(txn) => txn,
                Begun::Replay(id) => return Ok(pb::SendNoticeResponse { delivery_id: id }),
                Begun::Reused => return Err(Error::request_id_reused()),
            };
        let payload = NoticePayload {
            kind: kind.clone(),
            fields: r
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
            attachments: r
                .attachments
                .iter()
                .map(|a| StoredAttachment {
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    base64: STANDARD.encode(&a.content),
                })
                .collect(),
        };
        let now = Utc::now();
        delivery::ActiveModel {
            delivery_id: Set(delivery_id.clone()),
            advisory_id: Set(None),
            notice_kind: Set(Some(kind.clone())),
            account_id: Set(r.account_id.clone()),
            account_name: Set(r.fields.get("account_name").cloned().unwrap_or_default()),
            user_id: Set(r.fields.get("user_id").cloned().unwrap_or_default()),
            email_key: Set(email.to_lowercase()),
            email: Set(email.to_string()),
            display_name: Set(if r.display_name.trim().is_empty() {
                email.to_string()
            } else {
                r.display_name.trim().to_string()
            }),
            fallback: Set(false),
            payload: Set(Some(
                serde_json::to_string(&payload).map_err(|e| Error::internal(e.to_string()))?,
            )),
            state: Set(DeliveryState::Pending.as_str().into()),
            attempts: Set(0),
            last_error: Set(String::new()),
            next_attempt_time: Set(now),
            lease_owner: Set(None),
            lease_until: Set(None),
            sent_time: Set(None),
            create_time: Set(now),
            update_time: Set(now),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &r.account_id,
                action: "SendNotice",
                resource_type: "delivery",
                resource_id: &delivery_id,
                before: None,
                after: Some(json!({ "kind": kind })),
            },
        )
        .await?;
        txn.commit().await?;
        self.wake_worker();
        Ok(pb::SendNoticeResponse { delivery_id })
    }
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    async fn publish_advisory(
        &self,
        request: Request<pb::PublishAdvisoryRequest>,
    ) -> Result<Response<pb::Advisory>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(NotificationApi::publish_advisory(self, context, request.into_inner()).await)
    }

    async fn get_advisory(
        &self,
        request: Request<pb::GetAdvisoryRequest>,
    ) -> Result<Response<pb::Advisory>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::get_advisory(self, context, request.into_inner()).await)
    }

    async fn watch_advisory(
        &self,
        request: Request<pb::WatchAdvisoryRequest>,
    ) -> Result<Response<StatsStream>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::watch_advisory(self, context, request.into_inner()).await)
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::list_deliveries(self, context, request.into_inner()).await)
    }

    async fn retry_deliveries(
        &self,
        request: Request<pb::RetryDeliveriesRequest>,
    ) -> Result<Response<pb::RetryDeliveriesResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::retry_deliveries(self, context, request.into_inner()).await)
    }

    async fn list_advisories(
        &self,
        request: Request<pb::ListAdvisoriesRequest>,
    ) -> Result<Response<pb::ListAdvisoriesResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::list_advisories(self, context, request.into_inner()).await)
    }

    async fn send_notice(
        &self,
        request: Request<pb::SendNoticeRequest>,
    ) -> Result<Response<pb::SendNoticeResponse>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(NotificationApi::send_notice(self, context, request.into_inner()).await)
    }
}
