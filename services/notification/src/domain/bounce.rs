//! What comes back (N13, N14). Every mail leaves with an envelope sender of its own (VERP) that names its
//! delivery under a seal, so whatever a mail system sends back later — a delivery status notification (RFC 3464),
//! an abuse complaint (ARF, RFC 5965), a vacation reply (RFC 3834) — is tied to the one delivery it concerns, and
//! nobody can forge one for someone else's delivery. What each kind of report does to the ledger is decided here;
//! MIME, header syntax and ARF are read by maintained parsers (`mail-parser`, `mail-auth`).

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};
use sha2::{Digest, Sha256};

/// What return-path tokens are sealed for: a tag made for anything else does not pass.
const PURPOSE: &str = "delivery report address";
/// Marks the suite's return paths among the local parts of the bounce domain.
const PREFIX: &str = "b-";
/// The longest a local part may be (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL_PART: usize = 64;

/// Delivery ids all start so; the return path leaves it out to fit a local part.
const DELIVERY_PREFIX: &str = "dlv-";

/// N13: the envelope sender of delivery `delivery_id`: `b-<delivery id without dlv->-<tag>@<bounce domain>`,
/// lowercase so that a mail system that changes the case of addresses still brings the report home. The same
/// delivery always gets the same address, so a resend (N3) carries the same one. A delivery id is `dlv-`, 32 hex
/// digits and, for a reminder, `-r<n>`: the local part fits RFC 5321's 64 characters up to the 999th reminder.
pub fn n13_return_path(delivery_id: &str, bounce_domain: &str) -> String {
    let id = delivery_id.to_ascii_lowercase();
    let tag = portal_runtime::seal::short_tag(PURPOSE, &id);
    let short = id.strip_prefix(DELIVERY_PREFIX).unwrap_or(&id);
    format!(
        "{PREFIX}{short}-{tag}@{}",
        bounce_domain.to_ascii_lowercase()
    )
}

/// N14: the delivery a report addressed to `address` concerns, if the address is at `bounce_domain` and sealed
/// by us; `None` for anything else (another domain, a made-up or edited token, someone else's address).
pub fn n14_read_return_path(address: &str, bounce_domain: &str) -> Option<String> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = address.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(bounce_domain) || local.len() > MAX_LOCAL_PART {
        return None;
    }
    let local = local.to_ascii_lowercase();
    let (short, tag) = local.strip_prefix(PREFIX)?.rsplit_once('-')?;
    let id = format!("{DELIVERY_PREFIX}{short}");
    portal_runtime::seal::verify_short(PURPOSE, &id, tag).then_some(id)
}

/// What a report that came back says about its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ReportKind {
    /// A DSN: the mail could not be delivered (`Action: failed`, or a `5.x.x` status).
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// A DSN: delivery is late and still being tried (`delayed`, or `4.x.x`).
    #[sea_orm(string_value = "DELAYED")]
    Delayed,
    /// A DSN saying the mail was delivered, relayed or expanded.
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    /// An ARF abuse (or fraud, virus) report: the recipient called the mail unwanted.
    #[sea_orm(string_value = "COMPLAINT")]
    Complaint,
    /// An automatic reply (RFC 3834): a vacation notice, an out-of-office.
    #[sea_orm(string_value = "AUTO_REPLY")]
    AutoReply,
    /// Anything else: read, kept, never taken for a bounce.
    #[sea_orm(string_value = "UNRECOGNISED")]
    Unrecognised,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Failed => "FAILED",
            ReportKind::Delayed => "DELAYED",
            ReportKind::Delivered => "DELIVERED",
            ReportKind::Complaint => "COMPLAINT",
            ReportKind::AutoReply => "AUTO_REPLY",
            ReportKind::Unrecognised => "UNRECOGNISED",
        }
    }

    /// The label of the reports counter.
    pub fn metric(self) -> &'static str {
        match self {
            ReportKind::Failed => "failed",
            ReportKind::Delayed => "delayed",
            ReportKind::Delivered => "delivered",
            ReportKind::Complaint => "complaint",
            ReportKind::AutoReply => "auto_reply",
            ReportKind::Unrecognised => "unrecognised",
        }
    }

    /// N14: only a failure ends the delivery `DEAD`; everything else is recorded and changes nothing more.
    pub fn n14_kills_delivery(self) -> bool {
        self == ReportKind::Failed
    }
}

