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

fn with_role(user_id: u64, username: &str, role: Role) -> TenantEvent {
    TenantEvent::UserRegistered {
        user_id,
        username: username.into(),
        display_name: format!("{username}さん"),
        role,
        password_hash: "$argon2id$stub".into(),
    }
}

/// A tenant with MGR 1 `boss`, SV 2 `sv`, OP 3 `op`.
fn staffed() -> Vec<TenantEvent> {
    vec![
        created(),
        with_role(1, "boss", Role::Mgr),
        with_role(2, "sv", Role::Sv),
        with_role(3, "op", Role::Op),
    ]
}

fn create(by: Role, username: &str, role: Role) -> TenantCommand {
    TenantCommand::CreateUser {
        by,
        username: username.into(),
        display_name: format!("{username}さん"),
        role,
        password_hash: "$argon2id$stub".into(),
    }
}

#[test]
fn usr_5_sv_creates_only_lower_roles() {
    Given::with(())
        .given(staffed())
        .when(create(Role::Sv, "biz", Role::Biz))
        .then_expect_events(vec![with_role(4, "biz", Role::Biz)]);
    for role in [Role::Mgr, Role::Sv] {
        Given::with(())
            .given(staffed())
            .when(create(Role::Sv, "x", role))
            .then_expect_error(TenantError::CannotManageRole {
                by: Role::Sv,
                target: role,
            });
    }
    Given::with(())
        .given(staffed())
        .when(create(Role::Op, "x", Role::By))
        .then_expect_error(TenantError::CannotManageRole {
            by: Role::Op,
            target: Role::By,
        });
}

#[test]
fn usr_5_sv_changes_lower_roles_only_and_not_into_higher_ones() {
    Given::with(())
        .given(staffed())
        .when(TenantCommand::UpdateUser {
            by: Role::Sv,
            user_id: 3,
            display_name: Some(" 新しい名前 ".into()),
            role: Some(Role::By),
        })
        .then_expect_events(vec![
            TenantEvent::UserRenamed {
                user_id: 3,
                from: "opさん".into(),
                display_name: "新しい名前".into(),
            },
            TenantEvent::UserRoleChanged {
                user_id: 3,
                from: Role::Op,
                role: Role::By,
            },
        ]);
    Given::with(())
        .given(staffed())
        .when(TenantCommand::UpdateUser {
            by: Role::Sv,
            user_id: 3,
            display_name: None,
            role: Some(Role::Sv),
        })
        .then_expect_error(TenantError::CannotManageRole {
            by: Role::Sv,
            target: Role::Sv,
        });
    Given::with(())
        .given(staffed())
        .when(TenantCommand::UpdateUser {
            by: Role::Sv,
            user_id: 1,
            display_name: Some("x".into()),
            role: None,
        })
        .then_expect_error(TenantError::CannotManageRole {
            by: Role::Sv,
            target: Role::Mgr,
        });
    Given::with(())
        .given(staffed())
        .when(TenantCommand::ResetPassword {
            by: Role::Sv,
            user_id: 1,
            password_hash: "h".into(),
        })
        .then_expect_error(TenantError::CannotManageRole {
            by: Role::Sv,
            target: Role::Mgr,
        });
}

#[test]
fn usr_4_unchanged_values_write_nothing_and_names_are_checked() {
    Given::with(())
        .given(staffed())
        .when(TenantCommand::UpdateUser {
            by: Role::Mgr,
            user_id: 3,
            display_name: Some("opさん".into()),
            role: Some(Role::Op),
        })
        .then_expect_events(vec![]);
    Given::with(())
        .given(staffed())
        .when(TenantCommand::UpdateUser {
            by: Role::Mgr,
            user_id: 3,
            display_name: Some(" ".into()),
            role: None,
        })
        .then_expect_error(TenantError::Name(crate::error::NameError::Empty {
            what: Tenant::DISPLAY_NAME_LABEL,
        }));
}

#[test]
fn usr_5_only_mgr_deletes_and_not_itself() {
    Given::with(())
        .given(staffed())
        .when(TenantCommand::DeleteUser {
            by: Role::Sv,
            by_user: 2,
            user_id: 3,
        })
        .then_expect_error(TenantError::CannotDelete { by: Role::Sv });
    Given::with(())
        .given(staffed())
        .when(TenantCommand::DeleteUser {
            by: Role::Mgr,
            by_user: 1,
            user_id: 1,
        })
        .then_expect_error(TenantError::CannotDeleteSelf);
    Given::with(())
        .given(staffed())
        .when(TenantCommand::DeleteUser {
            by: Role::Mgr,
            by_user: 1,
            user_id: 3,
        })
        .then_expect_events(vec![TenantEvent::UserDeleted {
            user_id: 3,
            username: "op".into(),
            display_name: "opさん".into(),
        }]);
}

