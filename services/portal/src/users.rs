//! `portal users list|add|remove`: an account's portal users, for an operator (token with `identity.admin`) or the
//! account's Administrator (their own user token).

use clap::Subcommand;
use portal_proto::identity::{
    CreateUserRequest, ListUsersRequest, Persona, RemoveUserRequest, Role, User, UserState,
    identity_service_client::IdentityServiceClient,
};
use serde_json::json;

use crate::remote::{Authorized, Failure, Output, Remote, enum_name, enum_value, exit, print_json};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the account's users (every page).
    List {
        /// The account, `ACC-…`.
        #[arg(long, value_name = "ID")]
        account: String,
        /// Include removed users.
        #[arg(long)]
        removed: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Add a user to the account.
    Add {
        /// The account, `ACC-…`.
        #[arg(long, value_name = "ID")]
        account: String,
        #[arg(long)]
        email: String,
        /// The name shown in the portal and in e-mails.
        #[arg(long, default_value = "")]
        name: String,
        /// `administrator` or `download-only`.
        #[arg(long, default_value = "download-only")]
        role: String,
        /// Idempotency key: pass the same one to retry safely (default: a new one each run).
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Remove a user (kept for the audit trail; their keys and site roles are released).
    Remove {
        /// The user id.
        user_id: String,
        #[command(flatten)]
        remote: Remote,
    },
}

pub async fn run(command: Command) -> Result<u8, Failure> {
    match command {
        Command::List {
            account,
            removed,
            remote,
        } => {
            let mut client = client(&remote).await?;
            let mut users = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_users(remote.request(ListUsersRequest {
                        account_id: account.clone(),
                        page_size: 1000,
                        page_token,
                        email: String::new(),
                        show_removed: removed,
                        without_persona: false,
                    }))
                    .await?
                    .into_inner();
                users.extend(page.users);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            match remote.output {
                Output::Json => print_json(&users.iter().map(user_json).collect()),
                Output::Text => print_table(&users),
            }
            Ok(exit::OK)
        }
        Command::Add {
            account,
            email,
            name,
            role,
            request_id,
            remote,
        } => {
            let role =
                enum_value("role", "ROLE_", &role, Role::from_str_name).map_err(|e| Failure {
                    message: format!("--role: {e}"),
                    code: exit::USAGE,
                })?;
            let mut client = client(&remote).await?;
            let user = client
                .create_user(remote.request(CreateUserRequest {
                    account_id: account,
                    email,
                    display_name: name,
                    role: role as i32,
                    additional_permissions: Vec::new(),
                    request_id:
                        request_id.unwrap_or_else(|| format!("cli-{}", uuid::Uuid::new_v4())),
                }))
                .await?
                .into_inner();
            match remote.output {
                Output::Json => print_json(&user_json(&user)),
                Output::Text => println!("{}: added {}", user.user_id, user.email),
            }
            Ok(exit::OK)
        }
        Command::Remove { user_id, remote } => {
            let mut client = client(&remote).await?;
            client
                .remove_user(remote.request(RemoveUserRequest {
                    user_id: user_id.clone(),
                }))
                .await?;
            match remote.output {
                Output::Json => print_json(&json!({ "user_id": user_id, "removed": true })),
                Output::Text => println!("{user_id}: removed"),
            }
            Ok(exit::OK)
        }
    }
}

async fn client(remote: &Remote) -> Result<IdentityServiceClient<Authorized>, Failure> {
    let (channel, bearer) = remote.connect().await?;
    Ok(IdentityServiceClient::with_interceptor(channel, bearer))
}

fn role(user: &User) -> String {
    Role::try_from(user.role)
        .map(|r| enum_name(r.as_str_name(), "ROLE_"))
        .unwrap_or_default()
}

fn persona(user: &User) -> String {
    Persona::try_from(user.persona)
        .map(|p| enum_name(p.as_str_name(), "PERSONA_"))
        .unwrap_or_default()
}

fn state(user: &User) -> String {
    UserState::try_from(user.state)
        .map(|s| enum_name(s.as_str_name(), "USER_STATE_"))
        .unwrap_or_default()
}

fn user_json(user: &User) -> serde_json::Value {
    json!({
        "user_id": user.user_id,
        "account_id": user.account_id,
        "email": user.email,
        "display_name": user.display_name,
        "role": role(user),
        "persona": persona(user),
        "state": state(user),
    })
}

fn print_table(users: &[User]) {
    let rows: Vec<[String; 5]> = users
        .iter()
        .map(|u| {
            [
                u.user_id.clone(),
                u.email.clone(),
                role(u),
                persona(u),
                state(u),
            ]
        })
        .collect();
    let header = ["USER", "EMAIL", "ROLE", "PERSONA", "STATE"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}
