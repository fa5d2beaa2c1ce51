//! List import rules (SPEC LST-2..4, DNC-1/3, EXP-1/2, ERR-1/2): pure functions from bytes to
//! validated lists, and from rows to export bytes. No I/O: callers hand in `&[u8]` and an
//! `impl Write`.
//!
//! ## Layout
//! - `phone`: Japanese phone number normalisation and validation (LST-3).
//! - `decode`: bytes → text, UTF-8 (with or without BOM) or Shift_JIS/CP932, detected.
//! - `import`: customer list / do-not-call CSV and `.xlsx` parsing with the header, row and limit
//!   rules; all or nothing (ERR-2).
//! - `records`: the CSV record reader imports use (cells borrowed from the decoded text).
//! - `records_csv`: the same records read with the `csv` crate, timed against `records` by
//!   `kaden bench-import`.
//! - `export`: streaming CSV writer for exports (EXP-1/2) on `csv::Writer`: UTF-8 with BOM or
//!   Shift_JIS with unmappable characters reported, formula-injection guard, CRLF.
//!
//! ## Use
//! ```
//! use kaden_domain::list::{ImportRules, ImportTarget, ReservedNames, parse_customer_file};
//!
//! let reserved = ReservedNames { statuses: vec!["不通".into()], attributes: vec![] };
//! let rules = ImportRules { reserved: &reserved, target: ImportTarget::NewFolder };
//! let upload = "電話番号,会社名\r\n03-1234-5678,山田商事\r\n312345679,鈴木\r\n".as_bytes();
//! let list = parse_customer_file(upload, &rules).expect("a valid list");
//! assert_eq!(list.columns(), ["電話番号", "会社名"]);
//! assert_eq!(list.phones()[1].as_str(), "0312345679"); // lost zero restored…
//! assert_eq!(list.warnings.len(), 1); // …and reported
//! for row in list.rows() {
//!     let _fields: Vec<(&str, &str)> =
//!         list.columns().iter().map(String::as_str).zip(row.cells()).collect();
//! }
//! ```

pub mod decode;
pub mod export;
pub mod import;
pub mod phone;
pub mod records;
pub mod records_csv;

pub use decode::{DecodeError, DecodedText, TextEncoding, decode};
pub use export::{
    CsvExport, ExportEncoding, ExportError, ExportSummary, OnUnmappable, UnmappableChar,
};
pub use import::{
    DncList, ImportError, ImportFailure, ImportRules, ImportTarget, ImportWarning, MAX_COLUMNS,
    MAX_CUSTOMERS_PER_FOLDER, MAX_FILE_BYTES, MAX_ROWS_PER_FILE, PHONE_HEADER, ParsedList,
    ReportEntry, ReservedNames, Row, SourceFormat, check_upload_size, parse_customer_file,
    parse_dnc_file, parse_manual_rows,
};
pub use phone::{NormalisedPhone, PhoneError, PhoneKind, PhoneNumber, PhoneWarning, PhoneWarnings};