fn deleted_op() -> Vec<TenantEvent> {
    let mut events = staffed();
    events.push(TenantEvent::UserDeleted {
        user_id: 3,
        username: "op".into(),
        display_name: "opさん".into(),
    });
    events
}

#[test]
fn usr_3_deletion_is_irreversible_and_ids_are_never_reused() {
    // The next user gets id 4, not the freed 3; the freed username may be taken again.
    Given::with(())
        .given(deleted_op())
        .when(create(Role::Mgr, "op", Role::Op))
        .then_expect_events(vec![with_role(4, "op", Role::Op)]);
    // A deleted user cannot be changed, reset or deleted again.
    Given::with(())
        .given(deleted_op())
        .when(TenantCommand::UpdateUser {
            by: Role::Mgr,
            user_id: 3,
            display_name: Some("x".into()),
            role: None,
        })
        .then_expect_error(TenantError::UserNotFound { user_id: 3 });
    Given::with(())
        .given(deleted_op())
        .when(TenantCommand::DeleteUser {
            by: Role::Mgr,
            by_user: 1,
            user_id: 3,
        })
        .then_expect_error(TenantError::UserNotFound { user_id: 3 });
    Given::with(())
        .given(deleted_op())
        .when(TenantCommand::ChangePassword {
            user_id: 3,
            password_hash: "h".into(),
        })
        .then_expect_error(TenantError::UserNotFound { user_id: 3 });
}

#[test]
fn usr_3_deleting_frees_a_seat_of_the_user_quota() {
    let mut full = staffed();
    full.push(TenantEvent::UserQuotaSet { quota: Some(3) });
    Given::with(())
        .given(full.clone())
        .when(create(Role::Mgr, "new", Role::Op))
        .then_expect_error(TenantError::QuotaExceeded { quota: 3 });
    Given::with(())
        .given(full.clone())
        .when(register("system-made"))
        .then_expect_error(TenantError::QuotaExceeded { quota: 3 });
    full.push(TenantEvent::UserDeleted {
        user_id: 3,
        username: "op".into(),
        display_name: "opさん".into(),
    });
    Given::with(())
        .given(full)
        .when(create(Role::Mgr, "new", Role::Op))
        .then_expect_events(vec![with_role(4, "new", Role::Op)]);
    Given::with(())
        .given(staffed())
        .when(TenantCommand::SetUserQuota { quota: Some(2) })
        .then_expect_error(TenantError::QuotaBelowUsers {
            quota: 2,
            active: 3,
        });
}

#[test]
fn usr_1_the_last_manager_stays_a_manager() {
    Given::with(())
        .given(staffed())
        .when(TenantCommand::UpdateUser {
            by: Role::Mgr,
            user_id: 1,
            display_name: None,
            role: Some(Role::Sv),
        })
        .then_expect_error(TenantError::LastManager { user_id: 1 });
    let mut two = staffed();
    two.push(with_role(4, "boss2", Role::Mgr));
    Given::with(())
        .given(two)
        .when(TenantCommand::UpdateUser {
            by: Role::Mgr,
            user_id: 1,
            display_name: None,
            role: Some(Role::Sv),
        })
        .then_expect_events(vec![TenantEvent::UserRoleChanged {
            user_id: 1,
            from: Role::Mgr,
            role: Role::Sv,
        }]);
}

#[test]
fn usr_5_mgr_resets_any_password() {
    Given::with(())
        .given(staffed())
        .when(TenantCommand::ResetPassword {
            by: Role::Mgr,
            user_id: 2,
            password_hash: "h".into(),
        })
        .then_expect_events(vec![TenantEvent::PasswordReset {
            user_id: 2,
            password_hash: "h".into(),
        }]);
}

#[test]
fn sec_settings_are_validated_and_unchanged_settings_write_nothing() {
    let bad = SecuritySettings {
        idle_logout_minutes: Some(0),
        ..SecuritySettings::default()
    };
    Given::with(())
        .given(staffed())
        .when(TenantCommand::ChangeSecuritySettings { settings: bad })
        .then_expect_error(TenantError::Settings(
            crate::access::SecuritySettingsError::IdleLogoutOutOfRange { minutes: 0 },
        ));
    Given::with(())
        .given(staffed())
        .when(TenantCommand::ChangeSecuritySettings {
            settings: SecuritySettings::default(),
        })
        .then_expect_events(vec![]);
    let good = SecuritySettings {
        idle_logout_minutes: Some(30),
        ..SecuritySettings::default()
    };
    Given::with(())
        .given(staffed())
        .when(TenantCommand::ChangeSecuritySettings {
            settings: good.clone(),
        })
        .then_expect_events(vec![TenantEvent::SecuritySettingsChanged {
            settings: good,
        }]);
}
