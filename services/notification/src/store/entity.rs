//! sea-orm entities of the notification schema. Enum columns are the domain's enums (stored as today's strings),
//! so a row with an unknown value fails to read instead of being guessed at.

pub mod advisory {
    use sea_orm::entity::prelude::*;

    use crate::domain::{AdvisoryState, Kind, Severity, Tlp};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "advisories")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub advisory_id: String,
        pub ordinal: i64,
        pub kind: Kind,
        pub severity: Severity,
        /// N1 (added by `AddTlpLabels`).
        pub tlp: Tlp,
        pub title: String,
        pub body: String,
        pub target: String,
        pub state: AdvisoryState,
        pub accounts_targeted: i64,
        pub fallback_accounts: String,
        pub unreachable_accounts: String,
        pub resolver_lease_until: Option<DateTimeUtc>,
        pub create_time: DateTimeUtc,
        pub resolve_time: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod counter {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "advisory_counters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        pub last: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod delivery {
    use sea_orm::entity::prelude::*;

    use crate::domain::{DeliveryState, NoticeKind};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub delivery_id: String,
        pub advisory_id: Option<String>,
        pub notice_kind: Option<NoticeKind>,
        pub account_id: String,
        pub account_name: String,
        pub user_id: String,
        pub email: String,
        pub email_key: String,
        pub display_name: String,
        pub fallback: bool,
        pub payload: Option<String>,
        pub state: DeliveryState,
        pub attempts: i32,
        pub last_error: String,
        pub next_attempt_time: DateTimeUtc,
        pub lease_owner: Option<String>,
        pub lease_until: Option<DateTimeUtc>,
        pub sent_time: Option<DateTimeUtc>,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
        /// N8: sent to an Administrator by escalation.
        pub escalation: bool,
        /// N9: 0 for the advisory itself, n for its n-th reminder.
        pub reminder: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod escalation {
    use sea_orm::entity::prelude::*;

    /// N8: one account's escalation of one advisory, claimed once; `administrators` it went to (0: nobody else
    /// to tell).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "escalations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub advisory_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        pub administrators: i32,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod acknowledgement {
    use sea_orm::entity::prelude::*;

    /// N9: one acknowledged delivery of an advisory: who, and when (the first acknowledgement).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "acknowledgements")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub delivery_id: String,
        pub advisory_id: String,
        pub account_id: String,
        pub user_id: String,
        pub email: String,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod csaf_document {
    use sea_orm::entity::prelude::*;

    /// N11: the CSAF document an advisory was imported from, unique per tracking id and version.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "csaf_documents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub advisory_id: String,
        pub tracking_id: String,
        pub tracking_version: String,
        pub document: String,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod delivery_report {
    use sea_orm::entity::prelude::*;

    use crate::domain::bounce::ReportKind;

    /// N14: one report that came back for a delivery.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "delivery_reports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub report_key: String,
        pub delivery_id: String,
        pub advisory_id: Option<String>,
        pub account_id: String,
        pub kind: ReportKind,
        pub status: String,
        pub diagnostic: String,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
