//! Customer list and do-not-call imports (SPEC LST-2..4, DNC-1/3, ERR-1/2): bytes of a CSV or
//! `.xlsx` upload → a fully validated [`ParsedList`], or an [`ImportFailure`] listing every
//! problem. Nothing in between: the caller stores all of a `ParsedList` or nothing.
//!
//! # Rules
//! - Format by content: `PK…` is `.xlsx` (first sheet), the OLE2 signature is `.xls` (refused:
//!   save as CSV or .xlsx), anything else is CSV text in UTF-8 or Shift_JIS ([`mod@super::decode`]).
//!   CSV is comma-separated with `"` quoting (what Excel writes).
//! - The first record is the header. Header cells are trimmed (a warning), must be non-empty,
//!   unique, and must not equal a status or attribute name of the campaign (CMP-5).
//! - The phone column is the one headed exactly `電話番号` ([`PHONE_HEADER`]) and is required;
//!   `電話番号2` and every other column is plain text, kept verbatim.
//! - Appending to a folder: the header must hold the folder's columns, in any order.
//! - Each data row must have as many cells as the header; its phone cell must normalise
//!   ([`super::phone`]). Rows whose cells are all blank are skipped with a warning (Excel writes
//!   `,,,,` for formatted empty rows).
//! - Limits (LST-4): [`MAX_ROWS_PER_FILE`] data rows per file, [`MAX_CUSTOMERS_PER_FOLDER`] per
//!   folder including the folder's current count. Kaden's own bound: [`MAX_COLUMNS`] columns;
//!   `.xlsx` parts are bounded too ([`MAX_XLSX_XML_BYTES`], [`MAX_XLSX_CELLS`]), so a small
//!   compressed file cannot make the server allocate gigabytes.
//! - Lines are 1-based physical lines of the CSV where the record starts (the header is line 1),
//!   or sheet row numbers for `.xlsx`, or the row's position for manual rows. Columns are 1-based.

use crate::error::ErrorCode;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};

use super::decode::{DecodeError, TextEncoding, decode};
use super::phone::{self, PhoneError, PhoneNumber, PhoneWarning};
use super::records::{RecordError, Records};
use crate::error::DomainError;

/// The header that marks the phone column (LST-3): exact match after trimming.
pub const PHONE_HEADER: &str = "電話番号";
/// Data rows per imported file, customers or do-not-call (LST-4, DNC-3).
pub const MAX_ROWS_PER_FILE: usize = 50_000;
/// Customers per folder (LST-4).
pub const MAX_CUSTOMERS_PER_FOLDER: usize = 200_000;
/// Bytes per uploaded file, customers or do-not-call. Not in the original: Kaden's bound, about
/// seven times a 50,000-row, 12-column Shift_JIS list. The edge checks a claimed size
/// (`Content-Length`, multipart part) with [`check_upload_size`] before reading the body.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// Columns per list. Not in the original: Kaden's bound, far above real lists.
pub const MAX_COLUMNS: usize = 200;
/// Declared uncompressed size of all parts of an `.xlsx` upload.
pub const MAX_XLSX_XML_BYTES: u64 = 512 * 1024 * 1024;
/// Cells (including styled empty ones) read from an `.xlsx` sheet.
pub const MAX_XLSX_CELLS: usize = 5_000_000;
/// Entries of the shared-string table (distinct texts) of an `.xlsx` upload.
pub const MAX_XLSX_SHARED_STRINGS: u64 = 2_000_000;

/// What kind of file the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SourceFormat {
    Csv(TextEncoding),
    Xlsx,
}

/// Names a header must not take: the campaign's result statuses and attributes (CMP-5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReservedNames {
    pub statuses: Vec<String>,
    pub attributes: Vec<String>,
}

/// Where the rows go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportTarget<'a> {
    /// A new folder: the file's header becomes its columns (LST-2a).
    NewFolder,
    /// An existing folder with these columns (any order) and this many customers now.
    Append {
        folder_columns: &'a [String],
        folder_count: usize,
    },
}

/// Everything the rules need from outside the file.
#[derive(Debug, Clone, Copy)]
pub struct ImportRules<'a> {
    pub reserved: &'a ReservedNames,
    pub target: ImportTarget<'a>,
}

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

fn near_hint(near: &Option<String>) -> String {
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

/// A fully validated list: columns in file order, rows with their normalised phone numbers.
///
/// Cells are stored in one string with offsets (no allocation per cell). The phone column's
/// cell holds the normalised number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedList {
    pub source: SourceFormat,
    pub warnings: Vec<ImportWarning>,
    columns: Vec<String>,
    phone_column: usize,
    /// The decoded file (CSV); most cells are spans of it.
    source_text: String,
    /// Cells that are not spans of `source_text`: normalised phone numbers, unescaped quoted
    /// cells, every `.xlsx` and manual cell.
    extra: String,
    /// `[start, end]` per cell, row after row; `start` has [`IN_EXTRA`] set for `extra`.
    spans: Vec<[u32; 2]>,
    lines: Vec<usize>,
    phones: Vec<PhoneNumber>,
}

/// Marks a span in [`ParsedList::extra`]. Offsets stay below it: files are at most
/// [`MAX_FILE_BYTES`], well under 2 GiB even decoded.
const IN_EXTRA: u32 = 1 << 31;

/// One row of a [`ParsedList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    /// Source line (see the module docs).
    pub line: usize,
    pub phone: PhoneNumber,
    source_text: &'a str,
    extra: &'a str,
    spans: &'a [[u32; 2]],
}

impl<'a> Row<'a> {
    /// The cell in column `index` (0-based, in [`ParsedList::columns`] order).
    pub fn cell(&self, index: usize) -> Option<&'a str> {
        let span = *self.spans.get(index)?;
        Some(resolve(self.source_text, self.extra, span))
    }

    /// All cells in column order.
    pub fn cells(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let (source_text, extra) = (self.source_text, self.extra);
        self.spans
            .iter()
            .map(move |&span| resolve(source_text, extra, span))
    }
}

fn resolve<'a>(source_text: &'a str, extra: &'a str, [start, end]: [u32; 2]) -> &'a str {
    let (text, start) = if start & IN_EXTRA == 0 {
        (source_text, start)
    } else {
        (extra, start & !IN_EXTRA)
    };
    // Spans are made from `&str` cells of these very strings, so they are in range and on
    // character boundaries; an empty cell is the fallback that never happens.
    text.get(start as usize..end as usize).unwrap_or_default()
}

impl ParsedList {
    /// Header names, trimmed, in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// 0-based index of the `電話番号` column.
    pub fn phone_column(&self) -> usize {
        self.phone_column
    }

