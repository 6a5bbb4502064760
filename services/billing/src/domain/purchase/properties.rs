//! Property tests of fulfilment (B3, B9): for any order, each purchase line is asked of licensing exactly once,
//! under its own request id, the same on every retry; a failed purchase asks to revoke each issued key once.

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::{
    Currency, Money,
    catalog::{Family, Grant, LicenseType, Product},
    order::MAX_QUANTITY,
};

fn family() -> impl Strategy<Value = Option<Family>> {
    prop_oneof![
        Just(None),
        Just(Some(Family::Tc)),
        Just(Some(Family::Td)),
        Just(Some(Family::Ts))
    ]
}

fn product() -> impl Strategy<Value = Product> {
    prop_oneof![
        Just(Product::Desktop),
        Just(Product::PrepBuilder),
        Just(Product::Server),
        Just(Product::Elearning)
    ]
}

fn license_type() -> impl Strategy<Value = Option<LicenseType>> {
    prop_oneof![
        Just(None),
        Just(Some(LicenseType::Term)),
        Just(Some(LicenseType::Perpetual))
    ]
}

/// Any grant, sellable or not, with quantities around the limits of one licensing call.
fn line() -> impl Strategy<Value = Line> {
    (
        product(),
        family(),
        -2i32..1_100,
        license_type(),
        -1i32..130,
        -1i32..130,
        any::<bool>(),
        0i32..20,
        prop_oneof![-1i32..3, 1i32..MAX_QUANTITY + 2],
    )
        .prop_map(
            |(product, family, seats, license_type, term, maintenance, lblm, creator, quantity)| {
                let usd =
                    Money::zero(Currency::parse("c", "USD").unwrap_or_else(|_| unreachable!()));
                Line {
                    sku: format!("SKU-{seats}"),
                    description: String::new(),
                    quantity,
                    unit_price: usd,
                    amount: usd,
                    grant: Grant {
                        product,
                        family,
                        seats,
                        license_type,
                        term_months: term,
                        maintenance_months: maintenance,
                        lblm_enabled: lblm,
                        creator_seats: creator,
                    },
                }
            },
        )
}

proptest! {
    #[test]
    fn b3_each_purchase_line_is_asked_exactly_once_under_a_stable_request_id(
        lines in proptest::collection::vec(line(), 0..12),
        seconds in 0i64..4_000_000_000,
        nanos in 0u32..1_000_000_000,
    ) {
        let base = Utc.timestamp_opt(seconds, nanos).single().unwrap_or_else(|| unreachable!());
        let purchase = Purchase::new("pur-1".into(), "acc-1".into(), "inv-1".into(), base);
        let first = purchase.b3_plan(&lines);
        // A retry (a later attempt, another replica) asks for exactly the same thing.
        let retry = Purchase::new("pur-1".into(), "acc-1".into(), "inv-1".into(), base + chrono::Duration::nanoseconds(i64::from(999_999_999 - nanos)));
        prop_assert_eq!(&first, &retry.b3_plan(&lines));
        match first {
            Ok(plan) => {
                prop_assert_eq!(plan.len(), lines.len());
                let ids: HashSet<&str> = plan.iter().map(|(id, _)| id.as_str()).collect();
                prop_assert_eq!(ids.len(), lines.len(), "one request id per line");
                for (((id, issue), line), n) in plan.iter().zip(&lines).zip(0i32..) {
                    prop_assert_eq!(id, &line_request_id("pur-1", n));
                    let units = line.grant.units(line.quantity);
                    prop_assert!(units.is_some());
                    match issue {
                        Issue::Keys { seats, .. } => prop_assert_eq!(Some(*seats), units),
                        Issue::ElearningCodes { count } => prop_assert_eq!(Some(*count), units),
                    }
                }
            }
            // A line that cannot be issued refuses the whole purchase, naming the line.
            Err(why) => prop_assert!(why.starts_with("line "), "{}", why),
        }
    }

    #[test]
    fn b9_any_failed_purchase_asks_to_revoke_each_unrevoked_key_exactly_once(
        issued in proptest::collection::hash_set(0u16..64, 0..16),
        revoked_share in proptest::collection::vec(any::<bool>(), 16),
    ) {
        let key_ids: Vec<String> = issued.iter().map(|k| format!("key-{k}")).collect();
        let revoked: Vec<String> = key_ids
            .iter()
            .zip(&revoked_share)
            .filter(|(_, r)| **r)
            .map(|(k, _)| k.clone())
            .collect();
        let failed = Purchase {
            state: PurchaseState::Failed,
            key_ids: key_ids.clone(),
            revoked_key_ids: revoked.clone(),
            compensation_pending: true,
            ..Purchase::new("pur-1".into(), "acc-1".into(), "inv-1".into(), Utc::now())
        };
        let asks = failed.b9_to_revoke();
        let asked: HashSet<&str> = asks.iter().map(|(_, k)| k.as_str()).collect();
        let request_ids: HashSet<&str> = asks.iter().map(|(r, _)| r.as_str()).collect();
        prop_assert_eq!(asked.len(), asks.len(), "no key asked twice");
        prop_assert_eq!(request_ids.len(), asks.len(), "one request id per key");
        let expected: HashSet<&str> = key_ids
            .iter()
            .filter(|k| !revoked.contains(k))
            .map(String::as_str)
            .collect();
        prop_assert_eq!(asked, expected);
        // Once everything is revoked, nothing is asked again.
        let done = Purchase { revoked_key_ids: key_ids, compensation_pending: false, ..failed };
        prop_assert!(done.b9_to_revoke().is_empty());
    }
}
