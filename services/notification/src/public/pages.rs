//! N9: the acknowledgement page's templates — built in, or replaced file by file from the operator's directory —
//! and what each state of the page shows.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use crate::{
    app::acknowledgement::Acknowledgeable,
    domain::{
        Kind,
        acknowledgement::{Acknowledged, TOKEN_LIFETIME_DAYS},
    },
};

/// The templates an operator may replace, by file name, with their built-in text.
const TEMPLATES: [(&str, &str); 4] = [
    (
        "layout.html",
        include_str!("../templates/public/layout.html"),
    ),
    ("ack.html", include_str!("../templates/public/ack.html")),
    (
        "acknowledged.html",
        include_str!("../templates/public/acknowledged.html"),
    ),
    (
        "refused.html",
        include_str!("../templates/public/refused.html"),
    ),
];
/// The stylesheet, replaceable like the templates.
const STYLESHEET: (&str, &str) = ("portal.css", include_str!("../templates/public/portal.css"));
/// Where this listener serves the stylesheet; the layout links it relative to `/ack/<token>`
/// (`../static/portal.css`), so a base URL with a path prefix works too. No third-party assets.
pub const STYLESHEET_PATH: &str = "/static/portal.css";

/// Why a link shows no advisory; each has its own HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed, edited or unknown: told apart from nothing else, so a guesser learns nothing.
    Unknown,
    Expired,
    /// Over a rate limit.
    Busy,
    /// The database could not answer.
    Unavailable,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown",
            Refusal::Expired => "expired",
            Refusal::Busy => "busy",
            Refusal::Unavailable => "unavailable",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Refusal::Unknown => "This link is not valid",
            Refusal::Expired => "This link has expired",
            Refusal::Busy => "Too many requests",
            Refusal::Unavailable => "Please try again later",
        }
    }
}

#[derive(Debug)]
pub struct Pages {
    templates: Environment<'static>,
    stylesheet: String,
}

#[derive(Serialize)]
struct AdvisoryView<'a> {
    id: &'a str,
    kind_label: &'static str,
    severity: &'a str,
    title: &'a str,
}

#[derive(Serialize)]
struct RecipientView<'a> {
    name: &'a str,
    email: &'a str,
    account_name: &'a str,
}

#[derive(Serialize)]
struct AcknowledgedView<'a> {
    email: &'a str,
    /// For people: `2026-12-05 22:14 UTC`.
    time: String,
    /// For machines: RFC 3339.
    time_iso: String,
}

impl Pages {
    /// The built-in templates, each replaced by a file of the same name in `dir` where there is one. A template
    /// that does not parse is an error here, at start, not on the first visit.
    pub fn load(dir: Option<&Path>) -> Result<Self, String> {
        let read = |name: &str, builtin: &'static str| -> Result<String, String> {
            let Some(path) = dir.map(|d| d.join(name)).filter(|p| p.exists()) else {
                return Ok(builtin.to_string());
            };
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let mut templates = Environment::new();
        for (name, builtin) in TEMPLATES {
            templates
                .add_template_owned(name, read(name, builtin)?)
                .map_err(|e| format!("page template {name}: {e}"))?;
        }
        let stylesheet = read(STYLESHEET.0, STYLESHEET.1)?;
        let pages = Self {
            templates,
            stylesheet,
        };
        pages.check()?;
        Ok(pages)
    }

    /// Renders every page once with sample values, so a replaced template's mistakes show at start.
    fn check(&self) -> Result<(), String> {
        for refusal in [
            Refusal::Unknown,
            Refusal::Expired,
            Refusal::Busy,
            Refusal::Unavailable,
        ] {
            self.refused(refusal)?;
        }
        Ok(())
    }

    pub fn stylesheet(&self) -> &str {
        &self.stylesheet
    }

    /// The page a valid link shows: the advisory and one button, or when it was acknowledged, by whom.
    pub fn show(&self, page: &Acknowledgeable) -> Result<String, String> {
        match &page.acknowledged {
            None => self.render(
                "ack.html",
                minijinja::context! {
                    advisory => advisory(page),
                    recipient => recipient(page),
                },
            ),
            Some(done) => self.acknowledged(page, done, false),
        }
    }

    /// The confirmation: recorded `just_now` by this visit, or earlier.
    pub fn acknowledged(
        &self,
        page: &Acknowledgeable,
        done: &Acknowledged,
        just_now: bool,
    ) -> Result<String, String> {
        self.render(
            "acknowledged.html",
            minijinja::context! {
                advisory => advisory(page),
                recipient => recipient(page),
                acknowledged => AcknowledgedView {
                    email: &done.email,
                    time: done.time.format("%Y-%m-%d %H:%M UTC").to_string(),
                    time_iso: done.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                },
                just_now,
            },
        )
    }

    pub fn refused(&self, refusal: Refusal) -> Result<String, String> {
        self.render(
            "refused.html",
            minijinja::context! {
                reason => refusal.reason(),
                heading => refusal.heading(),
                lifetime_days => TOKEN_LIFETIME_DAYS,
            },
        )
    }

    fn render(&self, name: &str, view: minijinja::Value) -> Result<String, String> {
        self.templates
            .get_template(name)
            .and_then(|t| t.render(view))
            .map_err(|e| format!("page template {name}: {e}"))
    }
}

fn advisory(page: &Acknowledgeable) -> AdvisoryView<'_> {
    let a = &page.advisory;
    AdvisoryView {
        id: &a.advisory_id,
        kind_label: match a.kind {
            Kind::Security => "Security",
            Kind::Technical => "Technical",
        },
        severity: a.severity.as_str(),
        title: &a.title,
    }
}

fn recipient(page: &Acknowledgeable) -> RecipientView<'_> {
    let to = &page.delivery.to;
    RecipientView {
        name: &to.display_name,
        email: &to.email,
        account_name: &to.account_name,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn n9_the_built_in_pages_render_every_refusal() {
        let pages = Pages::load(None).unwrap();
        let expired = pages.refused(Refusal::Expired).unwrap();
        assert!(expired.contains("valid for 90 days"), "{expired}");
        assert!(expired.contains("href=\"../static/portal.css\""));
        assert!(!expired.contains("<script"));
    }

    #[test]
    fn n9_an_operator_replaces_a_page_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("refused.html"),
            "{% extends \"layout.html\" %}{% block main %}<p>Call PSIRT: {{ reason }}</p>{% endblock %}",
        )
        .unwrap();
        let pages = Pages::load(Some(dir.path())).unwrap();
        let page = pages.refused(Refusal::Unknown).unwrap();
        assert!(page.contains("<p>Call PSIRT: unknown</p>"), "{page}");
        assert!(
            page.contains("<html lang=\"en\">"),
            "the built-in layout stays"
        );
    }

    #[test]
    fn n9_a_broken_template_stops_the_start_not_a_visit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("refused.html"), "{% if %}").unwrap();
        let error = Pages::load(Some(dir.path())).unwrap_err();
        assert!(error.contains("refused.html"), "{error}");
        std::fs::write(
            dir.path().join("refused.html"),
            "{{ reason|no_such_filter }}",
        )
        .unwrap();
        assert!(
            Pages::load(Some(dir.path())).is_err(),
            "a render error shows at start too"
        );
    }
}
