use crate::access::{Role, SecuritySettingsError};
use crate::error::ErrorCode;
use crate::error::{DomainError, NameError};

/// Why a tenant or user-registry command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TenantError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(
        "テナントが見つかりません (tenant not found: run `kaden admin create` or start `kaden serve` once to create it)"
    )]
    NotFound,
    #[error("テナントは既に作成されています (the tenant already exists)")]
    AlreadyExists,
    #[error(
        "ログインID「{username}」は既に使われています (username {username:?} is taken by {existing:?}: choose another)"
    )]
    UsernameTaken { username: String, existing: String },
    #[error("ログインIDは1〜64文字です (username {username:?} must be 1 to 64 characters)")]
    UsernameLength { username: String },
    #[error(
        "ログインIDに「{character}」は使えません (username {username:?} contains {character:?}: use ASCII letters, digits and . _ - @)"
    )]
    UsernameCharacter { username: String, character: char },
    #[error("ユーザーが見つかりません (user {user_id} not found: check the id)")]
    UserNotFound { user_id: u64 },
    /// USR-5: MGR manages every role, SV manages OP, BIZ and BY, the others no one.
    #[error(
        "{}({by})は{}({target})のユーザーを作成・変更できません。マネージャーは全員を、スーパーバイザーは\
         OP・BIZ・BYのユーザーを管理できます (role {by} may not create or change {target} users \
         (user_manage): MGR manages every role, SV manages OP, BIZ and BY; ask a manager)",
        .by.label(),
        .target.label()
    )]
    CannotManageRole { by: Role, target: Role },
    /// USR-5: only MGR deletes users.
    #[error(
        "{}({by})はユーザーを削除できません (role {by} may not delete users (user_delete): it is \
         allowed for MGR; ask a manager)",
        .by.label()
    )]
    CannotDelete { by: Role },
    #[error(
        "自分自身のアカウントは削除できません (you cannot delete your own account: ask another manager)"
    )]
    CannotDeleteSelf,
    #[error(
        "最後のマネージャーは削除・権限変更できません (user {user_id} is the last manager: make another \
         user MGR first, so the tenant keeps a manager)"
    )]
    LastManager { user_id: u64 },
    #[error(
        "ユーザー数が契約数({quota}人)に達しています。不要なユーザーを削除するか、契約数を増やしてください \
         (the licensed user quota of {quota} is used up: delete a user to free a seat, or raise the \
         quota)"
    )]
    QuotaExceeded { quota: u32 },
    #[error(
        "契約ユーザー数{quota}人は現在のユーザー数{active}人より少なくできません (a quota of {quota} is \
         below the {active} users that exist: delete users first or choose at least {active})"
    )]
    QuotaBelowUsers { quota: u32, active: usize },
    #[error(transparent)]
    Settings(#[from] SecuritySettingsError),
    #[error("契約番号が正しくありません: {0}")]
    BadNumber(crate::list::phone::PhoneError),
}

impl DomainError for TenantError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Name(e) => e.code(),
            Self::Settings(e) => e.code(),
            Self::BadNumber(e) => e.code(),
            Self::NotFound | Self::UserNotFound { .. } => ErrorCode::NotFound,
            Self::AlreadyExists => ErrorCode::AlreadyExists,
            Self::UsernameTaken { .. } => ErrorCode::UsernameTaken,
            Self::UsernameLength { .. } | Self::UsernameCharacter { .. } => {
                ErrorCode::UsernameInvalid
            }
            Self::CannotManageRole { .. } | Self::CannotDelete { .. } => ErrorCode::Forbidden,
            Self::CannotDeleteSelf => ErrorCode::CannotDeleteSelf,
            Self::LastManager { .. } => ErrorCode::LastManager,
            Self::QuotaExceeded { .. } => ErrorCode::UserQuotaExceeded,
            Self::QuotaBelowUsers { .. } => ErrorCode::UserQuotaTooLow,
        }
    }
}
