//! CVSS v3 base scores an advisory carries (N1, N11, N16): a PublishAdvisory vector checked and scored with
//! RustSec's `cvss` crate (the CVSS 3.0/3.1 base equations), an imported document's scores kept as published.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A CVSS base score in tenths (0–100): 8.1 is `BaseScore(81)`, so scores compare and print exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BaseScore(u8);

impl BaseScore {
    /// The score of a number from a document or the formula: rounded to tenths, `None` outside 0–10.
    pub fn from_f64(score: f64) -> Option<Self> {
        let tenths = (score * 10.0).round();
        (score.is_finite() && (0.0..=100.0).contains(&tenths)).then_some(Self(tenths as u8))
    }

    pub fn value(self) -> f64 {
        f64::from(self.0) / 10.0
    }

    /// The CVSS v3 qualitative rating, as `baseSeverity` writes it.
    pub fn rating(self) -> &'static str {
        match self.0 {
            0 => "NONE",
            1..=39 => "LOW",
            40..=69 => "MEDIUM",
            70..=89 => "HIGH",
            _ => "CRITICAL",
        }
    }
}

impl fmt::Display for BaseScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

/// Stored and rendered as the number (`8.1`), which is what a mail template and a CSAF document show.
impl Serialize for BaseScore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.value())
    }
}

impl<'de> Deserialize<'de> for BaseScore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let score = f64::deserialize(deserializer)?;
        Self::from_f64(score)
            .ok_or_else(|| serde::de::Error::custom(format!("{score} is not a CVSS score")))
    }
}

/// One CVSS v3 score: the vector and its base score, for one CVE of the advisory or (no CVE) for all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CvssScore {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve: Option<String>,
    /// `CVSS:3.x/AV:…`.
    pub vector: String,
    pub base_score: BaseScore,
}

impl CvssScore {
    /// `3.0` or `3.1`, from the vector's prefix.
    pub fn version(&self) -> &str {
        self.vector
            .strip_prefix("CVSS:")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("3.1")
    }
}

/// N1/N16: a CVSS v3.0 or v3.1 vector as a PublishAdvisory request gives it: every base metric present, none
/// twice, known values only (temporal and environmental metrics may follow); scored by the specification's
/// base equation. The vector is kept in its canonical order; `Err` says what is wrong.
pub fn n16_cvss(raw: &str) -> Result<CvssScore, String> {
    let raw = raw.trim();
    if !raw.starts_with("CVSS:3.") {
        return Err(
            "must be a CVSS v3.0 or v3.1 vector, e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
                .into(),
        );
    }
    let vector: cvss::v3::Vector = raw.parse().map_err(|e| format!("{raw:?}: {e}"))?;
    let missing: Vec<&str> = [
        ("AV", vector.av.is_none()),
        ("AC", vector.ac.is_none()),
        ("PR", vector.pr.is_none()),
        ("UI", vector.ui.is_none()),
        ("S", vector.s.is_none()),
        ("C", vector.c.is_none()),
        ("I", vector.i.is_none()),
        ("A", vector.a.is_none()),
    ]
    .into_iter()
    .filter_map(|(metric, absent)| absent.then_some(metric))
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{raw:?} lacks the base metrics {}",
            missing.join(", ")
        ));
    }
    let base_score = BaseScore::from_f64(vector.base_score().value())
        .ok_or_else(|| format!("{raw:?} scores outside 0–10"))?;
    Ok(CvssScore {
        cve: None,
        vector: vector.to_string(),
        base_score,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Vectors and base scores from FIRST's CVSS v3.1 calculator and the NVD.
    #[test]
    fn n16_base_scores_follow_the_specification() {
        for (vector, score) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "9.8"),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "8.1"),
            ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", "7.8"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "6.1"),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", "9.9"),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "1.6"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "0.0"),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "10.0"),
            // Temporal metrics may follow; the base score ignores them.
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C",
                "9.8",
            ),
        ] {
            let cvss = n16_cvss(vector).unwrap();
            assert_eq!(cvss.base_score.to_string(), score, "{vector}");
            assert_eq!(cvss.vector, vector);
        }
        let shuffled = n16_cvss(" CVSS:3.1/C:H/I:H/A:H/AV:N/AC:H/PR:N/UI:N/S:U ").unwrap();
        assert_eq!(
            shuffled.vector,
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"
        );
        assert_eq!(shuffled.version(), "3.1");
        assert_eq!(shuffled.base_score.rating(), "HIGH");
    }

    #[test]
    fn n16_vectors_that_are_not_cvss_v3_base_vectors_are_refused() {
        for bad in [
            "",
            "AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q",
            "CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        ] {
            assert!(n16_cvss(bad).is_err(), "{bad}");
        }
        assert!(
            n16_cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U")
                .unwrap_err()
                .contains("C, I, A")
        );
    }

    #[test]
    fn n16_scores_round_trip_as_numbers() {
        let json = r#"{"cve":"CVE-2026-1","vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","base_score":9.8}"#;
        let score: CvssScore = serde_json::from_str(json).unwrap();
        assert_eq!(score.base_score, BaseScore(98));
        assert_eq!(serde_json::to_string(&score).unwrap(), json);
        assert!(BaseScore::from_f64(10.05).is_none());
        assert!(BaseScore::from_f64(f64::NAN).is_none());
        assert_eq!(BaseScore(100).rating(), "CRITICAL");
        assert_eq!(BaseScore(0).rating(), "NONE");
    }
}
