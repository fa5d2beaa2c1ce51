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
/// Characters per cell. Not in the original: Kaden's bound (a company name, an address or a
/// memo fits many times over), so one cell cannot hold megabytes.
pub const MAX_CELL_CHARS: usize = 4_096;
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

mod builder;
mod csv;
mod parsed;
mod problems;
mod xlsx;

use builder::*;
use csv::*;
pub use parsed::*;
pub use problems::*;
use xlsx::*;

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

#[cfg(test)]
mod tests;
