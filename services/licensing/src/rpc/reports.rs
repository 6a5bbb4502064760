//! Activation summary reports (L10) and eLearning access codes (L11).

use chrono::{Duration, Utc};
use portal_proto::licensing as pb;
use portal_proto::notification::{Attachment, NoticeKind, SendNoticeRequest as NoticeRequest};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Begun, fingerprint},
    new_id, paging,
    time::to_proto,
};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};
use serde_json::json;

use crate::{
    LicensingApi,
    authz::{ACTIVATE, INTERNAL, ISSUE},
    domain::report::{self, REPORT_INTERVAL_HOURS, ReportRow},
    error::{Error, Result},
    store::{self, activation, elearning_code, key, report_quota},
};

fn report_to_proto(row: &store::report::Model) -> pb::ActivationReport {
    pb::ActivationReport {
        report_id: row.report_id.clone(),
        account_id: row.account_id.clone(),
        requester_user_id: row.requester_user_id.clone(),
        create_time: Some(to_proto(row.create_time)),
        row_count: i32::try_from(row.row_count).unwrap_or(i32::MAX),
        csv: row.csv.clone().into_bytes(),
    }
}

fn code_to_proto(row: &elearning_code::Model) -> pb::ElearningCode {
    pb::ElearningCode {
        code: row.code.clone(),
        account_id: row.account_id.clone(),
        purchase_id: row.purchase_id.clone().unwrap_or_default(),
        redeemed_by_email: row.redeemed_by_email.clone().unwrap_or_default(),
        redeem_time: row.redeem_time.map(to_proto),
        create_time: Some(to_proto(row.create_time)),
    }
}

const MAX_CODES: i32 = 10_000;

