//! Free text a person types that ends up printed on an invoice (B7): descriptions, payment references, void
//! reasons. The catalog, payments and voiding check it; the printed invoice shows it.

use portal_runtime::error::FieldViolation;

/// B7: free text printed on an invoice (a description, a payment reference, a void reason): 1 to `max`
/// printable characters once trimmed.
pub fn check_printable(field: &str, value: &str, max: usize) -> Result<(), FieldViolation> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control)
    {
        Err(FieldViolation::new(
            field,
            format!("must be 1 to {max} printable characters"),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn b7_printed_text_is_checked_before_it_reaches_an_invoice() {
        assert!(check_printable("reason", " duplicate order ", 20).is_ok());
        for bad in ["", "   ", "tab\there", "much too long for twenty"] {
            assert!(check_printable("reason", bad, 20).is_err(), "{bad:?}");
        }
    }
}
