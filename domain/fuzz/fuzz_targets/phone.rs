//! Fuzzes LST-3 phone normalisation: never panics, and what it accepts is a fixed point.
//!
//! Run (from `domain/fuzz`, stable toolchain):
//!   RUSTC_BOOTSTRAP=1 cargo fuzz run phone -- -max_total_time=60
#![no_main]

use kaden_domain::list::phone::{PhoneNumber, normalise};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(n) = normalise(raw) {
        let digits = n.number.as_str();
        assert!(
            digits.len() == 10 || digits.len() == 11,
            "{raw:?} -> {digits}"
        );
        assert!(digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()));
        let again = normalise(digits).expect("a normalised number normalises");
        assert_eq!(again.number, n.number);
        assert!(again.warnings.is_empty());
        assert_eq!(
            PhoneNumber::from_normalised(digits).expect("from_normalised accepts it"),
            n.number
        );
    }
});
