//! N2: resolving an advisory's recipients into the ledger. Targets are streamed page by page (accounts from
//! licensing, points of contact from identity) and written in batches as STAGED rows; only when the whole list
//! is written do the rows become PENDING (N3: the recipient list exists before any mail is sent). A crashed
//! resolution is picked up again when its lease expires; rows already written are kept (unique key).

use std::{collections::HashSet, time::Duration};

use chrono::Utc;
use portal_proto::identity::{ContactKind, PointOfContact};
use portal_runtime::new_id;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, sea_query::Expr};
use tokio_stream::{Stream, StreamExt};

use crate::{
    domain::{DeliveryState, Kind, Target},
    error::Result,
    store::{self, advisory, delivery},
    upstream::Upstream,
};

/// Rows written per insert, and accounts asked about per points-of-contact call.
const BATCH: usize = 500;
/// How long a resolver owns an advisory before another may take over (renewed with every batch).
pub const LEASE: Duration = Duration::from_secs(60);

struct Ledger<'a> {
    db: &'a DatabaseConnection,
    advisory_id: &'a str,
    rows: Vec<delivery::ActiveModel>,
    accounts: i64,
    unreachable: Vec<String>,
}

impl Ledger<'_> {
    /// Writes the points of contact of one page of accounts; `expected` are the accounts asked about.
    async fn consume(
        &mut self,
        contacts: impl Stream<Item = Result<PointOfContact, portal_clients::ClientError>>,
        expected: Option<&[String]>,
    ) -> Result<()> {
        tokio::pin!(contacts);
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(contact) = contacts.next().await {
            let contact = contact?;
            if seen.insert(contact.account_id.clone()) && expected.is_none() {
                self.accounts += 1;
            }
            let now = Utc::now();
            self.rows.push(delivery::ActiveModel {
                delivery_id: Set(new_id("dlv")),
                advisory_id: Set(Some(self.advisory_id.to_string())),
                notice_kind: Set(None),
                account_id: Set(contact.account_id),
                account_name: Set(contact.account_name),
                user_id: Set(contact.user_id),
                email_key: Set(contact.email.to_lowercase()),
                email: Set(contact.email),
                display_name: Set(contact.display_name),
                fallback: Set(contact.fallback),
                payload: Set(None),
                state: Set(DeliveryState::Staged.as_str().into()),
                attempts: Set(0),
                last_error: Set(String::new()),
                next_attempt_time: Set(now),
                lease_owner: Set(None),
                lease_until: Set(None),
                sent_time: Set(None),
                create_time: Set(now),
                update_time: Set(now),
            });
            if self.rows.len() >= BATCH {
                self.flush().await?;
            }
        }
        if let Some(expected) = expected {
            self.accounts += expected.len() as i64;
            self.unreachable
                .extend(expected.iter().filter(|id| !seen.contains(*id)).cloned());
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        store::insert_deliveries(self.db, std::mem::take(&mut self.rows)).await?;
        // Still working: keep the lease.
        advisory::Entity::update_many()
            .col_expr(
                advisory::Column::ResolverLeaseUntil,
                Expr::value(Some(
                    Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default(),
                )),
            )
            .filter(advisory::Column::AdvisoryId.eq(self.advisory_id))
            .exec(self.db)
            .await?;
        Ok(())
    }
}

/// Resolves `advisory_id` if it is still resolving and nobody else holds it.
pub async fn resolve(
    db: &DatabaseConnection,
    upstream: &Upstream,
    advisory_id: &str,
) -> Result<()> {
    let now = Utc::now();
    let claimed = advisory::Entity::update_many()
        .col_expr(
            advisory::Column::ResolverLeaseUntil,
            Expr::value(Some(
                now + chrono::Duration::from_std(LEASE).unwrap_or_default(),
            )),
        )
        .filter(advisory::Column::AdvisoryId.eq(advisory_id))
        .filter(advisory::Column::State.eq(store::RESOLVING))
        .filter(
            sea_orm::Condition::any()
                .add(advisory::Column::ResolverLeaseUntil.is_null())
                .add(advisory::Column::ResolverLeaseUntil.lt(now)),
        )
        .exec(db)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Ok(());
    }
    let row = store::find_advisory(db, advisory_id).await?;
    let target: Target = serde_json::from_str(&row.target)
        .map_err(|e| crate::error::Error::internal(format!("stored target: {e}")))?;
    let contact_kind = if Kind::parse(&row.kind) == Kind::Security {
        ContactKind::Security
    } else {
        ContactKind::Technical
    };
    let mut ledger = Ledger {
        db,
        advisory_id,
        rows: Vec::new(),
        accounts: 0,
        unreachable: Vec::new(),
    };
    match target {
        Target::AllAccounts => {
            let contacts = upstream.identity.contacts(contact_kind, Vec::new()).await?;
            ledger.consume(contacts, None).await?;
        }
        Target::Accounts(ids) => {
            for chunk in ids.chunks(BATCH) {
                let contacts = upstream.identity.contacts(contact_kind, chunk.to_vec()).await?;
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
                    let contacts = upstream.identity.contacts(contact_kind, page.clone()).await?;
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
    let txn = portal_runtime::db::begin_write(db).await?;
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::State,
            Expr::value(DeliveryState::Pending.as_str()),
        )
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .filter(delivery::Column::State.eq(DeliveryState::Staged.as_str()))
        .exec(&txn)
        .await?;
    let unreachable = serde_json::to_string(&ledger.unreachable).unwrap_or_else(|_| "[]".into());
    advisory::Entity::update_many()
        .col_expr(advisory::Column::State, Expr::value(store::READY))
        .col_expr(
            advisory::Column::AccountsTargeted,
            Expr::value(ledger.accounts),
        )
        .col_expr(
            advisory::Column::UnreachableAccounts,
            Expr::value(unreachable),
        )
        .col_expr(advisory::Column::ResolveTime, Expr::value(Some(Utc::now())))
        .filter(advisory::Column::AdvisoryId.eq(advisory_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    tracing::info!(
        advisory_id,
        accounts = ledger.accounts,
        "recipients resolved"
    );
    Ok(())
}

/// Advisories still resolving whose resolver lease has lapsed (a crash, or a failed upstream call).
pub async fn orphaned(db: &DatabaseConnection) -> Result<Vec<String>> {
    let now = Utc::now();
    Ok(advisory::Entity::find()
        .filter(advisory::Column::State.eq(store::RESOLVING))
        .filter(
            sea_orm::Condition::any()
                .add(advisory::Column::ResolverLeaseUntil.is_null())
                .add(advisory::Column::ResolverLeaseUntil.lt(now)),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.advisory_id)
        .collect())
}
