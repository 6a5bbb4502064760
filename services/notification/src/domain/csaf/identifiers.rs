//! N16: product identifiers as vendors write them — CPE 2.2 URIs and 2.3 formatted strings, package URLs — read,
//! compared with the configured prefixes, and (N12) written for the suite's own exports.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What a package URL's version and a CPE 2.2 component may hold unencoded.
pub(super) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// A CPE's components from `part` on, unescaped and in lower case, whether bound as a CPE 2.3 formatted string
/// (`cpe:2.3:a:example:server:2025.1:*:…`) or a CPE 2.2 URI (`cpe:/a:example:server:2025.1`); an empty or `*`
/// component is ANY (`*`). `None` for anything else.
pub(super) fn cpe_parts(cpe: &str) -> Option<Vec<String>> {
    let lower = cpe.trim().to_ascii_lowercase();
    let any = |c: String| if c.is_empty() { "*".to_string() } else { c };
    if let Some(rest) = lower.strip_prefix("cpe:2.3:") {
        let (mut parts, mut current, mut escaped) = (Vec::new(), String::new(), false);
        for c in rest.chars() {
            match (escaped, c) {
                (true, c) => {
                    current.push(c);
                    escaped = false;
                }
                (false, '\\') => escaped = true,
                (false, ':') => parts.push(any(std::mem::take(&mut current))),
                (false, c) => current.push(c),
            }
        }
        parts.push(any(current));
        Some(parts)
    } else if let Some(rest) = lower.strip_prefix("cpe:/") {
        let parts = rest
            .split(':')
            .map(|c| any(percent_decode_str(c).decode_utf8_lossy().into_owned()))
            .collect();
        Some(parts)
    } else {
        None
    }
}

/// N16: a document's CPE is one a configured prefix names: the prefix as written (compared without case), or
/// component by component across the 2.2 and 2.3 bindings (`cpe:/a:example:server` matches
/// `cpe:2.3:a:example:server:2025.1:*:*:*:*:*:*:*`, and the other way round); a prefix component of ANY matches
/// anything.
pub fn n16_cpe_matches(cpe: &str, prefix: &str) -> bool {
    let (cpe_lower, prefix_lower) = (
        cpe.trim().to_ascii_lowercase(),
        prefix.trim().to_ascii_lowercase(),
    );
    if prefix_lower.is_empty() {
        return false;
    }
    if cpe_lower.starts_with(&prefix_lower) {
        return true;
    }
    let (Some(cpe), Some(mut wanted)) = (cpe_parts(&cpe_lower), cpe_parts(&prefix_lower)) else {
        return false;
    };
    // `cpe:2.3:a:example:server:` ends the product component; it does not ask for an empty version.
    if prefix_lower.ends_with(':') {
        wanted.pop();
    }
    !wanted.is_empty()
        && wanted
            .iter()
            .enumerate()
            .all(|(i, w)| w == "*" || cpe.get(i) == Some(w))
}

/// A package URL split into what comes before its version, and its version (still encoded): qualifiers and
/// subpath dropped, the version after the last `@` of the rest.
fn purl_split(purl: &str) -> (&str, Option<&str>) {
    let main = purl.split(['?', '#']).next().unwrap_or(purl);
    match main.rsplit_once('@') {
        Some((base, version)) if !version.contains('/') => (base, Some(version)),
        _ => (main, None),
    }
}

/// A package URL up to its version, qualifiers or subpath.
pub(super) fn purl_base(purl: &str) -> &str {
    purl_split(purl).0
}

/// A package URL's version, percent-decoded.
pub(super) fn purl_version(purl: Option<&str>) -> Option<String> {
    let version = purl_split(purl?).1?;
    let version = percent_decode_str(version).decode_utf8().ok()?;
    (!version.is_empty()).then(|| version.into_owned())
}

/// N16: a document's package URL is one a configured prefix names: compared without case, the prefix ending
/// where the purl's name, version, qualifiers or subpath end (`pkg:rpm/example/example-server` matches
/// `pkg:rpm/example/example-server@2025.1.2-1.el9?arch=x86_64`, not `…/example-server-devel@…`).
pub fn n16_purl_matches(purl: &str, prefix: &str) -> bool {
    let (purl, prefix) = (
        purl.trim().to_ascii_lowercase(),
        prefix.trim().to_ascii_lowercase(),
    );
    if prefix.is_empty() || !purl.starts_with(&prefix) {
        return false;
    }
    prefix.ends_with(['/', '@'])
        || matches!(
            purl[prefix.len()..].chars().next(),
            None | Some('@' | '?' | '#' | '/')
        )
}

