//! Transactional notices (N6): what a notice carries through the ledger, the bounds on it, and its subject.

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::STANDARD};
use portal_runtime::error::Violations;
use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};
use serde::{Deserialize, Serialize};

use super::Recipient;

/// N6: what happened that a person is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NoticeKind {
    #[sea_orm(string_value = "USER_ADDED")]
    UserAdded,
    #[sea_orm(string_value = "KEY_ASSIGNED")]
    KeyAssigned,
    #[sea_orm(string_value = "ACTIVATION_REPORT_READY")]
    ActivationReportReady,
    /// B11: Creator seats bought are on the account's cloud site; sent to its Administrators.
    #[sea_orm(string_value = "CLOUD_SITE_READY")]
    CloudSiteReady,
    /// B10: a renewal date is 90, 30 or 7 days away; sent to the Administrators.
    #[sea_orm(string_value = "RENEWAL_REMINDER")]
    RenewalReminder,
    /// B10: auto-renew renewed on the renewal date and the next term's invoice was issued.
    #[sea_orm(string_value = "RENEWED_AUTOMATICALLY")]
    RenewedAutomatically,
    #[sea_orm(string_value = "KEY_REVOKED")]
    KeyRevoked,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::UserAdded => "USER_ADDED",
            NoticeKind::KeyAssigned => "KEY_ASSIGNED",
            NoticeKind::ActivationReportReady => "ACTIVATION_REPORT_READY",
            NoticeKind::CloudSiteReady => "CLOUD_SITE_READY",
            NoticeKind::RenewalReminder => "RENEWAL_REMINDER",
            NoticeKind::RenewedAutomatically => "RENEWED_AUTOMATICALLY",
            NoticeKind::KeyRevoked => "KEY_REVOKED",
        }
    }
}

/// What a notice (N6) carries in its ledger row, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticePayload {
    pub kind: NoticeKind,
    pub fields: BTreeMap<String, String>,
    pub attachments: Vec<StoredAttachment>,
}

impl NoticePayload {
    /// N6: the subject of the notice's mail.
    pub fn n6_subject(&self) -> String {
        match self.kind {
            NoticeKind::UserAdded => "You have been added to a customer portal account".to_string(),
            NoticeKind::KeyAssigned => format!(
                "A product key ending in {} was assigned to you",
                self.fields.get("key_last_group").map_or("", String::as_str)
            ),
            NoticeKind::ActivationReportReady => {
                "Your activation summary report is ready".to_string()
            }
            NoticeKind::CloudSiteReady => format!(
                "Your cloud site {} is ready with {} Creator seats",
                self.fields.get("site_name").map_or("", String::as_str),
                self.fields.get("creator_seats").map_or("", String::as_str)
            ),
            NoticeKind::RenewalReminder => format!(
                "Your renewal is due on {}",
                self.fields.get("renewal_date").map_or("", String::as_str)
            ),
            NoticeKind::RenewedAutomatically => format!(
                "Your licenses were renewed until {}",
                self.fields.get("renewed_until").map_or("", String::as_str)
            ),
            NoticeKind::KeyRevoked => format!(
                "The product key ending in {} was revoked",
                self.fields.get("key_last_group").map_or("", String::as_str)
            ),
        }
    }
}

/// A file sent with a notice, kept base64-encoded in the ledger row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttachment {
    pub filename: String,
    pub content_type: String,
    pub base64: String,
}

impl StoredAttachment {
    pub fn new(filename: String, content_type: String, content: &[u8]) -> Self {
        Self {
            filename,
            content_type,
            base64: STANDARD.encode(content),
        }
    }

    /// The file's bytes; a row whose attachment does not decode is corrupt, never sent without it.
    pub fn content(&self) -> Result<Vec<u8>, base64::DecodeError> {
        STANDARD.decode(&self.base64)
    }
}

/// A checked SendNotice request (N6): who is told, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub recipient: Recipient,
    pub payload: NoticePayload,
}

/// Most attachment bytes one notice may carry.
const MAX_ATTACHMENTS_BYTES: usize = 5 * 1024 * 1024;
const MAX_FIELDS: usize = 50;
const MAX_FIELD_NAME: usize = 100;
const MAX_FIELD_VALUE: usize = 2000;

/// N6: a notice's attachments are bounded in all.
pub fn n6_check_attachments(v: &mut Violations, sizes: impl IntoIterator<Item = usize>) {
    if sizes.into_iter().sum::<usize>() > MAX_ATTACHMENTS_BYTES {
        v.add("attachments", "at most 5 MiB in all");
    }
}

/// N6: a notice's template fields are bounded in number and length.
pub fn n6_check_fields(v: &mut Violations, fields: &BTreeMap<String, String>) {
    if fields.len() > MAX_FIELDS
        || fields
            .iter()
            .any(|(k, v)| k.len() > MAX_FIELD_NAME || v.len() > MAX_FIELD_VALUE)
    {
        v.add("fields", "at most 50 fields of at most 2000 characters");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn payload(kind: NoticeKind) -> NoticePayload {
        NoticePayload {
            kind,
            fields: [("key_last_group".to_string(), "AB12".to_string())].into(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn n6_each_kind_has_its_subject() {
        assert!(
            payload(NoticeKind::KeyAssigned)
                .n6_subject()
                .contains("AB12")
        );
        assert!(
            payload(NoticeKind::UserAdded)
                .n6_subject()
                .contains("added")
        );
        assert!(
            payload(NoticeKind::ActivationReportReady)
                .n6_subject()
                .contains("report")
        );
        let site = NoticePayload {
            kind: NoticeKind::CloudSiteReady,
            fields: [
                ("site_name".to_string(), "Acme cloud site".to_string()),
                ("creator_seats".to_string(), "3".to_string()),
            ]
            .into(),
            attachments: Vec::new(),
        };
        assert_eq!(
            site.n6_subject(),
            "Your cloud site Acme cloud site is ready with 3 Creator seats"
        );
        let revoked = payload(NoticeKind::KeyRevoked).n6_subject();
        assert!(revoked.contains("AB12") && revoked.contains("revoked"));
    }

    #[test]
    fn n6_payloads_keep_their_stored_kind_names() {
        let json = serde_json::to_string(&payload(NoticeKind::ActivationReportReady)).unwrap();
        assert!(
            json.contains(r#""kind":"ACTIVATION_REPORT_READY""#),
            "{json}"
        );
        let unknown = json.replace("ACTIVATION_REPORT_READY", "SOMETHING_ELSE");
        assert!(serde_json::from_str::<NoticePayload>(&unknown).is_err());
    }

    #[test]
    fn n6_notices_are_bounded() {
        let mut v = Violations::default();
        n6_check_attachments(&mut v, [MAX_ATTACHMENTS_BYTES, 1]);
        let fields = (0..=MAX_FIELDS)
            .map(|i| (i.to_string(), String::new()))
            .collect();
        n6_check_fields(&mut v, &fields);
        assert_eq!(v.finish().unwrap_err().len(), 2);
    }

    #[test]
    fn n6_attachments_round_trip() {
        let a = StoredAttachment::new("a.csv".into(), "text/csv".into(), b"x,y");
        assert_eq!(a.content().unwrap(), b"x,y");
    }
}
