//! What an import reports: warnings that do not block it, errors that refuse it (each with
//! its stable code, line and column), and the failure that lists them all (ERR-1, ERR-2).

use super::*;

/// A change the importer is told about but which does not block the import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportWarning {
    #[error(
        "{column}列目の見出し「{original}」の前後の空白を削除しました (header in column {column} had surrounding whitespace, trimmed)"
    )]
    HeaderTrimmed { column: usize, original: String },
    #[error("{line}行目の電話番号「{value}」を{number}として登録します: {warning}")]
    Phone {
        line: usize,
        value: String,
        number: PhoneNumber,
        warning: PhoneWarning,
    },
    /// Rows with only empty cells, one warning for the file however many there are.
    #[error(
        "空の行{count}行を読み飛ばしました({first_line}行目から) ({count} blank rows were skipped, the first on line {first_line})"
    )]
    BlankRowsSkipped { first_line: usize, count: usize },
    #[error(
        "{line}行目の電話番号{number}は{first_line}行目と重複しています (line {line}: {number} already appears on line {first_line}; registered once)"
    )]
    DuplicateNumber {
        line: usize,
        first_line: usize,
        number: PhoneNumber,
    },
}

impl ImportWarning {
    /// The line the warning is about, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::HeaderTrimmed { .. } => Some(1),
            Self::Phone { line, .. }
            | Self::BlankRowsSkipped {
                first_line: line, ..
            }
            | Self::DuplicateNumber { line, .. } => Some(*line),
        }
    }

    /// A stable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::HeaderTrimmed { .. } => "HEADER_TRIMMED",
            Self::Phone {
                warning: PhoneWarning::WhitespaceTrimmed,
                ..
            } => "PHONE_TRIMMED",
            Self::Phone {
                warning: PhoneWarning::LeadingZeroRestored,
                ..
            } => "PHONE_LEADING_ZERO_RESTORED",
            Self::BlankRowsSkipped { .. } => "BLANK_ROWS_SKIPPED",
            Self::DuplicateNumber { .. } => "DUPLICATE_NUMBER_IN_FILE",
        }
    }
}

