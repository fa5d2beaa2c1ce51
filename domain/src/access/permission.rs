//! The one permission table (USR-6).
//! (Over 600 lines on purpose: the whole table is written out role by role, with a test per
//! rule below it.)
//!
//! Every resolver and HTTP route asks [`check`] (or [`scope`]) with the caller's role and the
//! [`Capability`] it needs; nothing else in Kaden decides who may do what. Each capability is one
//! row of the USR-6 matrix in SPEC.md; where a row names several actions that the API checks
//! separately (campaign management: view/edit; do-not-call: view/register/edit; user management:
//! manage/delete; "new history / new customer"; "recall folder, transfers, manual call";
//! "security settings, contract/usage"), the row is split into one capability per action, each
//! carrying the answer the row gives for it.
//!
//! The answer is an [`Access`]: refused, or allowed with a scope (`all`, `own`, `permitted
//! folders`, `lower roles`, `view only`) that the caller must then apply to the data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::role::Role;

/// How far a role may use a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Refused ("no" or "-" in the matrix).
    Denied,
    /// May look but not act ("view only": BIZ on the call screen).
    ViewOnly,
    /// Only the caller's own records ("own": e.g. interactions the caller made).
    Own,
    /// Only records in list folders the caller has been given permission to.
    PermittedFolders,
    /// Only users of lower roles (SV in user management, USR-5; see [`Role::can_manage`]).
    LowerRoles,
    /// Everything ("yes" or "all").
    All,
}

impl Access {
    /// Whether the capability may be used at all (in some scope).
    pub const fn is_allowed(self) -> bool {
        !matches!(self, Access::Denied)
    }
}

/// One thing a role may or may not do: a row (or one action of a row) of the USR-6 matrix.
///
/// The serialized form and [`Capability::name`] are stable snake_case names, used in API error
/// messages and the access log; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// "list management: view".
    ListView,
    /// "list management: import, configure, edit, delete".
    ListEdit,
    /// "operator status / monitoring (full)" (admin screen).
    OperatorMonitoring,
    /// "interaction history search".
    HistorySearch,
    /// "CSV export of history / lists / tallies".
    CsvExport,
    /// "tally (調査結果集計)".
    Tally,
    /// "recordings management" (REC-2).
    RecordingsManage,
    /// "campaign management", viewing: MGR and SV.
    CampaignView,
    /// "campaign management", editing: MGR only (SV is "view").
    CampaignEdit,
    /// "user management": creating and changing users (USR-5); SV only for lower roles.
    UserManage,
    /// "user management", deleting: MGR only (SV "no delete").
    UserDelete,
    /// "do-not-call management", viewing.
    DncView,
    /// "do-not-call management", registering a number (SV may).
    DncRegister,
    /// "do-not-call management", editing and unregistering (SV may not).
    DncEdit,
    /// "security settings, contract/usage": the security settings (SEC-1..3).
    SecuritySettings,
    /// "security settings, contract/usage": contract and usage (USE-1).
    ContractUsage,
    /// "new history / new customer (side panel)": new history.
    HistoryCreate,
    /// "new history / new customer (side panel)": new customer.
    CustomerCreate,
    /// "call screen: dial, predictive" (BIZ: view only).
    CallScreen,
    /// "edit customer basic info, add phone numbers".
    CustomerEdit,
    /// "recall folder, transfers, manual call": the recall folder (RCL).
    RecallFolder,
    /// "recall folder, transfers, manual call": transfers (TRN).
    Transfer,
    /// "recall folder, transfers, manual call": manual calls (MAN).
    ManualCall,
    /// "operator-side monitoring (simplified)".
    OperatorSideMonitoring,
    /// "report history".
    ReportHistory,
    /// "edit an interaction's result".
    InteractionEdit,
    /// "delete an interaction (HIS-4)".
    InteractionDelete,
    /// Searching the access log (AUD-1). Not a row of USR-6: **Decision** MGR only, like the
    /// security settings it belongs with.
    AccessLogView,
    /// Exporting the access log as CSV (AUD-1): MGR only, as issue 5 states.
    AccessLogExport,
}

