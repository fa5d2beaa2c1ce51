//! Per-source budgets for requests that prove nothing (issue 17 item 3).
//!
//! Every new request that is not authenticated — a REGISTER without (or with a failing)
//! digest answer, an OPTIONS, an INVITE from a stranger, a request naming a dialog that does
//! not exist — takes a token from its source address's bucket; a source whose bucket is empty
//! is answered `503 Service Unavailable` with `Retry-After`, statelessly, before any other work.
//! A REGISTER with a valid proof takes no token, so an operator behind the same NAT as a
//! scanner still registers. Buckets refill at `per_second` up to `burst`.
//!
//! The table is bounded ([`MAX_SOURCES`]): when it is full, sources whose bucket has refilled
//! completely (so forgetting them changes nothing) are dropped; if none has, a new source is
//! refused until one does. Spoofed UDP sources can spread a flood over many buckets; larger
//! sites put a SIP proxy in front (docs/telephony.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::sync::lock;
use tokio::time::Instant;

/// Sources tracked at most.
pub const MAX_SOURCES: usize = 65_536;

/// Tokens per source: `burst` at most, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub burst: f64,
    pub per_second: f64,
}

impl Default for Budget {
    /// 100 at once, 50 per second per source address: a NATed office of 100 phones can all
    /// register at once (one challenge each), and one source cannot make Kaden answer more
    /// than 50 unauthenticated requests a second.
    fn default() -> Self {
        Budget {
            burst: 100.0,
            per_second: 50.0,
        }
    }
}

/// The buckets, by source IP.
#[derive(Debug)]
pub struct SourceBudgets {
    budget: Budget,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl SourceBudgets {
    pub fn new(budget: Budget) -> Self {
        SourceBudgets {
            budget,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn level(&self, tokens: f64, since: Instant, now: Instant) -> f64 {
        (tokens + (now - since).as_secs_f64() * self.budget.per_second).min(self.budget.burst)
    }

    /// Take a token for `source`; false if its budget is spent.
    pub fn take(&self, source: IpAddr) -> bool {
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if let Some((tokens, since)) = buckets.get_mut(&source) {
            let level = self.level(*tokens, *since, now);
            *since = now;
            if level < 1.0 {
                *tokens = level;
                return false;
            }
            *tokens = level - 1.0;
            return true;
        }
        if buckets.len() >= MAX_SOURCES {
            let full = self.budget.burst;
            buckets.retain(|_, (t, s)| self.level(*t, *s, now) < full);
            if buckets.len() >= MAX_SOURCES {
                return false;
            }
        }
        buckets.insert(source, (self.budget.burst - 1.0, now));
        true
    }

    /// Sources tracked now (for tests and metrics).
    pub fn sources(&self) -> usize {
        lock(&self.buckets).len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tel_17_3_a_source_gets_its_burst_then_its_rate() {
        let b = SourceBudgets::new(Budget {
            burst: 5.0,
            per_second: 10.0,
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!((0..8).filter(|_| b.take(a)).count(), 5);
        assert!(b.take(other), "budgets are per source");
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(b.take(a));
        assert!(!b.take(a));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            (0..8).filter(|_| b.take(a)).count(),
            5,
            "refilled to the burst only"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tel_17_3_the_table_is_bounded() {
        let b = SourceBudgets::new(Budget::default());
        for i in 0..MAX_SOURCES as u32 {
            assert!(b.take(IpAddr::from(i.to_be_bytes())));
        }
        let late: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(!b.take(late), "full of sources still spending");
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!(b.take(late), "refilled sources are forgotten");
        assert!(b.sources() <= MAX_SOURCES);
    }
}
