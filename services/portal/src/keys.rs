//! The keys this process loads, or creates on the embedded default's first start: the token signing key and
//! verifier, the DKIM key and the CSAF provider's OpenPGP key.

use std::{sync::Arc, time::Duration};

use portal_runtime::{
    Settings,
    auth::{self, Minter, Verifier},
};

use crate::AppError;

/// Loads (or, on the embedded default, creates) the signing key and the verifier (whose identity provider key
/// sets, when configured, are fetched once [`App::build`](crate::App::build) spawns their refresh).
pub fn keys(settings: &Settings) -> Result<(Arc<Minter>, Arc<Verifier>), AppError> {
    let private = settings.signing_key_file();
    if settings.auth.signing_key_file.is_none() {
        // The embedded default creates its key on first start; a configured key must already exist.
        auth::ensure_signing_key(&private)?;
    }
    let minter = Minter::from_file(&private, &settings.auth.issuer, &settings.auth.audience)?;
    // Page tokens and acknowledgement tokens are sealed with a key every replica shares without more
    // configuration: one derived from the signing key they already share.
    let secret = std::fs::read(&private).map_err(|source| auth::KeyError::Io {
        path: private.clone(),
        source,
    })?;
    portal_runtime::seal::set_secret(&secret);
    let verifier = Verifier::from_files(
        &settings.public_key_files(),
        &settings.auth.issuer,
        &settings.auth.audience,
        Duration::from_secs(settings.auth.leeway_secs),
    )?
    .with_max_lifetime(Duration::from_secs(settings.auth.max_token_lifetime_secs))
    .with_claims(settings.auth.claims());
    let verifier = match settings.auth.jwks() {
        Some(jwks) => verifier.with_jwks(Arc::new(auth::Jwks::new(jwks)?)),
        None => verifier,
    };
    Ok((Arc::new(minter), Arc::new(verifier)))
}

/// N15: the CSAF provider's OpenPGP key, created on the embedded default's first start when none is configured.
pub fn openpgp_key(
    settings: &Settings,
) -> Result<portal_notification::openpgp::OpenPgpKey, AppError> {
    use portal_notification::openpgp::OpenPgpKey;
    let path = settings.openpgp_key_file();
    let failed = |e: portal_notification::openpgp::OpenPgpError| AppError::Config(e.to_string());
    if settings.notification.public.openpgp_key_file.is_none() {
        let publisher = &settings.notification.csaf_publisher;
        OpenPgpKey::ensure(
            &path,
            &format!("{} CSAF provider ({})", publisher.name, publisher.namespace),
        )
        .map_err(failed)?;
    }
    OpenPgpKey::from_file(&path).map_err(failed)
}

/// N13: the DKIM key, created on the embedded default's first start when none is configured.
pub fn dkim_key(
    settings: &Settings,
) -> Result<portal_notification::mail::dkim::DkimKey, portal_notification::mail::MailError> {
    use portal_notification::mail::dkim;
    let path = settings.dkim_key_file();
    if settings.smtp.dkim.key_file.is_none() {
        dkim::ensure_key(&path)?;
    }
    dkim::DkimKey::from_file(&path)
}
