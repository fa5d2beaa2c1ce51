//! CSV exports (SPEC EXP-1 folder export, EXP-2 history export, REP-1, TAL-1): rows written one
//! at a time to any `impl Write`, for Excel.
//!
//! # Choices
//! - **Encoding**: UTF-8 with a BOM (Excel then opens it as UTF-8) or Shift_JIS/CP932 (what
//!   Japanese Excel opens by default). Shift_JIS cannot hold every character: a character it
//!   cannot hold is either refused ([`OnUnmappable::Refuse`]: `write_row` fails naming row,
//!   column and character, and nothing of that row is written) or written as `〓` (the JIS
//!   substitution mark) and listed in [`ExportSummary::unmappable`]
//!   ([`OnUnmappable::Substitute`]). Never silently.
//! - Before encoding to Shift_JIS, the characters that differ only between the JIS and the
//!   Microsoft mapping of the same Shift_JIS code are folded to the Microsoft form (`〜` U+301C →
//!   `～` U+FF5E, `‖`→`∥`, `—`→`―`, `¢`→`￠`, `£`→`￡`, `¬`→`￢`): Mac and web text uses the
//!   former, Excel shows the latter, and the byte written is the one both mean.
//! - **Formula injection**: a cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading
//!   `'` (OWASP's advice), so Excel shows it as text instead of evaluating it. The apostrophe is
//!   visible in the cell; that is the price of never running a formula from customer data. A
//!   phone number in national form never starts with these, so phone columns are unchanged.
//! - **Quoting and line endings** are `csv::Writer`'s (the reference): a cell is quoted when
//!   it contains `,`, `"`, CR or LF (and a record of one empty cell is written `""`); quotes are
//!   doubled; CRLF between records (Excel's own); line breaks inside cells are kept.
//! - **How a row is written**: its cells are guarded, folded and encoded into one reused
//!   buffer first, so a refused row writes nothing; then `csv::Writer` quotes the encoded bytes.
//!   Shift_JIS never uses the bytes of `,`, `"`, CR or LF inside a multi-byte character
//!   (trail bytes are 0x40 and up), so quoting encoded bytes is the same as quoting the text.
//! - **Rows**: `row` in errors and reports is the record number in the file, the header being
//!   row 1; `column` is 1-based.

use crate::error::ErrorCode;

use std::io::{self, Write};

use encoding_rs::{EncoderResult, SHIFT_JIS};

use crate::error::DomainError;

/// The output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ExportEncoding {
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// Shift_JIS / CP932.
    ShiftJis,
}

/// What to do with a character Shift_JIS cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OnUnmappable {
    /// Fail the row with [`ExportError::Unmappable`].
    Refuse,
    /// Write `〓` and report it in [`ExportSummary::unmappable`].
    Substitute,
}

/// A character that Shift_JIS cannot hold, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappableChar {
    pub row: usize,
    pub column: usize,
    pub header: String,
    pub character: char,
}

impl std::fmt::Display for UnmappableChar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}行目「{}」列の文字「{}」(U+{:04X})はShift_JISで表せません (row {}, column {} \"{}\": '{}' U+{:04X} cannot be written in Shift_JIS: export as UTF-8 instead)",
            self.row,
            self.header,
            self.character,
            self.character as u32,
            self.row,
            self.column,
            self.header,
            self.character,
            self.character as u32
        )
    }
}

/// Why a row could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Unmappable(UnmappableChar),
    #[error(
        "{row}行目のセル数{found}が見出しの{expected}と違います (row {row} has {found} cells, the header {expected})"
    )]
    WrongCellCount {
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("出力に失敗しました (writing the export failed: {0})")]
    Io(#[from] io::Error),
}

impl DomainError for ExportError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Unmappable(_) => ErrorCode::ExportUnmappableCharacter,
            Self::WrongCellCount { .. } => ErrorCode::ExportCellCount,
            Self::Io(_) => ErrorCode::ExportIo,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportSummary {
    /// Data rows written (the header not counted).
    pub rows: usize,
    /// Substituted characters, the first [`MAX_REPORTED_UNMAPPABLE`].
    pub unmappable: Vec<UnmappableChar>,
    /// All substituted characters.
    pub unmappable_total: usize,
}

/// How many substituted characters [`ExportSummary::unmappable`] lists.
pub const MAX_REPORTED_UNMAPPABLE: usize = 1_000;

/// The `csv::Writer` buffer: what is written to `W` at a time.
const FLUSH_AT: usize = 64 * 1024;
/// `〓` in Shift_JIS.
const GETA_SJIS: &[u8] = b"\x81\xAC";

