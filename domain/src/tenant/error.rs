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
}

impl DomainError for TenantError {
    fn code(&self) -> &'static str {
        match self {
            Self::Name(e) => e.code(),
            Self::NotFound | Self::UserNotFound { .. } => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::UsernameTaken { .. } => "USERNAME_TAKEN",
            Self::UsernameLength { .. } | Self::UsernameCharacter { .. } => "USERNAME_INVALID",
        }
    }
}
