//! The read scenarios: idle round trips, then CheckAccess, GetUser and ListKeys under load.

use std::time::Instant;

use portal_proto::{
    identity::{
        Action, CheckAccessRequest, GetUserRequest, identity_service_client::IdentityServiceClient,
    },
    licensing::{ListKeysRequest, licensing_service_client::LicensingServiceClient},
};
use portal_runtime::auth::Minter;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::{Plan, Row, user_tokens};
use crate::{
    load::{self, authorized},
    seed::Seeded,
};

/// 20 sequential calls of each kind on an otherwise idle server: (name, median ms, slowest ms).
pub(super) async fn idle_round_trips(
    channel: &tonic::transport::Channel,
    minter: &Minter,
    seeded: &Seeded,
) -> anyhow::Result<Vec<(&'static str, f64, f64)>> {
    let admins = user_tokens(minter, seeded, |a| &a.admin_user_id)?;
    let (token, user_id, account_id) = admins[0].clone();
    let mut licensing = LicensingServiceClient::new(channel.clone());
    let mut identity = IdentityServiceClient::new(channel.clone());
    let (mut list_keys, mut get_user) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let started = Instant::now();
        licensing
            .list_keys(authorized(
                ListKeysRequest {
                    account_id: account_id.clone(),
                    page_size: 50,
                    page_token: String::new(),
                },
                &token,
            ))
            .await?;
        list_keys.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        identity
            .get_user(authorized(
                GetUserRequest {
                    user_id: user_id.clone(),
                    without_persona: false,
                },
                &token,
            ))
            .await?;
        get_user.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let summary = |mut ms: Vec<f64>| {
        ms.sort_by(f64::total_cmp);
        (ms[ms.len() / 2], ms[ms.len() - 1])
    };
    let (lk, gu) = (summary(list_keys), summary(get_user));
    Ok(vec![
        ("ListKeys (page of 50)", lk.0, lk.1),
        ("GetUser", gu.0, gu.1),
    ])
}

pub(super) async fn reads(
    channels: &[tonic::transport::Channel],
    plan: &Plan,
    minter: &Minter,
    seeded: &Seeded,
) -> anyhow::Result<Vec<Row>> {
    let shape = plan.shape;
    let admins = user_tokens(minter, seeded, |a| &a.admin_user_id)?;
    let holders = user_tokens(minter, seeded, |a| &a.holder_user_id)?;
    let pick = |n: u64, of: usize| (n as usize) % of.max(1);
    let mut rows = Vec::new();

    let health = load::drive_if(
        plan.wants("grpc.health Check (the suite, no auth)"),
        channels,
        shape,
        |channel, _| async move {
            HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(|_| ())
        },
    )
    .await;
    rows.push(Row {
        name: "grpc.health Check (the suite, no auth)",
        figures: health,
    });

    for (name, tokens, action) in [
        (
            "CheckAccess, Administrator",
            admins.clone(),
            Action::ViewInvoices,
        ),
        (
            "CheckAccess, Download Only (key holder)",
            holders.clone(),
            Action::DownloadProducts,
        ),
    ] {
        let figures = load::drive_if(plan.wants(name), channels, shape, move |channel, n| {
            let (token, user_id, account_id) = tokens[pick(n, tokens.len())].clone();
            async move {
                IdentityServiceClient::new(channel)
                    .check_access(authorized(
                        CheckAccessRequest {
                            user_id,
                            account_id,
                            action: action as i32,
                        },
                        &token,
                    ))
                    .await
                    .and_then(|r| {
                        if r.get_ref().allowed {
                            Ok(())
                        } else {
                            Err(tonic::Status::internal(format!(
                                "denied: {}",
                                r.get_ref().reason
                            )))
                        }
                    })
            }
        })
        .await;
        rows.push(Row { name, figures });
    }

    let tokens = holders.clone();
    let figures = load::drive_if(
        plan.wants("GetUser, Download Only (with persona)"),
        channels,
        shape,
        move |channel, n| {
            let (token, user_id, _) = tokens[pick(n, tokens.len())].clone();
            get_user(channel, token, user_id)
        },
    )
    .await;
    rows.push(Row {
        name: "GetUser, Download Only (with persona)",
        figures,
    });

    let tokens = admins.clone();
    let figures = load::drive_if(
        plan.wants("ListKeys, Administrator, page of 50"),
        channels,
        shape,
        move |channel, n| {
            let (token, _, account_id) = tokens[pick(n, tokens.len())].clone();
            async move {
                LicensingServiceClient::new(channel)
                    .list_keys(authorized(
                        ListKeysRequest {
                            account_id,
                            page_size: 50,
                            page_token: String::new(),
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
        name: "ListKeys, Administrator, page of 50",
        figures,
    });
    Ok(rows)
}

/// One GetUser (with the persona), as `token`'s holder.
pub(super) async fn get_user(
    channel: tonic::transport::Channel,
    token: tonic::metadata::AsciiMetadataValue,
    user_id: String,
) -> Result<(), tonic::Status> {
    IdentityServiceClient::new(channel)
        .get_user(authorized(
            GetUserRequest {
                user_id,
                without_persona: false,
            },
            &token,
        ))
        .await
        .map(|_| ())
}
