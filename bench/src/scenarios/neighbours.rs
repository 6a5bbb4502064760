//! The noisy neighbour (issue 24): the GetUser scenario again, while one Download Only user of another account
//! keeps `STALLED` calls open half-sent (headers and 3 of the 5 bytes of the message prefix) over 6 raw HTTP/2
//! connections, opening a new one when the server cuts one at the read deadline, and RETRY after one is refused
//! over its share (without that pause the attacker is a flood of refused calls, a different attack: it costs the
//! others the CPU the refusals take, which no share can give back). Its row next to the plain GetUser row is what
//! the stalling costs everyone else.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use bytes::Bytes;
use portal_runtime::auth::Minter;
use tokio::net::TcpStream;

use super::{Plan, Row, reads, user_tokens};
use crate::{load, seed::Seeded};

/// Calls the attacker keeps open at once (more than the default share and than the smoke run's limits).
const STALLED: usize = 600;
const CONNECTIONS: usize = 6;
/// How long a refused attacker waits before opening the call again.
const RETRY: std::time::Duration = std::time::Duration::from_millis(100);

pub(super) async fn under_attack(
    channels: &[tonic::transport::Channel],
    address: &str,
    plan: &Plan,
    minter: &Minter,
    seeded: &Seeded,
) -> anyhow::Result<Vec<Row>> {
    let name = "GetUser, Download Only, while another user stalls 600 calls";
    if !plan.wants(name) {
        return Ok(Vec::new());
    }
    let holders = user_tokens(minter, seeded, |a| &a.holder_user_id)?;
    let (attacker, quiet) = holders
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no seeded users"))?;
    let quiet = Arc::new(quiet.to_vec());
    let stop = Arc::new(AtomicBool::new(false));
    let cut = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let mut attack = Vec::new();
    for _ in 0..CONNECTIONS {
        let tcp = TcpStream::connect(address).await?;
        tcp.set_nodelay(true)?;
        let (sender, connection) = h2::client::handshake(tcp).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        for _ in 0..STALLED / CONNECTIONS {
            let (sender, token, stop, cut, refused_count) = (
                sender.clone(),
                attacker.0.clone(),
                stop.clone(),
                cut.clone(),
                refused.clone(),
            );
            let uri = format!("http://{address}/portal.identity.v1.IdentityService/GetUser");
            attack.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut ready) = sender.clone().ready().await else {
                        return;
                    };
                    let Ok(request) = http::Request::post(&uri)
                        .header("content-type", "application/grpc")
                        .header("te", "trailers")
                        .header("authorization", token.to_str().unwrap_or_default())
                        .body(())
                    else {
                        return;
                    };
                    let Ok((response, mut body)) = ready.send_request(request, false) else {
                        return;
                    };
                    let _ = body.send_data(Bytes::from_static(&[0, 0, 0]), false);
                    // Held until the server answers (a refusal at once, or the cut at the read deadline).
                    let refused = match response.await {
                        Ok(answer) => answer
                            .headers()
                            .get("grpc-status")
                            .is_some_and(|code| code.as_bytes() == b"8"),
                        Err(_) => false,
                    };
                    if refused {
                        refused_count.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(RETRY).await;
                    } else {
                        cut.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    let pick = |n: u64, of: usize| (n as usize) % of.max(1);
    let figures = load::drive(channels, plan.shape, move |channel, n| {
        let (token, user_id, _) = quiet[pick(n, quiet.len())].clone();
        reads::get_user(channel, token, user_id)
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in attack {
        task.abort();
    }
    println!(
        "Noisy neighbour: while the other users were measured, the attacker's stalled calls were cut at the read deadline {} times and refused over its share {} times",
        cut.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );
    Ok(vec![Row { name, figures }])
}
