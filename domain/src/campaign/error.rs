use crate::error::{DomainError, NameError};

/// Why a campaign command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CampaignError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(
        "案件が見つかりません (campaign not found: check the id; it may belong to another tenant or never have existed)"
    )]
    NotFound,
    #[error(
        "この案件IDは既に使われています (a campaign with this id already exists: create it without giving an id)"
    )]
    AlreadyExists,
}

impl DomainError for CampaignError {
    fn code(&self) -> &'static str {
        match self {
            Self::Name(e) => e.code(),
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
        }
    }
}
