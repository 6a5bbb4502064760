//! Translation between the protobuf contract and the notification domain.

use portal_proto::{common, notification as pb};
use portal_runtime::time::to_proto;

use crate::{
    domain::{AdvisoryContent, DeliveryState, Target, advisory::Affected},
    store::{Counts, advisory, delivery},
};

pub fn delivery_state(state: DeliveryState) -> pb::DeliveryState {
    match state {
        DeliveryState::Staged | DeliveryState::Pending => pb::DeliveryState::Pending,
        DeliveryState::Sent => pb::DeliveryState::Sent,
        DeliveryState::Failed => pb::DeliveryState::Failed,
        DeliveryState::Dead => pb::DeliveryState::Dead,
    }
}

pub fn product_name(raw: i32) -> String {
    common::Product::try_from(raw)
        .map(|p| p.as_str_name().trim_start_matches("PRODUCT_").to_string())
        .unwrap_or_default()
}

fn product_number(name: &str) -> i32 {
    common::Product::from_str_name(&format!("PRODUCT_{name}")).map_or(0, |p| p as i32)
}

pub fn stats(
    row: &advisory::Model,
    counts: Counts,
    fallback: Vec<(String, String)>,
) -> pb::AdvisoryStats {
    let clamp = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    let (fallback_account_ids, fallback_account_names) = fallback.into_iter().unzip();
    pb::AdvisoryStats {
        pending: clamp(counts.staged + counts.pending),
        sent: clamp(counts.sent),
        failed: clamp(counts.failed),
        dead: clamp(counts.dead),
        accounts_targeted: clamp(row.accounts_targeted),
        fallback_account_ids,
        fallback_account_names,
        advisory_id: row.advisory_id.clone(),
        total: clamp(counts.total()),
        settled: row.state == crate::store::READY && counts.unsettled() == 0,
        unreachable_account_ids: serde_json::from_str(&row.unreachable_accounts)
            .unwrap_or_default(),
    }
}

pub fn advisory(row: &advisory::Model, stats: pb::AdvisoryStats) -> pb::Advisory {
    let content: AdvisoryContent = serde_json::from_str(&row.body).unwrap_or(AdvisoryContent {
        summary: String::new(),
        impact: String::new(),
        affected: Vec::new(),
        conditions: String::new(),
        resolution: String::new(),
        cve_ids: Vec::new(),
    });
    let target = match serde_json::from_str::<Target>(&row.target) {
        Ok(Target::AllAccounts) => Some(pb::advisory::Target::AllAccounts(true)),
        Ok(Target::Products(products)) => {
            Some(pb::advisory::Target::Products(pb::ProductList { products }))
        }
        Ok(Target::Accounts(account_ids)) => {
            Some(pb::advisory::Target::AccountIds(pb::AccountList {
                account_ids,
            }))
        }
        Err(_) => None,
    };
    pb::Advisory {
        advisory_id: row.advisory_id.clone(),
        kind: if row.kind == "TECHNICAL" {
            pb::AdvisoryKind::Technical
        } else {
            pb::AdvisoryKind::Security
        } as i32,
        severity: pb::Severity::from_str_name(&format!("SEVERITY_{}", row.severity))
            .map_or(0, |s| s as i32),
        title: row.title.clone(),
        summary: content.summary,
        impact: content.impact,
        affected_products: content
            .affected
            .into_iter()
            .map(|a: Affected| pb::AffectedProduct {
                product: product_number(&a.product),
                versions: a.versions,
                fixed_versions: a.fixed_versions,
            })
            .collect(),
        conditions: content.conditions,
        resolution: content.resolution,
        cve_ids: content.cve_ids,
        target,
        stats: Some(stats),
        create_time: Some(to_proto(row.create_time)),
    }
}

pub fn delivery(row: &delivery::Model, domain: &str) -> pb::Delivery {
    pb::Delivery {
        delivery_id: row.delivery_id.clone(),
        advisory_id: row.advisory_id.clone().unwrap_or_default(),
        account_id: row.account_id.clone(),
        email: row.email.clone(),
        state: delivery_state(DeliveryState::parse(&row.state)) as i32,
        attempts: row.attempts,
        last_error: row.last_error.clone(),
        message_id: crate::domain::message_id(&row.delivery_id, domain),
        fallback: row.fallback,
        user_id: row.user_id.clone(),
        notice_kind: row
            .notice_kind
            .as_deref()
            .and_then(|k| pb::NoticeKind::from_str_name(&format!("NOTICE_KIND_{k}")))
            .map_or(0, |k| k as i32),
        next_attempt_time: Some(to_proto(row.next_attempt_time)),
        sent_time: row.sent_time.map(to_proto),
        create_time: Some(to_proto(row.create_time)),
        update_time: Some(to_proto(row.update_time)),
    }
}
