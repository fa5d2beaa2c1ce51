//! Digest challenge and credentials parsing must never panic.
#![no_main]

use kaden_telephony::auth::{Challenge, Credentials};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = Challenge::parse(s) {
            let _ = Challenge::parse(&c.to_header());
        }
        if let Ok(c) = Credentials::parse(s) {
            let _ = c.verify("00", "REGISTER");
        }
    }
});
