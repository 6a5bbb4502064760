//! sea-orm entities of the identity schema. Enum columns are Rust enums holding exactly the strings stored
//! since the first migration, so a row with any other value fails to load (an internal error), never a guess.

pub mod account {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        pub name: String,
        pub academic: bool,
        /// Bumped by every user mutation of the account, which serialises them (I7).
        pub revision: i64,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user {
    use sea_orm::entity::prelude::*;

    /// `users.role` (I3).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum RoleColumn {
        #[sea_orm(string_value = "ADMINISTRATOR")]
        Administrator,
        #[sea_orm(string_value = "DOWNLOAD_ONLY")]
        DownloadOnly,
    }

    /// `users.state` (I8).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum StateColumn {
        #[sea_orm(string_value = "ACTIVE")]
        Active,
        #[sea_orm(string_value = "REMOVED")]
        Removed,
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        pub account_id: String,
        pub email: String,
        /// The lowercase address: unique among the account's active users (I2).
        pub email_key: String,
        pub display_name: String,
        pub role: RoleColumn,
        pub security_contact: bool,
        pub technical_contact: bool,
        pub case_administrator: bool,
        pub state: StateColumn,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
        pub remove_time: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