    /// The normalised phone number of every row, in row order (for duplicate and do-not-call
    /// checks before commit).
    pub fn phones(&self) -> &[PhoneNumber] {
        &self.phones
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Never true for a successful import (header-only files are refused); kept for clippy.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The row at `index` (0-based).
    pub fn row(&self, index: usize) -> Option<Row<'_>> {
        let width = self.columns.len();
        let line = *self.lines.get(index)?;
        Some(Row {
            line,
            phone: self.phones[index],
            source_text: &self.source_text,
            extra: &self.extra,
            spans: &self.spans[index * width..(index + 1) * width],
        })
    }

    /// All rows in file order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        (0..self.len()).map(|i| self.row(i).expect("index in range"))
    }
}

/// A validated do-not-call CSV (DNC-1, DNC-3): distinct numbers in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DncList {
    pub source: SourceFormat,
    pub numbers: Vec<PhoneNumber>,
    pub warnings: Vec<ImportWarning>,
}

/// The format of an upload, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Text,
    Xlsx,
    Xls,
}

/// Sniffs the format from content, not from the file name.
pub fn sniff(bytes: &[u8]) -> FileKind {
    if bytes.starts_with(b"PK\x03\x04") {
        FileKind::Xlsx
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        FileKind::Xls
    } else {
        FileKind::Text
    }
}

/// Refuses an upload whose (claimed or actual) size is over [`MAX_FILE_BYTES`], before any of it
/// is read or buffered.
pub fn check_upload_size(bytes: u64) -> Result<(), ImportError> {
    if bytes > MAX_FILE_BYTES {
        return Err(ImportError::FileTooLarge {
            bytes,
            max: MAX_FILE_BYTES,
        });
    }
    Ok(())
}

/// Parses a customer list upload (CSV or `.xlsx`) under `rules` (LST-2..4).
pub fn parse_customer_file(
    bytes: &[u8],
    rules: &ImportRules<'_>,
) -> Result<ParsedList, ImportFailure> {
    let file_error = |e: ImportError| ImportFailure {
        errors: vec![e],
        warnings: Vec::new(),
    };
    check_upload_size(bytes.len() as u64).map_err(file_error)?;
    match sniff(bytes) {
        FileKind::Xls => Err(file_error(ImportError::XlsNotSupported)),
        FileKind::Xlsx => {
            let mut builder = Builder::new(rules);
            // calamine 0.38 has unchecked arithmetic on malformed cell references (`r="…"`),
            // which panics where overflow checks are on (debug builds) and found by fuzzing.
            // The upload is untrusted: a reader panic is a refusal of the file, not a crash.
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                read_xlsx(bytes, &mut builder)
            }));
            match read {
                Ok(result) => result.map_err(file_error)?,
                Err(_) => {
                    return Err(file_error(ImportError::XlsxUnreadable {
                        detail: "the workbook is malformed (the reader failed on it)".to_owned(),
                    }));
                }
            }
            builder.finish(SourceFormat::Xlsx, Cow::Borrowed(""))
        }
        FileKind::Text => {
            let decoded = decode(bytes).map_err(|e| file_error(e.into()))?;
            let mut builder = Builder::new(rules);
            // Cells that are slices of the decoded text are kept as spans of it.
            builder.source = (decoded.text.as_ptr() as usize, decoded.text.len());
            read_csv(&decoded.text, &mut builder);
            builder.finish(SourceFormat::Csv(decoded.encoding), decoded.text)
        }
    }
}

/// Validates rows typed in by hand (LST-2c) with the same rules; `rows[i]` holds one value per
/// entry of `columns`, and errors name row `i + 1` as the line.
pub fn parse_manual_rows(
    columns: &[String],
    rows: &[Vec<String>],
    rules: &ImportRules<'_>,
) -> Result<ParsedList, ImportFailure> {
    let mut builder = Builder::new(rules);
    builder.header(columns.iter().map(String::as_str), columns.len());
    for (i, row) in rows.iter().enumerate() {
        builder.row(i + 1, row.iter().map(String::as_str), row.len());
    }
    builder.finish(SourceFormat::Csv(TextEncoding::Utf8), Cow::Borrowed(""))
}

/// Parses a do-not-call upload: one column headed `電話番号`, at most [`MAX_ROWS_PER_FILE`]
/// rows, every number valid (DNC-1, DNC-3). A number repeated in the file is kept once, with a
/// warning.
pub fn parse_dnc_file(bytes: &[u8]) -> Result<DncList, ImportFailure> {
    let folder_columns = [PHONE_HEADER.to_owned()];
    let reserved = ReservedNames::default();
    let rules = ImportRules {
        reserved: &reserved,
        target: ImportTarget::Append {
            folder_columns: &folder_columns,
            folder_count: 0,
        },
    };
    let list = parse_customer_file(bytes, &rules)?;
    let mut first_line: HashMap<PhoneNumber, usize> = HashMap::with_capacity(list.len());
    let mut numbers = Vec::with_capacity(list.len());
    let mut warnings = list.warnings.clone();
    for row in list.rows() {
        match first_line.get(&row.phone) {
            Some(&first) => warnings.push(ImportWarning::DuplicateNumber {
                line: row.line,
                first_line: first,
                number: row.phone,
            }),
            None => {
                first_line.insert(row.phone, row.line);
                numbers.push(row.phone);
            }
        }
    }
    Ok(DncList {
        source: list.source,
        numbers,
        warnings,
    })
}

fn read_csv(text: &str, builder: &mut Builder<'_>) {
    let mut records = Records::new(text);
    let mut cells = Vec::with_capacity(32);
    let mut header_seen = false;
    while let Some(next) = records.next_into(&mut cells) {
        match next {
            Ok(line) if header_seen => {
                builder.row(line, cells.iter().map(|c| c.as_ref()), cells.len())
            }
            Ok(_) => {
                header_seen = true;
                builder.header(cells.iter().map(|c| c.as_ref()), cells.len());
            }
            Err(RecordError::UnclosedQuote { line }) => {
                builder
                    .file_errors
                    .push(ImportError::UnclosedQuote { line });
            }
        }
    }
}

/// Checks the zip directory before calamine reads it: declared sizes bound what decompression
/// may produce (the zip reader enforces them), and the shared-string count bounds an allocation
/// calamine makes up front.
fn check_xlsx_bounds(bytes: &[u8]) -> Result<(), ImportError> {
    let too_large = ImportError::XlsxTooLarge {
        max_cells: MAX_XLSX_CELLS,
        max_bytes: MAX_XLSX_XML_BYTES,
    };
    let unreadable = |e: &dyn fmt::Display| ImportError::XlsxUnreadable {
        detail: e.to_string(),
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let mut total: u64 = 0;
    let mut shared_strings = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| unreadable(&e))?;
        total = total.saturating_add(entry.size());
        // calamine looks the part up without regard to case or folder: check every candidate.
        if entry
            .name()
            .is_ok_and(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"))
        {
            shared_strings.push((i, entry.size()));
        }
    }
    if total > MAX_XLSX_XML_BYTES {
        return Err(too_large);
    }
    for (i, size) in shared_strings {
        let entry = zip.by_index(i).map_err(|e| unreadable(&e))?;
        // calamine reserves `uniqueCount` strings up front. A real table has at least one
        // `<si>…</si>` (12 bytes or more) per string, and no more strings than cells.
        let bound = (size / 12 + 1).min(MAX_XLSX_SHARED_STRINGS);
        if shared_string_count(std::io::BufReader::new(entry)).is_some_and(|count| count > bound) {
            return Err(too_large);
        }
    }
    Ok(())
}

