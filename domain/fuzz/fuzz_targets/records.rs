//! Differential fuzzing of the CSV record reader (`list::records`) against the `csv` crate with
//! its default dialect: the same cells for every text the reader accepts; and against
//! `list::records_csv` (the crate plus our lines and unclosed-quote error): the same records,
//! lines and errors for every text.
//!
//! Run (from `domain/fuzz`, stable toolchain):
//!   RUSTC_BOOTSTRAP=1 cargo fuzz run records corpus/records seeds/import -- -max_total_time=60
#![no_main]

use kaden_domain::list::records::read_all;
use kaden_domain::list::records_csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The csv crate strips a leading BOM itself; decoding has already removed it here.
    if text.starts_with('\u{FEFF}') {
        return;
    }
    let ours = read_all(text);
    assert_eq!(records_csv::read_all(text), ours, "text: {text:?}");
    let Ok(ours) = ours else { return };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let theirs: Vec<Vec<String>> = reader
        .records()
        .map(|r| {
            r.expect("valid UTF-8 from a slice")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    let ours: Vec<Vec<String>> = ours.into_iter().map(|(_, cells)| cells).collect();
    assert_eq!(ours, theirs, "text: {text:?}");
});