/// One reason an import is refused. File-level problems come first, then header problems,
/// then one entry per bad row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(
        "古い形式の.xlsファイルは読み込めません (.xls files cannot be read: save the list from Excel as \"CSV\", \"CSV UTF-8\" or .xlsx)"
    )]
    XlsNotSupported,
    #[error(
        "Excelファイルを読み込めません: {detail} (the .xlsx file cannot be read: {detail}; open and save it again in Excel, or save it as CSV)"
    )]
    XlsxUnreadable { detail: String },
    #[error(
        "Excelファイルにシートがありません (the .xlsx file has no worksheet: put the list on the first sheet)"
    )]
    XlsxNoSheet,
    #[error(
        "Excelファイルが大きすぎます (the .xlsx file is too large when unpacked (more than {max_cells} cells or {max_bytes} bytes): delete unused rows and columns, or split it)"
    )]
    XlsxTooLarge { max_cells: usize, max_bytes: u64 },
    #[error(
        "ファイルが大きすぎます: {bytes}バイト (the file is {bytes} bytes; at most {max} bytes can be uploaded: split the list into several files)"
    )]
    FileTooLarge { bytes: u64, max: u64 },
    #[error(
        "見出し行がありません (the file has no header line: the first line must name the columns, one of them 電話番号)"
    )]
    NoHeader,
    #[error("データ行がありません (the file has a header but no customer rows)")]
    NoDataRows,
    #[error(
        "{rows}件あります。1回に登録できるのは{max}件までです (the file has {rows} rows; at most {max} can be imported at once: split it into several files)"
    )]
    TooManyRows { rows: usize, max: usize },
    #[error(
        "フォルダの上限{max}件を超えます: 登録済み{existing}件 + 今回{adding}件 (the folder holds {existing} customers and the file adds {adding}: a folder holds at most {max}; import into a new folder)"
    )]
    FolderFull {
        existing: usize,
        adding: usize,
        max: usize,
    },
    #[error(
        "列が多すぎます: {columns}列 (the file has {columns} columns; at most {max} are supported)"
    )]
    TooManyColumns { columns: usize, max: usize },
    #[error(
        "{column}列目の見出しが空です (the header of column {column} is empty: name every column)"
    )]
    EmptyHeader { column: usize },
    #[error(
        "見出し「{header}」が{first_column}列目と{column}列目で重複しています (header \"{header}\" appears in columns {first_column} and {column}: make the names unique, e.g. {header}1, {header}2)"
    )]
    DuplicateHeader {
        header: String,
        first_column: usize,
        column: usize,
    },
    #[error(
        "{column}列目の見出し「{header}」は結果ステータス「{header}」と同じ名前です (header \"{header}\" in column {column} is also a result status of the campaign: rename the column)"
    )]
    HeaderCollidesWithStatus { column: usize, header: String },
    #[error(
        "{column}列目の見出し「{header}」は属性項目「{header}」と同じ名前です (header \"{header}\" in column {column} is also an attribute of the campaign: rename the column)"
    )]
    HeaderCollidesWithAttribute { column: usize, header: String },
    #[error("「電話番号」列がありません{} (no column is headed exactly 電話番号: name the phone column 電話番号)", near_hint(.near))]
    MissingPhoneColumn { near: Option<String> },
    #[error("見出しがフォルダの項目と一致しません (the header must have exactly the folder's columns, in any order; missing: [{}], not in the folder: [{}])", .missing.join(", "), .extra.join(", "))]
    HeaderMismatch {
        missing: Vec<String>,
        extra: Vec<String>,
    },
    #[error(
        "{line}行目の列数が{found}で、見出しの{expected}列と違います (line {line} has {found} cells but the header has {expected}: check for extra commas or an unclosed quote)"
    )]
    RaggedRow {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error(
        "{line}行目{column}列目の値が長すぎます: {chars}文字 (line {line}, column {column} holds {chars} characters; a cell holds at most {max}: shorten it)",
        max = MAX_CELL_CHARS
    )]
    CellTooLong {
        line: usize,
        column: usize,
        chars: usize,
    },
    #[error(
        "{line}行目から始まる「\"」が閉じられていません (the quote opened on line {line} is never closed, so the rest of the file would be one cell: add the closing \")"
    )]
    UnclosedQuote { line: usize },
    #[error("{line}行目 {column}列目(電話番号): {reason}")]
    InvalidPhone {
        line: usize,
        column: usize,
        value: String,
        reason: PhoneError,
    },
}

pub(super) fn near_hint(near: &Option<String>) -> String {
    near.as_ref()
        .map(|n| format!("(「{n}」を「電話番号」にしてください)"))
        .unwrap_or_default()
}

impl ImportError {
    /// The line the error is about (1 for header errors), if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Decode(DecodeError::NulByte { line, .. })
            | Self::Decode(DecodeError::InvalidUtf8 { line, .. })
            | Self::Decode(DecodeError::UnknownEncoding { line, .. })
            | Self::RaggedRow { line, .. }
            | Self::CellTooLong { line, .. }
            | Self::UnclosedQuote { line }
            | Self::InvalidPhone { line, .. } => Some(*line),
            Self::EmptyHeader { .. }
            | Self::DuplicateHeader { .. }
            | Self::HeaderCollidesWithStatus { .. }
            | Self::HeaderCollidesWithAttribute { .. }
            | Self::MissingPhoneColumn { .. }
            | Self::HeaderMismatch { .. }
            | Self::TooManyColumns { .. } => Some(1),
            _ => None,
        }
    }

    /// The 1-based column the error is about, if any.
    pub fn column(&self) -> Option<usize> {
        match self {
            Self::EmptyHeader { column }
            | Self::DuplicateHeader { column, .. }
            | Self::HeaderCollidesWithStatus { column, .. }
            | Self::HeaderCollidesWithAttribute { column, .. }
            | Self::InvalidPhone { column, .. } => Some(*column),
            _ => None,
        }
    }

    /// The offending cell value, if the error is about one.
    pub fn value(&self) -> Option<&str> {
        match self {
            Self::InvalidPhone { value, .. }
            | Self::DuplicateHeader { header: value, .. }
            | Self::HeaderCollidesWithStatus { header: value, .. }
            | Self::HeaderCollidesWithAttribute { header: value, .. } => Some(value),
            _ => None,
        }
    }
}

