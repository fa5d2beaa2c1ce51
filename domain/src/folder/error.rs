use crate::error::ErrorCode;
use crate::error::{DomainError, NameError};
use crate::list::{ImportFailure, MAX_CUSTOMERS_PER_FOLDER, PHONE_HEADER, PhoneError};

/// Why a folder command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FolderError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(
        "リストフォルダが見つかりません (folder not found: check the id; it may have been deleted or belong to another tenant)"
    )]
    NotFound,
    #[error(
        "このフォルダ番号は既に使われています (folder number already used: create the folder again to get a new number)"
    )]
    AlreadyExists,
    #[error(
        "案件が見つかりません: {campaign_id} (campaign {campaign_id:?} not found: choose an existing campaign)"
    )]
    CampaignNotFound { campaign_id: String },
    #[error(
        "フォルダの顧客数が上限を超えます: 現在{count}件 + 追加{adding}件 > {max}件 (the folder holds {count} customers; adding {adding} would exceed {max}: split the file or use another folder)",
        max = MAX_CUSTOMERS_PER_FOLDER
    )]
    FolderFull { count: usize, adding: usize },
    #[error(
        "列「{PHONE_HEADER}」が必要です (a folder needs a column headed exactly {PHONE_HEADER:?}: add it to the column names)"
    )]
    PhoneColumnMissing,
    #[error(
        "列名「{name}」が重複しています (column name {name:?} appears twice: give every column a different name)"
    )]
    DuplicateColumn { name: String },
    #[error(
        "表示順が正しくありません: 列は{columns}個です (display order must list each of the {columns} columns exactly once)"
    )]
    BadColumnOrder { columns: usize },
    #[error(
        "電話番号列の表示名は変更できません (the display name of the phone column cannot change: leave it as {PHONE_HEADER:?})"
    )]
    PhoneColumnRename,
    #[error(
        "列「{column}」はこのフォルダにありません (column {column:?} is not in this folder: use one of the folder's column names)"
    )]
    UnknownColumn { column: String },
    #[error(
        "顧客 {customer} が見つかりません (customer {customer} not found in this folder: it may have been deleted)"
    )]
    CustomerNotFound { customer: String },
    #[error("電話番号が正しくありません: {0}")]
    Phone(#[from] PhoneError),
    #[error("{0}")]
    Import(ImportFailure),
}

impl DomainError for FolderError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Name(e) => e.code(),
            Self::NotFound => ErrorCode::NotFound,
            Self::AlreadyExists => ErrorCode::AlreadyExists,
            Self::CampaignNotFound { .. } => ErrorCode::CampaignNotFound,
            Self::FolderFull { .. } => ErrorCode::FolderFull,
            Self::PhoneColumnMissing => ErrorCode::PhoneColumnMissing,
            Self::DuplicateColumn { .. } => ErrorCode::HeaderDuplicate,
            Self::BadColumnOrder { .. } => ErrorCode::BadColumnOrder,
            Self::PhoneColumnRename => ErrorCode::PhoneColumnRename,
            Self::UnknownColumn { .. } => ErrorCode::UnknownColumn,
            Self::CustomerNotFound { .. } => ErrorCode::CustomerNotFound,
            Self::Phone(e) => e.code(),
            Self::Import(e) => e.code(),
        }
    }
}
