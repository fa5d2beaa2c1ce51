//! A CSV record reader over decoded text that borrows its cells (SPEC LST-3: "CSV as Excel
//! writes it"). What imports use.
//!
//! Why not the `csv` crate: it copies every record into its own buffer and parses byte by byte;
//! the text here is already a `&str`, so cells can be slices of it (only a cell with a doubled
//! quote `""` is copied) and fields are found with `memchr`. `kaden bench-import` times this
//! reader against the `csv` crate's ([`super::records_csv`]) in the same run, and this one stays
//! only while it is at least twice as fast (issue 11 item 9; figures in docs/ARCHITECTURE.md
//! and docs/BENCHMARKS.md). The dialect is the same as `csv`'s defaults, which the fuzz target
//! checks by comparing the two:
//! - fields separated by `,`; records end at `\n`, `\r\n` or a lone `\r`; empty lines are
//!   skipped;
//! - a field starting with `"` is quoted: `""` inside is one `"`, and separators and line
//!   breaks are data; text after the closing quote is appended as is (`"ab"c` → `abc`);
//! - a `"` inside an unquoted field is data.
//!
//! Unlike `csv`, a quote still open at the end of the text is an error
//! ([`RecordError::UnclosedQuote`]) instead of a last cell holding the rest of the file.

use std::borrow::Cow;

/// Why the text is not well-formed CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// A quoted field opened on `line` is never closed.
    UnclosedQuote { line: usize },
}

/// Reads records one at a time into a reused cell buffer.
#[derive(Debug)]
pub struct Records<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Records<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            line: 1,
        }
    }

    /// Reads the next record into `cells` (cleared first). Returns the 1-based line the record
    /// starts on, or `None` at the end of the text.
    pub fn next_into(
        &mut self,
        cells: &mut Vec<Cow<'a, str>>,
    ) -> Option<Result<usize, RecordError>> {
        cells.clear();
        let bytes = self.text.as_bytes();
        // Skip empty lines.
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                }
                b'\r' => {
                    self.pos += 1;
                    if bytes.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    self.line += 1;
                }
                _ => break,
            }
        }
        if self.pos >= bytes.len() {
            return None;
        }
        let start_line = self.line;
        loop {
            let (cell, end) = if bytes[self.pos] == b'"' {
                match self.quoted() {
                    Some(r) => r,
                    None => {
                        self.pos = bytes.len();
                        return Some(Err(RecordError::UnclosedQuote { line: start_line }));
                    }
                }
            } else {
                let end = memchr::memchr3(b',', b'\n', b'\r', &bytes[self.pos..])
                    .map_or(bytes.len(), |i| self.pos + i);
                (Cow::Borrowed(&self.text[self.pos..end]), end)
            };
            cells.push(cell);
            self.pos = end;
            match bytes.get(end) {
                Some(b',') => {
                    self.pos += 1;
                    if self.pos == bytes.len() {
                        // "a," at the very end: one more, empty, cell.
                        cells.push(Cow::Borrowed(""));
                        return Some(Ok(start_line));
                    }
                }
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    return Some(Ok(start_line));
                }
                Some(b'\r') => {
                    self.pos += 1;
                    if bytes.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    self.line += 1;
                    return Some(Ok(start_line));
                }
                _ => return Some(Ok(start_line)),
            }
        }
    }

    /// A quoted field starting at `self.pos`: its value and the position after it (at a
    /// separator, a line break or the end). `None` if the quote is never closed.
    fn quoted(&mut self) -> Option<(Cow<'a, str>, usize)> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos + 1;
        let mut owned: Option<String> = None;
        let mut segment = i;
        loop {
            let q = i + memchr::memchr(b'"', &bytes[i..])?;
            self.line += count_line_breaks(&bytes[i..q]);
            if bytes.get(q + 1) == Some(&b'"') {
                // `""`: one quote; the value needs its own buffer.
                let buf = owned.get_or_insert_with(String::new);
                buf.push_str(&self.text[segment..=q]);
                i = q + 2;
                segment = i;
                continue;
            }
            // Closing quote; anything up to the next separator is appended as is.
            let after = q + 1;
            let end = memchr::memchr3(b',', b'\n', b'\r', &bytes[after..])
                .map_or(bytes.len(), |k| after + k);
            let value = match owned {
                None if after == end => Cow::Borrowed(&self.text[segment..q]),
                None => Cow::Owned([&self.text[segment..q], &self.text[after..end]].concat()),
                Some(mut buf) => {
                    buf.push_str(&self.text[segment..q]);
                    buf.push_str(&self.text[after..end]);
                    Cow::Owned(buf)
                }
            };
            return Some((value, end));
        }
    }
}

