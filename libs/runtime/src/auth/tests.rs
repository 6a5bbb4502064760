//! The verifier against PEM keys: round trips, the verified-token cache, time and audience checks, and how claims
//! map to the principal.

#![allow(clippy::unwrap_used)]

use std::fs;

use super::*;

fn pair() -> (tempfile::TempDir, Minter, Verifier) {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("k.pem");
    let public = ensure_signing_key(&private).unwrap();
    let minter = Minter::from_file(&private, "portal", "portal").unwrap();
    let verifier =
        Verifier::from_files(&[public], "portal", "portal", Duration::from_secs(30)).unwrap();
    (dir, minter, verifier)
}

#[tokio::test]
async fn user_and_service_tokens_round_trip() {
    let (_dir, minter, verifier) = pair();
    let user = verifier
        .verify_header(Some(&format!(
            "Bearer {}",
            minter.user("u1", Duration::from_secs(60))
        )))
        .await
        .unwrap();
    assert_eq!(
        user,
        Principal::User {
            user_id: "u1".into()
        }
    );
    let svc = verifier
        .verify_header(Some(&format!(
            "Bearer {}",
            minter.service(
                "billing",
                "internal licensing.issue",
                Duration::from_secs(60)
            )
        )))
        .await
        .unwrap();
    assert!(
        svc.has_scope("licensing.issue")
            && svc.has_scope("internal")
            && !svc.has_scope("identity.admin")
    );
}

#[test]
fn minted_tokens_name_their_key_as_the_published_set_does() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("k.pem");
    let public = ensure_signing_key(&private).unwrap();
    let minter = Minter::from_file(&private, "portal", "portal").unwrap();
    let kid = key_id(&read_verifying_key(&public).unwrap());
    assert_eq!(minter.kid(), kid);
    for token in [
        minter.user("u1", Duration::from_secs(60)),
        minter.service("billing", "internal", Duration::from_secs(60)),
    ] {
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        assert_eq!(header.alg, Algorithm::EdDSA);
    }
    let published = PublishedKeys::new([read_verifying_key(&public).unwrap()]);
    assert_eq!(published.key_ids(), [kid]);
}

#[test]
fn ensure_signing_key_keeps_an_existing_key() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("k.pem");
    ensure_signing_key(&private).unwrap();
    let first = fs::read(&private).unwrap();
    ensure_signing_key(&private).unwrap();
    assert_eq!(first, fs::read(&private).unwrap());
}

#[tokio::test]
async fn a_remembered_token_is_not_used_past_its_expiry() {
    let (_dir, minter, verifier) = pair();
    let token = minter.user("u1", Duration::from_secs(60));
    let header = format!("Bearer {token}");
    assert!(verifier.verify_header(Some(&header)).await.is_ok());
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let now = unix_now();
    assert!(verifier.verified.get(&digest, now, 0).is_some());
    assert!(
        verifier
            .verified
            .get(&digest, now + 60 + verifier.leeway + 1, 0)
            .is_none()
    );
    assert!(
        verifier.verified.get(&digest, now, 1).is_none(),
        "not once the key sets changed"
    );
}

#[test]
fn the_verified_set_stays_bounded() {
    let cache = VerifiedTokens::new(4);
    let remembered = |valid_until| Remembered {
        principal: Principal::User {
            user_id: "u".into(),
        },
        valid_until,
        generation: 0,
    };
    for i in 0..10u8 {
        cache.insert([i; 32], remembered(100), 50);
        assert!(cache.entries.lock().unwrap().len() <= 4);
    }
    // Expired entries go first when the set is full.
    let cache = VerifiedTokens::new(2);
    cache.insert([1; 32], remembered(10), 5);
    cache.insert([2; 32], remembered(100), 5);
    cache.insert([3; 32], remembered(100), 50);
    assert!(cache.get(&[2; 32], 50, 0).is_some() && cache.get(&[3; 32], 50, 0).is_some());
}

