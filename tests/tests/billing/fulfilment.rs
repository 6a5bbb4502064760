//! Fulfilment while licensing is down (B3): purchases are invoiced and stay pending, complete exactly once when
//! licensing returns, and one cancelled meanwhile is never fulfilled. A purchase licensing refuses part-way has
//! what it issued revoked and its invoice voided, once, across a restart of billing (B9).

use std::time::Duration;

use portal_proto::{
    billing::{self as pb, InvoiceState, PurchaseState},
    common::KeyFamily,
    licensing as lic,
};
use portal_testkit::{ServiceKind, TestApp, storage_test, wait};

use super::{invoice, item, keys_of, order, settled};

storage_test!(
    b3_purchases_made_while_licensing_is_down_complete_when_it_returns,
    |backend| async move {
        // Identity, licensing and billing in three processes sharing one deployment; licensing on a fixed port so it
        // can stop and come back at the same address.
        let reserved = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let licensing_url = format!("http://{reserved}");
        let core = TestApp::spawn_with(backend, &[ServiceKind::Identity], |s| {
            s.peers.licensing = Some(licensing_url.clone())
        })
        .await;
        let identity_url = format!("http://{}", core.address);
        let mut licensing = core
            .spawn_sharing(&[ServiceKind::Licensing], |s| {
                s.listen = reserved;
                s.peers.identity = Some(identity_url.clone());
            })
            .await;
        let billing = core
            .spawn_sharing(&[ServiceKind::Billing], |s| {
                s.peers.identity = Some(identity_url.clone());
                s.peers.licensing = Some(licensing_url.clone());
                s.server.client_timeout_ms = 2_000;
            })
            .await;
        let (a, _, admin_token) = core.account_with_admin("Acme").await;
        let mut admin = billing.billing(&admin_token).await;

        licensing.shutdown().await;
        let request = order(
            &a,
            vec![item("DESKTOP-TERM-1Y", 1), item("SERVER-TERM-1Y", 2)],
            "while-down",
        );
        let pending = admin
            .create_purchase(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(pending.state(), PurchaseState::Pending);
        assert!(pending.key_ids.is_empty());
        assert_eq!(
            invoice(&mut admin, &pending.invoice_id).await.state(),
            InvoiceState::Open,
            "invoiced all the same"
        );
        let replay = admin
            .create_purchase(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replay.purchase_id, pending.purchase_id);
        // A second order is cancelled (its invoice voided) while it waits: it must never be fulfilled.
        let cancelled = admin
            .create_purchase(order(&a, vec![item("SERVER-TERM-1Y", 1)], "cancelled"))
            .await
            .unwrap()
            .into_inner();
        let mut payments = billing
            .billing(&billing.service_token("finance", "billing.payments"))
            .await;
        payments
            .void_invoice(pb::VoidInvoiceRequest {
                invoice_id: cancelled.invoice_id.clone(),
                reason: "customer cancelled".into(),
            })
            .await
            .unwrap();

        let mut back = core
            .spawn_sharing(&[ServiceKind::Licensing], |s| {
                s.listen = reserved;
                s.peers.identity = Some(identity_url.clone());
            })
            .await;
        let done = settled(&mut admin, &pending.purchase_id).await;
        assert_eq!(
            (done.state(), done.key_ids.len()),
            (PurchaseState::Fulfilled, 2)
        );
        let refused = settled(&mut admin, &cancelled.purchase_id).await;
        assert_eq!(
            (refused.state(), refused.key_ids.len()),
            (PurchaseState::Failed, 0),
            "nothing is issued against a void invoice"
        );
        let mut internal = back
            .licensing(&back.service_token("support", "internal"))
            .await;
        let keys = keys_of(&mut internal, &a).await;
        assert_eq!(keys.len(), 2, "exactly one set of keys");
        let mut ids: Vec<String> = keys.into_iter().map(|k| k.key_id).collect();
        ids.sort();
        let mut fulfilled = done.key_ids.clone();
        fulfilled.sort();
        assert_eq!(ids, fulfilled);
        // Later passes of the retry loop change nothing. A later pass is made observable: an order placed while
        // licensing is down once more is completed only by a pass that starts after it, so after the two above
        // were settled.
        back.shutdown().await;
        let probe = admin
            .create_purchase(order(&a, vec![item("VIEWER-TERM-1Y", 1)], "probe"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(probe.state(), PurchaseState::Pending);
        let again = core
            .spawn_sharing(&[ServiceKind::Licensing], |s| {
                s.listen = reserved;
                s.peers.identity = Some(identity_url.clone());
            })
            .await;
        let probed = settled(&mut admin, &probe.purchase_id).await;
        assert_eq!(probed.state(), PurchaseState::Fulfilled);
        let mut internal = again
            .licensing(&again.service_token("support", "internal"))
            .await;
        let (probe_keys, others): (Vec<_>, Vec<_>) = keys_of(&mut internal, &a)
            .await
            .into_iter()
            .partition(|k| k.purchase_id == probe.purchase_id);
        let mut others: Vec<String> = others.into_iter().map(|k| k.key_id).collect();
        others.sort();
        assert_eq!(others, fulfilled, "still exactly the one set of keys");
        assert_eq!(probe_keys.len(), probed.key_ids.len());
        assert_eq!(
            settled(&mut admin, &cancelled.purchase_id).await.state(),
            PurchaseState::Failed
        );
        assert_eq!(
            admin
                .create_purchase(request)
                .await
                .unwrap()
                .into_inner()
                .key_ids,
            done.key_ids
        );
    }
);

storage_test!(
    b9_a_purchase_refused_on_line_2_revokes_line_1_and_voids_its_invoice_once_across_a_restart,
    |backend| async move {
        // Identity, licensing and billing in three processes sharing one deployment; licensing on a fixed port so
        // it can stop and come back at the same address, billing restarted in between.
        let reserved = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let licensing_url = format!("http://{reserved}");
        let core = TestApp::spawn_with(backend, &[ServiceKind::Identity], |s| {
            s.peers.licensing = Some(licensing_url.clone())
        })
        .await;
        let identity_url = format!("http://{}", core.address);
        let licensing_at = |listen: std::net::SocketAddr| {
            let identity_url = identity_url.clone();
            move |s: &mut portal_runtime::Settings| {
                s.listen = listen;
                s.peers.identity = Some(identity_url);
            }
        };
        let billing_settings = |s: &mut portal_runtime::Settings| {
            s.peers.identity = Some(identity_url.clone());
            s.peers.licensing = Some(licensing_url.clone());
            s.server.client_timeout_ms = 2_000;
        };
        let (a, _, admin_token) = core.account_with_admin("Acme").await;
        let mut billing = core
            .spawn_sharing(&[ServiceKind::Billing], billing_settings)
            .await;

        // Ordered while licensing is down: the purchase waits, invoiced.
        let request = order(
            &a,
            vec![item("DESKTOP-TERM-1Y", 1), item("SERVER-TERM-1Y", 1)],
            "half-done",
        );
        let pending = billing
            .billing(&admin_token)
            .await
            .create_purchase(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(pending.state(), PurchaseState::Pending);

        // Licensing will refuse line 2: its request id is already taken by another issue (REQUEST_ID_REUSED),
        // claimed through a licensing process billing does not talk to.
        let side = core
            .spawn_sharing(
                &[ServiceKind::Licensing],
                licensing_at("127.0.0.1:0".parse().unwrap()),
            )
            .await;
        let mut issuer = side
            .licensing(&side.service_token("issuer", "licensing.issue"))
            .await;
        issuer
            .issue_keys(lic::IssueKeysRequest {
                request_id: format!("{}/line-1", pending.purchase_id),
                ..portal_testkit::fixtures::term_key(&a, KeyFamily::Td, 7)
            })
            .await
            .unwrap();
        side.stop().await;

        // Billing restarts before licensing returns; the new process's retry loop does the rest.
        billing.shutdown().await;
        let billing = core
            .spawn_sharing(&[ServiceKind::Billing], billing_settings)
            .await;
        let licensing = core
            .spawn_sharing(&[ServiceKind::Licensing], licensing_at(reserved))
            .await;
        let mut admin = billing.billing(&admin_token).await;
        let failed = settled(&mut admin, &pending.purchase_id).await;
        assert_eq!(failed.state(), PurchaseState::Failed);
        assert!(
            failed.failure_reason.contains("already used"),
            "licensing's refusal of line 2: {}",
            failed.failure_reason
        );
        assert_eq!(failed.key_ids.len(), 1, "line 1 was issued: {failed:?}");
        let compensated = wait::until(
            "the failed purchase's keys to be revoked",
            Duration::from_secs(30),
            async || {
                let p = admin
                    .get_purchase(pb::GetPurchaseRequest {
                        purchase_id: pending.purchase_id.clone(),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                if p.compensation_pending {
                    Err(p)
                } else {
                    Ok(p)
                }
            },
        )
        .await;
        assert_eq!(compensated.revoked_key_ids, failed.key_ids);
        assert_eq!(
            invoice(&mut admin, &pending.invoice_id).await.state(),
            InvoiceState::Void
        );
        let mut internal = licensing
            .licensing(&licensing.service_token("support", "internal"))
            .await;
        let keys = keys_of(&mut internal, &a).await;
        let of_purchase: Vec<&lic::ProductKey> = keys
            .iter()
            .filter(|k| k.purchase_id == pending.purchase_id)
            .collect();
        assert_eq!(of_purchase.len(), 1, "line 1's key, issued once");
        assert_eq!(of_purchase[0].key_id, failed.key_ids[0]);
        assert_eq!(of_purchase[0].state(), lic::KeyState::Revoked);
        let squatted = keys.iter().find(|k| k.seats == 7).unwrap();
        assert_eq!(
            squatted.state(),
            lic::KeyState::Active,
            "only the purchase's keys are revoked"
        );

        // Once: another restart of billing, and a later pass of its retry loop (made observable by an order that
        // only that loop completes), change nothing.
        billing.stop().await;
        let billing = core
            .spawn_sharing(&[ServiceKind::Billing], billing_settings)
            .await;
        let mut admin = billing.billing(&admin_token).await;
        licensing.stop().await;
        let probe = admin
            .create_purchase(order(&a, vec![item("VIEWER-TERM-1Y", 1)], "probe"))
            .await
            .unwrap()
            .into_inner();
        let licensing = core
            .spawn_sharing(&[ServiceKind::Licensing], licensing_at(reserved))
            .await;
        assert_eq!(
            settled(&mut admin, &probe.purchase_id).await.state(),
            PurchaseState::Fulfilled
        );
        let again = admin
            .get_purchase(pb::GetPurchaseRequest {
                purchase_id: pending.purchase_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again, compensated, "unchanged");
        let mut internal = licensing
            .licensing(&licensing.service_token("support", "internal"))
            .await;
        let key_now = keys_of(&mut internal, &a)
            .await
            .into_iter()
            .find(|k| k.key_id == failed.key_ids[0])
            .unwrap();
        assert_eq!(
            (key_now.revoke_time, key_now.update_time),
            (of_purchase[0].revoke_time, of_purchase[0].update_time),
            "revoked once"
        );
    }
);

storage_test!(
    b3_a_purchase_made_while_licensing_is_down_completes_once_across_a_billing_restart,
    |backend| async move {
        // Identity, licensing and billing in three processes; licensing on a fixed port so it can stop and come
        // back at the same address; billing restarted while the purchase waits.
        let reserved = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let licensing_url = format!("http://{reserved}");
        let core = TestApp::spawn_with(backend, &[ServiceKind::Identity], |s| {
            s.peers.licensing = Some(licensing_url.clone())
        })
        .await;
        let identity_url = format!("http://{}", core.address);
        let licensing_settings = |s: &mut portal_runtime::Settings| {
            s.listen = reserved;
            s.peers.identity = Some(identity_url.clone());
        };
        let billing_settings = |s: &mut portal_runtime::Settings| {
            s.peers.identity = Some(identity_url.clone());
            s.peers.licensing = Some(licensing_url.clone());
            s.server.client_timeout_ms = 2_000;
        };
        let licensing = core
            .spawn_sharing(&[ServiceKind::Licensing], licensing_settings)
            .await;
        let mut billing = core
            .spawn_sharing(&[ServiceKind::Billing], billing_settings)
            .await;
        let (a, _, admin_token) = core.account_with_admin("Acme").await;

        licensing.stop().await;
        let request = order(
            &a,
            vec![item("DESKTOP-TERM-1Y", 2), item("SERVER-TERM-1Y", 1)],
            "during-outage",
        );
        let pending = billing
            .billing(&admin_token)
            .await
            .create_purchase(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(pending.state(), PurchaseState::Pending, "accepted, waiting");

        // Billing restarts while the purchase waits; the order is replayed against the new process.
        billing.shutdown().await;
        let billing = core
            .spawn_sharing(&[ServiceKind::Billing], billing_settings)
            .await;
        let mut admin = billing.billing(&admin_token).await;
        let replay = admin
            .create_purchase(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (replay.purchase_id.as_str(), replay.state()),
            (pending.purchase_id.as_str(), PurchaseState::Pending)
        );

        let licensing = core
            .spawn_sharing(&[ServiceKind::Licensing], licensing_settings)
            .await;
        let done = settled(&mut admin, &pending.purchase_id).await;
        assert_eq!(
            (done.state(), done.key_ids.len()),
            (PurchaseState::Fulfilled, 2),
            "{done:?}"
        );
        let mut internal = licensing
            .licensing(&licensing.service_token("support", "internal"))
            .await;
        let mut issued: Vec<String> = keys_of(&mut internal, &a)
            .await
            .into_iter()
            .filter(|k| k.purchase_id == pending.purchase_id)
            .map(|k| k.key_id)
            .collect();
        issued.sort();
        let mut fulfilled = done.key_ids.clone();
        fulfilled.sort();
        assert_eq!(issued, fulfilled, "keys issued once");
        let invoices = admin
            .list_invoices(pb::ListInvoicesRequest {
                account_id: a.clone(),
                page_size: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .invoices;
        assert_eq!(
            invoices
                .iter()
                .map(|i| i.invoice_id.as_str())
                .collect::<Vec<_>>(),
            [pending.invoice_id.as_str()],
            "one invoice"
        );
        assert_eq!(invoices[0].state(), InvoiceState::Open);
        let again = admin.create_purchase(request).await.unwrap().into_inner();
        assert_eq!(again.key_ids, done.key_ids, "a replay issues nothing");
    }
);
