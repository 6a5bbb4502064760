//! sea-orm entities of the licensing schema, and the typed enum columns ([`column`]): each stores exactly the
//! strings the schema has always held, and a row holding any other string fails to load (an error, never a
//! guess).

/// Enum columns, each the stored form of the domain enum of the same name.
pub mod column {
    use sea_orm::entity::prelude::*;

    use crate::domain;

    /// The product vocabulary is the shared one, a column type itself (`portal_policy`).
    pub use portal_policy::{Family, LicenseType, Product};

    portal_runtime::column_enum!(KeyState for domain::KeyState { Active = "ACTIVE", Expired = "EXPIRED", Revoked = "REVOKED" });
    portal_runtime::column_enum!(ActivationState for domain::ActivationState { Active = "ACTIVE", Deactivated = "DEACTIVATED" });
    portal_runtime::column_enum!(DeploymentKind for domain::DeploymentKind { OnPremise = "ON_PREMISE", CloudSite = "CLOUD_SITE" });
    portal_runtime::column_enum!(DeploymentState for domain::DeploymentState { Active = "ACTIVE", Inactive = "INACTIVE" });
    portal_runtime::column_enum!(Environment for domain::Environment { Production = "PRODUCTION", NonProduction = "NON_PRODUCTION" });
    portal_runtime::column_enum!(SiteRole for domain::SiteRole { Creator = "CREATOR", Explorer = "EXPLORER", Viewer = "VIEWER" });
}

pub mod key {
    use sea_orm::entity::prelude::*;

    use super::column::{Family, KeyState, LicenseType};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_id: String,
        pub key: String,
        pub account_id: String,
        pub family: Family,
        pub seats: i64,
        pub license_type: LicenseType,
        pub period_end: Option<DateTimeUtc>,
        pub maintenance_end: DateTimeUtc,
        pub state: KeyState,
        pub owner_user_id: Option<String>,
        pub lblm_enabled: bool,
        pub deployment_id: Option<String>,
        pub purchase_id: Option<String>,
        pub revoke_reason: Option<String>,
        pub revoke_time: Option<DateTimeUtc>,
        pub batch_id: String,
        pub revision: i64,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod assignment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assignments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub email_key: String,
        pub account_id: String,
        pub email: String,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod activation {
    use sea_orm::entity::prelude::*;

    use super::column::{ActivationState, Product};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "activations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub activation_id: String,
        pub key_id: String,
        pub account_id: String,
        pub product: Product,
        pub machine_fingerprint: String,
        pub hostname: String,
        pub version: String,
        pub user_email: String,
        pub state: ActivationState,
        pub create_time: DateTimeUtc,
        pub last_use_time: DateTimeUtc,
        pub deactivate_time: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod deployment {
    use sea_orm::entity::prelude::*;

    use super::column::{DeploymentKind, DeploymentState, Environment};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deployments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub deployment_id: String,
        pub account_id: String,
        pub kind: DeploymentKind,
        pub name: String,
        pub state: DeploymentState,
        pub lblm_enabled: bool,
        pub creator_seats: i64,
        pub key_id: Option<String>,
        pub environment: Environment,
        pub revision: i64,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod membership {
    use sea_orm::entity::prelude::*;

    use super::column::SiteRole;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "site_memberships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub deployment_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub email_key: String,
        pub email: String,
        pub user_id: String,
        pub account_id: String,
        pub site_role: SiteRole,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod run_usage {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "run_usage")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub deployment_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub email_key: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub product: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub machine_fingerprint: String,
        pub account_id: String,
        pub hostname: String,
        pub version: String,
        pub last_use_time: DateTimeUtc,
        pub expire_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod report {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "activation_reports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub report_id: String,
        pub account_id: String,
        pub requester_user_id: String,
        pub row_count: i64,
        pub csv: String,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod report_quota {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "report_quota")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        pub last_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod elearning_code {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "elearning_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub account_id: String,
        pub purchase_id: Option<String>,
        pub batch_id: String,
        pub redeemed_by_email: Option<String>,
        pub redeem_time: Option<DateTimeUtc>,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// L6: active fulfillments per key and product, kept with the activations.
pub mod pool_count {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pool_counts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub product: String,
        pub used: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// B11: the Creator seats one key put on a cloud site; `end_time` is set once they left it.
pub mod site_seat {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "site_seats")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_id: String,
        pub deployment_id: String,
        pub account_id: String,
        pub purchase_id: String,
        pub creator_seats: i64,
        pub administrators_notified: i32,
        pub create_time: DateTimeUtc,
        pub end_time: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// B11: one row per account that has had seats provisioned; locking it serialises the account's provisioning.
pub mod cloud_site_lock {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cloud_site_locks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        pub revision: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
