//! `.xlsx` uploads: the first sheet through calamine, after the zip directory and the
//! shared-string count are checked against Kaden's bounds (a small file cannot make the server
//! allocate gigabytes).

use super::*;

/// Checks the zip directory before calamine reads it: declared sizes bound what decompression
/// may produce (the zip reader enforces them), and the shared-string count bounds an allocation
/// calamine makes up front.
pub(super) fn check_xlsx_bounds(bytes: &[u8]) -> Result<(), ImportError> {
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
pub(super) fn shared_string_count<R: std::io::BufRead>(reader: R) -> Option<u64> {
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
pub(super) fn largest_count_attr(tag: &[u8], name: &[u8]) -> Option<u64> {
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

pub(super) fn read_xlsx(bytes: &[u8], builder: &mut Builder<'_>) -> Result<(), ImportError> {
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
pub(super) const EXCEL_MAX_SERIAL: f64 = 2_958_466.0;

/// The text a cell shows, close to Excel's default display: whole numbers without `.0`
/// (phone numbers typed as numbers), dates as `YYYY/MM/DD[ hh:mm:ss]`, errors as `#N/A` etc.
pub(super) fn cell_text(value: &DataRef<'_>) -> String {
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
