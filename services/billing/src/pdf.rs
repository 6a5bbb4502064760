//! Invoices as printable PDF (B7): A4 pages in the standard Helvetica fonts (nothing embedded), with the
//! account, the invoice number and dates, the lines, the totals and the status (what is printed is decided in
//! `domain::printed`). Built with lopdf; positions are whole points, so no floating point is involved.

use lopdf::{
    Document, Object, Stream,
    content::{Content, Operation},
    dictionary,
};

use crate::{
    domain::printed::PrintedInvoice,
    error::{Error, Result},
};

const WIDTH: i64 = 595;
const HEIGHT: i64 = 842;
const LEFT: i64 = 50;
const RIGHT: i64 = 545;
const TOP: i64 = 790;
const BOTTOM: i64 = 60;
const LEADING: i64 = 16;
const REGULAR: &str = "F1";
const BOLD: &str = "F2";
/// Table columns: SKU, description, quantity, unit price, amount.
const COLUMNS: [i64; 5] = [LEFT, 175, 375, 415, 485];
const MAX_DESCRIPTION: usize = 36;

/// Text as WinAnsi bytes (the standard fonts' encoding): Latin-1 letters print, anything else becomes `?`.
fn printable(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            0x20..=0x7e => c as u8,
            code @ 0xa0..=0xff => u8::try_from(code).unwrap_or(b'?'),
            _ => b'?',
        })
        .collect()
}

fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(max.saturating_sub(3)).collect();
        short.push_str("...");
        short
    }
}

/// The content of each page, laid out top to bottom.
struct Pages {
    pages: Vec<Vec<Operation>>,
    y: i64,
    number: String,
}

impl Pages {
    fn new(number: &str) -> Self {
        let mut pages = Self {
            pages: Vec::new(),
            y: TOP,
            number: number.to_string(),
        };
        pages.new_page();
        pages
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
        if self.pages.len() > 1 {
            let header = format!("{} (continued, page {})", self.number, self.pages.len());
            self.text(BOLD, 10, LEFT, &header);
            self.down(2 * LEADING);
        }
    }

    /// Starts a new page unless `rows` more rows fit on this one.
    fn room_for(&mut self, rows: i64) {
        if self.y - rows * LEADING < BOTTOM {
            self.new_page();
        }
    }

    fn down(&mut self, by: i64) {
        self.y -= by;
    }

    fn ops(&mut self) -> &mut Vec<Operation> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn text(&mut self, font: &str, size: i64, x: i64, text: &str) {
        let y = self.y;
        self.ops().extend([
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec![font.into(), size.into()]),
            Operation::new("Td", vec![x.into(), y.into()]),
            Operation::new("Tj", vec![Object::string_literal(printable(text))]),
            Operation::new("ET", vec![]),
        ]);
    }

    fn rule(&mut self) {
        let y = self.y + LEADING / 2 + 2;
        self.ops().extend([
            Operation::new("m", vec![LEFT.into(), y.into()]),
            Operation::new("l", vec![RIGHT.into(), y.into()]),
            Operation::new("S", vec![]),
        ]);
    }

    fn row(&mut self, font: &str, cells: [&str; 5]) {
        self.room_for(1);
        for (x, cell) in COLUMNS.into_iter().zip(cells) {
            self.text(font, 10, x, cell);
        }
        self.down(LEADING);
    }
}

