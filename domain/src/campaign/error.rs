use crate::error::ErrorCode;
use crate::error::{DomainError, NameError};
use crate::list::phone::PhoneError;

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
    /// CMP-5.
    #[error(
        "名前「{name}」が{first}と{second}で重複しています。どちらかの名前を変えてください (the name \
         {name:?} is used both as a {first} and as a {second}: status and attribute names must all \
         differ within a campaign; rename one)"
    )]
    NameCollision {
        name: String,
        first: String,
        second: String,
    },
    #[error("{what}「{name}」が重複しています ({what} {name:?} is listed twice: keep one)")]
    Duplicate { what: &'static str, name: String },
    /// CMP-3.
    #[error(
        "「{name}」は固定ステータスのため、追加・変更・削除できません (status {name:?} is one of the six \
         fixed statuses every campaign has: leave it out of the custom statuses)"
    )]
    FixedStatus { name: String },
    #[error(
        "{attribute}には選択肢を1つ以上登録してください (attribute {attribute:?} is a checkbox, radio or \
         pulldown: give it at least one choice, or make it a text attribute)"
    )]
    NoChoices { attribute: String },
    #[error(
        "テキスト属性{attribute}に選択肢は登録できません (attribute {attribute:?} is free text: remove its \
         choices or choose another kind)"
    )]
    TextWithChoices { attribute: String },
    #[error(
        "{what}が長すぎます: {len}文字 ({what} is {len} characters long: shorten it to at most {max})"
    )]
    TextTooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error(
        "報告先メールアドレスの{position}番目「{address}」が正しくありません (recipient address \
         {position}, {address:?}, is not an e-mail address such as name@example.co.jp)"
    )]
    BadEmail { position: usize, address: String },
    #[error(
        "報告を有効にするには報告先(メールアドレスまたはユーザー)を1つ以上指定してください (a report \
         that is enabled needs at least one recipient address or user)"
    )]
    ReportWithoutRecipients,
    /// CMP-1: a caller number must be one of the tenant's contracted numbers.
    #[error(
        "発信番号「{number}」は契約番号ではありません (caller number {number} is not one of the tenant's \
         contracted numbers: pick one from the contracted numbers; the deployment's operator adds \
         numbers with `kaden admin contract --numbers 03-1234-5678,…`)"
    )]
    NotContracted { number: String },
    #[error("発信番号が正しくありません: {0}")]
    BadNumber(PhoneError),
    #[error(
        "サブ発信番号は契約番号数({max}件)までです(指定: {count}件) ({count} sub caller numbers \
         given; at most {max}, the number of contracted numbers)"
    )]
    TooManySubNumbers { count: usize, max: usize },
    /// CMP-2.
    #[error(
        "メイン発信番号が設定されていないため、この案件ではリストの登録や発信ができません。案件管理で\
         メイン発信番号を設定してください (the campaign has no main caller number: set one with \
         setCallerNumbers from the contracted numbers before importing lists or calling; with no \
         contracted numbers yet, the deployment's operator adds them with \
         `kaden admin contract --numbers 03-1234-5678,…`)"
    )]
    NoMainCallerNumber,
}

impl DomainError for CampaignError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Name(e) => e.code(),
            Self::NotFound => ErrorCode::NotFound,
            Self::AlreadyExists => ErrorCode::AlreadyExists,
            Self::NameCollision { .. } => ErrorCode::NameCollision,
            Self::Duplicate { .. } => ErrorCode::Duplicate,
            Self::FixedStatus { .. } => ErrorCode::FixedStatus,
            Self::NoChoices { .. } => ErrorCode::AttributeNeedsChoices,
            Self::TextWithChoices { .. } => ErrorCode::TextAttributeHasChoices,
            Self::TextTooLong { .. } => ErrorCode::TextTooLong,
            Self::BadEmail { .. } => ErrorCode::EmailInvalid,
            Self::ReportWithoutRecipients => ErrorCode::ReportWithoutRecipients,
            Self::NotContracted { .. } => ErrorCode::NumberNotContracted,
            Self::BadNumber(e) => e.code(),
            Self::TooManySubNumbers { .. } => ErrorCode::TooManySubNumbers,
            Self::NoMainCallerNumber => ErrorCode::NoMainCallerNumber,
        }
    }
}
