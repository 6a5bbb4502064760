//! sea-orm entities of the billing schema, and the enum columns as Rust enums (`DeriveActiveEnum`, with the
//! strings stored since the first migration), each mirroring the domain enum it stores: a value no variant
//! names fails the read, never turns into some default.

/// The enum columns.
pub mod enums {
    use sea_orm::entity::prelude::*;

    use crate::domain;

    /// The product vocabulary is the shared one, a column type itself (`portal_policy`).
    pub use portal_policy::{Family, LicenseType, Product};

    portal_runtime::column_enum!(PurchaseState for domain::PurchaseState {
        Pending = "PENDING",
        Fulfilled = "FULFILLED",
        Failed = "FAILED",
    });
    portal_runtime::column_enum!(InvoiceState for domain::InvoiceState {
        Open = "OPEN",
        Paid = "PAID",
        Void = "VOID",
    });
    portal_runtime::column_enum!(RenewalState for domain::RenewalState {
        Open = "OPEN",
        Renewed = "RENEWED",
        Lapsed = "LAPSED",
        Cancelled = "CANCELLED",
    });
}

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
        pub creator_seats: i32,
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
        pub site_ids: String,
        pub no_administrator_notified: bool,
        pub revoked_key_ids: String,
        pub compensation_pending: bool,
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
        pub milestones_done: i16,
        pub next_due_time: Option<DateTimeUtc>,
        pub renewed_automatically: bool,
        pub next_renewal_id: Option<String>,
        pub revision: i64,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
