//! PublishAdvisory, GetAdvisory, ListAdvisories and WatchAdvisory (N1, N2, N4).

use std::time::Duration;

use portal_proto::notification as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, error::Violations, paging};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{PUBLISH, StatsStream, convert, service_caller};
use crate::{
    NotificationApi, app,
    domain::{
        Advisory, AdvisoryContent, NewAdvisory, Target, Tlp, advisory as rules, advisory::Affected,
        cvss::n16_cvss,
    },
    error::{Error, Result},
    store::advisories,
};

/// Fallback (and escalated, and unreachable after escalation) accounts named in one stats message.
const FALLBACK_SHOWN: u64 = 1000;
/// How often a watch looks at the ledger.
const WATCH_POLL: Duration = Duration::from_millis(250);

/// N1: every field of a PublishAdvisory request checked, every violation reported at once; the TLP label is the
/// request's, else the configured default given with it.
impl TryFrom<(&pb::PublishAdvisoryRequest, Tlp)> for NewAdvisory {
    type Error = Error;

    fn try_from((r, default_tlp): (&pb::PublishAdvisoryRequest, Tlp)) -> Result<Self> {
        use pb::publish_advisory_request::Target as Wanted;
        let mut v = Violations::default();
        let kind = convert::kind(r.kind);
        if kind.is_none() {
            v.add(
                "kind",
                "must be ADVISORY_KIND_SECURITY or ADVISORY_KIND_TECHNICAL",
            );
        }
        let severity = convert::severity(r.severity);
        if severity.is_none() {
            v.add("severity", "must be a known SEVERITY_* value");
        }
        let tlp = convert::tlp(r.tlp).unwrap_or_else(|()| {
            v.add("tlp", "must be a known TLP_* value");
            None
        });
        let cvss = match r.cvss_vector.trim() {
            "" => None,
            vector => match n16_cvss(vector) {
                Ok(score) => Some(score),
                Err(e) => {
                    v.add("cvss_vector", e);
                    None
                }
            },
        };
        rules::n1_check_title(&mut v, &r.title);
        rules::n1_check_text(&mut v, "summary", &r.summary, true, rules::TEXT_LIMIT);
        for (field, value) in [
            ("impact", &r.impact),
            ("conditions", &r.conditions),
            ("resolution", &r.resolution),
        ] {
            rules::n1_check_text(&mut v, field, value, false, rules::TEXT_LIMIT);
        }
        let mut affected = Vec::new();
        for (i, a) in r.affected_products.iter().enumerate() {
            match convert::product(a.product) {
                Some(product) => affected.push(Affected {
                    product,
                    versions: a.versions.clone(),
                    fixed_versions: a.fixed_versions.clone(),
                }),
                None => v.add(
                    &format!("affected_products[{i}].product"),
                    "must be a known PRODUCT_* value",
                ),
            }
        }
        let cve_ids: Vec<String> = r
            .cve_ids
            .iter()
            .filter_map(|c| v.check(rules::n1_cve_id(c)))
            .collect();
        let target = match &r.target {
            Some(Wanted::AllAccounts(true)) => Some(Target::AllAccounts),
            Some(Wanted::Products(list)) if !list.products.is_empty() => {
                if list.products.iter().any(|p| convert::product(*p).is_none()) {
                    v.add("target.products", "must be known PRODUCT_* values");
                }
                Some(Target::Products(rules::n1_target_products(&list.products)))
            }
            Some(Wanted::AccountIds(list)) if !list.account_ids.is_empty() => Some(
                Target::Accounts(rules::n1_target_accounts(&list.account_ids)),
            ),
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
        rules::n1_check_lists(
            &mut v,
            r.affected_products.len(),
            cve_ids.len(),
            account_count,
        );
        v.finish().map_err(Error::invalid_fields)?;
        let (Some(kind), Some(severity), Some(target)) = (kind, severity, target) else {
            return Err(Error::invalid("request", "incomplete"));
        };
        Ok(NewAdvisory {
            kind,
            severity,
            tlp: tlp.unwrap_or(default_tlp),
            title: r.title.trim().to_string(),
            content: AdvisoryContent {
                summary: r.summary.clone(),
                impact: r.impact.clone(),
                affected,
                conditions: r.conditions.clone(),
                resolution: r.resolution.clone(),
                cve_ids,
                csaf: None,
                cvss: cvss.into_iter().collect(),
            },
            target,
        })
    }
}

impl NotificationApi {
    /// N4: the advisory's progress.
    async fn stats(&self, advisory: &Advisory) -> Result<pb::AdvisoryStats> {
        let progress = app::progress::of(&self.db, &advisory.advisory_id, FALLBACK_SHOWN).await?;
        Ok(convert::stats(advisory, progress))
    }

