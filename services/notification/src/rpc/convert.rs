//! Translation between the protobuf contract and the notification domain: proto enums in (unknown or unset
//! values are `None`, for the caller to report as a field violation), domain values out.

use portal_policy::Product;
use portal_proto::{common, notification as pb};
use portal_runtime::{error::FieldViolation, time::to_proto};

use crate::app::progress::Progress;
use crate::domain::{
    About, Advisory, Delivery, DeliveryState, Kind, NoticeKind, Severity, Target, Tlp,
    cvss::CvssScore, escalation::Coverage, report::AccountReport,
};

pub fn kind(raw: i32) -> Option<Kind> {
    match pb::AdvisoryKind::try_from(raw) {
        Ok(pb::AdvisoryKind::Security) => Some(Kind::Security),
        Ok(pb::AdvisoryKind::Technical) => Some(Kind::Technical),
        Ok(pb::AdvisoryKind::Unspecified) | Err(_) => None,
    }
}

fn kind_to_proto(kind: Kind) -> pb::AdvisoryKind {
    match kind {
        Kind::Security => pb::AdvisoryKind::Security,
        Kind::Technical => pb::AdvisoryKind::Technical,
    }
}

pub fn severity(raw: i32) -> Option<Severity> {
    match pb::Severity::try_from(raw) {
        Ok(pb::Severity::Critical) => Some(Severity::Critical),
        Ok(pb::Severity::High) => Some(Severity::High),
        Ok(pb::Severity::Medium) => Some(Severity::Medium),
        Ok(pb::Severity::Low) => Some(Severity::Low),
        Ok(pb::Severity::Unspecified) | Err(_) => None,
    }
}

fn severity_to_proto(severity: Severity) -> pb::Severity {
    match severity {
        Severity::Critical => pb::Severity::Critical,
        Severity::High => pb::Severity::High,
        Severity::Medium => pb::Severity::Medium,
        Severity::Low => pb::Severity::Low,
    }
}

/// N1: a request's TLP label: `Ok(None)` when unspecified (the configured default applies), `Err` for a number
/// the contract does not name.
pub fn tlp(raw: i32) -> Result<Option<Tlp>, ()> {
    match pb::Tlp::try_from(raw) {
        Ok(pb::Tlp::Unspecified) => Ok(None),
        Ok(pb::Tlp::Clear) => Ok(Some(Tlp::Clear)),
        Ok(pb::Tlp::Green) => Ok(Some(Tlp::Green)),
        Ok(pb::Tlp::Amber) => Ok(Some(Tlp::Amber)),
        Ok(pb::Tlp::AmberStrict) => Ok(Some(Tlp::AmberStrict)),
        Ok(pb::Tlp::Red) => Ok(Some(Tlp::Red)),
        Err(_) => Err(()),
    }
}

fn tlp_to_proto(tlp: Tlp) -> pb::Tlp {
    match tlp {
        Tlp::Clear => pb::Tlp::Clear,
        Tlp::Green => pb::Tlp::Green,
        Tlp::Amber => pb::Tlp::Amber,
        Tlp::AmberStrict => pb::Tlp::AmberStrict,
        Tlp::Red => pb::Tlp::Red,
    }
}

fn cvss_to_proto(score: &CvssScore) -> pb::CvssScore {
    pb::CvssScore {
        cve_id: score.cve.clone().unwrap_or_default(),
        vector: score.vector.clone(),
        base_score: score.base_score.value(),
    }
}

pub fn product(raw: i32) -> Option<Product> {
    portal_proto::vocabulary::product(raw).ok()
}

pub fn notice_kind(raw: i32) -> Option<NoticeKind> {
    match pb::NoticeKind::try_from(raw) {
        Ok(pb::NoticeKind::UserAdded) => Some(NoticeKind::UserAdded),
        Ok(pb::NoticeKind::KeyAssigned) => Some(NoticeKind::KeyAssigned),
        Ok(pb::NoticeKind::ActivationReportReady) => Some(NoticeKind::ActivationReportReady),
        Ok(pb::NoticeKind::CloudSiteReady) => Some(NoticeKind::CloudSiteReady),
        Ok(pb::NoticeKind::RenewalReminder) => Some(NoticeKind::RenewalReminder),
        Ok(pb::NoticeKind::RenewedAutomatically) => Some(NoticeKind::RenewedAutomatically),
        Ok(pb::NoticeKind::KeyRevoked) => Some(NoticeKind::KeyRevoked),
        Ok(pb::NoticeKind::Unspecified) | Err(_) => None,
    }
}

fn notice_kind_to_proto(kind: NoticeKind) -> pb::NoticeKind {
    match kind {
        NoticeKind::UserAdded => pb::NoticeKind::UserAdded,
        NoticeKind::KeyAssigned => pb::NoticeKind::KeyAssigned,
        NoticeKind::ActivationReportReady => pb::NoticeKind::ActivationReportReady,
        NoticeKind::CloudSiteReady => pb::NoticeKind::CloudSiteReady,
        NoticeKind::RenewalReminder => pb::NoticeKind::RenewalReminder,
        NoticeKind::RenewedAutomatically => pb::NoticeKind::RenewedAutomatically,
        NoticeKind::KeyRevoked => pb::NoticeKind::KeyRevoked,
    }
}

/// The ledger states a ListDeliveries state filter means (`None`: all); STAGED rows show as pending.
pub fn states(raw: i32) -> Result<Option<Vec<DeliveryState>>, FieldViolation> {
    let state = pb::DeliveryState::try_from(raw)
        .map_err(|_| FieldViolation::new("state", "unknown delivery state"))?;
    Ok(match state {
        pb::DeliveryState::Unspecified => None,
        pb::DeliveryState::Pending => Some(vec![DeliveryState::Staged, DeliveryState::Pending]),
        pb::DeliveryState::Sent => Some(vec![DeliveryState::Sent]),
        pb::DeliveryState::Failed => Some(vec![DeliveryState::Failed]),
        pb::DeliveryState::Dead => Some(vec![DeliveryState::Dead]),
    })
}

