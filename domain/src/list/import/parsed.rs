//! A fully validated list held compactly: every cell a span of one string, no allocation per
//! cell.

use super::*;

/// A fully validated list: columns in file order, rows with their normalised phone numbers.
///
/// Cells are stored in one string with offsets (no allocation per cell). The phone column's
/// cell holds the normalised number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedList {
    pub source: SourceFormat,
    pub warnings: Vec<ImportWarning>,
    pub(super) columns: Vec<String>,
    pub(super) phone_column: usize,
    /// The decoded file (CSV); most cells are spans of it.
    pub(super) source_text: String,
    /// Cells that are not spans of `source_text`: normalised phone numbers, unescaped quoted
    /// cells, every `.xlsx` and manual cell.
    pub(super) extra: String,
    /// `[start, end]` per cell, row after row; `start` has [`IN_EXTRA`] set for `extra`.
    pub(super) spans: Vec<[u32; 2]>,
    pub(super) lines: Vec<usize>,
    pub(super) phones: Vec<PhoneNumber>,
}

/// Marks a span in [`ParsedList::extra`]. Offsets stay below it: files are at most
/// [`MAX_FILE_BYTES`], well under 2 GiB even decoded.
pub(super) const IN_EXTRA: u32 = 1 << 31;

/// One row of a [`ParsedList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    /// Source line (see the module docs).
    pub line: usize,
    pub phone: PhoneNumber,
    pub(super) source_text: &'a str,
    pub(super) extra: &'a str,
    pub(super) spans: &'a [[u32; 2]],
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

pub(super) fn resolve<'a>(source_text: &'a str, extra: &'a str, [start, end]: [u32; 2]) -> &'a str {
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
