//! SIP framing, normalisation and rsip validation must never panic; anything refused must be
//! answerable or silently unanswerable, and what parses must survive a round trip.
#![no_main]

use kaden_telephony::transport::{Message, bad_request_answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Message::parse(data) {
        Ok(msg) => {
            let _ = (msg.branch(), msg.cseq(), msg.from_tag(), msg.to_tag(), msg.max_forwards());
            let bytes = msg.to_bytes();
            let again = Message::parse_lenient(&bytes).expect("our own serialisation parses");
            assert_eq!(again.body, msg.body);
            // Serialising adds a Content-Length when the datagram had none.
            let count = |m: &Message| m.headers.iter().filter(|h| h.name != "Content-Length").count();
            assert_eq!(count(&again), count(&msg));
            assert_eq!(again.start, msg.start);
        }
        Err(err) => {
            let _ = bad_request_answer(&err, data).map(|r| r.to_bytes());
        }
    }
});
