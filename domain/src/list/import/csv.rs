//! CSV uploads: records from the decoded text into the [`Builder`].

use super::*;

pub(super) fn read_csv(text: &str, builder: &mut Builder<'_>) {
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
