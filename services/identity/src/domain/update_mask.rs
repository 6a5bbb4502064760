//! I5 at the edge of an update: which fields an UpdateUser touches, and why the e-mail is never one of them.

use portal_runtime::error::FieldViolation;

use crate::error::{Error, Result};

/// What an update may change (I5: role, display name, additional permissions — never the e-mail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateField {
    DisplayName,
    Role,
    AdditionalPermissions,
}

/// I5: parses an update mask. An empty mask means "the fields that are set" (AIP-134); any mention of the
/// e-mail, or a change of it in an empty-mask update, is `EMAIL_IMMUTABLE`.
pub fn parse_update_mask(
    paths: &[String],
    email_given: Option<&str>,
    current_email: &str,
) -> Result<Vec<UpdateField>> {
    if paths.is_empty() {
        if email_given.is_some_and(|e| !e.is_empty() && !e.eq_ignore_ascii_case(current_email)) {
            return Err(Error::EmailImmutable);
        }
        return Ok(vec![
            UpdateField::DisplayName,
            UpdateField::Role,
            UpdateField::AdditionalPermissions,
        ]);
    }
    let mut fields = Vec::new();
    let mut violations = Vec::new();
    for path in paths {
        match path.as_str() {
            "email" => return Err(Error::EmailImmutable),
            "display_name" => fields.push(UpdateField::DisplayName),
            "role" => fields.push(UpdateField::Role),
            "additional_permissions" => fields.push(UpdateField::AdditionalPermissions),
            other => violations.push(FieldViolation::new(
                "update_mask",
                format!("`{other}` cannot be updated"),
            )),
        }
    }
    if violations.is_empty() {
        Ok(fields)
    } else {
        Err(Error::invalid_fields(violations))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn i5_email_can_never_be_updated() {
        assert!(matches!(
            parse_update_mask(&["email".into()], None, "a@x.io"),
            Err(Error::EmailImmutable)
        ));
        assert!(matches!(
            parse_update_mask(&["role".into(), "email".into()], None, "a@x.io"),
            Err(Error::EmailImmutable)
        ));
        assert!(matches!(
            parse_update_mask(&[], Some("b@x.io"), "a@x.io"),
            Err(Error::EmailImmutable)
        ));
    }

    #[test]
    fn i5_only_name_role_and_permissions_are_updatable() {
        assert_eq!(
            parse_update_mask(&[], Some("A@X.io"), "a@x.io")
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            parse_update_mask(&["role".into()], None, "a@x.io").unwrap(),
            vec![UpdateField::Role]
        );
        assert!(matches!(
            parse_update_mask(&["state".into()], None, "a@x.io"),
            Err(Error::Common(portal_runtime::error::Common::Invalid(_)))
        ));
    }
}
