//! Gathering every invalid field of a request before failing.

use super::FieldViolation;

/// Collects every invalid field of a request before failing, so a caller fixes them all at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps the parsed value, or records why it is invalid.
    pub fn check<T>(&mut self, parsed: Result<T, FieldViolation>) -> Option<T> {
        parsed.map_err(|v| self.0.push(v)).ok()
    }

    pub fn require(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.0.push(FieldViolation::new(field, "must not be empty"));
        }
    }

    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// `Err` with every violation, if there was any.
    pub fn finish(self) -> Result<(), Vec<FieldViolation>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}
