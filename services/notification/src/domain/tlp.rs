//! N1: the Traffic Light Protocol label every advisory carries, and how CSAF 2.0 writes it (N11, N12, N15).
//!
//! The suite speaks TLP 2.0 (`CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT`, `RED`, as SPEC N15 says `TLP:CLEAR`). CSAF
//! 2.0 predates TLP 2.0: its `document.distribution.tlp.label` is one of `WHITE`, `GREEN`, `AMBER`, `RED`. So a
//! document's `WHITE` reads as `CLEAR`, and an export writes `CLEAR` as `WHITE` and `AMBER+STRICT` as `RED`: CSAF 2.0
//! has no label for "the recipient's organisation only", and writing `AMBER` would let it spread to clients too.

use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};

/// A TLP 2.0 label (N1), stored as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Tlp {
    #[sea_orm(string_value = "CLEAR")]
    Clear,
    #[sea_orm(string_value = "GREEN")]
    Green,
    #[sea_orm(string_value = "AMBER")]
    Amber,
    #[sea_orm(string_value = "AMBER+STRICT")]
    AmberStrict,
    #[sea_orm(string_value = "RED")]
    Red,
}

impl Tlp {
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The TLP 2.0 name: `CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT`, `RED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "CLEAR",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict => "AMBER+STRICT",
            Tlp::Red => "RED",
        }
    }

    /// N1: a label as people write it: any case, with or without `TLP:`, TLP 1.0's `WHITE` for `CLEAR`.
    pub fn n1_parse(raw: &str) -> Option<Tlp> {
        let name = raw.trim().to_ascii_uppercase();
        let name = name.strip_prefix("TLP:").unwrap_or(&name).trim();
        match name {
            "WHITE" => Some(Tlp::Clear),
            _ => Tlp::ALL.into_iter().find(|t| t.as_str() == name),
        }
    }

    /// N12: the CSAF 2.0 `distribution.tlp.label`, never wider than the label itself.
    pub fn n12_csaf_label(self) -> &'static str {
        match self {
            Tlp::Clear => "WHITE",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict | Tlp::Red => "RED",
        }
    }

    /// N15: the provider directory a document with this label sits in: its CSAF 2.0 label in lower case
    /// (`white/`, `green/`, …), as the BSI's CSAF provider lays them out.
    pub fn n15_directory(self) -> &'static str {
        match self {
            Tlp::Clear => "white",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict | Tlp::Red => "red",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n1_labels_read_as_people_write_them() {
        assert_eq!(Tlp::n1_parse("clear"), Some(Tlp::Clear));
        assert_eq!(Tlp::n1_parse("TLP:WHITE"), Some(Tlp::Clear));
        assert_eq!(Tlp::n1_parse(" tlp:amber+strict "), Some(Tlp::AmberStrict));
        assert_eq!(Tlp::n1_parse("Red"), Some(Tlp::Red));
        for bad in ["", "BLUE", "AMBER+", "TLP:"] {
            assert_eq!(Tlp::n1_parse(bad), None, "{bad}");
        }
        for tlp in Tlp::ALL {
            assert_eq!(Tlp::n1_parse(tlp.as_str()), Some(tlp));
        }
    }

    #[test]
    fn n12_csaf_labels_are_csaf_2_0_names_and_never_wider() {
        assert_eq!(Tlp::Clear.n12_csaf_label(), "WHITE");
        assert_eq!(Tlp::AmberStrict.n12_csaf_label(), "RED");
        for tlp in Tlp::ALL {
            assert!(["WHITE", "GREEN", "AMBER", "RED"].contains(&tlp.n12_csaf_label()));
            assert_eq!(tlp.n15_directory(), tlp.n12_csaf_label().to_lowercase());
        }
    }
}