/// Line breaks in a span: `\n`, `\r\n` and a lone `\r` each count once.
fn count_line_breaks(span: &[u8]) -> usize {
    let lf = memchr::memchr_iter(b'\n', span).count();
    let cr_alone = memchr::memchr_iter(b'\r', span)
        .filter(|&i| span.get(i + 1) != Some(&b'\n'))
        .count();
    lf + cr_alone
}

/// All records of `text` with their start lines (tests and fuzzing).
pub fn read_all(text: &str) -> Result<Vec<(usize, Vec<String>)>, RecordError> {
    let mut records = Records::new(text);
    let mut cells = Vec::new();
    let mut out = Vec::new();
    while let Some(line) = records.next_into(&mut cells) {
        out.push((line?, cells.iter().map(|c| c.to_string()).collect()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str) -> Vec<(usize, Vec<String>)> {
        read_all(text).unwrap()
    }

    fn v(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn lst_3_plain_records_and_line_endings() {
        assert_eq!(
            rec("a,b\r\nc,d\ne,f\rg,h"),
            vec![
                (1, v(&["a", "b"])),
                (2, v(&["c", "d"])),
                (3, v(&["e", "f"])),
                (4, v(&["g", "h"]))
            ]
        );
        assert_eq!(rec("a,\n,\n"), vec![(1, v(&["a", ""])), (2, v(&["", ""]))]);
        assert_eq!(rec("a,"), vec![(1, v(&["a", ""]))]);
    }

    #[test]
    fn lst_3_empty_lines_skipped_but_counted() {
        assert_eq!(
            rec("\n\na\r\n\r\nb\n"),
            vec![(3, v(&["a"])), (5, v(&["b"]))]
        );
        assert_eq!(rec(""), vec![]);
        assert_eq!(rec("\r\n\n"), vec![]);
    }

    #[test]
    fn lst_3_quoted_fields() {
        assert_eq!(
            rec("\"a,b\",\"c\"\"d\",\"e\nf\",\"\"\nnext,\"x\"y\n"),
            vec![
                (1, v(&["a,b", "c\"d", "e\nf", ""])),
                (3, v(&["next", "xy"]))
            ]
        );
        assert_eq!(rec("a\"b,c"), vec![(1, v(&["a\"b", "c"]))]);
        assert_eq!(rec("\"\"\"\""), vec![(1, v(&["\""]))]);
    }

    #[test]
    fn lst_3_unclosed_quote_is_an_error_with_its_line() {
        assert_eq!(
            read_all("a\n\"b\nc,d\n"),
            Err(RecordError::UnclosedQuote { line: 2 })
        );
        assert_eq!(
            read_all("\"a\"\"\n"),
            Err(RecordError::UnclosedQuote { line: 1 })
        );
    }

    #[test]
    fn cells_are_borrowed_unless_unescaped() {
        let text = "plain,\"quoted\",\"dou\"\"ble\"";
        let mut records = Records::new(text);
        let mut cells = Vec::new();
        records.next_into(&mut cells).unwrap().unwrap();
        assert!(matches!(cells[0], Cow::Borrowed("plain")));
        assert!(matches!(cells[1], Cow::Borrowed("quoted")));
        assert!(matches!(&cells[2], Cow::Owned(s) if s == "dou\"ble"));
    }
}