impl Capability {
    /// Every capability, in the row order of the USR-6 matrix (access log last).
    pub const ALL: [Capability; 29] = [
        Capability::ListView,
        Capability::ListEdit,
        Capability::OperatorMonitoring,
        Capability::HistorySearch,
        Capability::CsvExport,
        Capability::Tally,
        Capability::RecordingsManage,
        Capability::CampaignView,
        Capability::CampaignEdit,
        Capability::UserManage,
        Capability::UserDelete,
        Capability::DncView,
        Capability::DncRegister,
        Capability::DncEdit,
        Capability::SecuritySettings,
        Capability::ContractUsage,
        Capability::HistoryCreate,
        Capability::CustomerCreate,
        Capability::CallScreen,
        Capability::CustomerEdit,
        Capability::RecallFolder,
        Capability::Transfer,
        Capability::ManualCall,
        Capability::OperatorSideMonitoring,
        Capability::ReportHistory,
        Capability::InteractionEdit,
        Capability::InteractionDelete,
        Capability::AccessLogView,
        Capability::AccessLogExport,
    ];

    /// The stable snake_case name (`campaign_edit`), as serialized.
    pub const fn name(self) -> &'static str {
        match self {
            Capability::ListView => "list_view",
            Capability::ListEdit => "list_edit",
            Capability::OperatorMonitoring => "operator_monitoring",
            Capability::HistorySearch => "history_search",
            Capability::CsvExport => "csv_export",
            Capability::Tally => "tally",
            Capability::RecordingsManage => "recordings_manage",
            Capability::CampaignView => "campaign_view",
            Capability::CampaignEdit => "campaign_edit",
            Capability::UserManage => "user_manage",
            Capability::UserDelete => "user_delete",
            Capability::DncView => "dnc_view",
            Capability::DncRegister => "dnc_register",
            Capability::DncEdit => "dnc_edit",
            Capability::SecuritySettings => "security_settings",
            Capability::ContractUsage => "contract_usage",
            Capability::HistoryCreate => "history_create",
            Capability::CustomerCreate => "customer_create",
            Capability::CallScreen => "call_screen",
            Capability::CustomerEdit => "customer_edit",
            Capability::RecallFolder => "recall_folder",
            Capability::Transfer => "transfer",
            Capability::ManualCall => "manual_call",
            Capability::OperatorSideMonitoring => "operator_side_monitoring",
            Capability::ReportHistory => "report_history",
            Capability::InteractionEdit => "interaction_edit",
            Capability::InteractionDelete => "interaction_delete",
            Capability::AccessLogView => "access_log_view",
            Capability::AccessLogExport => "access_log_export",
        }
    }

    /// The Japanese display label, in the vocabulary of the operations manual.
    pub const fn label(self) -> &'static str {
        match self {
            Capability::ListView => "リスト管理(閲覧)",
            Capability::ListEdit => "リスト管理(登録・設定・編集・削除)",
            Capability::OperatorMonitoring => "オペレータ状況",
            Capability::HistorySearch => "対応履歴",
            Capability::CsvExport => "CSV出力",
            Capability::Tally => "調査結果集計",
            Capability::RecordingsManage => "録音データ管理",
            Capability::CampaignView => "案件管理(閲覧)",
            Capability::CampaignEdit => "案件管理(編集)",
            Capability::UserManage => "ユーザー管理",
            Capability::UserDelete => "ユーザー削除",
            Capability::DncView => "架電禁止管理(閲覧)",
            Capability::DncRegister => "架電禁止登録",
            Capability::DncEdit => "架電禁止の編集・解除",
            Capability::SecuritySettings => "セキュリティ",
            Capability::ContractUsage => "契約情報",
            Capability::HistoryCreate => "新規履歴作成",
            Capability::CustomerCreate => "新規顧客追加",
            Capability::CallScreen => "コール・プレディコール",
            Capability::CustomerEdit => "基本情報編集・電話番号追加",
            Capability::RecallFolder => "見込・再コール",
            Capability::Transfer => "転送電話",
            Capability::ManualCall => "手動コール",
            Capability::OperatorSideMonitoring => "モニタリング",
            Capability::ReportHistory => "報告履歴",
            Capability::InteractionEdit => "対応履歴の編集",
            Capability::InteractionDelete => "対応履歴の削除",
            Capability::AccessLogView => "アクセスログ",
            Capability::AccessLogExport => "アクセスログのCSV出力",
        }
    }

    /// The USR-6 row for this capability, one [`Access`] per role in the order MGR, SV, OP, BIZ,
    /// BY. This is the permission table; [`scope`] and [`check`] read it.
    #[rustfmt::skip]
    const fn row(self) -> [Access; 5] {
        use Access::{All, Denied, LowerRoles, Own, PermittedFolders, ViewOnly};
        match self {
            //                                     MGR  SV          OP      BIZ               BY
            Capability::ListView =>               [All, All,        Denied, Denied,           Denied],
            Capability::ListEdit =>               [All, Denied,     Denied, Denied,           Denied],
            Capability::OperatorMonitoring =>     [All, All,        Denied, Denied,           Denied],
            Capability::HistorySearch =>          [All, All,        Own,    PermittedFolders, Own],
            Capability::CsvExport =>              [All, All,        Denied, Denied,           Denied],
            Capability::Tally =>                  [All, All,        Own,    Denied,           Own],
            Capability::RecordingsManage =>       [All, Denied,     Denied, Denied,           Denied],
            Capability::CampaignView =>           [All, All,        Denied, Denied,           Denied],
            Capability::CampaignEdit =>           [All, Denied,     Denied, Denied,           Denied],
            Capability::UserManage =>             [All, LowerRoles, Denied, Denied,           Denied],
            Capability::UserDelete =>             [All, Denied,     Denied, Denied,           Denied],
            Capability::DncView =>                [All, All,        Denied, Denied,           Denied],
            Capability::DncRegister =>            [All, All,        Denied, Denied,           Denied],
            Capability::DncEdit =>                [All, Denied,     Denied, Denied,           Denied],
            Capability::SecuritySettings =>       [All, Denied,     Denied, Denied,           Denied],
            Capability::ContractUsage =>          [All, Denied,     Denied, Denied,           Denied],
            Capability::HistoryCreate =>          [All, All,        All,    Denied,           All],
            Capability::CustomerCreate =>         [All, All,        All,    Denied,           All],
            Capability::CallScreen =>             [All, All,        All,    ViewOnly,         Denied],
            Capability::CustomerEdit =>           [All, All,        All,    Denied,           All],
            Capability::RecallFolder =>           [All, All,        All,    Denied,           Denied],
            Capability::Transfer =>               [All, All,        All,    Denied,           Denied],
            Capability::ManualCall =>             [All, All,        All,    Denied,           Denied],
            Capability::OperatorSideMonitoring => [All, All,        All,    Denied,           Denied],
            Capability::ReportHistory =>          [All, All,        All,    All,              All],
            Capability::InteractionEdit =>        [All, Own,        Own,    Denied,           Own],
            Capability::InteractionDelete =>      [All, Denied,     Denied, Denied,           Denied],
            Capability::AccessLogView =>          [All, Denied,     Denied, Denied,           Denied],
            Capability::AccessLogExport =>        [All, Denied,     Denied, Denied,           Denied],
        }
    }

    /// The roles that may use this capability in some scope, highest first.
    pub fn allowed_roles(self) -> impl Iterator<Item = Role> {
        Role::ALL
            .into_iter()
            .filter(move |role| scope(*role, self).is_allowed())
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A capability name that is not in the table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown capability \"{given}\": capability names are snake_case, e.g. campaign_edit")]
pub struct UnknownCapability {
    /// What was given, as given.
    pub given: String,
}

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| UnknownCapability {
                given: s.to_owned(),
            })
    }
}

