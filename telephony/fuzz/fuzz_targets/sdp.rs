//! SDP parsing and offer/answer must never panic.
#![no_main]

use kaden_telephony::sdp::{Codec, Sdp, accept_answer, answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sdp) = Sdp::parse(data) {
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        if let Ok((body, _)) = answer(&sdp, ip, 4000, &[Codec::Pcmu, Codec::Pcma], 1) {
            let back = Sdp::parse(body.as_bytes()).expect("our answer parses");
            accept_answer(&back, &[Codec::Pcmu, Codec::Pcma]).expect("our answer is acceptable");
        }
        let _ = accept_answer(&sdp, &[Codec::Pcmu]);
    }
});
