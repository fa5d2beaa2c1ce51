//! CSV records of decoded list text, read with the `csv` crate (SPEC LST-3): the reader
//! `kaden bench-import` times against ours ([`super::records`], what imports use) in the same
//! run. Ours stays while it is at least twice as fast (issue 11 item 9); this one is the
//! drop-in replacement (same records, lines and errors, see the tests) if that stops being so.
//!
//! The dialect is `csv`'s default one, read into one reused [`csv::ByteRecord`]:
//! - fields separated by `,`; records end at `\n`, `\r\n` or a lone `\r`; empty lines are
//!   skipped;
//! - a field starting with `"` is quoted: `""` inside is one `"`, and separators and line
//!   breaks are data; text after the closing quote is appended as is (`"ab"c` → `abc`);
//! - a `"` inside an unquoted field is data.
//!
//! Three things are ours on top of the crate:
//! - **Cells as slices of the text**: the crate copies each record into its own buffer. A
//!   [`super::import::ParsedList`] keeps the decoded text and refers to cells by span, so each
//!   cell that stands verbatim in the text (unquoted, or quoted without `""` or text after the
//!   closing quote) is handed out as a slice of the text, found by walking the record's bytes
//!   field by field with the lengths the crate read (and checked byte for byte); the others
//!   come from the crate's record.
//! - **Lines**: a record is reported with the 1-based physical line it starts on, counting
//!   `\n`, `\r\n` and a lone `\r` once each and the skipped empty lines too (the crate counts
//!   `\n` only, and from where the previous record ended).
//! - **Unclosed quote**: `csv` reads a quote still open at the end of the text as a last cell
//!   holding the rest of the file. Here it is an error ([`RecordError::UnclosedQuote`], with the
//!   line the record starts on). Only the record that reaches the end of the text can hold one,
//!   so only that record's bytes are scanned again ([`ends_inside_quotes`]).

pub use super::records::RecordError;

/// Reads records one at a time into one reused record.
#[derive(Debug)]
pub struct Records<'a> {
    text: &'a str,
    reader: csv::Reader<&'a [u8]>,
    record: csv::ByteRecord,
    /// Per cell of `record`: where it stands verbatim in `text`, if it does.
    in_text: Vec<Option<(usize, usize)>>,
    /// Byte offset just after the previous record (its line break included when the crate
    /// consumed it).
    end: usize,
    /// The physical line at `end`.
    line: usize,
    done: bool,
}

impl<'a> Records<'a> {
    pub fn new(text: &'a str) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        Self {
            text,
            reader,
            record: csv::ByteRecord::with_capacity(1024, 32),
            in_text: Vec::with_capacity(32),
            end: 0,
            line: 1,
            done: false,
        }
    }

    /// Reads the next record (its cells are then [`Records::cells`]). Returns the 1-based line
    /// the record starts on, or `None` at the end of the text.
    pub fn next_record(&mut self) -> Option<Result<usize, RecordError>> {
        if self.done {
            return None;
        }
        // Reading a byte slice cannot fail on I/O; the text is UTF-8 already and records may
        // have any length (`flexible`), so `Err` does not happen: it ends the reading anyway.
        if !matches!(self.reader.read_byte_record(&mut self.record), Ok(true)) {
            self.done = true;
            return None;
        }
        let bytes = self.text.as_bytes();
        let end = usize::try_from(self.reader.position().byte())
            .map_or(bytes.len(), |e| e.min(bytes.len()));
        // The crate skipped empty lines before the record: its first byte is the first one
        // that is not a line break.
        let start = bytes[self.end..end]
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .map_or(end, |i| self.end + i);
        let start_line = self.line + line_breaks(bytes, self.end, start);
        self.line = start_line + line_breaks(bytes, start, end);
        self.end = end;
        if end == bytes.len() && ends_inside_quotes(&bytes[start..]) {
            self.done = true;
            return Some(Err(RecordError::UnclosedQuote { line: start_line }));
        }
        self.locate_cells(start);
        Some(Ok(start_line))
    }

    /// Fills `in_text` for the record just read, which starts at byte `start` of the text.
    fn locate_cells(&mut self, start: usize) {
        let bytes = self.text.as_bytes();
        self.in_text.clear();
        let mut at = Some(start);
        for cell in self.record.iter() {
            let found = at.and_then(|p| {
                let len = cell.len();
                let (from, next) = if bytes.get(p) == Some(&b'"') {
                    // Quoted: verbatim only without any quote inside and closed right away.
                    if memchr::memchr(b'"', cell).is_some() || bytes.get(p + 1 + len) != Some(&b'"')
                    {
                        return None;
                    }
                    (p + 1, p + len + 2)
                } else {
                    (p, p + len)
                };
                let verbatim = bytes.get(from..from + len) == Some(cell)
                    && matches!(bytes.get(next), None | Some(b',' | b'\n' | b'\r'));
                verbatim.then_some((from, next + 1))
            });
            at = found.map(|(_, next)| next);
            self.in_text
                .push(found.map(|(from, _)| (from, from + cell.len())));
        }
    }

    /// The cells of the record last read: slices of the text where they stand in it verbatim,
    /// else the crate's unescaped copies. Checking a copy as UTF-8 cannot fail: the crate
    /// splits UTF-8 text only at ASCII bytes (`,`, `"`, CR, LF), so every piece is UTF-8 (the
    /// empty fallback is never taken).
    pub fn cells(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        self.record
            .iter()
            .zip(&self.in_text)
            .map(|(cell, place)| match place {
                Some((from, to)) => self.text.get(*from..*to).unwrap_or_default(),
                None => std::str::from_utf8(cell).unwrap_or_default(),
            })
    }

    /// How many cells the record last read has.
    pub fn len(&self) -> usize {
        self.record.len()
    }

    /// True when the record last read has no cells (never after a successful read).
    pub fn is_empty(&self) -> bool {
        self.record.is_empty()
    }
}