/// A streaming CSV writer: header at construction, then [`CsvExport::write_row`] per row, then
/// [`CsvExport::finish`]. Buffers up to 64 KiB before writing to `W`.
#[derive(Debug)]
pub struct CsvExport<W: Write> {
    out: csv::Writer<W>,
    encoding: ExportEncoding,
    on_unmappable: OnUnmappable,
    header: Vec<String>,
    row: usize,
    /// The row being written: its cells guarded, folded and encoded, end to end.
    cells: Vec<u8>,
    /// Where each cell of `cells` ends.
    cell_ends: Vec<usize>,
    /// One cell guarded and folded, before encoding to Shift_JIS.
    text: String,
    summary: ExportSummary,
}

impl<W: Write> CsvExport<W> {
    /// Starts an export: writes the BOM (UTF-8) and the header row.
    pub fn new<S: AsRef<str>>(
        out: W,
        encoding: ExportEncoding,
        on_unmappable: OnUnmappable,
        header: &[S],
    ) -> Result<Self, ExportError> {
        let mut out = out;
        if encoding == ExportEncoding::Utf8Bom {
            out.write_all(b"\xEF\xBB\xBF")?;
        }
        let out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .buffer_capacity(FLUSH_AT)
            .from_writer(out);
        let mut export = Self {
            out,
            encoding,
            on_unmappable,
            header: header.iter().map(|h| h.as_ref().to_owned()).collect(),
            row: 0,
            cells: Vec::with_capacity(1024),
            cell_ends: Vec::with_capacity(header.len()),
            text: String::with_capacity(256),
            summary: ExportSummary::default(),
        };
        let header = export.header.clone();
        export.write_record(header.iter().map(String::as_str))?;
        Ok(export)
    }

    /// Writes one row; it must have one cell per header column.
    pub fn write_row<I>(&mut self, cells: I) -> Result<(), ExportError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.write_record(cells)?;
        self.summary.rows += 1;
        Ok(())
    }

    /// Flushes everything and returns the writer and the summary.
    pub fn finish(self) -> Result<(W, ExportSummary), ExportError> {
        // `into_inner` writes what is buffered and flushes `W`.
        let out = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok((out, self.summary))
    }

    fn write_record<I>(&mut self, cells: I) -> Result<(), ExportError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let row = self.row + 1;
        self.cells.clear();
        self.cell_ends.clear();
        let mut found: Vec<UnmappableChar> = Vec::new();
        for cell in cells {
            let cell = cell.as_ref();
            let column = self.cell_ends.len() + 1;
            match self.encoding {
                ExportEncoding::Utf8Bom => {
                    if needs_formula_guard(cell) {
                        self.cells.push(b'\'');
                    }
                    self.cells.extend_from_slice(cell.as_bytes());
                }
                ExportEncoding::ShiftJis => {
                    self.text.clear();
                    if needs_formula_guard(cell) {
                        self.text.push('\'');
                    }
                    self.text.extend(cell.chars().map(fold_for_cp932));
                    encode_shift_jis(&self.text, &mut self.cells, |character| {
                        found.push(UnmappableChar {
                            row,
                            column,
                            header: self.header.get(column - 1).cloned().unwrap_or_default(),
                            character,
                        })
                    });
                }
            }
            self.cell_ends.push(self.cells.len());
        }
        if self.cell_ends.len() != self.header.len() {
            return Err(ExportError::WrongCellCount {
                row,
                expected: self.header.len(),
                found: self.cell_ends.len(),
            });
        }
        if self.on_unmappable == OnUnmappable::Refuse && !found.is_empty() {
            return Err(ExportError::Unmappable(found.swap_remove(0)));
        }
        let mut start = 0;
        let fields = self.cell_ends.iter().map(|&end| {
            let field = &self.cells[start..end];
            start = end;
            field
        });
        self.out
            .write_record(fields)
            .map_err(|e| ExportError::Io(e.into()))?;
        self.row = row;
        self.summary.unmappable_total += found.len();
        let room = MAX_REPORTED_UNMAPPABLE.saturating_sub(self.summary.unmappable.len());
        self.summary.unmappable.extend(found.into_iter().take(room));
        Ok(())
    }
}

/// Appends `text` in Shift_JIS to `out`; each character Shift_JIS cannot hold is written as
/// `〓` and handed to `unmappable`.
fn encode_shift_jis(text: &str, out: &mut Vec<u8>, mut unmappable: impl FnMut(char)) {
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut src = text;
    loop {
        let needed = encoder
            .max_buffer_length_from_utf8_without_replacement(src.len())
            .unwrap_or(src.len() * 2);
        let start = out.len();
        out.resize(start + needed, 0);
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(src, &mut out[start..], true);
        out.truncate(start + written);
        src = &src[read..];
        match result {
            EncoderResult::InputEmpty => break,
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(character) => {
                out.extend_from_slice(GETA_SJIS);
                unmappable(character);
            }
        }
    }
}

