use crate::error::DomainError;
use crate::error::ErrorCode;

/// Why an interaction command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteractionError {
    #[error(
        "対応履歴が見つかりません (interaction not found: check the id; it may belong to another tenant)"
    )]
    NotFound,
    #[error(
        "この対応履歴は既に作成されています (an interaction with this id exists already: place a new call instead)"
    )]
    AlreadyExists,
    #[error(
        "この発信は架電前に拒否されたため結果を保存できません (this call was refused before dialling ({code}): there is nothing to save; fix the cause and call again)"
    )]
    WasRefused { code: String },
    #[error(
        "通話の状態「{state}」では{what}できません (the call is {state}: {what} is not possible now)"
    )]
    WrongState {
        state: &'static str,
        what: &'static str,
    },
    #[error(
        "結果ステータス「{status}」はこの案件にありません。案件のステータス({allowed})から選んでください (status {status:?} is not one of the campaign's statuses: choose one of {allowed})"
    )]
    UnknownStatus { status: String, allowed: String },
    #[error(
        "他のユーザー({holder})の対応履歴は編集できません (this interaction belongs to user {holder}: only they or a manager can save its result)"
    )]
    NotYours { holder: u64 },
    #[error(
        "メモが長すぎます: {len}文字 (the memo is {len} characters long: shorten it to at most {max})"
    )]
    MemoTooLong { len: usize, max: usize },
}

impl DomainError for InteractionError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound => ErrorCode::NotFound,
            Self::AlreadyExists => ErrorCode::AlreadyExists,
            Self::WasRefused { .. } => ErrorCode::CallWasRefused,
            Self::WrongState { .. } => ErrorCode::CallWrongState,
            Self::UnknownStatus { .. } => ErrorCode::UnknownStatus,
            Self::NotYours { .. } => ErrorCode::Forbidden,
            Self::MemoTooLong { .. } => ErrorCode::TextTooLong,
        }
    }
}