/// The largest `uniqueCount` found in the `<sst>` start tag, read the way calamine reads it
/// (first `sst` element, after any prolog, comments or processing instructions).
fn shared_string_count<R: std::io::BufRead>(reader: R) -> Option<u64> {
    use quick_xml::events::Event;
    let mut xml = quick_xml::Reader::from_reader(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "sst" => {
                return largest_count_attr(e.as_bytes(), b"uniqueCount");
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Every `name = "digits"` in a raw start tag, largest value (saturating); conservative on
/// purpose: it reads values that a stricter attribute parser might reject.
fn largest_count_attr(tag: &[u8], name: &[u8]) -> Option<u64> {
    let mut largest = None;
    let mut rest = tag;
    while let Some(at) = rest.windows(name.len()).position(|w| w == name) {
        rest = &rest[at + name.len()..];
        let value = rest
            .iter()
            .skip_while(|b| b.is_ascii_whitespace() || matches!(b, b'=' | b'"' | b'\'' | b'+'))
            .take_while(|b| b.is_ascii_digit());
        let n = value.fold(0u64, |n, &d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        });
        largest = largest.max(Some(n));
    }
    largest
}

fn read_xlsx(bytes: &[u8], builder: &mut Builder<'_>) -> Result<(), ImportError> {
    check_xlsx_bounds(bytes)?;
    let unreadable = |e: calamine::XlsxError| ImportError::XlsxUnreadable {
        detail: e.to_string(),
    };
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        return Err(ImportError::XlsxNoSheet);
    };
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(unreadable)?;
    // Cells arrive in row order; gather one row at a time, skipping rows with no content.
    let mut row: Vec<String> = Vec::new();
    let mut row_index: Option<u32> = None;
    let mut width: Option<usize> = None;
    let mut visited = 0usize;
    fn flush(
        builder: &mut Builder<'_>,
        row: &mut Vec<String>,
        index: u32,
        width: &mut Option<usize>,
    ) {
        while row.last().is_some_and(String::is_empty) {
            row.pop();
        }
        if !row.is_empty() {
            let line = index as usize + 1;
            match *width {
                None => {
                    *width = Some(row.len());
                    builder.header(row.iter().map(String::as_str), row.len());
                }
                Some(w) => {
                    // Sparse cells: pad a short row to the header width.
                    let n = row.len().max(w);
                    let cells = row.iter().map(String::as_str).chain(std::iter::repeat(""));
                    builder.row(line, cells.take(n), n);
                }
            }
        }
        row.clear();
    }
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        visited += 1;
        if visited > MAX_XLSX_CELLS {
            return Err(ImportError::XlsxTooLarge {
                max_cells: MAX_XLSX_CELLS,
                max_bytes: MAX_XLSX_XML_BYTES,
            });
        }
        let (r, c) = cell.get_position();
        match row_index {
            Some(current) if current == r => {}
            Some(current) if r < current => {
                return Err(ImportError::XlsxUnreadable {
                    detail: format!("row {} comes after row {}", r + 1, current + 1),
                });
            }
            Some(current) => {
                flush(builder, &mut row, current, &mut width);
                row_index = Some(r);
            }
            None => row_index = Some(r),
        }
        let value = cell_text(cell.get_value());
        if value.is_empty() {
            continue;
        }
        let c = c as usize;
        if c >= MAX_COLUMNS {
            return Err(ImportError::TooManyColumns {
                columns: c + 1,
                max: MAX_COLUMNS,
            });
        }
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = value;
    }
    if let Some(current) = row_index {
        flush(builder, &mut row, current, &mut width);
    }
    Ok(())
}

/// 9999-12-31 23:59:59 as an Excel serial date, the last date Excel shows.
const EXCEL_MAX_SERIAL: f64 = 2_958_466.0;

/// The text a cell shows, close to Excel's default display: whole numbers without `.0`
/// (phone numbers typed as numbers), dates as `YYYY/MM/DD[ hh:mm:ss]`, errors as `#N/A` etc.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        // calamine's `as_datetime` panics on huge negative serials (chrono's millisecond
        // constructor): convert only Excel's own date range (1900-01-01..=9999-12-31), and
        // show anything else, durations included, as the number it is.
        DataRef::DateTime(dt)
            if dt.is_datetime() && (0.0..=EXCEL_MAX_SERIAL).contains(&dt.as_f64()) =>
        {
            match dt.as_datetime() {
                Some(t) if t.time() == chrono::NaiveTime::MIN => t.format("%Y/%m/%d").to_string(),
                Some(t) => t.format("%Y/%m/%d %H:%M:%S").to_string(),
                None => dt.to_string(),
            }
        }
        DataRef::DateTime(dt) => dt.to_string(),
        DataRef::Error(e) => e.to_string(),
    }
}

/// Collects header and rows from any source and applies the rules.
struct Builder<'r> {
    rules: &'r ImportRules<'r>,
    header_seen: bool,
    columns: Vec<String>,
    phone_column: Option<usize>,
    /// Address and length of the text cells may be slices of (see [`ParsedList`]).
    source: (usize, usize),
    extra: String,
    spans: Vec<[u32; 2]>,
    lines: Vec<usize>,
    phones: Vec<PhoneNumber>,
    rows: usize,
    blank_rows: usize,
    first_blank_line: usize,
    /// Header and other whole-file errors.
    file_errors: Vec<ImportError>,
    row_errors: Vec<ImportError>,
    warnings: Vec<ImportWarning>,
}