/// How far `role` may use `capability` (USR-6). [`Access::Denied`] when not at all.
pub const fn scope(role: Role, capability: Capability) -> Access {
    let row = capability.row();
    match role {
        Role::Mgr => row[0],
        Role::Sv => row[1],
        Role::Op => row[2],
        Role::Biz => row[3],
        Role::By => row[4],
    }
}

/// Checks `role` against the USR-6 table: the scope it may use `capability` in, or [`Forbidden`].
///
/// An `Ok` answer other than [`Access::All`] is a restriction the caller must apply
/// (only own records, only permitted folders, only lower roles, view only).
pub fn check(role: Role, capability: Capability) -> Result<Access, Forbidden> {
    match scope(role, capability) {
        Access::Denied => Err(Forbidden { role, capability }),
        access => Ok(access),
    }
}

/// A role asked for a capability the USR-6 table refuses it. The api crate maps this to the
/// error code `FORBIDDEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "{}({role})には「{}」の権限がありません。{}のユーザーに依頼するか、マネージャーに権限の変更を\
     依頼してください (role {role} may not use {capability}; it is allowed for {}. Ask a user with \
     one of those roles to do it, or a manager to change your role)",
    .role.label(),
    .capability.label(),
    allowed_list(*.capability),
    allowed_list(*.capability)
)]
pub struct Forbidden {
    /// The caller's role.
    pub role: Role,
    /// What the caller asked to do.
    pub capability: Capability,
}

