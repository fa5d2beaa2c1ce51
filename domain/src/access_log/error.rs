//! Why a batch of accesses was refused.

use super::*;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AccessLogError {
    #[error(
        "一度に記録できるアクセスは{max}件までです ({count} accesses in one command; record at most {max} at a time)"
    )]
    TooMany { count: usize, max: usize },
}

impl DomainError for AccessLogError {
    fn code(&self) -> ErrorCode {
        ErrorCode::AccessBatchTooLarge
    }
}
