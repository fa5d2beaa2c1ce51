//! Why a session command was refused, with each refusal's stable code.

use super::*;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error("このセッションIDは既に使われています (session id already used: log in again)")]
    AlreadyUsed,
    #[error("セッションが見つからないか終了しています (no such open session: log in again)")]
    NotOpen,
}

impl DomainError for SessionError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::AlreadyUsed => ErrorCode::AlreadyExists,
            Self::NotOpen => ErrorCode::Unauthenticated,
        }
    }
}