    pub(super) async fn answer(&self, advisory: &Advisory) -> Result<pb::Advisory> {
        let stats = self.stats(advisory).await?;
        Ok(convert::advisory(advisory, stats))
    }

    /// N2: publishing is idempotent on the request id; the recipients are resolved in the background.
    pub(super) async fn publish_advisory(
        &self,
        context: CallContext,
        r: pb::PublishAdvisoryRequest,
    ) -> Result<pb::Advisory> {
        service_caller(&context, &[PUBLISH])?;
        let new = NewAdvisory::try_from((&r, self.csaf.default_tlp))?;
        let published = app::advisories::publish(&self.db, &context, &r, &new).await?;
        self.published(published).await
    }

    /// A fresh advisory's recipients are resolved in the background; either way the caller gets the advisory.
    pub(super) async fn published(
        &self,
        published: app::advisories::Published,
    ) -> Result<pb::Advisory> {
        if published.fresh {
            self.start_resolving(published.advisory.advisory_id.clone());
        }
        self.answer(&published.advisory).await
    }

    pub(super) async fn get_advisory(
        &self,
        context: CallContext,
        r: pb::GetAdvisoryRequest,
    ) -> Result<pb::Advisory> {
        service_caller(&context, &[PUBLISH, INTERNAL_SCOPE])?;
        self.answer(&advisories::find(&self.db, &r.advisory_id).await?)
            .await
    }

    /// N4: the advisory's stats whenever they change, ending when every delivery is settled — or, unsettled, after
    /// the watch lifetime: the client then sees the last stats' `settled` false and watches again.
    pub(super) async fn watch_advisory(
        &self,
        context: CallContext,
        r: pb::WatchAdvisoryRequest,
    ) -> Result<StatsStream> {
        service_caller(&context, &[PUBLISH, INTERNAL_SCOPE])?;
        advisories::find(&self.db, &r.advisory_id).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let api = self.clone();
        let ends = tokio::time::Instant::now() + self.watch_lifetime;
        tokio::spawn(async move {
            let mut last: Option<pb::AdvisoryStats> = None;
            loop {
                let stats = match advisories::find(&api.db, &r.advisory_id).await {
                    Ok(advisory) => api.stats(&advisory).await,
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
                if settled || tokio::time::Instant::now() >= ends {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(WATCH_POLL) => {}
                    () = tokio::time::sleep_until(ends) => {}
                    // The client went away: stop reading the ledger for nobody.
                    () = tx.closed() => return,
                }
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    pub(super) async fn list_advisories(
        &self,
        context: CallContext,
        r: pb::ListAdvisoriesRequest,
    ) -> Result<pb::ListAdvisoriesResponse> {
        service_caller(&context, &[PUBLISH, INTERNAL_SCOPE])?;
        // Every advisory: the list has no resource of its own.
        let scope = paging::Scope::new("ListAdvisories", "");
        let page = paging::parse(r.page_size, &r.page_token, &scope)
            .map_err(|v| Error::invalid_fields(vec![v]))?;
        let after = page
            .after
            .as_deref()
            .map(str::parse::<i64>)
            .transpose()
            .map_err(|_| Error::invalid("page_token", "invalid"))?;
        let rows = advisories::page(&self.db, after, page.size).await?;
        let last = rows.last().map(|a| a.ordinal.to_string());
        let next_page_token = paging::next_token(&scope, last.as_deref(), rows.len(), page.size);
        let mut listed = Vec::with_capacity(rows.len());
        for advisory in &rows {
            listed.push(self.answer(advisory).await?);
        }
        Ok(pb::ListAdvisoriesResponse {
            advisories: listed,
            next_page_token,
        })
    }
}
