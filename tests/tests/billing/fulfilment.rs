//! Fulfilment while licensing is down (B3): purchases are invoiced and stay pending, complete exactly once when
//! licensing returns, and one cancelled meanwhile is never fulfilled.

use portal_proto::billing::{self as pb, InvoiceState, PurchaseState};
use portal_testkit::{ServiceKind, TestApp, storage_test};

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