impl<'r> Builder<'r> {
    fn new(rules: &'r ImportRules<'r>) -> Self {
        Self {
            rules,
            header_seen: false,
            columns: Vec::new(),
            phone_column: None,
            source: (0, 0),
            extra: String::new(),
            spans: Vec::new(),
            lines: Vec::new(),
            phones: Vec::new(),
            rows: 0,
            blank_rows: 0,
            first_blank_line: 0,
            file_errors: Vec::new(),
            row_errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn header<'c>(&mut self, cells: impl Iterator<Item = &'c str>, len: usize) {
        self.header_seen = true;
        if len > MAX_COLUMNS {
            self.file_errors.push(ImportError::TooManyColumns {
                columns: len,
                max: MAX_COLUMNS,
            });
            return;
        }
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(len);
        let mut columns = Vec::with_capacity(len);
        for (i, raw) in cells.enumerate() {
            let column = i + 1;
            let name = raw.trim();
            if name.len() != raw.len() {
                self.warnings.push(ImportWarning::HeaderTrimmed {
                    column,
                    original: raw.to_owned(),
                });
            }
            if name.is_empty() {
                self.file_errors.push(ImportError::EmptyHeader { column });
            } else if let Some(&first_column) = seen.get(name) {
                self.file_errors.push(ImportError::DuplicateHeader {
                    header: name.to_owned(),
                    first_column,
                    column,
                });
            } else {
                seen.insert(name, column);
            }
            if self.rules.reserved.statuses.iter().any(|s| s == name) {
                self.file_errors
                    .push(ImportError::HeaderCollidesWithStatus {
                        column,
                        header: name.to_owned(),
                    });
            }
            if self.rules.reserved.attributes.iter().any(|s| s == name) {
                self.file_errors
                    .push(ImportError::HeaderCollidesWithAttribute {
                        column,
                        header: name.to_owned(),
                    });
            }
            columns.push(name.to_owned());
        }
        self.phone_column = columns.iter().position(|c| c == PHONE_HEADER);
        if self.phone_column.is_none() {
            let near = columns.iter().find(|c| looks_like_phone_header(c)).cloned();
            self.file_errors
                .push(ImportError::MissingPhoneColumn { near });
        }
        if let ImportTarget::Append { folder_columns, .. } = self.rules.target {
            let missing: Vec<String> = folder_columns
                .iter()
                .filter(|f| !columns.contains(f))
                .cloned()
                .collect();
            let extra: Vec<String> = columns
                .iter()
                .filter(|c| !c.is_empty() && !folder_columns.contains(c))
                .cloned()
                .collect();
            if !missing.is_empty() || !extra.is_empty() {
                self.file_errors
                    .push(ImportError::HeaderMismatch { missing, extra });
            }
        }
        self.columns = columns;
    }

    fn row<'c>(&mut self, line: usize, cells: impl Iterator<Item = &'c str> + Clone, len: usize) {
        if cells.clone().all(|c| c.trim().is_empty()) {
            if self.blank_rows == 0 {
                self.first_blank_line = line;
            }
            self.blank_rows += 1;
            return;
        }
        self.rows += 1;
        if self.rows > MAX_ROWS_PER_FILE {
            // Count only: the file is refused whole, with the number.
            return;
        }
        let width = self.columns.len();
        if !self.file_errors.is_empty() && width == 0 {
            return;
        }
        if len != width {
            self.row_errors.push(ImportError::RaggedRow {
                line,
                expected: width,
                found: len,
            });
            return;
        }
        let Some(phone_column) = self.phone_column else {
            return;
        };
        let raw = cells.clone().nth(phone_column).unwrap_or_default();
        let number = match phone::normalise(raw) {
            Ok(n) => {
                for warning in n.warnings.iter() {
                    self.warnings.push(ImportWarning::Phone {
                        line,
                        value: raw.to_owned(),
                        number: n.number,
                        warning,
                    });
                }
                n.number
            }
            Err(reason) => {
                self.row_errors.push(ImportError::InvalidPhone {
                    line,
                    column: phone_column + 1,
                    value: raw.to_owned(),
                    reason,
                });
                return;
            }
        };
        if !self.file_errors.is_empty() || !self.row_errors.is_empty() {
            // Refused anyway: keep checking rows, stop storing them.
            return;
        }
        for (i, cell) in cells.enumerate() {
            let cell = if i == phone_column {
                number.as_str()
            } else {
                cell
            };
            let (address, len) = self.source;
            let offset = (cell.as_ptr() as usize).wrapping_sub(address);
            if offset <= len && cell.len() <= len - offset {
                // A slice of the source text: same bytes at the same place, no copy.
                self.spans
                    .push([offset as u32, (offset + cell.len()) as u32]);
            } else {
                let start = self.extra.len();
                self.extra.push_str(cell);
                self.spans
                    .push([start as u32 | IN_EXTRA, self.extra.len() as u32]);
            }
        }
        self.lines.push(line);
        self.phones.push(number);
    }

    /// `source_text` is the text the source spans point into (empty for `.xlsx` and manual
    /// rows); it is copied only when the import succeeds and it is borrowed.
    fn finish(
        mut self,
        source: SourceFormat,
        source_text: Cow<'_, str>,
    ) -> Result<ParsedList, ImportFailure> {
        if self.blank_rows > 0 {
            self.warnings.push(ImportWarning::BlankRowsSkipped {
                first_line: self.first_blank_line,
                count: self.blank_rows,
            });
        }
        let mut errors = self.file_errors;
        if !self.header_seen {
            errors.push(ImportError::NoHeader);
            return Err(ImportFailure {
                errors,
                warnings: self.warnings,
            });
        }
        if self.rows > MAX_ROWS_PER_FILE {
            // Row errors found before the limit would be a partial list: leave them out.
            errors.push(ImportError::TooManyRows {
                rows: self.rows,
                max: MAX_ROWS_PER_FILE,
            });
            return Err(ImportFailure {
                errors,
                warnings: Vec::new(),
            });
        }
        let unclosed = errors
            .iter()
            .any(|e| matches!(e, ImportError::UnclosedQuote { .. }));
        if self.rows == 0 && !unclosed {
            errors.push(ImportError::NoDataRows);
        }
        let existing = match self.rules.target {
            ImportTarget::Append { folder_count, .. } => folder_count,
            ImportTarget::NewFolder => 0,
        };
        if existing.saturating_add(self.rows) > MAX_CUSTOMERS_PER_FOLDER {
            errors.push(ImportError::FolderFull {
                existing,
                adding: self.rows,
                max: MAX_CUSTOMERS_PER_FOLDER,
            });
        }
        errors.extend(self.row_errors);
        if !errors.is_empty() {
            return Err(ImportFailure {
                errors,
                warnings: self.warnings,
            });
        }
        Ok(ParsedList {
            source,
            warnings: self.warnings,
            columns: self.columns,
            phone_column: self.phone_column.unwrap_or_default(),
            source_text: source_text.into_owned(),
            extra: self.extra,
            spans: self.spans,
            lines: self.lines,
            phones: self.phones,
        })
    }
}

