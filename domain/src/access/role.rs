//! The five roles (USR-1) and which users a role may manage (USR-5).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A user's role (USR-1). Serialized as its code: `"MGR"`, `"SV"`, `"OP"`, `"BIZ"`, `"BY"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    /// マネージャー: everything, including edit and delete.
    Mgr,
    /// スーパーバイザー: sees what MGR sees, manages lower-role users, edits and deletes nothing
    /// in the management screens; works like OP on the operator screen.
    Sv,
    /// オペレータ: calls lists.
    Op,
    /// ビジネス: reads interaction history and report history only.
    Biz,
    /// バックヤード: no calling; appends history to customers.
    By,
}

impl Role {
    /// Every role, highest first (the column order of the USR-6 table).
    pub const ALL: [Role; 5] = [Role::Mgr, Role::Sv, Role::Op, Role::Biz, Role::By];

    /// The stable code stored and shown in the API: `MGR`, `SV`, `OP`, `BIZ`, `BY`.
    pub const fn code(self) -> &'static str {
        match self {
            Role::Mgr => "MGR",
            Role::Sv => "SV",
            Role::Op => "OP",
            Role::Biz => "BIZ",
            Role::By => "BY",
        }
    }

    /// The Japanese display label, as the operations manual names the roles.
    pub const fn label(self) -> &'static str {
        match self {
            Role::Mgr => "マネージャー",
            Role::Sv => "スーパーバイザー",
            Role::Op => "オペレータ",
            Role::Biz => "ビジネス",
            Role::By => "バックヤード",
        }
    }

    /// USR-2: MGR and SV land on the admin screen (and may switch to the operator screen);
    /// OP, BIZ and BY land on the operator screen and have only that one.
    pub const fn uses_admin_screen(self) -> bool {
        matches!(self, Role::Mgr | Role::Sv)
    }

    /// USR-5: whether a user of this role may create or change a user of role `other`.
    /// MGR manages every role; SV manages OP, BIZ and BY only; OP, BIZ and BY manage no one.
    pub const fn can_manage(self, other: Role) -> bool {
        match self {
            Role::Mgr => true,
            Role::Sv => matches!(other, Role::Op | Role::Biz | Role::By),
            Role::Op | Role::Biz | Role::By => false,
        }
    }

    /// USR-5: only MGR deletes users (SV "deletes no one").
    pub const fn can_delete_users(self) -> bool {
        matches!(self, Role::Mgr)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A role code that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "「{given}」という権限はありません。MGR, SV, OP, BIZ, BY のいずれかを指定してください \
     (unknown role \"{given}\": use one of MGR, SV, OP, BIZ, BY)"
)]
pub struct UnknownRole {
    /// What was given, as given.
    pub given: String,
}

impl FromStr for Role {
    type Err = UnknownRole;

    /// Parses a role code, ignoring surrounding spaces and letter case (`"sv"` is SV).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.code().eq_ignore_ascii_case(code))
            .ok_or_else(|| UnknownRole {
                given: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usr_1_roles_serialize_as_their_codes() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.code()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(serde_json::to_string(&Role::Biz).unwrap(), "\"BIZ\"");
    }

    #[test]
    fn usr_1_role_codes_parse_case_insensitively() {
        assert_eq!(" sv ".parse::<Role>(), Ok(Role::Sv));
        assert_eq!("BY".parse::<Role>(), Ok(Role::By));
        assert_eq!("biz".parse::<Role>(), Ok(Role::Biz));
    }

    #[test]
    fn usr_1_unknown_role_lists_the_valid_ones() {
        let err = "ADMIN".parse::<Role>().unwrap_err();
        assert_eq!(err.given, "ADMIN");
        let message = err.to_string();
        for role in Role::ALL {
            assert!(message.contains(role.code()), "{message}");
        }
    }

    #[test]
    fn usr_1_labels_follow_the_manual() {
        assert_eq!(Role::Mgr.label(), "マネージャー");
        assert_eq!(Role::Sv.label(), "スーパーバイザー");
        assert_eq!(Role::Op.label(), "オペレータ");
        assert_eq!(Role::Biz.label(), "ビジネス");
        assert_eq!(Role::By.label(), "バックヤード");
    }

    #[test]
    fn usr_2_mgr_and_sv_use_the_admin_screen() {
        let admin: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.uses_admin_screen())
            .collect();
        assert_eq!(admin, [Role::Mgr, Role::Sv]);
    }

    #[test]
    fn usr_5_mgr_manages_every_role() {
        for other in Role::ALL {
            assert!(Role::Mgr.can_manage(other), "MGR should manage {other}");
        }
    }

    #[test]
    fn usr_5_sv_manages_only_lower_roles() {
        assert!(!Role::Sv.can_manage(Role::Mgr));
        assert!(!Role::Sv.can_manage(Role::Sv));
        assert!(Role::Sv.can_manage(Role::Op));
        assert!(Role::Sv.can_manage(Role::Biz));
        assert!(Role::Sv.can_manage(Role::By));
    }

    #[test]
    fn usr_5_op_biz_by_manage_no_one() {
        for role in [Role::Op, Role::Biz, Role::By] {
            for other in Role::ALL {
                assert!(!role.can_manage(other), "{role} should not manage {other}");
            }
        }
    }

    #[test]
    fn usr_5_only_mgr_deletes_users() {
        let deleters: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.can_delete_users())
            .collect();
        assert_eq!(deleters, [Role::Mgr]);
    }
}
