//! An order as asked (B3): the lines a purchase or a renewal invoice bills, and the rules every order keeps
//! before anything is priced. Pricing it is `invoice::price`'s; fulfilling it, `purchase`'s.

use portal_runtime::error::FieldViolation;

/// The most units of one SKU in one order.
pub const MAX_QUANTITY: i32 = 10_000;
/// The most lines in one order.
pub const MAX_ITEMS: usize = 100;

/// One line of an order, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub sku: String,
    pub quantity: i32,
}

/// B3 input rules: at least one item, each SKU once, each quantity between 1 and [`MAX_QUANTITY`].
pub fn check_items(items: &[Item]) -> Vec<FieldViolation> {
    let mut problems = Vec::new();
    if items.is_empty() {
        problems.push(FieldViolation::new("items", "name at least one SKU to buy"));
    }
    if items.len() > MAX_ITEMS {
        problems.push(FieldViolation::new(
            "items",
            format!("at most {MAX_ITEMS} lines per order"),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if item.sku.trim().is_empty() {
            problems.push(FieldViolation::new(
                format!("items[{i}].sku"),
                "must not be empty",
            ));
        } else if items[..i].iter().any(|earlier| earlier.sku == item.sku) {
            problems.push(FieldViolation::new(
                format!("items[{i}].sku"),
                "each SKU at most once; raise the quantity instead",
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&item.quantity) {
            problems.push(FieldViolation::new(
                format!("items[{i}].quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn item(sku: &str, quantity: i32) -> Item {
        Item {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn b3_orders_need_items_with_sane_quantities_each_sku_once() {
        assert!(check_items(&[item("A", 1), item("B", MAX_QUANTITY)]).is_empty());
        let fields = |items: &[Item]| {
            check_items(items)
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&[]), ["items"]);
        assert_eq!(fields(&[item("A", 0)]), ["items[0].quantity"]);
        assert_eq!(
            fields(&[item("A", MAX_QUANTITY + 1)]),
            ["items[0].quantity"]
        );
        assert_eq!(fields(&[item("A", -3)]), ["items[0].quantity"]);
        assert_eq!(fields(&[item("A", 1), item("A", 2)]), ["items[1].sku"]);
        assert_eq!(fields(&[item(" ", 1)]), ["items[0].sku"]);
    }
}
