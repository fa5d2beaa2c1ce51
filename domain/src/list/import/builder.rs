//! Collects the header and rows from any source (CSV, `.xlsx`, rows typed by hand) and applies
//! the header, row and limit rules.

use super::*;

/// Collects header and rows from any source and applies the rules.
pub(super) struct Builder<'r> {
    pub(super) rules: &'r ImportRules<'r>,
    pub(super) header_seen: bool,
    pub(super) columns: Vec<String>,
    pub(super) phone_column: Option<usize>,
    /// Address and length of the text cells may be slices of (see [`ParsedList`]).
    pub(super) source: (usize, usize),
    pub(super) extra: String,
    pub(super) spans: Vec<[u32; 2]>,
    pub(super) lines: Vec<usize>,
    pub(super) phones: Vec<PhoneNumber>,
    pub(super) rows: usize,
    pub(super) blank_rows: usize,
    pub(super) first_blank_line: usize,
    /// Header and other whole-file errors.
    pub(super) file_errors: Vec<ImportError>,
    pub(super) row_errors: Vec<ImportError>,
    pub(super) warnings: Vec<ImportWarning>,
}

impl<'r> Builder<'r> {
    pub(super) fn new(rules: &'r ImportRules<'r>) -> Self {
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

    pub(super) fn header<'c>(&mut self, cells: impl Iterator<Item = &'c str>, len: usize) {
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

    pub(super) fn row<'c>(
        &mut self,
        line: usize,
        cells: impl Iterator<Item = &'c str> + Clone,
        len: usize,
    ) {
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
        let mut too_long = false;
        for (i, cell) in cells.clone().enumerate() {
            // Counting characters stops early: a cell only needs to be known over the bound.
            let chars = cell.chars().take(MAX_CELL_CHARS + 1).count();
            if chars > MAX_CELL_CHARS {
                self.row_errors.push(ImportError::CellTooLong {
                    line,
                    column: i + 1,
                    chars: cell.chars().count(),
                });
                too_long = true;
            }
        }
        if too_long {
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
    pub(super) fn finish(
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

pub(super) fn looks_like_phone_header(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.contains("電話")
        || lower.contains("tel")
        || lower.contains("phone")
        || name.contains("ＴＥＬ")
}