/// What one report says, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportKind,
    /// The enhanced status code (`5.1.1`), or the ARF feedback type; empty when there is none.
    pub status: String,
    /// The remote server's words (`Diagnostic-Code`), or a summary; empty when there are none.
    pub diagnostic: String,
    /// Names the report, so the same report taken twice is recognised (N14).
    pub key: String,
}

impl Report {
    /// N14: what a `DEAD` delivery's `last_error` says after a hard bounce.
    pub fn n14_last_error(&self) -> String {
        let text = match (self.status.is_empty(), self.diagnostic.is_empty()) {
            (_, false) => format!("bounced: {}", self.diagnostic),
            (false, true) => format!("bounced: status {}", self.status),
            (true, true) => "bounced".to_string(),
        };
        text.chars().take(1000).collect()
    }
}

/// The fields of one per-recipient block of a DSN that decide what it means.
#[derive(Debug, Default)]
struct RecipientFields {
    recipients: Vec<String>,
    action: String,
    status: String,
    diagnostic: String,
}

/// N14: reads a report that came back for delivery `delivery_id`, sent to `recipient`.
pub fn n14_read_report(raw: &[u8], delivery_id: &str, recipient: &str) -> Report {
    let parsed = MessageParser::default().parse(raw);
    let message_id = parsed
        .as_ref()
        .and_then(|m| m.message_id())
        .map(str::to_string);
    let key = report_key(delivery_id, message_id.as_deref(), raw);
    let (kind, status, diagnostic) = match parsed {
        Some(message) => classify(&message, raw, recipient),
        None => (ReportKind::Unrecognised, String::new(), String::new()),
    };
    Report {
        kind,
        status,
        diagnostic: diagnostic.chars().take(1000).collect(),
        key,
    }
}

