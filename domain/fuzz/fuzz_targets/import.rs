//! Fuzzes the list upload path (decode → CSV or .xlsx → header and row rules → phone
//! normalisation), the do-not-call upload and the export round trip: never panics, accepted
//! lists are well formed, and exporting an accepted list then importing it gives the same cells.
//!
//! Run (from `domain/fuzz`, stable toolchain; `seeds/import` holds CSV, Shift_JIS and .xlsx
//! seeds):
//!   RUSTC_BOOTSTRAP=1 cargo fuzz run import corpus/import seeds/import -- -max_total_time=60 -rss_limit_mb=1024
#![no_main]

use kaden_domain::list::export::{CsvExport, ExportEncoding, OnUnmappable, needs_formula_guard};
use kaden_domain::list::import::{
    ImportRules, ImportTarget, ReservedNames, parse_customer_file, parse_dnc_file,
};
use libfuzzer_sys::fuzz_target;

/// libfuzzer-sys aborts on every panic, even one the code under test catches. The import
/// catches panics inside calamine (a known arithmetic overflow on malformed cell references,
/// see `parse_customer_file`) and refuses the file; let those unwind to it, abort on any other.
fn let_calamine_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .location()
                .is_some_and(|l| l.file().contains("/calamine-"))
            {
                fuzzer_hook(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_calamine_panics_unwind();
    let reserved = ReservedNames {
        statuses: vec!["不通".into()],
        attributes: vec!["業種".into()],
    };
    let folder_columns = vec!["電話番号".to_owned(), "名前".to_owned()];
    let _ = parse_dnc_file(data);
    let append = ImportRules {
        reserved: &reserved,
        target: ImportTarget::Append {
            folder_columns: &folder_columns,
            folder_count: 199_999,
        },
    };
    let _ = parse_customer_file(data, &append);

    let rules = ImportRules {
        reserved: &reserved,
        target: ImportTarget::NewFolder,
    };
    let Ok(list) = parse_customer_file(data, &rules) else {
        return;
    };
    let width = list.columns().len();
    assert!(list.columns().iter().any(|c| c == "電話番号"));
    assert!(!list.is_empty());
    for row in list.rows() {
        assert_eq!(row.cells().len(), width);
        assert_eq!(row.cell(list.phone_column()), Some(row.phone.as_str()));
    }

    // Export and import again: the same columns and cells (unless the formula guard changed one).
    let guarded = list.columns().iter().any(|c| needs_formula_guard(c))
        || list.rows().any(|r| r.cells().any(needs_formula_guard));
    if guarded {
        return;
    }
    let mut csv = CsvExport::new(
        Vec::new(),
        ExportEncoding::Utf8Bom,
        OnUnmappable::Refuse,
        list.columns(),
    )
    .expect("UTF-8 export of a header cannot fail");
    for row in list.rows() {
        csv.write_row(row.cells())
            .expect("UTF-8 export of a row cannot fail");
    }
    let (bytes, _) = csv.finish().expect("writing to a Vec cannot fail");
    let again = parse_customer_file(&bytes, &rules).expect("an exported list imports again");
    assert_eq!(again.columns(), list.columns());
    assert_eq!(again.len(), list.len());
    for (a, b) in again.rows().zip(list.rows()) {
        assert!(
            a.cells().eq(b.cells()),
            "{:?} != {:?}",
            a.cells().collect::<Vec<_>>(),
            b.cells().collect::<Vec<_>>()
        );
    }
});
