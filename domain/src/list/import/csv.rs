//! CSV uploads: records from the decoded text ([`Records`], the `csv` crate) into the
//! [`Builder`].

use super::*;

pub(super) fn read_csv(text: &str, builder: &mut Builder<'_>) {
    let mut records = Records::new(text);
    let mut header_seen = false;
    while let Some(next) = records.next_record() {
        match next {
            Ok(line) if header_seen => builder.row(line, records.cells(), records.len()),
            Ok(_) => {
                header_seen = true;
                builder.header(records.cells(), records.len());
            }
            Err(RecordError::UnclosedQuote { line }) => {
                builder
                    .file_errors
                    .push(ImportError::UnclosedQuote { line });
            }
        }
    }
}