/// The same report (by its Message-ID, or its bytes when it has none) about the same delivery.
fn report_key(delivery_id: &str, message_id: Option<&str>, raw: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(delivery_id.as_bytes());
    hash.update(b"\0");
    match message_id {
        Some(id) => hash.update(id.as_bytes()),
        None => hash.update(raw),
    }
    hash.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn classify(message: &Message<'_>, raw: &[u8], recipient: &str) -> (ReportKind, String, String) {
    let is_part = |kind: &str, sub: &str| {
        message
            .parts
            .iter()
            .find(|part| part.is_content_type(kind, sub))
    };
    if is_part("message", "feedback-report").is_some() {
        return complaint(raw);
    }
    let status = is_part("message", "delivery-status")
        .or_else(|| is_part("message", "global-delivery-status"));
    if let Some(part) = status {
        let body = match &part.body {
            PartType::Text(text) | PartType::Html(text) => text.as_bytes().to_vec(),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.to_vec(),
            _ => Vec::new(),
        };
        return delivery_status(&body, recipient);
    }
    if auto_replied(message) {
        return (ReportKind::AutoReply, String::new(), subject(message));
    }
    (ReportKind::Unrecognised, String::new(), subject(message))
}

/// An ARF report (read by mail-auth): abuse, fraud and virus reports are complaints; the other feedback types
/// (not-spam, auth-failure, other) are kept without consequence.
fn complaint(raw: &[u8]) -> (ReportKind, String, String) {
    use mail_auth::report::{Feedback, FeedbackType};
    let Ok(feedback) = Feedback::parse_rfc5322(raw) else {
        return (
            ReportKind::Unrecognised,
            String::new(),
            "unreadable feedback report".into(),
        );
    };
    let (kind, name) = match feedback.feedback_type() {
        FeedbackType::Abuse => (ReportKind::Complaint, "abuse"),
        FeedbackType::Fraud => (ReportKind::Complaint, "fraud"),
        FeedbackType::Virus => (ReportKind::Complaint, "virus"),
        FeedbackType::NotSpam => (ReportKind::Unrecognised, "not-spam"),
        FeedbackType::AuthFailure => (ReportKind::Unrecognised, "auth-failure"),
        FeedbackType::Other => (ReportKind::Unrecognised, "other"),
    };
    let by = feedback
        .reporting_mta()
        .or(feedback.user_agent())
        .unwrap_or("a mailbox provider");
    (kind, name.to_string(), format!("{name} report from {by}"))
}

/// A `message/delivery-status` body: per-message fields, then one block of fields per recipient, each in
/// header syntax (read by mail-parser). The blocks about our recipient decide; when none names them (an alias
/// the remote side expanded), every block does. Someone who got it outweighs a failure; a failure a delay.
fn delivery_status(body: &[u8], recipient: &str) -> (ReportKind, String, String) {
    let blocks: Vec<RecipientFields> = split_blocks(body)
        .into_iter()
        .skip(1)
        .filter_map(|block| recipient_fields(&block))
        .collect();
    let recipient = recipient.to_ascii_lowercase();
    let ours: Vec<&RecipientFields> = blocks
        .iter()
        .filter(|b| b.recipients.contains(&recipient))
        .collect();
    let chosen = if ours.is_empty() {
        blocks.iter().collect()
    } else {
        ours
    };
    let by_kind = |kind: ReportKind| chosen.iter().find(|b| block_kind(b) == Some(kind));
    for kind in [
        ReportKind::Delivered,
        ReportKind::Failed,
        ReportKind::Delayed,
    ] {
        if let Some(block) = by_kind(kind) {
            return (kind, block.status.clone(), block.diagnostic.clone());
        }
    }
    (
        ReportKind::Unrecognised,
        String::new(),
        "a delivery status notification without a recipient's action".into(),
    )
}

/// RFC 3464 §2.3.3: the action decides; without one, the status code's class.
fn block_kind(block: &RecipientFields) -> Option<ReportKind> {
    match block.action.to_ascii_lowercase().as_str() {
        "failed" => return Some(ReportKind::Failed),
        "delayed" => return Some(ReportKind::Delayed),
        "delivered" | "relayed" | "expanded" => return Some(ReportKind::Delivered),
        _ => {}
    }
    match block.status.chars().next() {
        Some('5') => Some(ReportKind::Failed),
        Some('4') => Some(ReportKind::Delayed),
        Some('2') => Some(ReportKind::Delivered),
        _ => None,
    }
}

/// The blank-line separated groups of a delivery-status body, each ending in a blank line so that it reads as
/// a header block.
fn split_blocks(body: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    text.split("\n\n")
        .map(|block| block.trim_matches('\n'))
        .filter(|block| !block.trim().is_empty())
        .map(|block| format!("{}\r\n\r\n", block.replace('\n', "\r\n")).into_bytes())
        .collect()
}

fn recipient_fields(block: &[u8]) -> Option<RecipientFields> {
    let parsed = MessageParser::default().parse_headers(block)?;
    let field = |name: &str| parsed.header_raw(name).map(unfold).unwrap_or_default();
    let address = |name: &str| {
        let value = field(name);
        let address = value.split_once(';').map_or(value.as_str(), |(_, a)| a);
        address
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_ascii_lowercase()
    };
    let recipients: Vec<String> = [
        "Final-Recipient",
        "Original-Recipient",
        "X-Actual-Recipient",
    ]
    .into_iter()
    .map(address)
    .filter(|a| !a.is_empty())
    .collect();
    let fields = RecipientFields {
        action: field("Action"),
        status: field("Status")
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        diagnostic: field("Diagnostic-Code"),
        recipients,
    };
    (!fields.action.is_empty() || !fields.status.is_empty()).then_some(fields)
}

/// A header value on one line: folding undone, the `type;` prefix of a diagnostic kept.
fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// RFC 3834: a message that says it was sent automatically, or one of the older marks responders use.
fn auto_replied(message: &Message<'_>) -> bool {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    header("Auto-Submitted").is_some_and(|v| !v.is_empty() && v != "no")
        || header("X-Autoreply").is_some_and(|v| v == "yes")
        || header("X-Autorespond").is_some()
        || header("Precedence").is_some_and(|v| v == "auto_reply")
}

fn subject(message: &Message<'_>) -> String {
    message.subject().map(unfold).unwrap_or_default()
}

#[cfg(test)]
mod tests;