impl LicensingApi {
    pub(super) async fn request_activation_report(
        &self,
        context: CallContext,
        r: pb::RequestActivationReportRequest,
    ) -> Result<pb::RequestActivationReportResponse> {
        let caller = self.caller(&context).await?;
        if !caller.is_admin_of(&r.account_id) {
            return Err(Error::denied(
                "only an Administrator of the account requests activation reports",
            ));
        }
        let requester = caller
            .member()
            .map(|m| m.user_id.clone())
            .unwrap_or_default();
        let hash = fingerprint(
            &pb::RequestActivationReportRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let report_id = new_id("rpt");
        let txn = match idempotency::begin(
            &self.db,
            "RequestActivationReport",
            &r.request_id,
            &hash,
            &report_id,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(id) => {
                let row = store::report::Entity::find_by_id(id)
                    .one(&self.db)
                    .await?
                    .ok_or(Error::ReportNotFound)?;
                return Ok(pb::RequestActivationReportResponse {
                    report_id: row.report_id.clone(),
                    csv: row.csv.into_bytes(),
                    create_time: Some(to_proto(row.create_time)),
                });
            }
            Begun::Reused => return Err(Error::request_id_reused()),
        };
        // L10: claim the account's 24-hour slot atomically: the update succeeds only when the last report is old
        // enough; the insert only for an account's first report. Two racing requests cannot both pass.
        let now = Utc::now();
        let window_start = now - Duration::hours(REPORT_INTERVAL_HOURS);
        let claimed = report_quota::Entity::update_many()
            .col_expr(report_quota::Column::LastTime, Expr::value(now))
            .filter(report_quota::Column::AccountId.eq(r.account_id.as_str()))
            .filter(report_quota::Column::LastTime.lte(window_start))
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed == 0 {
            let last = report_quota::Entity::find_by_id(r.account_id.clone())
                .one(&txn)
                .await?
                .map(|q| q.last_time);
            report::ensure_report_allowed(last, now)?;
            let first = report_quota::ActiveModel {
                account_id: Set(r.account_id.clone()),
                last_time: Set(now),
            };
            if let Err(e) = report_quota::Entity::insert(first).exec(&txn).await {
                return Err(if idempotency::is_conflict(&e) {
                    Error::ReportRateLimited
                } else {
                    e.into()
                });
            }
        }
        let activations = activation::Entity::find()
            .filter(activation::Column::AccountId.eq(r.account_id.as_str()))
            .order_by_asc(activation::Column::ActivationId)
            .all(&txn)
            .await?;
        let key_ids: Vec<String> = activations.iter().map(|a| a.key_id.clone()).collect();
        let keys: std::collections::HashMap<String, String> = key::Entity::find()
            .filter(key::Column::KeyId.is_in(key_ids))
            .all(&txn)
            .await?
            .into_iter()
            .map(|k| (k.key_id, k.key))
            .collect();
        let rows: Vec<ReportRow> = activations
            .iter()
            .map(|a| ReportRow {
                key_last_group: keys
                    .get(&a.key_id)
                    .map(|k| k[k.len() - 4..].to_string())
                    .unwrap_or_default(),
                product: a.product.clone(),
                user: a.user_email.clone(),
                machine: a.machine_fingerprint.clone(),
                hostname: a.hostname.clone(),
                version: a.version.clone(),
                status: a.state.clone(),
                last_activity: a.deactivate_time.unwrap_or(a.last_use_time),
            })
            .collect();
        let csv = report::to_csv(&rows)?;
        let row = store::report::ActiveModel {
            report_id: Set(report_id.clone()),
            account_id: Set(r.account_id.clone()),
            requester_user_id: Set(requester),
            row_count: Set(rows.len() as i64),
            csv: Set(csv.clone()),
            create_time: Set(now),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &r.account_id,
                action: "RequestActivationReport",
                resource_type: "report",
                resource_id: &report_id,
                before: None,
                after: Some(json!({ "rows": rows.len() })),
            },
        )
        .await?;
        // L10: e-mailed to the requester (with the CSV) through notification's ledger, queued with the report.
        if let Some(member) = caller.member() {
            let notice = NoticeRequest {
                kind: NoticeKind::ActivationReportReady as i32,
                account_id: r.account_id.clone(),
                email: member.email.clone(),
                display_name: member.display_name.clone(),
                fields: [
                    ("report_id".to_string(), report_id.clone()),
                    ("user_id".to_string(), member.user_id.clone()),
                ]
                .into_iter()
                .collect(),
                attachments: vec![Attachment {
                    filename: "activation-report.csv".into(),
                    content_type: "text/csv".into(),
                    content: csv.clone().into_bytes(),
                }],
                ..Default::default()
            };
            portal_runtime::outbox::enqueue(&txn, notice).await?;
        }
        txn.commit().await?;
        Ok(pb::RequestActivationReportResponse {
            report_id: row.report_id,
            csv: csv.into_bytes(),
            create_time: Some(to_proto(now)),
        })
    }

    pub(super) async fn get_activation_report(
        &self,
        context: CallContext,
        r: pb::GetActivationReportRequest,
    ) -> Result<pb::ActivationReport> {
        let caller = self.caller(&context).await?;
        let row = store::report::Entity::find_by_id(r.report_id.clone())
            .one(&self.db)
            .await?;
        match row {
            Some(row) if caller.has_scope(&[INTERNAL]) || caller.is_admin_of(&row.account_id) => {
                Ok(report_to_proto(&row))
            }
            None if caller.has_scope(&[INTERNAL]) => Err(Error::ReportNotFound),
            _ => Err(Error::denied(
                "only Administrators of the report's account download it",
            )),
        }
    }

