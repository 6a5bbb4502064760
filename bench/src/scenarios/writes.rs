//! The write scenarios: ActivateKey on one contended pool (checked: the pool counts every success once),
//! CreateUser and CreatePurchase.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use portal_proto::{
    billing::{CreatePurchaseRequest, PurchaseItem, billing_service_client::BillingServiceClient},
    common::{KeyFamily, LicenseType, Product},
    identity::{CreateUserRequest, Role, identity_service_client::IdentityServiceClient},
    licensing::{
        ActivateKeyRequest, GetKeyRequest, IssueKeysRequest,
        licensing_service_client::LicensingServiceClient,
    },
};
use portal_runtime::auth::Minter;

use super::{Plan, Row, user_tokens};
use crate::{
    load::{self, authorized},
    seed::{Seeded, bearer, timestamp_in},
};

pub(super) async fn writes(
    channels: &[tonic::transport::Channel],
    plan: &Plan,
    minter: &Minter,
    seeded: &Seeded,
) -> anyhow::Result<(Vec<Row>, bool)> {
    let shape = plan.shape;
    let ttl = Duration::from_secs(4 * 3600);
    let mut ok = true;
    let mut rows = Vec::new();
    let pick = |n: u64, of: usize| (n as usize) % of.max(1);
    let run = std::process::id();

    // ActivateKey: every stream activates new machines on one key, so every call contends for its pool.
    let activator = bearer(&minter.service("activation-backend", "licensing.activate", ttl))?;
    let issuer = bearer(&minter.service("bench", "licensing.issue", ttl))?;
    let first = &seeded.accounts[0];
    let key = LicensingServiceClient::new(channels[0].clone())
        .issue_keys(authorized(
            IssueKeysRequest {
                account_id: first.account_id.clone(),
                family: KeyFamily::Tc as i32,
                seats: 1_000_000,
                license_type: LicenseType::Term as i32,
                period_end: Some(timestamp_in(365)),
                maintenance_end: Some(timestamp_in(365)),
                count: 1,
                request_id: format!("bench-{run}-contended"),
                ..Default::default()
            },
            &issuer,
        ))
        .await?
        .into_inner()
        .keys
        .pop()
        .context("no contended key issued")?;
    let key_string = key.key.clone();
    let token = activator.clone();
    let figures = load::drive_if(
        plan.wants("ActivateKey, one contended pool"),
        channels,
        shape,
        move |channel, n| {
            let (key, token) = (key_string.clone(), token.clone());
            async move {
                LicensingServiceClient::new(channel)
                    .activate_key(authorized(
                        ActivateKeyRequest {
                            key,
                            product: Product::Desktop as i32,
                            machine_fingerprint: format!("machine-{n}"),
                            hostname: format!("host-{n}"),
                            version: "2026.3".into(),
                            user_email: String::new(),
                        },
                        &token,
                    ))
                    .await
                    .map(|_| ())
            }
        },
    )
    .await;
    let used = LicensingServiceClient::new(channels[0].clone())
        .get_key(authorized(
            GetKeyRequest {
                key_id: key.key_id.clone(),
            },
            &issuer,
        ))
        .await?
        .into_inner()
        .activations_used;
    // Warm-up and measured calls both activated new machines: each success is in the pool exactly once.
    let succeeded = figures.ok + figures.warmup_ok;
    if u64::try_from(used).unwrap_or(0) == succeeded {
        println!("ActivateKey check: {succeeded} activations succeeded, the pool counts {used}");
    } else {
        println!(
            "CHECK FAILED: ActivateKey: {succeeded} activations succeeded but the pool counts {used}"
        );
        ok = false;
    }
    rows.push(Row {
        name: "ActivateKey, one contended pool",
        figures,
    });

    // CreateUser: new users spread over the seeded accounts, by the vendor's account team.
    let admin = bearer(&minter.service("bench", "identity.admin", ttl))?;
    let accounts: Arc<Vec<String>> = Arc::new(
        seeded
            .accounts
            .iter()
            .map(|a| a.account_id.clone())
            .collect(),
    );
    let ids = accounts.clone();
    let figures = load::drive_if(
        plan.wants("CreateUser"),
        channels,
        shape,
        move |channel, n| {
            let account_id = ids[pick(n, ids.len())].clone();
            let token = admin.clone();
            async move {
                IdentityServiceClient::new(channel)
                    .create_user(authorized(
                        CreateUserRequest {
                            account_id,
                            email: format!("new{n}-{run}@bench.example"),
                            display_name: format!("New user {n}"),
                            role: Role::DownloadOnly as i32,
                            additional_permissions: vec![],
                            request_id: format!("bench-{run}-new-{n}"),
                        },
                        &token,
                    ))
                    .await
                    .map(|_| ())
            }
        },
    )
    .await;
    rows.push(Row {
        name: "CreateUser",
        figures,
    });

    // CreatePurchase: an Administrator buys one Desktop seat; billing has licensing issue the key.
    let admins = user_tokens(minter, seeded, |a| &a.admin_user_id)?;
    let figures = load::drive_if(
        plan.wants("CreatePurchase (one Desktop seat)"),
        channels,
        shape,
        move |channel, n| {
            let (token, _, account_id) = admins[pick(n, admins.len())].clone();
            async move {
                BillingServiceClient::new(channel)
                    .create_purchase(authorized(
                        CreatePurchaseRequest {
                            account_id,
                            items: vec![PurchaseItem {
                                sku: "DESKTOP-TERM-1Y".into(),
                                quantity: 1,
                            }],
                            request_id: format!("bench-{run}-buy-{n}"),
                        },
                        &token,
                    ))
                    .await
                    .map(|_| ())
            }
        },
    )
    .await;
    rows.push(Row {
        name: "CreatePurchase (one Desktop seat)",
        figures,
    });
    Ok((rows, ok))
}