fn delivery_state(state: DeliveryState) -> pb::DeliveryState {
    match state {
        DeliveryState::Staged | DeliveryState::Pending => pb::DeliveryState::Pending,
        DeliveryState::Sent => pb::DeliveryState::Sent,
        DeliveryState::Failed => pb::DeliveryState::Failed,
        DeliveryState::Dead => pb::DeliveryState::Dead,
    }
}

pub fn stats(advisory: &Advisory, progress: Progress) -> pb::AdvisoryStats {
    let clamp = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    let Progress {
        counts,
        fallback,
        escalated,
        unreachable,
        escalating,
        acknowledged,
    } = progress;
    let (fallback_account_ids, fallback_account_names) = fallback.into_iter().unzip();
    let mut unreachable_account_ids: Vec<String> = advisory
        .unreachable
        .iter()
        .map(|u| u.account_id.clone())
        .collect();
    unreachable_account_ids.extend(unreachable);
    pb::AdvisoryStats {
        pending: clamp(counts.staged + counts.pending),
        sent: clamp(counts.sent),
        failed: clamp(counts.failed),
        dead: clamp(counts.dead),
        accounts_targeted: clamp(advisory.accounts_targeted),
        fallback_account_ids,
        fallback_account_names,
        advisory_id: advisory.advisory_id.clone(),
        total: clamp(counts.total()),
        settled: counts.n4_settled(advisory.state) && !escalating,
        unreachable_account_ids,
        escalated_account_ids: escalated,
        acknowledged_account_ids: acknowledged,
    }
}

pub fn advisory(advisory: &Advisory, stats: pb::AdvisoryStats) -> pb::Advisory {
    let content = advisory.content.clone();
    let target = match &advisory.target {
        Target::AllAccounts => pb::advisory::Target::AllAccounts(true),
        Target::Products(products) => pb::advisory::Target::Products(pb::ProductList {
            products: products.clone(),
        }),
        Target::Accounts(account_ids) => pb::advisory::Target::AccountIds(pb::AccountList {
            account_ids: account_ids.clone(),
        }),
    };
    pb::Advisory {
        advisory_id: advisory.advisory_id.clone(),
        kind: kind_to_proto(advisory.kind) as i32,
        severity: severity_to_proto(advisory.severity) as i32,
        title: advisory.title.clone(),
        summary: content.summary,
        impact: content.impact,
        affected_products: content
            .affected
            .into_iter()
            .map(|a| pb::AffectedProduct {
                product: common::Product::from(a.product) as i32,
                versions: a.versions,
                fixed_versions: a.fixed_versions,
            })
            .collect(),
        conditions: content.conditions,
        resolution: content.resolution,
        cve_ids: content.cve_ids,
        csaf_tracking_id: content
            .csaf
            .as_ref()
            .map(|t| t.id.clone())
            .unwrap_or_default(),
        csaf_tracking_version: content.csaf.map(|t| t.version).unwrap_or_default(),
        tlp: tlp_to_proto(advisory.tlp) as i32,
        cvss_scores: content.cvss.iter().map(cvss_to_proto).collect(),
        target: Some(target),
        stats: Some(stats),
        create_time: Some(to_proto(advisory.create_time)),
    }
}

pub fn delivery(row: &Delivery, domain: &str) -> pb::Delivery {
    let (advisory_id, notice_kind) = match &row.about {
        About::Advisory(id) => (id.clone(), pb::NoticeKind::Unspecified),
        About::Notice(payload) => (String::new(), notice_kind_to_proto(payload.kind)),
    };
    pb::Delivery {
        delivery_id: row.delivery_id.clone(),
        advisory_id,
        account_id: row.to.account_id.clone(),
        email: row.to.email.clone(),
        state: delivery_state(row.state) as i32,
        attempts: i32::try_from(row.attempts).unwrap_or(i32::MAX),
        last_error: row.last_error.clone(),
        message_id: crate::domain::n3_message_id(&row.delivery_id, domain),
        fallback: row.to.fallback,
        user_id: row.to.user_id.clone(),
        notice_kind: notice_kind as i32,
        next_attempt_time: Some(to_proto(row.next_attempt_time)),
        sent_time: row.sent_time.map(to_proto),
        create_time: Some(to_proto(row.create_time)),
        update_time: Some(to_proto(row.update_time)),
        escalation: row.escalation,
        reminder: i32::try_from(row.reminder).unwrap_or(i32::MAX),
    }
}

fn coverage_to_proto(coverage: Coverage) -> pb::Coverage {
    match coverage {
        Coverage::Pending => pb::Coverage::Pending,
        Coverage::Reached => pb::Coverage::Reached,
        Coverage::Fallback => pb::Coverage::Fallback,
        Coverage::Escalated => pb::Coverage::Escalated,
        Coverage::Unreachable => pb::Coverage::Unreachable,
    }
}

/// N10: one account's line of an advisory report.
pub fn account_report(line: &AccountReport) -> pb::AccountCoverage {
    let clamp = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    pb::AccountCoverage {
        account_id: line.account_id.clone(),
        account_name: line.account_name.clone(),
        coverage: coverage_to_proto(line.coverage) as i32,
        sent: clamp(line.sent),
        dead: clamp(line.dead),
        pending: clamp(line.pending),
        acknowledged: line.acknowledged,
        complaints: clamp(line.complaints),
    }
}
