//! Realistic data, made through the suite's own RPCs: accounts, each with one Administrator, security
//! contacts and Download Only users, a set of product keys, and one key assigned to a Download Only user.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt};
use portal_proto::{
    common::{KeyFamily, LicenseType},
    identity::{
        CreateAccountRequest, CreateUserRequest, Permission, Role,
        identity_service_client::IdentityServiceClient,
    },
    licensing::{
        AssignKeyRequest, IssueKeysRequest, licensing_service_client::LicensingServiceClient,
    },
};
use portal_runtime::auth::Minter;
use tonic::{metadata::AsciiMetadataValue, transport::Channel};

use crate::load::authorized;

/// How much to make.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub accounts: usize,
    pub users_per_account: usize,
    /// Of each account's users, how many are security points of contact (the advisory's recipients).
    pub contacts_per_account: usize,
    pub keys_per_account: usize,
}

/// One seeded account: its Administrator, a Download Only user holding an assigned key, and its keys.
#[derive(Debug, Clone)]
pub struct SeededAccount {
    pub account_id: String,
    pub admin_user_id: String,
    pub holder_user_id: String,
    pub key_ids: Vec<String>,
}

#[derive(Debug)]
pub struct Seeded {
    pub accounts: Vec<SeededAccount>,
    pub users: usize,
    pub keys: usize,
    pub notices: usize,
    pub took: Duration,
}

pub fn bearer(token: &str) -> anyhow::Result<AsciiMetadataValue> {
    Ok(format!("Bearer {token}").parse()?)
}

pub fn timestamp_in(days: i64) -> prost_types::Timestamp {
    let at = chrono::Utc::now() + chrono::Duration::days(days);
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

const PARALLEL: usize = 32;

pub async fn seed(channel: Channel, minter: Arc<Minter>, size: Size) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let ttl = Duration::from_secs(4 * 3600);
    let admin = bearer(&minter.service("bench", "identity.admin", ttl))?;
    let issuer = bearer(&minter.service("bench", "licensing.issue", ttl))?;
    let run = std::process::id();

    let identity = IdentityServiceClient::new(channel.clone());
    let licensing = LicensingServiceClient::new(channel);
    let accounts: Vec<SeededAccount> = futures::stream::iter(0..size.accounts)
        .map(|i| {
            let mut identity = identity.clone();
            let mut licensing = licensing.clone();
            let (admin, issuer, minter) = (admin.clone(), issuer.clone(), minter.clone());
            async move {
                let account_id = identity
                    .create_account(authorized(
                        CreateAccountRequest {
                            name: format!("Bench Customer {i}"),
                            academic: false,
                            request_id: format!("bench-{run}-acc-{i}"),
                        },
                        &admin,
                    ))
                    .await?
                    .into_inner()
                    .account_id;
                let mut user_ids = Vec::with_capacity(size.users_per_account);
                for u in 0..size.users_per_account {
                    let (role, permissions) = match u {
                        0 => (Role::Administrator, vec![]),
                        u if u <= size.contacts_per_account => (
                            Role::DownloadOnly,
                            vec![Permission::SecurityPointOfContact as i32],
                        ),
                        _ => (Role::DownloadOnly, vec![]),
                    };
                    let user = identity
                        .create_user(authorized(
                            CreateUserRequest {
                                account_id: account_id.clone(),
                                email: format!("user{u}@customer{i}.bench.example"),
                                display_name: format!("User {u} of customer {i}"),
                                role: role as i32,
                                additional_permissions: permissions,
                                request_id: format!("bench-{run}-usr-{i}-{u}"),
                            },
                            &admin,
                        ))
                        .await?
                        .into_inner();
                    user_ids.push((user.user_id, user.email));
                }
                let key_ids: Vec<String> = if size.keys_per_account == 0 {
                    Vec::new()
                } else {
                    licensing
                        .issue_keys(authorized(
                            IssueKeysRequest {
                                account_id: account_id.clone(),
                                family: KeyFamily::Tc as i32,
                                seats: 5,
                                license_type: LicenseType::Term as i32,
                                period_end: Some(timestamp_in(365)),
                                maintenance_end: Some(timestamp_in(365)),
                                count: i32::try_from(size.keys_per_account)?,
                                request_id: format!("bench-{run}-keys-{i}"),
                                ..Default::default()
                            },
                            &issuer,
                        ))
                        .await?
                        .into_inner()
                        .keys
                        .into_iter()
                        .map(|k| k.key_id)
                        .collect()
                };
                let (admin_user_id, _) = user_ids.first().cloned().unwrap_or_default();
                let (holder_user_id, holder_email) = user_ids.last().cloned().unwrap_or_default();
                if let Some(key_id) = key_ids.first() {
                    let as_admin = bearer(&minter.user(&admin_user_id, ttl))?;
                    licensing
                        .assign_key(authorized(
                            AssignKeyRequest {
                                key_id: key_id.clone(),
                                email: holder_email,
                            },
                            &as_admin,
                        ))
                        .await?;
                }
                anyhow::Ok(SeededAccount {
                    account_id,
                    admin_user_id,
                    holder_user_id,
                    key_ids,
                })
            }
        })
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
    let users = size.accounts * size.users_per_account;
    let assigned = accounts.iter().filter(|a| !a.key_ids.is_empty()).count();
    Ok(Seeded {
        keys: size.accounts * size.keys_per_account,
        // One "user added" notice per user and one "key assigned" notice per assignment (N6).
        notices: users + assigned,
        users,
        accounts,
        took: started.elapsed(),
    })
}
