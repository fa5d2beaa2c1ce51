//! Latency probe for benchmarks: a sender stamps an RTP payload with a magic marker and the
//! time since a process-wide epoch; a receiver in the same process reads how long the packet
//! took. The relay passes payloads through unchanged when both legs use the same codec, so the
//! stamp survives the trip through Kaden.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

const MAGIC: &[u8; 4] = b"KDNp";

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Write the marker and the current time into the first 12 bytes (if the payload is long
/// enough).
pub fn stamp(payload: &mut [u8]) {
    if payload.len() >= 12 {
        let nanos = epoch().elapsed().as_nanos() as u64;
        payload[..4].copy_from_slice(MAGIC);
        payload[4..12].copy_from_slice(&nanos.to_be_bytes());
    }
}

/// Time since the payload was stamped, if it carries a stamp.
pub fn age(payload: &[u8]) -> Option<Duration> {
    if payload.len() < 12 || &payload[..4] != MAGIC {
        return None;
    }
    let sent = u64::from_be_bytes(payload[4..12].try_into().ok()?);
    let now = epoch().elapsed().as_nanos() as u64;
    Some(Duration::from_nanos(now.saturating_sub(sent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_payload_reports_its_age() {
        let mut p = [0xFFu8; 160];
        stamp(&mut p);
        std::thread::sleep(Duration::from_millis(2));
        let a = age(&p).unwrap();
        assert!(
            a >= Duration::from_millis(2) && a < Duration::from_secs(1),
            "{a:?}"
        );
        assert!(age(&[0xFF; 160]).is_none());
        assert!(age(&[0; 4]).is_none());
    }
}
