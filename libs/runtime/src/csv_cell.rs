//! Cells of the CSV files the suite writes (activation reports, advisory reports), made safe to open in a
//! spreadsheet. Their text comes from people and machines outside our control (account names, host names,
//! e-mails), and a spreadsheet runs a cell that starts like a formula (`=HYPERLINK(…)`, `=cmd|' /C calc'!A1`):
//! OWASP's "CSV Injection" advice is to prefix such a cell with a single quote, which every spreadsheet shows
//! as text. Quoting of commas, quotes and line breaks is the CSV writer's job, not this one.

/// The characters that make a spreadsheet read a cell as a formula (OWASP lists tab and carriage return too;
/// they are control characters, dropped before this is looked at).
const FORMULA_START: [char; 4] = ['=', '+', '-', '@'];

/// The cell as a spreadsheet may safely show it: control characters (NUL, ESC, tab, CR, LF, DEL, C1) dropped,
/// since no field we report means them and a terminal or spreadsheet may act on them; then a leading `'` when
/// what is left would start a formula.
pub fn neutralise(cell: &str) -> String {
    let kept: String = cell.chars().filter(|c| !c.is_control()).collect();
    if kept.starts_with(FORMULA_START) {
        format!("'{kept}")
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_starting_like_a_formula_is_prefixed_with_a_quote() {
        for (given, shown) in [
            (
                "=HYPERLINK(\"http://evil.example\",\"x\")",
                "'=HYPERLINK(\"http://evil.example\",\"x\")",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(1)", "'@SUM(1)"),
            ("=cmd|' /C calc'!A1", "'=cmd|' /C calc'!A1"),
        ] {
            assert_eq!(neutralise(given), shown, "{given:?}");
        }
    }

    #[test]
    fn a_tab_or_carriage_return_cannot_hide_a_formula() {
        assert_eq!(neutralise("\t=1+1"), "'=1+1");
        assert_eq!(neutralise("\r=1+1"), "'=1+1");
        assert_eq!(neutralise("\r\n@SUM(1)"), "'@SUM(1)");
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(neutralise("host\0name\u{1b}[31m"), "hostname[31m");
        assert_eq!(neutralise("a\u{7f}b\u{85}c\u{9b}d"), "abcd");
        assert_eq!(neutralise("line\nbreak"), "linebreak");
    }

    #[test]
    fn ordinary_cells_are_unchanged() {
        for cell in [
            "",
            "Acme, Inc.",
            "ann@example.com",
            "host \"one\"",
            "2026.1.3",
            "12",
            "a=b",
            "Zürich – 東京",
            "'already quoted",
        ] {
            assert_eq!(neutralise(cell), cell);
        }
    }
}