/// A CPE for exports: `prefix`'s components with the version filled in, bound as the prefix is (2.3 formatted
/// string or 2.2 URI). `None` when the prefix names no product.
pub(super) fn complete_cpe(prefix: &str, version: Option<&str>) -> Option<String> {
    let prefix = prefix.trim();
    let mut parts = cpe_parts(prefix)?;
    if prefix.ends_with(':') {
        parts.pop();
    }
    if parts.len() < 3 || parts[..3].iter().any(|p| p == "*") {
        return None;
    }
    let version = version.unwrap_or("*");
    if prefix.to_ascii_lowercase().starts_with("cpe:/") {
        parts.truncate(3);
        if version != "*" {
            parts.push(version.to_string());
        }
        let bound: Vec<String> = parts
            .iter()
            .map(|p| utf8_percent_encode(p, UNRESERVED).to_string())
            .collect();
        return Some(format!("cpe:/{}", bound.join(":")));
    }
    let escape = |value: &str| -> String {
        if value == "*" || value == "-" {
            return value.to_string();
        }
        let mut out = String::new();
        for c in value.chars() {
            match c {
                c if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') => out.push(c),
                c if c.is_ascii_whitespace() => out.push('_'),
                c if c.is_ascii_punctuation() => {
                    out.push('\\');
                    out.push(c);
                }
                // Not expressible in a CPE: any version.
                _ => return "*".to_string(),
            }
        }
        out
    };
    parts.resize(11, "*".to_string());
    if parts[3] == "*" {
        parts[3] = version.to_string();
    }
    let bound: Vec<String> = parts.iter().map(|p| escape(p)).collect();
    Some(format!("cpe:2.3:{}", bound.join(":")))
}

/// A name as a package URL segment: lower case, runs of anything but letters, digits, `.`, `-`, `_` as one `-`.
pub(super) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "product".into()
    } else {
        out.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n16_cpes_match_across_the_2_2_and_2_3_bindings() {
        let v23 = "cpe:2.3:a:example:server:2025.1:*:*:*:*:*:*:*";
        let v22 = "cpe:/a:example:server:2025::el9";
        for prefix in [
            "cpe:2.3:a:example:server:",
            "CPE:2.3:A:Example:Server",
            "cpe:/a:example:server",
            "cpe:/a:example:server:",
        ] {
            assert!(n16_cpe_matches(v23, prefix), "{v23} {prefix}");
            assert!(n16_cpe_matches(v22, prefix), "{v22} {prefix}");
        }
        // Whole components only across bindings; ANY in a prefix matches anything.
        assert!(!n16_cpe_matches(v22, "cpe:2.3:a:example:serv"));
        assert!(!n16_cpe_matches(
            "cpe:/a:example:serverless:1",
            "cpe:2.3:a:example:server"
        ));
        assert!(!n16_cpe_matches(v23, "cpe:/a:example:desktop"));
        assert!(!n16_cpe_matches("cpe:/a:example", "cpe:/a:example:server"));
        assert!(n16_cpe_matches(v22, "cpe:2.3:*:example:server:2025"));
        assert!(n16_cpe_matches(
            "cpe:/o:example:linux:9::baseos",
            "cpe:/o:example:linux:9"
        ));
        // The prefix as written, as before: the middle of a component.
        assert!(n16_cpe_matches(v23, "cpe:2.3:a:example:serv"));
        assert!(!n16_cpe_matches(v23, ""));
        assert!(!n16_cpe_matches("not a cpe", "cpe:/a:example"));
    }

    #[test]
    fn n16_purls_match_up_to_the_version() {
        let purl = "pkg:rpm/example/example-server@2025.1.2-1.el9?arch=x86_64";
        assert!(n16_purl_matches(purl, "pkg:rpm/example/example-server"));
        assert!(n16_purl_matches(purl, "PKG:RPM/Example/"));
        assert!(n16_purl_matches(
            purl,
            "pkg:rpm/example/example-server@2025.1.2-1.el9"
        ));
        assert!(!n16_purl_matches(
            purl,
            "pkg:rpm/example/example-server@2025"
        ));
        assert!(!n16_purl_matches(
            "pkg:rpm/example/example-server-devel@2025.1.2-1.el9",
            "pkg:rpm/example/example-server"
        ));
        assert!(!n16_purl_matches(purl, "pkg:deb/example/example-server"));
        assert_eq!(
            purl_version(Some("pkg:npm/%40example/ui@1.2.0%2Bbuild?x=1")),
            Some("1.2.0+build".into())
        );
        assert_eq!(purl_version(Some("pkg:npm/example")), None);
        assert_eq!(
            purl_version(Some("pkg:npm/@example/ui@2.0?repository_url=a@b")),
            Some("2.0".into())
        );
        assert_eq!(purl_base("pkg:npm/@example/ui"), "pkg:npm/@example/ui");
    }

    #[test]
    fn n12_cpes_are_completed_with_the_version_in_the_prefix_binding() {
        assert_eq!(
            complete_cpe("cpe:2.3:a:example:desktop:", Some("2025.1")).as_deref(),
            Some("cpe:2.3:a:example:desktop:2025.1:*:*:*:*:*:*:*")
        );
        assert_eq!(
            complete_cpe("cpe:2.3:a:example:desktop", Some("2025.1 LTS (x64)")).as_deref(),
            Some("cpe:2.3:a:example:desktop:2025.1_LTS_\\(x64\\):*:*:*:*:*:*:*")
        );
        assert_eq!(
            complete_cpe("cpe:2.3:a:example:desktop", Some("2025.1–2025.4")).as_deref(),
            Some("cpe:2.3:a:example:desktop:*:*:*:*:*:*:*:*")
        );
        assert_eq!(
            complete_cpe("cpe:/a:example:server", Some("2025.1 (el9)")).as_deref(),
            Some("cpe:/a:example:server:2025.1%20%28el9%29")
        );
        assert_eq!(
            complete_cpe("cpe:/a:example:server", None).as_deref(),
            Some("cpe:/a:example:server")
        );
        assert_eq!(complete_cpe("cpe:2.3:a:example", Some("1")), None);
        assert_eq!(slug(" Customer Portal, Inc. "), "customer-portal-inc.");
    }
}