fn allowed_list(capability: Capability) -> String {
    capability
        .allowed_roles()
        .map(Role::code)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The USR-6 matrix, copied cell for cell from SPEC.md §1 (columns MGR, SV, OP, BIZ, BY;
    /// the **Decision** notes left out), with the capabilities each row became.
    const USR_6: &[(&str, [&str; 5], &[Capability])] = &[
        (
            "list management: view",
            ["yes", "yes", "-", "-", "-"],
            &[Capability::ListView],
        ),
        (
            "list management: import, configure, edit, delete",
            ["yes", "no", "-", "-", "-"],
            &[Capability::ListEdit],
        ),
        (
            "operator status / monitoring (full)",
            ["yes", "yes", "-", "-", "-"],
            &[Capability::OperatorMonitoring],
        ),
        (
            "interaction history search",
            ["all", "all", "own", "permitted folders", "own"],
            &[Capability::HistorySearch],
        ),
        (
            "CSV export of history / lists / tallies",
            ["yes", "yes", "no", "no", "no"],
            &[Capability::CsvExport],
        ),
        (
            "tally (調査結果集計)",
            ["all", "all", "own", "no", "own"],
            &[Capability::Tally],
        ),
        (
            "recordings management",
            ["yes", "no", "-", "-", "-"],
            &[Capability::RecordingsManage],
        ),
        (
            "campaign management",
            ["edit", "view", "-", "-", "-"],
            &[Capability::CampaignView, Capability::CampaignEdit],
        ),
        (
            "user management",
            ["all", "lower roles, no delete", "no", "no", "no"],
            &[Capability::UserManage, Capability::UserDelete],
        ),
        (
            "do-not-call management",
            ["yes", "view + register, no edit/unregister", "-", "-", "-"],
            &[
                Capability::DncView,
                Capability::DncRegister,
                Capability::DncEdit,
            ],
        ),
        (
            "security settings, contract/usage",
            ["yes", "no", "-", "-", "-"],
            &[Capability::SecuritySettings, Capability::ContractUsage],
        ),
        (
            "new history / new customer (side panel)",
            ["yes", "yes", "yes", "no", "yes"],
            &[Capability::HistoryCreate, Capability::CustomerCreate],
        ),
        (
            "call screen: dial, predictive",
            ["yes", "yes", "yes", "view only", "no"],
            &[Capability::CallScreen],
        ),
        (
            "edit customer basic info, add phone numbers",
            ["yes", "yes", "yes", "no", "yes"],
            &[Capability::CustomerEdit],
        ),
        (
            "recall folder, transfers, manual call",
            ["yes", "yes", "yes", "no", "no"],
            &[
                Capability::RecallFolder,
                Capability::Transfer,
                Capability::ManualCall,
            ],
        ),
        (
            "operator-side monitoring (simplified)",
            ["yes", "yes", "yes", "no", "no"],
            &[Capability::OperatorSideMonitoring],
        ),
        (
            "report history",
            ["yes", "yes", "yes", "yes", "yes"],
            &[Capability::ReportHistory],
        ),
        (
            "edit an interaction's result",
            ["all", "own", "own", "no", "own"],
            &[Capability::InteractionEdit],
        ),
        (
            "delete an interaction (HIS-4)",
            ["yes", "no", "no", "no", "no"],
            &[Capability::InteractionDelete],
        ),
    ];

    /// Capabilities that are not rows of USR-6, with their decided row (MGR, SV, OP, BIZ, BY).
    const OUTSIDE_USR_6: &[(Capability, [Access; 5])] = &[
        (
            Capability::AccessLogView,
            [
                Access::All,
                Access::Denied,
                Access::Denied,
                Access::Denied,
                Access::Denied,
            ],
        ),
        (
            Capability::AccessLogExport,
            [
                Access::All,
                Access::Denied,
                Access::Denied,
                Access::Denied,
                Access::Denied,
            ],
        ),
    ];

    /// What a cell of the spec table means for each capability of its row.
    fn meaning(cell: &str, capabilities: &[Capability]) -> Vec<Access> {
        let uniform = |access| vec![access; capabilities.len()];
        match cell {
            "yes" | "all" => uniform(Access::All),
            "no" | "-" => uniform(Access::Denied),
            "own" => uniform(Access::Own),
            "permitted folders" => uniform(Access::PermittedFolders),
            "view only" => uniform(Access::ViewOnly),
            // campaign management: [view, edit]
            "edit" => vec![Access::All, Access::All],
            "view" => vec![Access::All, Access::Denied],
            // user management: [manage, delete]
            "lower roles, no delete" => vec![Access::LowerRoles, Access::Denied],
            // do-not-call management: [view, register, edit/unregister]
            "view + register, no edit/unregister" => {
                vec![Access::All, Access::All, Access::Denied]
            }
            other => panic!("cell {other:?} has no meaning in this test; add it"),
        }
    }

    #[test]
    fn usr_6_whole_matrix_row_by_row() {
        for (row, cells, capabilities) in USR_6 {
            for (role, cell) in Role::ALL.into_iter().zip(cells) {
                let expected = meaning(cell, capabilities);
                assert_eq!(
                    expected.len(),
                    capabilities.len(),
                    "row {row:?} cell {cell:?}"
                );
                for (capability, want) in capabilities.iter().zip(expected) {
                    assert_eq!(
                        scope(role, *capability),
                        want,
                        "USR-6 row {row:?}, {role} is {cell:?}: {capability} should be {want:?}"
                    );
                    match check(role, *capability) {
                        Ok(access) => assert_eq!(access, want),
                        Err(forbidden) => {
                            assert_eq!(want, Access::Denied);
                            assert_eq!(
                                forbidden,
                                Forbidden {
                                    role,
                                    capability: *capability
                                }
                            );
                        }
                    }
                }
            }
        }
        for (capability, want) in OUTSIDE_USR_6 {
            for (role, want) in Role::ALL.into_iter().zip(want) {
                assert_eq!(scope(role, *capability), *want, "{capability} for {role}");
            }
        }
    }

    #[test]
    fn usr_6_every_capability_comes_from_exactly_one_row() {
        let mut seen = HashSet::new();
        let from_rows = USR_6.iter().flat_map(|(_, _, caps)| caps.iter().copied());
        let outside = OUTSIDE_USR_6.iter().map(|(c, _)| *c);
        for capability in from_rows.chain(outside) {
            assert!(seen.insert(capability), "{capability} appears twice");
        }
        let all: HashSet<Capability> = Capability::ALL.into_iter().collect();
        assert_eq!(seen, all);
        assert_eq!(
            all.len(),
            Capability::ALL.len(),
            "Capability::ALL lists a variant twice"
        );
    }

    #[test]
    fn usr_6_sv_cannot_edit_campaigns() {
        assert_eq!(check(Role::Sv, Capability::CampaignView), Ok(Access::All));
        assert_eq!(
            check(Role::Sv, Capability::CampaignEdit),
            Err(Forbidden {
                role: Role::Sv,
                capability: Capability::CampaignEdit
            })
        );
    }

    #[test]
    fn usr_6_sv_manages_lower_roles_but_deletes_no_one() {
        assert_eq!(
            check(Role::Sv, Capability::UserManage),
            Ok(Access::LowerRoles)
        );
        assert!(check(Role::Sv, Capability::UserDelete).is_err());
        assert_eq!(check(Role::Mgr, Capability::UserDelete), Ok(Access::All));
    }

    #[test]
    fn usr_6_biz_sees_the_call_screen_view_only() {
        assert_eq!(
            check(Role::Biz, Capability::CallScreen),
            Ok(Access::ViewOnly)
        );
        assert!(check(Role::By, Capability::CallScreen).is_err());
    }

    #[test]
    fn usr_6_forbidden_message_names_capability_role_and_who_may() {
        let err = check(Role::Sv, Capability::CampaignEdit).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("campaign_edit"), "{message}");
        assert!(message.contains("案件管理(編集)"), "{message}");
        assert!(message.contains("SV"), "{message}");
        assert!(message.contains("allowed for MGR."), "{message}");

        let err = check(Role::Biz, Capability::Tally).unwrap_err();
        assert!(
            err.to_string().contains("allowed for MGR, SV, OP, BY."),
            "{err}"
        );
    }

    #[test]
    fn usr_6_capability_names_are_stable_and_round_trip() {
        for capability in Capability::ALL {
            let json = serde_json::to_string(&capability).unwrap();
            assert_eq!(json, format!("\"{}\"", capability.name()));
            assert_eq!(capability.name().parse::<Capability>(), Ok(capability));
            assert!(!capability.label().is_empty());
        }
        for name in [
            "campaign_view",
            "campaign_edit",
            "user_manage",
            "user_delete",
            "security_settings",
            "access_log_view",
            "access_log_export",
        ] {
            assert!(
                name.parse::<Capability>().is_ok(),
                "{name} is used by the foundation"
            );
        }
        assert_eq!(
            "campaign_delete".parse::<Capability>(),
            Err(UnknownCapability {
                given: "campaign_delete".into()
            })
        );
    }

    #[test]
    fn usr_6_mgr_may_do_everything() {
        for capability in Capability::ALL {
            assert_eq!(scope(Role::Mgr, capability), Access::All, "{capability}");
        }
    }
}
