//! N13: the DNS records an operator publishes so that receiving domains trust the suite's mail — the DKIM key,
//! SPF and MX for the bounce domain, and DMARC for the `From` domain — as zone-file lines (`portal mail dns`),
//! with a warning wherever the configuration cannot align under DMARC.

use std::fmt::Write as _;

use super::dkim::DkimKey;

/// What the records are computed from.
#[derive(Debug, Clone)]
pub struct MailDomains<'a> {
    /// The `From` address's domain.
    pub from: &'a str,
    /// The envelope senders' domain (N13).
    pub bounce: &'a str,
    /// The DKIM signing domain (`d=`).
    pub dkim: &'a str,
    pub selector: &'a str,
}

/// The selector when none is configured.
pub const DEFAULT_SELECTOR: &str = "portal";

/// N13: the zone-file text to publish for `domains` and `key`.
pub fn n13_dns_records(domains: &MailDomains<'_>, key: &DkimKey) -> String {
    let MailDomains {
        from,
        bounce,
        dkim,
        selector,
    } = domains;
    let mut out = String::new();
    let mut line = |s: String| {
        let _ = writeln!(out, "{s}");
    };
    line(format!(
        "; DKIM (RFC 6376{}): the key every mail's signature (d={dkim}, s={selector}) is checked against",
        if key.key_type() == "ed25519" {
            ", RFC 8463"
        } else {
            ""
        }
    ));
    line(format!(
        "{selector}._domainkey.{dkim}. 3600 IN TXT {}",
        txt(&key.dns_record())
    ));
    line(String::new());
    line(format!(
        "; The bounce domain: every mail's envelope sender is b-<delivery>-<tag>@{bounce}; delivery reports come back there"
    ));
    line(format!(
        "; MX: the relay that accepts them and routes {bounce} to smtp.inbound.listen (see README: Postfix transport_maps)"
    ));
    line(format!("{bounce}. 3600 IN MX 10 relay.{from}."));
    line(
        "; SPF for the envelope sender's domain: replace the address with your relay's outbound addresses"
            .to_string(),
    );
    line(format!(
        "{bounce}. 3600 IN TXT {}",
        txt("v=spf1 ip4:192.0.2.25 -all")
    ));
    line(String::new());
    line(format!(
        "; DMARC for the From domain: DKIM aligns through d={dkim}, SPF through {bounce} (relaxed alignment)"
    ));
    line(format!(
        "_dmarc.{from}. 3600 IN TXT {}",
        txt(&format!(
            "v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@{from}"
        ))
    ));
    for warning in n13_alignment_warnings(domains) {
        line(format!("; WARNING: {warning}"));
    }
    out
}

/// N13: where DMARC's relaxed alignment fails: the DKIM domain and the bounce domain must each share the
/// `From` domain's organizational domain (approximated as: one is the other or under it).
pub fn n13_alignment_warnings(domains: &MailDomains<'_>) -> Vec<String> {
    let related = |a: &str, b: &str| {
        let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
        a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
    };
    let mut warnings = Vec::new();
    if !related(domains.dkim, domains.from) {
        warnings.push(format!(
            "the DKIM domain {} does not align with the From domain {}: set smtp.dkim.domain to {} or a domain it is under",
            domains.dkim, domains.from, domains.from
        ));
    }
    if !related(domains.bounce, domains.from) {
        warnings.push(format!(
            "the bounce domain {} is not under the From domain {}: SPF cannot align; use e.g. bounces.{}",
            domains.bounce, domains.from, domains.from
        ));
    }
    warnings
}

/// A TXT value as quoted strings of at most 255 characters each (RFC 1035 §3.3.14), in parentheses when it
/// takes several.
fn txt(value: &str) -> String {
    let chunks: Vec<String> = value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    match chunks.as_slice() {
        [one] => one.clone(),
        many => format!("( {} )", many.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n13_long_records_are_split_into_strings_of_255() {
        let value = "p=".to_string() + &"A".repeat(400);
        let out = txt(&value);
        assert!(out.starts_with("( \"p=AAA"));
        assert_eq!(out.matches('"').count(), 4);
    }

    #[test]
    fn n13_misaligned_domains_are_named() {
        let aligned = MailDomains {
            from: "example.com",
            bounce: "bounces.example.com",
            dkim: "example.com",
            selector: "portal",
        };
        assert!(n13_alignment_warnings(&aligned).is_empty());
        let misaligned = MailDomains {
            bounce: "bounces.other.net",
            dkim: "other.net",
            ..aligned
        };
        assert_eq!(n13_alignment_warnings(&misaligned).len(), 2);
    }
}