fn lay_out(invoice: &PrintedInvoice) -> Vec<Vec<Operation>> {
    let mut pages = Pages::new(&invoice.number);
    pages.text(BOLD, 22, LEFT, "INVOICE");
    pages.text(BOLD, 14, 330, &invoice.number);
    pages.down(2 * LEADING);
    for (label, value) in [
        ("Account", invoice.account.as_str()),
        ("Status", invoice.status.as_str()),
        ("Issued", invoice.issued.as_str()),
        ("Due", invoice.due.as_str()),
        ("Currency", invoice.currency.as_str()),
    ] {
        pages.text(BOLD, 11, LEFT, label);
        pages.text(REGULAR, 11, 130, value);
        pages.down(LEADING);
    }
    pages.down(LEADING);
    pages.row(BOLD, ["SKU", "Description", "Qty", "Unit price", "Amount"]);
    pages.rule();
    for line in &invoice.lines {
        let description = shortened(&line.description, MAX_DESCRIPTION);
        pages.row(
            REGULAR,
            [
                line.sku.as_str(),
                description.as_str(),
                line.quantity.as_str(),
                line.unit_price.as_str(),
                line.amount.as_str(),
            ],
        );
    }
    pages.room_for(i64::try_from(invoice.totals.len() + invoice.notes.len()).unwrap_or(0) + 2);
    pages.rule();
    for (label, amount) in &invoice.totals {
        pages.text(BOLD, 11, COLUMNS[3], label);
        pages.text(REGULAR, 11, COLUMNS[4], amount);
        pages.down(LEADING);
    }
    pages.down(LEADING);
    for note in &invoice.notes {
        pages.room_for(1);
        pages.text(REGULAR, 10, LEFT, note);
        pages.down(LEADING);
    }
    pages.pages
}

/// B7: the invoice as a PDF document.
pub fn render(invoice: &PrintedInvoice) -> Result<Vec<u8>> {
    let failed =
        |e: lopdf::Error| Error::internal(format!("rendering invoice {}: {e}", invoice.number));
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let regular = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding"
    });
    let bold = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica-Bold",
        "Encoding" => "WinAnsiEncoding"
    });
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { REGULAR => regular, BOLD => bold }
    });
    let mut kids: Vec<Object> = Vec::new();
    for operations in lay_out(invoice) {
        let encoded = Content { operations }.encode().map_err(failed)?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, encoded));
        let media_box: Vec<Object> = vec![0.into(), 0.into(), WIDTH.into(), HEIGHT.into()];
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
            "Resources" => resources,
            "MediaBox" => media_box
        });
        kids.push(page_id.into());
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info_id = doc.add_object(dictionary! {
        "Title" => Object::string_literal(printable(&format!("Invoice {}", invoice.number))),
        "Producer" => Object::string_literal("Customer Portal Suite billing")
    });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    doc.compress();
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes)
        .map_err(|e| Error::internal(format!("rendering invoice {}: {e}", invoice.number)))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::printed::PrintedLine;

    fn invoice(lines: usize) -> PrintedInvoice {
        PrintedInvoice {
            number: "INV-2026-000042".into(),
            account: "Acme (acc-1)".into(),
            status: "OPEN".into(),
            issued: "2026-11-28".into(),
            due: "2026-12-28".into(),
            currency: "USD".into(),
            lines: (0..lines)
                .map(|i| PrintedLine {
                    sku: format!("SKU-{i}"),
                    description:
                        "Creator seat, term license, 1 year (Desktop and Prep Builder, login-based)"
                            .into(),
                    quantity: "3".into(),
                    unit_price: "900.00".into(),
                    amount: "2,700.00".into(),
                })
                .collect(),
            totals: vec![
                ("Subtotal".into(), "2,700.00".into()),
                ("Total".into(), "2,700.00".into()),
            ],
            notes: vec!["Café (Zürich) \\ paid – thanks".into()],
        }
    }

    #[test]
    fn b7_invoices_render_to_a_pdf_with_number_lines_totals_and_status() {
        let bytes = render(&invoice(2)).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let doc = Document::load_mem(&bytes).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
        let text = doc.extract_text(&[1]).unwrap();
        for expected in [
            "INV-2026-000042",
            "Acme (acc-1)",
            "OPEN",
            "SKU-1",
            "2,700.00",
            "Total",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text:?}");
        }
    }

    #[test]
    fn b7_long_invoices_continue_on_further_pages() {
        let bytes = render(&invoice(120)).unwrap();
        let doc = Document::load_mem(&bytes).unwrap();
        let pages = doc.get_pages().len();
        assert!(pages >= 3, "{pages} pages");
        let last = u32::try_from(pages).unwrap();
        assert!(
            doc.extract_text(&[last])
                .unwrap()
                .contains("INV-2026-000042 (continued")
        );
    }

    #[test]
    fn b7_text_is_reduced_to_what_the_standard_fonts_print() {
        assert_eq!(printable("Zürich €5"), b"Z\xfcrich ?5".to_vec());
        assert_eq!(shortened("abcdefghij", 6), "abc...");
    }
}