/// Line breaks in `bytes[from..to]`: `\n`, `\r\n` and a lone `\r` each count once; a `\r`
/// just before `to` followed by `\n` counts with that `\n`.
fn line_breaks(bytes: &[u8], from: usize, to: usize) -> usize {
    memchr::memchr2_iter(b'\n', b'\r', &bytes[from..to])
        .filter(|&i| bytes[from + i] == b'\n' || bytes.get(from + i + 1) != Some(&b'\n'))
        .count()
}

/// Whether a record read to the end of the text (`record`, from its first byte) leaves a quoted
/// field open, following the quoting rules of `csv`'s default dialect.
fn ends_inside_quotes(record: &[u8]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut i = 0;
    while i < record.len() {
        let b = record[i];
        state = match (state, b) {
            (State::Quoted, _) => {
                // Jump to the next quote: everything before it is data.
                match memchr::memchr(b'"', &record[i..]) {
                    Some(k) => {
                        i += k + 1;
                        state = State::QuoteInQuoted;
                        continue;
                    }
                    None => return true,
                }
            }
            (State::FieldStart, b'"') => State::Quoted,
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (_, b',' | b'\n' | b'\r') => State::FieldStart,
            _ => State::Unquoted,
        };
        i += 1;
    }
    state == State::Quoted
}

/// All records of `text` with their start lines (tests and fuzzing).
pub fn read_all(text: &str) -> Result<Vec<(usize, Vec<String>)>, RecordError> {
    let mut records = Records::new(text);
    let mut out = Vec::new();
    while let Some(line) = records.next_record() {
        out.push((line?, records.cells().map(str::to_owned).collect()));
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
        assert_eq!(rec("\r\r\na\r\rb"), vec![(3, v(&["a"])), (5, v(&["b"]))]);
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
        assert_eq!(
            rec("\"x\r\ny\"\r\n\"p\rq\",z\r\nlast"),
            vec![
                (1, v(&["x\r\ny"])),
                (3, v(&["p\rq", "z"])),
                (5, v(&["last"]))
            ]
        );
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
        assert_eq!(
            read_all("a\r\n\r\nx,\"y\"z,\"open"),
            Err(RecordError::UnclosedQuote { line: 3 })
        );
        // Closed quotes at the very end are fine.
        assert_eq!(rec("a,\"b\"\"\""), vec![(1, v(&["a", "b\""]))]);
        assert_eq!(rec("a,b\"c"), vec![(1, v(&["a", "b\"c"]))]);
    }

    #[test]
    fn lst_3_cells_are_slices_of_the_text_unless_unescaped() {
        let text = "plain,\"quoted\",\"dou\"\"ble\",after,\"x\"y,z\r\n\"\",,\"a\nb\"";
        let mut records = Records::new(text);
        let range = text.as_bytes().as_ptr_range();
        let mut borrowed = Vec::new();
        while let Some(line) = records.next_record() {
            line.unwrap();
            borrowed.extend(
                records
                    .cells()
                    .map(|c| (c.to_owned(), range.contains(&c.as_ptr()) || c.is_empty())),
            );
        }
        let expect = [
            ("plain", true),
            ("quoted", true),
            ("dou\"ble", false),
            // After an unescaped cell the rest of the record comes from the crate.
            ("after", false),
            ("xy", false),
            ("z", false),
            ("", true),
            ("", true),
            ("a\nb", true),
        ];
        assert_eq!(borrowed, expect.map(|(c, b)| (c.to_owned(), b)).to_vec());
    }

    #[test]
    fn lst_3_same_records_lines_and_errors_as_ours_on_every_short_text() {
        // Every text of up to 6 characters over the bytes that matter (the fuzz target does
        // the same with random texts).
        let alphabet = ['a', ',', '"', '\r', '\n'];
        let mut texts = vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = texts
                .iter()
                .filter(|t| t.len() == texts.last().map_or(0, String::len))
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(longer);
        }
        assert!(texts.len() > 19_000);
        for text in &texts {
            assert_eq!(
                read_all(text),
                super::super::records::read_all(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn lst_3_cells_of_a_reused_record() {
        let mut records = Records::new("電話番号,会社名\r\n0312345678,\"山田,商事\"\r\n");
        assert_eq!(records.next_record(), Some(Ok(1)));
        assert_eq!(records.len(), 2);
        assert_eq!(records.next_record(), Some(Ok(2)));
        assert_eq!(
            records.cells().collect::<Vec<_>>(),
            ["0312345678", "山田,商事"]
        );
        assert_eq!(records.next_record(), None);
        assert_eq!(records.next_record(), None);
    }
}
