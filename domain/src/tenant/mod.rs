//! The tenant: one customer company. Aggregate id: the tenant slug (`default`, `acme`).
//!
//! The tenant's stream holds its user registry, so that usernames stay unique and user ids are
//! handed out once and never reused (USR-3) under the store's optimistic concurrency.

mod error;
mod events;

pub use error::TenantError;
pub use events::TenantEvent;

use std::collections::{BTreeMap, HashMap};

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::access::Role;
use crate::error::validate_name;

/// Commands on a tenant. The tenant is the aggregate id; the api derives it from the caller's
/// session, never from input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TenantCommand {
    Create {
        name: String,
    },
    /// Registers a user. `password_hash` is a PHC string (argon2id) made by the caller.
    RegisterUser {
        username: String,
        display_name: String,
        role: Role,
        password_hash: String,
    },
    ChangePassword {
        user_id: u64,
        password_hash: String,
    },
}

/// A user as the tenant remembers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEntry {
    pub username: String,
    pub role: Role,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    created: bool,
    name: String,
    last_user_id: u64,
    users: BTreeMap<u64, UserEntry>,
    /// Lower-cased username → id, for uniqueness regardless of case.
    usernames: HashMap<String, u64>,
}

/// Usernames (login ids): 1 to 64 of ASCII letters, digits and `. _ - @`.
pub fn validate_username(raw: &str) -> Result<String, TenantError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(TenantError::UsernameLength {
            username: name.to_string(),
        });
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return Err(TenantError::UsernameCharacter {
            username: name.to_string(),
            character: bad,
        });
    }
    Ok(name.to_string())
}

impl Tenant {
    pub const NAME_LABEL: &'static str = "テナント名";
    pub const DISPLAY_NAME_LABEL: &'static str = "氏名";
}

impl Aggregate for Tenant {
    const TYPE: &'static str = "Tenant";
    type Command = TenantCommand;
    type Event = TenantEvent;
    type Error = TenantError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            TenantCommand::Create { name } => {
                if self.created {
                    return Err(TenantError::AlreadyExists);
                }
                let name = validate_name(Self::NAME_LABEL, &name)?;
                sink.write(TenantEvent::Created { name }, self).await;
            }
            TenantCommand::RegisterUser {
                username,
                display_name,
                role,
                password_hash,
            } => {
                if !self.created {
                    return Err(TenantError::NotFound);
                }
                let username = validate_username(&username)?;
                if let Some(&existing) = self.usernames.get(&username.to_lowercase()) {
                    let taken = self.users[&existing].username.clone();
                    return Err(TenantError::UsernameTaken {
                        username,
                        existing: taken,
                    });
                }
                let display_name = validate_name(Self::DISPLAY_NAME_LABEL, &display_name)?;
                let user_id = self.last_user_id + 1;
                sink.write(
                    TenantEvent::UserRegistered {
                        user_id,
                        username,
                        display_name,
                        role,
                        password_hash,
                    },
                    self,
                )
                .await;
            }
            TenantCommand::ChangePassword {
                user_id,
                password_hash,
            } => {
                if !self.users.contains_key(&user_id) {
                    return Err(TenantError::UserNotFound { user_id });
                }
                sink.write(
                    TenantEvent::PasswordChanged {
                        user_id,
                        password_hash,
                    },
                    self,
                )
                .await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            TenantEvent::Created { name } => {
                self.created = true;
                self.name = name;
            }
            TenantEvent::UserRegistered {
                user_id,
                username,
                role,
                ..
            } => {
                self.last_user_id = self.last_user_id.max(user_id);
                self.usernames.insert(username.to_lowercase(), user_id);
                self.users.insert(user_id, UserEntry { username, role });
            }
            TenantEvent::PasswordChanged { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    type Given = TestFramework<Tenant>;

    fn created() -> TenantEvent {
        TenantEvent::Created {
            name: "Acme".into(),
        }
    }

    fn register(username: &str) -> TenantCommand {
        TenantCommand::RegisterUser {
            username: username.into(),
            display_name: "山田 太郎".into(),
            role: Role::Op,
            password_hash: "$argon2id$stub".into(),
        }
    }

    fn registered(user_id: u64, username: &str) -> TenantEvent {
        TenantEvent::UserRegistered {
            user_id,
            username: username.into(),
            display_name: "山田 太郎".into(),
            role: Role::Op,
            password_hash: "$argon2id$stub".into(),
        }
    }

    #[test]
    fn usr_3_user_ids_count_up_from_one() {
        Given::with(())
            .given(vec![created()])
            .when(register("yamada"))
            .then_expect_events(vec![registered(1, "yamada")]);
        Given::with(())
            .given(vec![created(), registered(1, "yamada")])
            .when(register("suzuki"))
            .then_expect_events(vec![registered(2, "suzuki")]);
    }

    #[test]
    fn usr_3_usernames_are_unique_ignoring_case() {
        Given::with(())
            .given(vec![created(), registered(1, "yamada")])
            .when(register("Yamada"))
            .then_expect_error(TenantError::UsernameTaken {
                username: "Yamada".into(),
                existing: "yamada".into(),
            });
    }

    #[test]
    fn usernames_refuse_spaces_and_empty() {
        Given::with(())
            .given(vec![created()])
            .when(register("yama da"))
            .then_expect_error(TenantError::UsernameCharacter {
                username: "yama da".into(),
                character: ' ',
            });
        Given::with(())
            .given(vec![created()])
            .when(register(""))
            .then_expect_error(TenantError::UsernameLength {
                username: String::new(),
            });
    }

    #[test]
    fn users_need_a_tenant() {
        Given::with(())
            .given_no_previous_events()
            .when(register("yamada"))
            .then_expect_error(TenantError::NotFound);
    }

    #[test]
    fn password_change_needs_a_known_user() {
        Given::with(())
            .given(vec![created()])
            .when(TenantCommand::ChangePassword {
                user_id: 9,
                password_hash: "h".into(),
            })
            .then_expect_error(TenantError::UserNotFound { user_id: 9 });
    }
}
