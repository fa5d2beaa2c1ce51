use crate::error::DomainError;
use crate::error::ErrorCode;
use crate::list::PhoneNumber;

/// Why a do-not-call command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DncError {
    #[error(
        "架電禁止の登録 {id} が見つかりません (do-not-call registration {id} not found: it may have been unregistered; reload the list)"
    )]
    NotFound { id: u64 },
    #[error(
        "{number}は既に登録 {id} で架電禁止です (number {number} is already registration {id}: edit that registration instead)"
    )]
    NumberAlreadyRegistered { number: PhoneNumber, id: u64 },
    #[error(
        "対象の案件を選んでください (choose at least one campaign, or all campaigns, for the registration)"
    )]
    NoCampaigns,
    #[error("電話番号を入力してください (give at least one phone number to register)")]
    NoNumbers,
    #[error(
        "架電禁止リストが見つかりません (do-not-call list not found for this tenant: check the id)"
    )]
    WrongTenant,
}

impl DomainError for DncError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } | Self::WrongTenant => ErrorCode::NotFound,
            Self::NumberAlreadyRegistered { .. } => ErrorCode::DncAlreadyRegistered,
            Self::NoCampaigns => ErrorCode::DncNoCampaigns,
            Self::NoNumbers => ErrorCode::DncNoNumbers,
        }
    }
}