#[tokio::test]
async fn a_bad_token_is_refused_every_time() {
    let (_dir, minter, verifier) = pair();
    let mut token = minter.user("u1", Duration::from_secs(60));
    token.push('x');
    for _ in 0..2 {
        assert!(
            verifier
                .verify_header(Some(&format!("Bearer {token}")))
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn a_bare_svc_subject_is_refused() {
    let (_dir, minter, verifier) = pair();
    let token = minter.mint("svc:".into(), None, Duration::from_secs(60));
    assert!(
        verifier
            .verify_header(Some(&format!("Bearer {token}")))
            .await
            .is_err()
    );
}

/// Signs arbitrary claims with the pair's private key, as another issuer might.
fn signed(dir: &tempfile::TempDir, claims: &serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_ed_pem(&fs::read(dir.path().join("k.pem")).unwrap())
        .unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::EdDSA), claims, &key).unwrap()
}

fn accepted(verifier: &Verifier, token: &str) -> bool {
    futures::executor::block_on(verifier.verify_header(Some(&format!("Bearer {token}")))).is_ok()
}

#[test]
fn a_token_not_yet_valid_is_refused() {
    let (dir, _, verifier) = pair();
    let now = unix_now();
    let base = serde_json::json!({ "sub": "u1", "iss": "portal", "aud": "portal", "iat": now, "exp": now + 7200 });
    let mut early = base.clone();
    early["nbf"] = (now + 3600).into();
    assert!(
        !accepted(&verifier, &signed(&dir, &early)),
        "nbf an hour ahead"
    );
    let mut future = base.clone();
    future["iat"] = (now + 365 * 24 * 3600).into();
    future["exp"] = (now + 366 * 24 * 3600).into();
    assert!(
        !accepted(&verifier, &signed(&dir, &future)),
        "iat a year ahead"
    );
    let mut ready = base;
    ready["nbf"] = (now - 10).into();
    assert!(accepted(&verifier, &signed(&dir, &ready)));
}

#[test]
fn a_token_living_longer_than_allowed_is_refused() {
    let (dir, _, verifier) = pair();
    let now = unix_now();
    let century = serde_json::json!({ "sub": "u1", "iss": "portal", "aud": "portal", "iat": now, "exp": now + 100 * 365 * 24 * 3600 });
    assert!(!accepted(&verifier, &signed(&dir, &century)));
    let verifier = verifier.with_max_lifetime(Duration::from_secs(3600));
    let day = serde_json::json!({ "sub": "u1", "iss": "portal", "aud": "portal", "iat": now, "exp": now + 24 * 3600 });
    assert!(!accepted(&verifier, &signed(&dir, &day)));
    let hour = serde_json::json!({ "sub": "u1", "iss": "portal", "aud": "portal", "iat": now, "exp": now + 3600 });
    assert!(accepted(&verifier, &signed(&dir, &hour)));
}

#[test]
fn an_audience_list_naming_the_suite_is_accepted() {
    let (dir, _, verifier) = pair();
    let now = unix_now();
    let with = serde_json::json!({ "sub": "u1", "iss": "portal", "aud": ["other", "portal"], "iat": now, "exp": now + 60 });
    assert!(accepted(&verifier, &signed(&dir, &with)));
    let without = serde_json::json!({ "sub": "u1", "iss": "portal", "aud": ["other"], "iat": now, "exp": now + 60 });
    assert!(!accepted(&verifier, &signed(&dir, &without)));
}

fn claims(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn claims_map_to_the_principal_as_configured() {
    let default = ClaimMapping::default();
    let scopes = |p: Option<Principal>| match p {
        Some(Principal::Service { scopes, .. }) => scopes.into_iter().collect::<Vec<_>>(),
        other => panic!("not a service: {other:?}"),
    };
    // The suite's own tokens.
    assert_eq!(
        default.principal(&claims(serde_json::json!({ "sub": "u1" }))),
        Some(Principal::User {
            user_id: "u1".into()
        })
    );
    assert_eq!(
        scopes(default.principal(&claims(
            serde_json::json!({ "sub": "svc:ops", "scope": "identity.admin internal" })
        ))),
        ["identity.admin", "internal"]
    );
    // `scp` as a list (Azure AD, Okta) or a string, together with `scope`.
    assert_eq!(
        scopes(default.principal(&claims(serde_json::json!({
            "sub": "svc:ops", "scp": ["licensing.issue", "billing.catalog"], "scope": "internal"
        })))),
        ["billing.catalog", "internal", "licensing.issue"]
    );
    let idp = ClaimMapping {
        user_id: "email".into(),
        service_name: Some("client_id".into()),
        scopes: vec!["scp".into()],
    };
    assert_eq!(
        idp.principal(&claims(
            serde_json::json!({ "sub": "f81d4fae", "email": "ann@example.com" })
        )),
        Some(Principal::User {
            user_id: "ann@example.com".into()
        })
    );
    let machine = idp.principal(&claims(serde_json::json!({
        "sub": "service-account-billing", "client_id": "billing", "scp": "internal", "scope": "ignored"
    })));
    assert!(matches!(&machine, Some(Principal::Service { name, .. }) if name == "billing"));
    assert_eq!(scopes(machine), ["internal"]);
    // A token with neither the user claim nor a service name names nobody.
    assert_eq!(
        idp.principal(&claims(serde_json::json!({ "sub": "f81d4fae" }))),
        None
    );
    assert_eq!(
        default.principal(&claims(serde_json::json!({ "sub": "  " }))),
        None
    );
}

/// The refusal of `token`, as the caller reads it.
fn refusal(verifier: &Verifier, token: &str) -> Status {
    futures::executor::block_on(verifier.verify_header(Some(&format!("Bearer {token}"))))
        .unwrap_err()
}

#[test]
fn a_token_with_a_critical_header_is_refused() {
    let (dir, _, verifier) = pair();
    let now = unix_now();
    let claims = serde_json::json!({ "sub": "u1", "iss": "portal", "aud": "portal", "iat": now, "exp": now + 60 });
    let key = jsonwebtoken::EncodingKey::from_ed_pem(&fs::read(dir.path().join("k.pem")).unwrap())
        .unwrap();
    let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
    header.crit = Some(vec!["exp".into()]);
    let critical = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let refused = refusal(&verifier, &critical);
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert!(refused.message().contains("crit"), "{}", refused.message());
    assert!(
        accepted(&verifier, &signed(&dir, &claims)),
        "the same claims without crit"
    );
}

#[test]
fn an_issuer_that_is_not_one_string_is_refused() {
    let (dir, _, verifier) = pair();
    let now = unix_now();
    for iss in [
        serde_json::json!(["portal"]),
        serde_json::json!(["portal", "evil"]),
    ] {
        let claims = serde_json::json!({ "sub": "u1", "iss": iss, "aud": "portal", "iat": now, "exp": now + 60 });
        assert!(!accepted(&verifier, &signed(&dir, &claims)), "{iss}");
    }
}

#[test]
fn a_principal_name_must_be_short_and_of_a_safe_alphabet() {
    let (dir, minter, verifier) = pair();
    let now = unix_now();
    let with_sub = |sub: &str| {
        signed(
            &dir,
            &serde_json::json!({ "sub": sub, "iss": "portal", "aud": "portal", "iat": now, "exp": now + 60, "scope": "internal" }),
        )
    };
    let long = format!("svc:{}\0\r\nx", "a".repeat(3000));
    for refused in [
        long.as_str(),
        "svc:ops\r\nX-Injected: 1",
        "svc:a b",
        "svc:ops\0",
        "user\nname",
        "=HYPERLINK(1)",
    ] {
        let status = refusal(&verifier, &with_sub(refused));
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{refused:?}");
        assert!(status.message().len() < 200, "{}", status.message());
    }
    assert!(!accepted(
        &verifier,
        &with_sub(&format!("svc:{}", "a".repeat(65)))
    ));
    assert!(accepted(
        &verifier,
        &with_sub(&format!("svc:{}", "a".repeat(64)))
    ));
    assert!(!accepted(&verifier, &with_sub(&"u".repeat(255))));
    for fine in [
        "usr-0190f3a2b4c5d6e7f8091a2b3c4d5e6f",
        "auth0|5f7c8ec7c33c6c004bbafe82",
        "ann.lee+portal@example.com",
        "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        &"u".repeat(254),
    ] {
        assert!(accepted(&verifier, &with_sub(fine)), "{fine}");
    }
    let own = minter.service("billing-1.eu_west", "internal", Duration::from_secs(60));
    assert!(accepted(&verifier, &own));
}

#[test]
fn refusals_do_not_show_parser_internals() {
    let (dir, _, verifier) = pair();
    let now = unix_now();
    let without_iat =
        serde_json::json!({ "sub": "u1", "iss": "portal", "aud": "portal", "exp": now + 60 });
    let numbers_as_text = serde_json::json!({ "sub": "u1", "iss": "portal", "aud": "portal", "iat": "now", "exp": now + 60 });
    let header_only = format!("{}.", signed(&dir, &without_iat).split('.').next().unwrap());
    for token in [
        signed(&dir, &without_iat),
        signed(&dir, &numbers_as_text),
        "eyJhbGciOiJFZERTQSJ9.e30".to_string(),
        "not.a.jwt!".to_string(),
        header_only,
        "e30.e30.e30".to_string(),
    ] {
        let shown = refusal(&verifier, &token).message().to_string();
        for internal in [
            "JSON",
            "line ",
            "column",
            "missing field",
            "invalid type",
            "`",
            "Base64",
            "byte",
        ] {
            assert!(
                !shown.contains(internal),
                "{token}: {shown:?} shows {internal:?}"
            );
        }
    }
}
