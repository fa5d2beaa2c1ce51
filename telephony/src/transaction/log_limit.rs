//! Logging that a flood cannot amplify (issue 17 item 8): a warning about what one source
//! sent (an unparseable datagram, a message without a branch) is written at most once per
//! source address per [`LOG_INTERVAL`]; the rest are only counted (in [`super::EndpointStats`],
//! which the api exposes in /metrics). The table is bounded: when it holds [`MAX_SOURCES`]
//! sources, those not heard from for an interval are forgotten, and if that frees nothing, new
//! sources are counted silently until it does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::sync::lock;
use tokio::time::Instant;

/// At most one warning per source in this interval.
pub const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Sources remembered at most.
pub const MAX_SOURCES: usize = 4096;

/// When each source was last logged.
#[derive(Debug, Default)]
pub struct LogLimit {
    last: Mutex<HashMap<IpAddr, Instant>>,
}

impl LogLimit {
    /// Whether a warning about `source` may be written now (and if so, note it).
    pub fn allow(&self, source: IpAddr) -> bool {
        let now = Instant::now();
        let mut last = lock(&self.last);
        if let Some(t) = last.get_mut(&source) {
            if now - *t < LOG_INTERVAL {
                return false;
            }
            *t = now;
            return true;
        }
        if last.len() >= MAX_SOURCES {
            last.retain(|_, t| now - *t < LOG_INTERVAL);
            if last.len() >= MAX_SOURCES {
                return false;
            }
        }
        last.insert(source, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tel_17_8_one_line_per_source_per_minute_and_a_bounded_table() {
        let l = LogLimit::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.allow(a));
        assert!(!l.allow(a));
        assert!(l.allow(b));
        tokio::time::advance(LOG_INTERVAL - Duration::from_millis(1)).await;
        assert!(!l.allow(a));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(l.allow(a));
        for i in 0..MAX_SOURCES as u32 {
            l.allow(IpAddr::from(i.to_be_bytes()));
        }
        assert!(lock(&l.last).len() <= MAX_SOURCES);
    }
}
