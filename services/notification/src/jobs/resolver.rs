//! N2: resolving an advisory's recipients into the ledger. Targets are streamed page by page (accounts from
//! licensing, points of contact from identity) and written in batches as STAGED rows; only when the whole list
//! is written do the rows become PENDING (N3: the recipient list exists before any mail is sent). A crashed
//! resolution is picked up again when its lease expires; rows already written are kept (unique key).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use portal_proto::identity::{ContactKind, PointOfContact};
use sea_orm::DatabaseConnection;
use tokio_stream::{Stream, StreamExt};

use crate::{
    domain::{ContactRole, Coverage, Recipient, Target, UnreachableAccount},
    error::Result,
    store::{advisories, deliveries},
    upstream::Upstream,
};

/// Rows written per insert, and accounts asked about per points-of-contact call.
const BATCH: usize = 500;
/// How long a resolver owns an advisory before another may take over (renewed with every batch).
const LEASE_SECS: i64 = 60;

fn lease_from(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::seconds(LEASE_SECS)
}

/// The recipients of one advisory, written as they stream in.
struct Ledger<'a> {
    db: &'a DatabaseConnection,
    advisory_id: &'a str,
    recipients: Vec<Recipient>,
    coverage: Coverage,
}

impl Ledger<'_> {
    /// Writes the points of contact of one page of accounts; `asked` are the accounts asked about.
    async fn consume(
        &mut self,
        contacts: impl Stream<Item = Result<PointOfContact, portal_clients::ClientError>>,
        asked: Option<&[String]>,
    ) -> Result<()> {
        tokio::pin!(contacts);
        let mut reached: HashSet<String> = HashSet::new();
        let mut marked: Vec<UnreachableAccount> = Vec::new();
        while let Some(contact) = contacts.next().await {
            let contact = contact?;
            if contact.unreachable {
                // Named now, while identity is being asked anyway: the report needs no call of its own.
                marked.push(UnreachableAccount {
                    account_id: contact.account_id,
                    account_name: contact.account_name,
                });
                continue;
            }
            reached.insert(contact.account_id.clone());
            self.recipients.push(Recipient {
                account_id: contact.account_id,
                account_name: contact.account_name,
                user_id: contact.user_id,
                email: contact.email,
                display_name: contact.display_name,
                fallback: contact.fallback,
            });
            if self.recipients.len() >= BATCH {
                self.flush().await?;
            }
        }
        self.coverage.n7_add_page(asked, &reached, &marked);
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let batch = std::mem::take(&mut self.recipients);
        deliveries::insert_staged(self.db, self.advisory_id, &batch).await?;
        // Still working: keep the lease.
        advisories::renew_resolution(self.db, self.advisory_id, lease_from(Utc::now())).await
    }
}

/// Resolves `advisory_id` if it is still resolving and nobody else holds it.
pub async fn resolve(
    db: &DatabaseConnection,
    upstream: &Upstream,
    advisory_id: &str,
) -> Result<()> {
    let now = Utc::now();
    if !advisories::claim_resolution(db, advisory_id, now, lease_from(now)).await? {
        return Ok(());
    }
    let resolved = resolve_claimed(db, upstream, advisory_id).await;
    if resolved.is_err() {
        // Failed (an upstream outage, say): give the lease back now, so the sweep tries again within seconds
        // rather than after the whole lease. A crashed resolver's lease still lapses on its own.
        if let Err(e) = advisories::renew_resolution(db, advisory_id, Utc::now()).await {
            tracing::warn!(advisory_id, error = %e, "releasing the resolver lease failed; it lapses instead");
        }
    }
    resolved
}

/// Resolves an advisory whose resolution this process holds.
async fn resolve_claimed(
    db: &DatabaseConnection,
    upstream: &Upstream,
    advisory_id: &str,
) -> Result<()> {
    let advisory = advisories::find(db, advisory_id).await?;
    let contact_kind = match advisory.kind.n2_recipients() {
        ContactRole::SecurityPointOfContact => ContactKind::Security,
        ContactRole::TechnicalPointOfContact => ContactKind::Technical,
    };
    let mut ledger = Ledger {
        db,
        advisory_id,
        recipients: Vec::new(),
        coverage: Coverage::default(),
    };
    match advisory.target {
        Target::AllAccounts => {
            let contacts = upstream.identity.contacts(contact_kind, Vec::new()).await?;
            ledger.consume(contacts, None).await?;
        }
        Target::Accounts(ids) => {
            for chunk in ids.chunks(BATCH) {
                let contacts = upstream
                    .identity
                    .contacts(contact_kind, chunk.to_vec())
                    .await?;
                ledger.consume(contacts, Some(chunk)).await?;
            }
        }
        Target::Products(products) => {
            let accounts = upstream.licensing.accounts_with(products).await?;
            tokio::pin!(accounts);
            let mut page = Vec::with_capacity(BATCH);
            loop {
                let next = accounts.next().await.transpose()?;
                let done = next.is_none();
                if let Some(account) = next {
                    page.push(account);
                }
                if page.len() >= BATCH || (done && !page.is_empty()) {
                    let contacts = upstream
                        .identity
                        .contacts(contact_kind, page.clone())
                        .await?;
                    ledger.consume(contacts, Some(&page)).await?;
                    page.clear();
                }
                if done {
                    break;
                }
            }
        }
    }
    ledger.flush().await?;
    advisories::finish_resolution(db, advisory_id, &ledger.coverage, Utc::now()).await?;
    tracing::info!(
        advisory_id,
        accounts = ledger.coverage.accounts,
        "recipients resolved"
    );
    Ok(())
}
