//! N13: the notification service's mail as configured: the mailer, and the DNS records its domains need.

use portal_runtime::Settings;
use secrecy::ExposeSecret;

use crate::keys::dkim_key;

/// N13: the notification service's mailer as configured: SMTP or files, the bounce domain, and the DKIM key
/// (on the embedded default, an Ed25519 key the data directory gets on first start).
pub fn mailer(
    settings: &Settings,
) -> Result<portal_notification::Mailer, portal_notification::mail::MailError> {
    use portal_notification::mail::dns::DEFAULT_SELECTOR;
    let smtp = &settings.smtp;
    let mut mailer = portal_notification::Mailer::new(
        smtp.url.as_ref().map(|u| u.expose_secret()),
        settings.data_dir.join("mail"),
        &smtp.from,
        smtp.pool_size,
    )?;
    if let Some(domain) = &smtp.bounce_domain {
        mailer = mailer.with_bounce_domain(domain)?;
    }
    let key = dkim_key(settings)?;
    let selector = smtp.dkim.selector.as_deref().unwrap_or(DEFAULT_SELECTOR);
    mailer.with_dkim(&key, smtp.dkim.domain.as_deref(), selector)
}

/// N13: the DNS records `portal mail dns` prints.
pub fn mail_dns_records(
    settings: &Settings,
) -> Result<String, portal_notification::mail::MailError> {
    use portal_notification::mail::{
        dns::{DEFAULT_SELECTOR, MailDomains, n13_dns_records},
        sender_domain,
    };
    let smtp = &settings.smtp;
    let from = sender_domain(&smtp.from)?;
    let bounce = smtp.bounce_domain.clone().unwrap_or_else(|| from.clone());
    let dkim = smtp.dkim.domain.clone().unwrap_or_else(|| from.clone());
    let key = dkim_key(settings)?;
    let domains = MailDomains {
        from: &from,
        bounce: &bounce,
        dkim: &dkim,
        selector: smtp.dkim.selector.as_deref().unwrap_or(DEFAULT_SELECTOR),
    };
    Ok(n13_dns_records(&domains, &key))
}