/// True when Excel would read the cell as a formula (or a DDE payload) if written as is.
pub fn needs_formula_guard(cell: &str) -> bool {
    matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// The Microsoft form of characters that the JIS and CP932 mappings of Shift_JIS disagree on.
fn fold_for_cp932(c: char) -> char {
    match c {
        '\u{301C}' => '\u{FF5E}',
        '\u{2016}' => '\u{2225}',
        '\u{2014}' => '\u{2015}',
        '\u{00A2}' => '\u{FFE0}',
        '\u{00A3}' => '\u{FFE1}',
        '\u{00AC}' => '\u{FFE2}',
        other => other,
    }
}

/// Fixed column labels of the folder export (EXP-1), after the folder's own columns and the
/// campaign's customer attributes.
pub const FOLDER_EXPORT_TRAILER: [&str; 4] = ["最終ステータス", "最終対応者", "対応回数", "メモ"];

/// The header of a folder export (EXP-1): customer id, the folder's columns in display order,
/// the customer attributes, then [`FOLDER_EXPORT_TRAILER`].
pub fn folder_export_header<S: AsRef<str>, A: AsRef<str>>(
    columns: &[S],
    attributes: &[A],
) -> Vec<String> {
    std::iter::once("顧客ID")
        .chain(columns.iter().map(AsRef::as_ref))
        .chain(attributes.iter().map(AsRef::as_ref))
        .chain(FOLDER_EXPORT_TRAILER)
        .map(str::to_owned)
        .collect()
}

/// The header of a history export (EXP-2): one row per interaction.
pub fn history_export_header<A: AsRef<str>>(result_attributes: &[A]) -> Vec<String> {
    ["日時", "電話番号", "対応ユーザー", "ステータス"]
        .into_iter()
        .chain(result_attributes.iter().map(AsRef::as_ref))
        .chain(["メモ"])
        .map(str::to_owned)
        .collect()
}

/// All memos of a customer in one cell (EXP-1), oldest first, separated by a blank line.
pub fn join_memos<'a>(memos: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for memo in memos.into_iter().map(str::trim).filter(|m| !m.is_empty()) {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(memo);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::import::{ImportRules, ImportTarget, ReservedNames, parse_customer_file};

    fn export(
        encoding: ExportEncoding,
        policy: OnUnmappable,
        header: &[&str],
        rows: &[&[&str]],
    ) -> Result<(Vec<u8>, ExportSummary), ExportError> {
        let mut csv = CsvExport::new(Vec::new(), encoding, policy, header)?;
        for row in rows {
            csv.write_row(row.iter())?;
        }
        csv.finish()
    }

    #[test]
    fn exp_1_utf8_with_bom_crlf_and_quoting() {
        let (bytes, summary) = export(
            ExportEncoding::Utf8Bom,
            OnUnmappable::Refuse,
            &["電話番号", "メモ"],
            &[&["0312345678", "a,b \"c\"\n次行"]],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "\u{FEFF}電話番号,メモ\r\n0312345678,\"a,b \"\"c\"\"\n次行\"\r\n"
        );
        assert_eq!(summary.rows, 1);
    }

    #[test]
    fn exp_1_single_empty_cell_is_quoted_not_an_empty_line() {
        let (bytes, _) = export(
            ExportEncoding::ShiftJis,
            OnUnmappable::Refuse,
            &["メモ"],
            &[&[""], &["x"]],
        )
        .unwrap();
        assert_eq!(SHIFT_JIS.decode(&bytes).0, "メモ\r\n\"\"\r\nx\r\n");
    }

    #[test]
    fn exp_1_formula_injection_neutralised() {
        let (bytes, _) = export(
            ExportEncoding::Utf8Bom,
            OnUnmappable::Refuse,
            &["a", "b", "c", "d", "e", "f", "g"],
            &[&["=1+1", "+81", "-2", "@SUM(A1)", "\tx", "\rx", "普通=1"]],
        )
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "'=1+1,'+81,'-2,'@SUM(A1),'\tx,\"'\rx\",普通=1"
        );
        assert!(needs_formula_guard("=HYPERLINK(\"http://x\")"));
        assert!(!needs_formula_guard("0312345678"));
    }

    #[test]
    fn exp_1_shift_jis_with_cp932_folding() {
        let (bytes, summary) = export(
            ExportEncoding::ShiftJis,
            OnUnmappable::Refuse,
            &["会社名"],
            &[&["㈱髙橋〜①—"]],
        )
        .unwrap();
        let (text, _, bad) = SHIFT_JIS.decode(&bytes);
        assert!(!bad);
        assert_eq!(text, "会社名\r\n㈱髙橋～①―\r\n");
        assert_eq!(summary.unmappable_total, 0);
    }

    #[test]
    fn exp_1_unmappable_character_refused_with_row_column_and_char() {
        let mut csv = CsvExport::new(
            Vec::new(),
            ExportEncoding::ShiftJis,
            OnUnmappable::Refuse,
            &["電話番号", "名前"],
        )
        .unwrap();
        csv.write_row(["0312345678", "山田"]).unwrap();
        let err = csv.write_row(["0312345679", "𠮷野家😀"]).unwrap_err();
        assert!(matches!(
            err,
            ExportError::Unmappable(UnmappableChar { row: 3, column: 2, ref header, character: '𠮷' }) if header == "名前"
        ));
        csv.write_row(["0312345670", "鈴木"]).unwrap();
        let (bytes, summary) = csv.finish().unwrap();
        assert_eq!(
            SHIFT_JIS.decode(&bytes).0,
            "電話番号,名前\r\n0312345678,山田\r\n0312345670,鈴木\r\n"
        );
        assert_eq!(summary.rows, 2);
    }

    #[test]
    fn exp_1_unmappable_character_substituted_and_reported() {
        let (bytes, summary) = export(
            ExportEncoding::ShiftJis,
            OnUnmappable::Substitute,
            &["a", "b"],
            &[&["x", "é😀"], &["ok", "fine"]],
        )
        .unwrap();
        assert_eq!(SHIFT_JIS.decode(&bytes).0, "a,b\r\nx,〓〓\r\nok,fine\r\n");
        assert_eq!(summary.unmappable_total, 2);
        assert_eq!(
            summary.unmappable,
            vec![
                UnmappableChar {
                    row: 2,
                    column: 2,
                    header: "b".into(),
                    character: 'é'
                },
                UnmappableChar {
                    row: 2,
                    column: 2,
                    header: "b".into(),
                    character: '😀'
                },
            ]
        );
    }

    #[test]
    fn exp_1_wrong_cell_count_refused() {
        let mut csv = CsvExport::new(
            Vec::new(),
            ExportEncoding::Utf8Bom,
            OnUnmappable::Refuse,
            &["a", "b"],
        )
        .unwrap();
        assert!(matches!(
            csv.write_row(["only one"]),
            Err(ExportError::WrongCellCount {
                row: 2,
                expected: 2,
                found: 1
            })
        ));
    }

    #[test]
    fn exp_1_export_reimports_to_the_same_cells() {
        let rows: [&[&str]; 2] = [
            &["0312345678", "株式会社A, 本社", "メモ\n\"重要\""],
            &["09012345678", "髙橋①", ""],
        ];
        for encoding in [ExportEncoding::Utf8Bom, ExportEncoding::ShiftJis] {
            let (bytes, _) = export(
                encoding,
                OnUnmappable::Refuse,
                &["電話番号", "会社名", "メモ"],
                &rows,
            )
            .unwrap();
            let reserved = ReservedNames::default();
            let list = parse_customer_file(
                &bytes,
                &ImportRules {
                    reserved: &reserved,
                    target: ImportTarget::NewFolder,
                },
            )
            .unwrap();
            let back: Vec<Vec<&str>> = list.rows().map(|r| r.cells().collect()).collect();
            assert_eq!(
                back,
                rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
                "{encoding:?}"
            );
        }
    }

    #[test]
    fn exp_1_streams_in_chunks() {
        struct Counting(usize, usize);
        impl Write for Counting {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0 += 1;
                self.1 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut csv = CsvExport::new(
            Counting(0, 0),
            ExportEncoding::ShiftJis,
            OnUnmappable::Refuse,
            &["電話番号", "名前"],
        )
        .unwrap();
        for i in 0..20_000 {
            csv.write_row([format!("03{:08}", i), "山田太郎".to_owned()])
                .unwrap();
        }
        let (out, summary) = csv.finish().unwrap();
        assert_eq!(summary.rows, 20_000);
        assert!(out.0 > 1, "written in several chunks, not one");
    }

    #[test]
    fn exp_headers_and_memo_join() {
        assert_eq!(
            folder_export_header(&["電話番号", "会社名"], &["業種"]),
            [
                "顧客ID",
                "電話番号",
                "会社名",
                "業種",
                "最終ステータス",
                "最終対応者",
                "対応回数",
                "メモ"
            ]
        );
        assert_eq!(
            history_export_header(&["次回連絡日"]),
            [
                "日時",
                "電話番号",
                "対応ユーザー",
                "ステータス",
                "次回連絡日",
                "メモ"
            ]
        );
        assert_eq!(
            join_memos(["不在", " ", "再コール希望 "]),
            "不在\n\n再コール希望"
        );
    }
}