fn looks_like_phone_header(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.contains("電話")
        || lower.contains("tel")
        || lower.contains("phone")
        || name.contains("ＴＥＬ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn new_folder() -> (ReservedNames, ImportTarget<'static>) {
        (ReservedNames::default(), ImportTarget::NewFolder)
    }

    fn parse(text: &str) -> Result<ParsedList, ImportFailure> {
        let (reserved, target) = new_folder();
        parse_customer_file(
            text.as_bytes(),
            &ImportRules {
                reserved: &reserved,
                target,
            },
        )
    }

    fn errors(text: &str) -> Vec<ImportError> {
        parse(text).expect_err("should be refused").errors
    }

    fn sjis(s: &str) -> Vec<u8> {
        encoding_rs::SHIFT_JIS.encode(s).0.into_owned()
    }

    #[test]
    fn lst_3_phone_column_normalised_other_columns_text() {
        let list = parse(
            "会社名,電話番号,電話番号2\n山田商事,03-1234-5678,090-1111-2222\n鈴木,312345678, x \n",
        )
        .unwrap();
        assert_eq!(list.columns(), ["会社名", "電話番号", "電話番号2"]);
        assert_eq!(list.phone_column(), 1);
        assert_eq!(list.len(), 2);
        let rows: Vec<Vec<&str>> = list.rows().map(|r| r.cells().collect()).collect();
        assert_eq!(
            rows,
            vec![
                vec!["山田商事", "0312345678", "090-1111-2222"],
                vec!["鈴木", "0312345678", " x "]
            ]
        );
        let second = list.row(1).unwrap();
        assert_eq!(second.line, 3);
        assert_eq!(second.phone.as_str(), "0312345678");
        assert_eq!(second.cell(2), Some(" x "));
        assert_eq!(second.cell(3), None);
        assert_eq!(list.source, SourceFormat::Csv(TextEncoding::Utf8));
    }

    #[test]
    fn csv_cells_are_spans_of_the_decoded_text_not_copies() {
        let list = parse("電話番号,名前,メモ\n03-1234-5678,山田,\"a\"\"b\"\n").unwrap();
        assert_eq!(list.extra, "0312345678a\"b");
        assert_eq!(
            list.row(0).unwrap().cells().collect::<Vec<_>>(),
            ["0312345678", "山田", "a\"b"]
        );
        let sjis_list = parse_customer_file(
            &sjis("電話番号,名前\n0312345678,髙橋\n"),
            &ImportRules {
                reserved: &ReservedNames::default(),
                target: ImportTarget::NewFolder,
            },
        )
        .unwrap();
        assert_eq!(sjis_list.extra, "0312345678");
        assert_eq!(sjis_list.row(0).unwrap().cell(1), Some("髙橋"));
    }

    #[test]
    fn lst_3_leading_zero_restored_is_a_warning() {
        let list = parse("電話番号\n312345678\n").unwrap();
        assert!(matches!(
            list.warnings.as_slice(),
            [ImportWarning::Phone {
                line: 2,
                warning: PhoneWarning::LeadingZeroRestored,
                ..
            }]
        ));
    }

    #[test]
    fn lst_3_trimmed_header_and_phone_are_warnings() {
        let list = parse(" 電話番号 ,名前\n 03-1234-5678 ,a\n").unwrap();
        assert_eq!(list.columns(), ["電話番号", "名前"]);
        assert!(list.warnings.contains(&ImportWarning::HeaderTrimmed {
            column: 1,
            original: " 電話番号 ".into()
        }));
        assert!(list.warnings.iter().any(|w| matches!(
            w,
            ImportWarning::Phone {
                line: 2,
                warning: PhoneWarning::WhitespaceTrimmed,
                ..
            }
        )));
    }

    #[test]
    fn lst_3_shift_jis_and_bom_utf8_and_quoted_cells() {
        let text = "電話番号,住所\r\n03-1234-5678,\"東京都千代田区1-1, ㈱髙橋\"\r\n";
        let list = parse_customer_file(
            &sjis(text),
            &ImportRules {
                reserved: &ReservedNames::default(),
                target: ImportTarget::NewFolder,
            },
        )
        .unwrap();
        assert_eq!(list.source, SourceFormat::Csv(TextEncoding::ShiftJis));
        assert_eq!(
            list.row(0).unwrap().cell(1),
            Some("東京都千代田区1-1, ㈱髙橋")
        );
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let list = parse_customer_file(
            &bom,
            &ImportRules {
                reserved: &ReservedNames::default(),
                target: ImportTarget::NewFolder,
            },
        )
        .unwrap();
        assert_eq!(list.source, SourceFormat::Csv(TextEncoding::Utf8Bom));
        assert_eq!(list.columns()[0], "電話番号");
    }

    #[test]
    fn lst_3_every_bad_row_is_reported_and_nothing_is_returned() {
        let errs = errors("電話番号,名前\n03-1234-5678,a\nabc,b\n03-1234,c\n090-1234-5678\n,e\n");
        assert!(
            matches!(&errs[0], ImportError::InvalidPhone { line: 3, column: 1, value, reason: PhoneError::InvalidCharacter { .. } } if value == "abc")
        );
        assert!(matches!(
            &errs[1],
            ImportError::InvalidPhone {
                line: 4,
                reason: PhoneError::WrongLength { .. },
                ..
            }
        ));
        assert!(matches!(
            &errs[2],
            ImportError::RaggedRow {
                line: 5,
                expected: 2,
                found: 1
            }
        ));
        assert!(matches!(
            &errs[3],
            ImportError::InvalidPhone {
                line: 6,
                reason: PhoneError::Empty,
                ..
            }
        ));
        assert_eq!(errs.len(), 4);
    }

    #[test]
    fn lst_3_ragged_rows_refused() {
        let errs = errors("電話番号,名前\n0312345678,a,extra\n0312345678\n");
        assert_eq!(
            errs,
            vec![
                ImportError::RaggedRow {
                    line: 2,
                    expected: 2,
                    found: 3
                },
                ImportError::RaggedRow {
                    line: 3,
                    expected: 2,
                    found: 1
                }
            ]
        );
    }

    #[test]
    fn lst_3_unclosed_quote_is_reported_not_swallowed_silently() {
        let errs = errors("電話番号,名前\n0312345678,\"abc\n0312345679,d\n");
        assert_eq!(errs, vec![ImportError::UnclosedQuote { line: 2 }]);
        assert!(parse("電話番号,名前\n0312345678,\"a\"\"b\"\n").is_ok());
    }

    #[test]
    fn lst_3_multiline_cell_keeps_line_numbers_of_record_starts() {
        let errs = errors("電話番号,メモ\n0312345678,\"1行目\n2行目\"\nbad,x\n");
        assert!(matches!(
            errs.as_slice(),
            [ImportError::InvalidPhone { line: 4, .. }]
        ));
    }

    #[test]
    fn lst_3_header_must_be_unique_and_non_empty() {
        let errs = errors("電話番号,住所,住所,\n0312345678,a,b,c\n");
        assert!(errs.contains(&ImportError::DuplicateHeader {
            header: "住所".into(),
            first_column: 2,
            column: 3
        }));
        assert!(errs.contains(&ImportError::EmptyHeader { column: 4 }));
    }

    #[test]
    fn lst_3_phone_header_must_match_exactly() {
        let errs = errors("電話番号1,名前\n0312345678,a\n");
        assert_eq!(
            errs,
            vec![ImportError::MissingPhoneColumn {
                near: Some("電話番号1".into())
            }]
        );
        assert_eq!(
            errors("名前\na\n"),
            vec![ImportError::MissingPhoneColumn { near: None }]
        );
    }

    #[test]
    fn lst_3_header_colliding_with_status_or_attribute_is_refused() {
        let reserved = ReservedNames {
            statuses: vec!["再コール".into()],
            attributes: vec!["業種".into()],
        };
        let rules = ImportRules {
            reserved: &reserved,
            target: ImportTarget::NewFolder,
        };
        let failure = parse_customer_file(
            "電話番号,再コール, 業種\n0312345678,a,b\n".as_bytes(),
            &rules,
        )
        .unwrap_err();
        assert_eq!(
            failure.errors,
            vec![
                ImportError::HeaderCollidesWithStatus {
                    column: 2,
                    header: "再コール".into()
                },
                ImportError::HeaderCollidesWithAttribute {
                    column: 3,
                    header: "業種".into()
                },
            ]
        );
        assert_eq!(
            failure.warnings,
            vec![ImportWarning::HeaderTrimmed {
                column: 3,
                original: " 業種".into()
            }]
        );
    }

    #[test]
    fn lst_2_append_header_must_equal_folder_columns_in_any_order() {
        let folder_columns = vec!["電話番号".to_owned(), "名前".to_owned(), "住所".to_owned()];
        let reserved = ReservedNames::default();
        let rules = ImportRules {
            reserved: &reserved,
            target: ImportTarget::Append {
                folder_columns: &folder_columns,
                folder_count: 10,
            },
        };
        let list =
            parse_customer_file("住所,電話番号,名前\nx,0312345678,y\n".as_bytes(), &rules).unwrap();
        assert_eq!(list.columns(), ["住所", "電話番号", "名前"]);
        let failure =
            parse_customer_file("電話番号,名前,会社\n0312345678,y,z\n".as_bytes(), &rules)
                .unwrap_err();
        assert_eq!(
            failure.errors,
            vec![ImportError::HeaderMismatch {
                missing: vec!["住所".into()],
                extra: vec!["会社".into()]
            }]
        );
    }

    #[test]
    fn lst_4_folder_limit_counts_existing_customers() {
        let folder_columns = vec!["電話番号".to_owned()];
        let reserved = ReservedNames::default();
        let full = ImportRules {
            reserved: &reserved,
            target: ImportTarget::Append {
                folder_columns: &folder_columns,
                folder_count: MAX_CUSTOMERS_PER_FOLDER - 1,
            },
        };
        assert!(
            parse_customer_file(
                b"\xE9\x9B\xBB\xE8\xA9\xB1\xE7\x95\xAA\xE5\x8F\xB7\n0312345678\n",
                &full
            )
            .is_ok()
        );
        let failure = parse_customer_file("電話番号\n0312345678\n0312345679\n".as_bytes(), &full)
            .unwrap_err();
        assert_eq!(
            failure.errors,
            vec![ImportError::FolderFull {
                existing: MAX_CUSTOMERS_PER_FOLDER - 1,
                adding: 2,
                max: MAX_CUSTOMERS_PER_FOLDER
            }]
        );
    }

    #[test]
    fn lst_4_file_over_50000_rows_refused_whole_with_numbers() {
        let mut text = String::from("電話番号,名前\n");
        for i in 0..=MAX_ROWS_PER_FILE {
            text.push_str(&format!("0312{:06},名前{i}\n", i));
        }
        text.push_str("bad,row\n");
        assert_eq!(
            errors(&text),
            vec![ImportError::TooManyRows {
                rows: MAX_ROWS_PER_FILE + 2,
                max: MAX_ROWS_PER_FILE
            }]
        );
        let exactly: String = text
            .lines()
            .take(MAX_ROWS_PER_FILE + 1)
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(parse(&exactly).unwrap().len(), MAX_ROWS_PER_FILE);
    }

    #[test]
    fn malformed_files_get_clear_errors() {
        assert_eq!(errors(""), vec![ImportError::Decode(DecodeError::Empty)]);
        assert_eq!(errors("電話番号\n"), vec![ImportError::NoDataRows]);
        assert_eq!(
            errors("電話番号,名前\n,\n , \n"),
            vec![ImportError::NoDataRows]
        );
        assert_eq!(errors("\n\n"), vec![ImportError::NoHeader]);
        assert!(matches!(
            errors("電話番号\n03\u{0}\n").as_slice(),
            [ImportError::Decode(DecodeError::NulByte { line: 2, .. })]
        ));
        assert!(matches!(
            parse_customer_file(
                b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest",
                &ImportRules {
                    reserved: &ReservedNames::default(),
                    target: ImportTarget::NewFolder
                }
            )
            .unwrap_err()
            .errors
            .as_slice(),
            [ImportError::XlsNotSupported]
        ));
        let bad = [sjis("電話番号\n0312345678\n"), b"\x82\xFF\n".to_vec()].concat();
        let (reserved, target) = new_folder();
        assert!(matches!(
            parse_customer_file(
                &bad,
                &ImportRules {
                    reserved: &reserved,
                    target
                }
            )
            .unwrap_err()
            .errors
            .as_slice(),
            [ImportError::Decode(DecodeError::UnknownEncoding {
                line: 3,
                ..
            })]
        ));
        assert!(matches!(
            parse_customer_file(
                b"PK\x03\x04garbage",
                &ImportRules {
                    reserved: &reserved,
                    target
                }
            )
            .unwrap_err()
            .errors
            .as_slice(),
            [ImportError::XlsxUnreadable { .. }]
        ));
    }

    #[test]
    fn err_1_report_entries_carry_code_line_column_value() {
        let failure = parse("電話番号,名前\n03-1234,a\n").unwrap_err();
        let entry = failure.errors[0].report();
        assert_eq!(entry.code, "PHONE_WRONG_LENGTH");
        assert_eq!(
            (entry.line, entry.column, entry.value.as_deref()),
            (Some(2), Some(1), Some("03-1234"))
        );
        let warning = parse("電話番号\n312345678\n").unwrap().warnings[0].report();
        assert_eq!(
            (warning.code, warning.line),
            ("PHONE_LEADING_ZERO_RESTORED", Some(2))
        );
        assert_eq!(failure.code(), "IMPORT_REFUSED");
    }

    #[test]
    fn lst_4_a_2_gb_claimed_size_is_refused_before_reading() {
        let two_gb = 2 * 1024 * 1024 * 1024;
        assert_eq!(
            check_upload_size(two_gb),
            Err(ImportError::FileTooLarge {
                bytes: two_gb,
                max: MAX_FILE_BYTES
            })
        );
        assert_eq!(check_upload_size(MAX_FILE_BYTES), Ok(()));
    }

    #[test]
    fn lst_3_blank_rows_skipped_with_warning() {
        let list = parse("電話番号,名前\n0312345678,a\n,\n\n , \n0312345679,b\n,,\n").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            list.warnings,
            vec![ImportWarning::BlankRowsSkipped {
                first_line: 3,
                count: 3
            }]
        );
        // A blank row is blank whatever its number of cells.
        assert!(parse("電話番号,名前\n0312345678,a\n,,\n").is_ok());
    }

    #[test]
    fn too_many_columns_refused() {
        let header: Vec<String> = (0..=MAX_COLUMNS)
            .map(|i| {
                if i == 0 {
                    PHONE_HEADER.into()
                } else {
                    format!("c{i}")
                }
            })
            .collect();
        let text = format!(
            "{}\n{}\n",
            header.join(","),
            vec!["0312345678"; MAX_COLUMNS + 1].join(",")
        );
        assert_eq!(
            errors(&text),
            vec![ImportError::TooManyColumns {
                columns: MAX_COLUMNS + 1,
                max: MAX_COLUMNS
            }]
        );
    }

    #[test]
    fn lst_2_manual_rows_use_the_same_rules() {
        let columns = vec!["電話番号".to_owned(), "名前".to_owned()];
        let (reserved, _) = new_folder();
        let rules = ImportRules {
            reserved: &reserved,
            target: ImportTarget::Append {
                folder_columns: &columns,
                folder_count: 0,
            },
        };
        let ok = parse_manual_rows(
            &columns,
            &[
                vec!["03-1234-5678".into(), "a".into()],
                vec!["9012345678".into(), String::new()],
            ],
            &rules,
        )
        .unwrap();
        assert_eq!(ok.row(1).unwrap().phone.as_str(), "09012345678");
        let failure = parse_manual_rows(
            &columns,
            &[vec!["".into(), "a".into()], vec!["0312345678".into()]],
            &rules,
        )
        .unwrap_err();
        assert_eq!(
            failure.errors,
            vec![
                ImportError::InvalidPhone {
                    line: 1,
                    column: 1,
                    value: String::new(),
                    reason: PhoneError::Empty
                },
                ImportError::RaggedRow {
                    line: 2,
                    expected: 2,
                    found: 1
                },
            ]
        );
    }

    #[test]
    fn dnc_1_csv_has_one_phone_column_and_duplicates_kept_once() {
        let list = parse_dnc_file("電話番号\n03-1234-5678\n0312345678\n090-1234-5678\n".as_bytes())
            .unwrap();
        assert_eq!(
            list.numbers
                .iter()
                .map(PhoneNumber::as_str)
                .collect::<Vec<_>>(),
            ["0312345678", "09012345678"]
        );
        assert!(matches!(
            list.warnings.as_slice(),
            [ImportWarning::DuplicateNumber {
                line: 3,
                first_line: 2,
                ..
            }]
        ));
        let failure = parse_dnc_file("電話番号,名前\n0312345678,a\n".as_bytes()).unwrap_err();
        assert_eq!(
            failure.errors,
            vec![ImportError::HeaderMismatch {
                missing: vec![],
                extra: vec!["名前".into()]
            }]
        );
        assert!(matches!(
            parse_dnc_file("電話番号\nabc\n".as_bytes())
                .unwrap_err()
                .errors
                .as_slice(),
            [ImportError::InvalidPhone { line: 2, .. }]
        ));
    }

    #[test]
    fn dnc_3_limit_is_50000_per_file() {
        let mut text = String::from("電話番号\n");
        for i in 0..=MAX_ROWS_PER_FILE {
            text.push_str(&format!("090{:08}\n", i));
        }
        assert_eq!(
            parse_dnc_file(text.as_bytes()).unwrap_err().errors,
            vec![ImportError::TooManyRows {
                rows: MAX_ROWS_PER_FILE + 1,
                max: MAX_ROWS_PER_FILE
            }]
        );
    }

    /// A minimal `.xlsx` (inline strings and numbers, one sheet) built with the zip crate.
    fn xlsx(rows: &[&[&str]], extra_parts: &[(&str, &str)]) -> Vec<u8> {
        let mut sheet = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, row) in rows.iter().enumerate() {
            sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, v) in row.iter().enumerate() {
                let col = (b'A' + c as u8) as char;
                if v.is_empty() {
                    continue;
                }
                if v.bytes().all(|b| b.is_ascii_digit()) {
                    sheet.push_str(&format!(r#"<c r="{col}{}"><v>{v}</v></c>"#, r + 1));
                } else {
                    sheet.push_str(&format!(
                        r#"<c r="{col}{}" t="inlineStr"><is><t>{v}</t></is></c>"#,
                        r + 1
                    ));
                }
            }
            sheet.push_str("</row>");
        }
        sheet.push_str("</sheetData></worksheet>");
        let parts = [
            ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_owned()),
            ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned()),
            ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_owned()),
            ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_owned()),
            ("xl/worksheets/sheet1.xml", sheet),
        ];
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in parts
            .iter()
            .map(|(n, b)| (*n, b.as_str()))
            .chain(extra_parts.iter().copied())
        {
            zip.start_file(name, options).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn lst_3_xlsx_first_sheet_numbers_lose_no_zero() {
        let bytes = xlsx(
            &[
                &["名前", "電話番号"],
                &["山田", "312345678"],
                &[],
                &["鈴木", "090-1234-5678"],
            ],
            &[],
        );
        let (reserved, target) = new_folder();
        let list = parse_customer_file(
            &bytes,
            &ImportRules {
                reserved: &reserved,
                target,
            },
        )
        .unwrap();
        assert_eq!(list.source, SourceFormat::Xlsx);
        assert_eq!(list.columns(), ["名前", "電話番号"]);
        let rows: Vec<(usize, Vec<&str>)> =
            list.rows().map(|r| (r.line, r.cells().collect())).collect();
        assert_eq!(
            rows,
            vec![
                (2, vec!["山田", "0312345678"]),
                (4, vec!["鈴木", "09012345678"])
            ]
        );
        assert!(list.warnings.iter().any(|w| matches!(
            w,
            ImportWarning::Phone {
                line: 2,
                warning: PhoneWarning::LeadingZeroRestored,
                ..
            }
        )));
    }

    #[test]
    fn lst_3_xlsx_rows_checked_like_csv() {
        let bytes = xlsx(
            &[
                &["電話番号", "名前"],
                &["abc", "x"],
                &["0312345678", "y", "extra"],
                &["", "no phone"],
            ],
            &[],
        );
        let (reserved, target) = new_folder();
        let errs = parse_customer_file(
            &bytes,
            &ImportRules {
                reserved: &reserved,
                target,
            },
        )
        .unwrap_err()
        .errors;
        assert!(matches!(
            errs.as_slice(),
            [
                ImportError::InvalidPhone { line: 2, .. },
                ImportError::RaggedRow {
                    line: 3,
                    expected: 2,
                    found: 3
                },
                ImportError::InvalidPhone {
                    line: 4,
                    reason: PhoneError::Empty,
                    ..
                }
            ]
        ));
    }

    #[test]
    fn xlsx_with_a_huge_claimed_shared_string_count_is_refused_before_allocating() {
        let sst = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="99999999999999"><si><t>a</t></si></sst>"#;
        let padded = format!(
            r#"<?xml version="1.0"?><!--{}--><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount = '4000000'><si><t>a</t></si></sst>"#,
            "x".repeat(10_000)
        );
        let (reserved, target) = new_folder();
        let rules = ImportRules {
            reserved: &reserved,
            target,
        };
        for part in [sst, padded.as_str()] {
            let bytes = xlsx(
                &[&["電話番号"], &["0312345678"]],
                &[("xl/sharedStrings.xml", part)],
            );
            let errors = parse_customer_file(&bytes, &rules).unwrap_err().errors;
            assert!(matches!(
                errors.as_slice(),
                [ImportError::XlsxTooLarge { .. }]
            ));
        }
        let honest = r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>電話番号</t></si></sst>"#;
        let bytes = xlsx(
            &[&["電話番号"], &["0312345678"]],
            &[("xl/sharedStrings.xml", honest)],
        );
        assert!(parse_customer_file(&bytes, &rules).is_ok());
    }

    #[test]
    fn lst_3_xlsx_cells_read_as_excel_shows_them() {
        use calamine::{ExcelDateTime, ExcelDateTimeType};
        assert_eq!(cell_text(&DataRef::Float(312345678.0)), "312345678");
        assert_eq!(cell_text(&DataRef::Float(9012345678.0)), "9012345678");
        assert_eq!(cell_text(&DataRef::Float(1.5)), "1.5");
        assert_eq!(cell_text(&DataRef::Int(42)), "42");
        assert_eq!(cell_text(&DataRef::Bool(true)), "TRUE");
        assert_eq!(cell_text(&DataRef::SharedString("山田")), "山田");
        assert_eq!(cell_text(&DataRef::Empty), "");
        let date = ExcelDateTime::new(45000.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&DataRef::DateTime(date)), "2023/03/15");
        let time = ExcelDateTime::new(45000.5, ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&DataRef::DateTime(time)), "2023/03/15 12:00:00");
        assert_eq!(
            cell_text(&DataRef::Error(calamine::CellErrorType::NA)),
            "#N/A"
        );
    }

    #[test]
    fn lst_3_xlsx_with_styles_dates_durations_and_errors() {
        let bytes = include_bytes!("../../fuzz/seeds/import/dates.xlsx");
        let (reserved, target) = new_folder();
        let list = parse_customer_file(
            bytes,
            &ImportRules {
                reserved: &reserved,
                target,
            },
        )
        .unwrap();
        assert_eq!(list.columns(), ["電話番号", "登録日", "時間"]);
        let rows: Vec<Vec<&str>> = list.rows().map(|r| r.cells().collect()).collect();
        assert_eq!(
            rows,
            vec![
                vec!["0312345678", "2023/03/15 12:00:00", "1.25"],
                vec!["09012345678", "-12", "#N/A"]
            ]
        );
    }

    #[test]
    fn malformed_xlsx_found_by_fuzzing_is_refused_not_a_panic() {
        // A cell reference whose column overflows calamine's arithmetic: with overflow checks
        // (debug) calamine panics and the panic becomes a refusal; without, it is still refused.
        let bytes = include_bytes!("../../fuzz/seeds/import/calamine-overflow.xlsx");
        let (reserved, target) = new_folder();
        let failure = parse_customer_file(
            bytes,
            &ImportRules {
                reserved: &reserved,
                target,
            },
        )
        .unwrap_err();
        assert!(!failure.errors.is_empty());
    }

    /// A 50,000-row, 12-column Shift_JIS list like the issue's benchmark file.
    pub(crate) fn benchmark_file() -> Vec<u8> {
        let mut text = String::from(
            "電話番号,会社名,担当者,住所,郵便番号,メール,業種,従業員数,備考,電話番号2,FAX,URL\r\n",
        );
        for i in 0..MAX_ROWS_PER_FILE {
            text.push_str(&format!(
                "03-{:04}-{:04},株式会社サンプル商事{i},山田 太郎{},東京都千代田区丸の内{}丁目{}番{}号 サンプルビル{}階,100-{:04},taro{i}@example.co.jp,卸売業・小売業,{},\"前回不在、{}時以降に再コール希望。担当者は「営業部長」\",090-{:04}-{:04},03-{:04}-{:04},https://example.co.jp/company/{i}\r\n",
                1000 + i % 9000, i % 10000, i % 97, i % 9 + 1, i % 30 + 1, i % 20 + 1, i % 40 + 1, i % 10000, i % 5000, i % 12 + 8,
                1000 + i % 9000, i % 10000, 2000 + i % 7000, i % 10000,
            ));
        }
        encoding_rs::SHIFT_JIS.encode(&text).0.into_owned()
    }

    /// Timing harness, no assertion on time: run in release with
    /// `cargo test --release -p kaden-domain list::import::tests::timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing harness, run by hand in release"]
    fn timing_50000_rows_12_columns_shift_jis() {
        let bytes = benchmark_file();
        let (reserved, target) = new_folder();
        let rules = ImportRules {
            reserved: &reserved,
            target,
        };
        let mut times = Vec::new();
        for _ in 0..5 {
            let start = std::time::Instant::now();
            let list = parse_customer_file(&bytes, &rules).unwrap();
            times.push(start.elapsed());
            assert_eq!(list.len(), MAX_ROWS_PER_FILE);
            assert_eq!(list.source, SourceFormat::Csv(TextEncoding::ShiftJis));
        }
        let start = std::time::Instant::now();
        let decoded = decode(&bytes).unwrap();
        let decode_only = start.elapsed();
        let start = std::time::Instant::now();
        let mut reader = Records::new(&decoded.text);
        let mut record = Vec::new();
        let mut records = 0;
        while let Some(line) = reader.next_into(&mut record) {
            line.unwrap();
            records += record.len();
        }
        let csv_only = start.elapsed();
        times.sort();
        println!(
            "50,000 x 12 Shift_JIS, {} bytes: decode+parse+normalise min {:?} median {:?} max {:?}; decode alone {:?}; csv records alone {:?} ({records} cells)",
            bytes.len(),
            times[0],
            times[2],
            times[4],
            decode_only,
            csv_only
        );
    }
}
