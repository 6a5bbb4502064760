//! sea-orm entities of the billing schema, and the enum columns as Rust enums (`DeriveActiveEnum`, with the
//! strings stored since the first migration), each mirroring the domain enum it stores: a value no variant
//! names fails the read, never turns into some default.

use crate::domain;

/// `From` both ways between a column enum and the domain enum it mirrors, variant for variant.
macro_rules! mirror {
    ($column:ty, $domain:ty, [$($variant:ident),+ $(,)?]) => {
        impl From<$column> for $domain {
            fn from(value: $column) -> Self {
                match value {
                    $(<$column>::$variant => <$domain>::$variant,)+
                }
            }
        }

        impl From<$domain> for $column {
            fn from(value: $domain) -> Self {
                match value {
                    $(<$domain>::$variant => <$column>::$variant,)+
                }
            }
        }
    };
}

/// The enum columns.
pub mod enums {
    use sea_orm::entity::prelude::*;

    /// The product vocabulary is the shared one, a column type itself (`portal_policy`).
    pub use portal_policy::{Family, LicenseType, Product};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum PurchaseState {
        #[sea_orm(string_value = "PENDING")]
        Pending,
        #[sea_orm(string_value = "FULFILLED")]
        Fulfilled,
        #[sea_orm(string_value = "FAILED")]
        Failed,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum InvoiceState {
        #[sea_orm(string_value = "OPEN")]
        Open,
        #[sea_orm(string_value = "PAID")]
        Paid,
        #[sea_orm(string_value = "VOID")]
        Void,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum RenewalState {
        #[sea_orm(string_value = "OPEN")]
        Open,
        #[sea_orm(string_value = "RENEWED")]
        Renewed,
        #[sea_orm(string_value = "LAPSED")]
        Lapsed,
        #[sea_orm(string_value = "CANCELLED")]
        Cancelled,
    }
}

mirror!(
    enums::PurchaseState,
    domain::PurchaseState,
    [Pending, Fulfilled, Failed]
);
mirror!(
    enums::InvoiceState,
    domain::InvoiceState,
    [Open, Paid, Void]
);
mirror!(
    enums::RenewalState,
    domain::RenewalState,
    [Open, Renewed, Lapsed, Cancelled]
);

pub mod sku {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "skus")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub sku: String,
        pub description: String,
        pub unit_price_minor: i64,
        pub currency: String,
        pub product: super::enums::Product,
        pub family: Option<super::enums::Family>,
        pub seats: i32,
        pub license_type: Option<super::enums::LicenseType>,
        pub term_months: i32,
        pub maintenance_months: i32,
        pub lblm_enabled: bool,
        pub active: bool,
        pub revision: i64,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod purchase {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "purchases")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub purchase_id: String,
        pub account_id: String,
        pub state: super::enums::PurchaseState,
        pub invoice_id: String,
        pub key_ids: String,
        pub elearning_codes: String,
        pub failure_reason: String,
        pub attempts: i32,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invoice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub invoice_id: String,
        pub number: String,
        pub account_id: String,
        pub state: super::enums::InvoiceState,
        pub currency: String,
        pub subtotal_minor: i64,
        pub tax_minor: i64,
        pub total_minor: i64,
        pub paid_minor: i64,
        pub purchase_id: Option<String>,
        pub renewal_id: Option<String>,
        pub issue_time: DateTimeUtc,
        pub due_time: DateTimeUtc,
        pub paid_time: Option<DateTimeUtc>,
        pub void_time: Option<DateTimeUtc>,
        pub void_reason: String,
        pub revision: i64,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod line {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoice_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub invoice_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub line_no: i32,
        pub sku: String,
        pub description: String,
        pub quantity: i32,
        pub unit_price_minor: i64,
        pub amount_minor: i64,
        pub grant_json: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod payment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub payment_id: String,
        pub invoice_id: String,
        pub amount_minor: i64,
        pub reference: String,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invoice_counter {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoice_counters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        pub last_number: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod renewal {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "renewals")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub renewal_id: String,
        pub account_id: String,
        pub key_ids: String,
        pub renewal_date: DateTimeUtc,
        pub term_months: i32,
        pub auto_renew: bool,
        pub invoice_id: String,
        pub state: super::enums::RenewalState,
        pub refresh_pending: bool,
        pub refresh_error: Option<String>,
        pub sort_key: String,
        pub revision: i64,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