impl DomainError for ImportError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Decode(e) => e.code(),
            Self::XlsNotSupported => ErrorCode::XlsNotSupported,
            Self::XlsxUnreadable { .. } => ErrorCode::XlsxUnreadable,
            Self::XlsxNoSheet => ErrorCode::XlsxNoSheet,
            Self::XlsxTooLarge { .. } => ErrorCode::XlsxTooLarge,
            Self::FileTooLarge { .. } => ErrorCode::FileTooLarge,
            Self::NoHeader => ErrorCode::NoHeader,
            Self::NoDataRows => ErrorCode::NoDataRows,
            Self::TooManyRows { .. } => ErrorCode::TooManyRows,
            Self::FolderFull { .. } => ErrorCode::FolderFull,
            Self::TooManyColumns { .. } => ErrorCode::TooManyColumns,
            Self::EmptyHeader { .. } => ErrorCode::HeaderEmpty,
            Self::DuplicateHeader { .. } => ErrorCode::HeaderDuplicate,
            Self::HeaderCollidesWithStatus { .. } => ErrorCode::HeaderCollidesWithStatus,
            Self::HeaderCollidesWithAttribute { .. } => ErrorCode::HeaderCollidesWithAttribute,
            Self::MissingPhoneColumn { .. } => ErrorCode::PhoneColumnMissing,
            Self::HeaderMismatch { .. } => ErrorCode::HeaderMismatch,
            Self::RaggedRow { .. } => ErrorCode::RowCellCount,
            Self::CellTooLong { .. } => ErrorCode::CellTooLong,
            Self::UnclosedQuote { .. } => ErrorCode::UnclosedQuote,
            Self::InvalidPhone { reason, .. } => reason.code(),
        }
    }
}

/// One error or warning as the edge shows it (JSON for the preview and the refusal).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReportEntry {
    /// Stable code, e.g. `PHONE_WRONG_LENGTH`.
    pub code: &'static str,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub value: Option<String>,
    /// The human message (Japanese first, then English), as `Display` gives it.
    pub message: String,
}

impl ImportError {
    /// This error as a [`ReportEntry`].
    pub fn report(&self) -> ReportEntry {
        ReportEntry {
            code: self.code().as_str(),
            line: self.line(),
            column: self.column(),
            value: self.value().map(str::to_owned),
            message: self.to_string(),
        }
    }
}

impl ImportWarning {
    /// This warning as a [`ReportEntry`].
    pub fn report(&self) -> ReportEntry {
        let (column, value) = match self {
            Self::HeaderTrimmed { column, original } => (Some(*column), Some(original.clone())),
            Self::Phone { value, .. } => (None, Some(value.clone())),
            Self::BlankRowsSkipped { count, .. } => (None, Some(count.to_string())),
            Self::DuplicateNumber { number, .. } => (None, Some(number.to_string())),
        };
        ReportEntry {
            code: self.code(),
            line: self.line(),
            column,
            value,
            message: self.to_string(),
        }
    }
}

/// A refused import: every error found, and the warnings seen on the way (ERR-1, ERR-2).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportFailure {
    pub errors: Vec<ImportError>,
    pub warnings: Vec<ImportWarning>,
}

impl fmt::Display for ImportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "取り込めませんでした: {}件のエラー (import refused with {} errors, nothing was imported)",
            self.errors.len(),
            self.errors.len()
        )?;
        for e in self.errors.iter().take(20) {
            write!(f, "\n- {e}")?;
        }
        if self.errors.len() > 20 {
            write!(f, "\n- … ({} more)", self.errors.len() - 20)?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportFailure {}

impl DomainError for ImportFailure {
    fn code(&self) -> ErrorCode {
        ErrorCode::ImportRefused
    }
}