    pub(super) async fn issue_elearning_codes(
        &self,
        context: CallContext,
        r: pb::IssueElearningCodesRequest,
    ) -> Result<pb::IssueElearningCodesResponse> {
        self.caller(&context)
            .await?
            .require_scope(&[ISSUE, INTERNAL])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        if !(1..=MAX_CODES).contains(&r.count) {
            v.add("count", format!("must be between 1 and {MAX_CODES}"));
        }
        v.finish().map_err(Error::invalid_fields)?;
        if self.identity.account(&r.account_id).await?.is_none() {
            return Err(Error::AccountNotFound);
        }
        let hash = fingerprint(
            &pb::IssueElearningCodesRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let batch_id = new_id("elb");
        let txn = match idempotency::begin(
            &self.db,
            "IssueElearningCodes",
            &r.request_id,
            &hash,
            &batch_id,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(batch) => {
                let rows = elearning_code::Entity::find()
                    .filter(elearning_code::Column::BatchId.eq(batch))
                    .all(&self.db)
                    .await?;
                return Ok(pb::IssueElearningCodesResponse {
                    codes: rows.iter().map(code_to_proto).collect(),
                });
            }
            Begun::Reused => return Err(Error::request_id_reused()),
        };
        let now = Utc::now();
        let mut rows = Vec::new();
        for _ in 0..r.count {
            let mut code = report::elearning_code();
            while elearning_code::Entity::find_by_id(code.clone())
                .one(&txn)
                .await?
                .is_some()
            {
                code = report::elearning_code();
            }
            rows.push(
                elearning_code::ActiveModel {
                    code: Set(code),
                    account_id: Set(r.account_id.clone()),
                    purchase_id: Set((!r.purchase_id.is_empty()).then(|| r.purchase_id.clone())),
                    batch_id: Set(batch_id.clone()),
                    redeemed_by_email: Set(None),
                    redeem_time: Set(None),
                    create_time: Set(now),
                }
                .insert(&txn)
                .await?,
            );
        }
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &r.account_id,
                action: "IssueElearningCodes",
                resource_type: "elearning_batch",
                resource_id: &batch_id,
                before: None,
                after: Some(json!({ "count": r.count, "purchase_id": r.purchase_id })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(pb::IssueElearningCodesResponse {
            codes: rows.iter().map(code_to_proto).collect(),
        })
    }

    pub(super) async fn list_elearning_codes(
        &self,
        context: CallContext,
        r: pb::ListElearningCodesRequest,
    ) -> Result<pb::ListElearningCodesResponse> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[INTERNAL, ISSUE])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let page = v.check(paging::parse(r.page_size, &r.page_token, &r.account_id));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(page) = page else {
            return Err(Error::invalid("page_token", "invalid"));
        };
        let mut query = elearning_code::Entity::find()
            .filter(elearning_code::Column::AccountId.eq(r.account_id.as_str()));
        if let Some(after) = &page.after {
            query = query.filter(elearning_code::Column::Code.gt(after.as_str()));
        }
        let rows = query
            .order_by_asc(elearning_code::Column::Code)
            .limit(page.size)
            .all(&self.db)
            .await?;
        let next_page_token = paging::next_token(
            &r.account_id,
            rows.last().map(|c| c.code.as_str()),
            rows.len(),
            page.size,
        );
        Ok(pb::ListElearningCodesResponse {
            codes: rows.iter().map(code_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn redeem_elearning_code(
        &self,
        context: CallContext,
        r: pb::RedeemElearningCodeRequest,
    ) -> Result<pb::ElearningCode> {
        self.caller(&context)
            .await?
            .require_scope(&[ACTIVATE, INTERNAL])?;
        let mut v = Violations::default();
        v.require("code", &r.code);
        let email = v.check(super::keys::email("email", &r.email));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(email) = email else {
            return Err(Error::invalid("email", "required"));
        };
        let code = r.code.trim().to_ascii_uppercase();
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        // Conditional update: only an unredeemed code changes, so two redemptions cannot both win.
        let redeemed = elearning_code::Entity::update_many()
            .col_expr(
                elearning_code::Column::RedeemedByEmail,
                Expr::value(Some(email.clone())),
            )
            .col_expr(
                elearning_code::Column::RedeemTime,
                Expr::value(Some(Utc::now())),
            )
            .filter(elearning_code::Column::Code.eq(code.as_str()))
            .filter(elearning_code::Column::RedeemedByEmail.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        let row = elearning_code::Entity::find_by_id(code.clone())
            .one(&txn)
            .await?
            .ok_or(Error::CodeNotFound)?;
        if redeemed == 0
            && !row
                .redeemed_by_email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&email))
        {
            return Err(Error::CodeAlreadyRedeemed);
        }
        if redeemed > 0 {
            audit::record(
                &txn,
                &context,
                Change {
                    account_id: &row.account_id,
                    action: "RedeemElearningCode",
                    resource_type: "elearning_code",
                    resource_id: &code[code.len() - 4..],
                    before: None,
                    after: Some(json!({ "email": email })),
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(code_to_proto(&row))
    }
}
