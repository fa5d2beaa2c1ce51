//! The one place that can forbid a call (DNC-5, MON-3, CMP-2), and the licensed-line counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::CallRequest;

/// Why a call was not placed. Every variant says what to do about it (ERR-1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// DNC-5: the number is registered as do-not-call for this campaign.
    #[error("{number} is on the do-not-call list ({scope}); it cannot be dialled")]
    DoNotCall { number: String, scope: String },
    /// MON-3: every licensed line is busy (first come, first served).
    #[error("all {limit} licensed lines are in use; wait for a call to end or raise the licence")]
    LinesExhausted { limit: u32 },
    /// CMP-2 / CALL-9: no caller number to present.
    #[error("no caller number is set for this call; set the campaign's main number first")]
    NoCallerNumber,
    /// The operator's softphone is not registered.
    #[error("user {user} has no registered phone; start the softphone and sign in to SIP")]
    OperatorNotRegistered { user: String },
    /// CALL-7: ring time outside 10–45 s.
    #[error("ring time {seconds} s is outside 10–45 s")]
    RingTimeOutOfRange { seconds: u64 },
    /// The number cannot be dialled (empty or not digits).
    #[error("{number:?} is not a dialable number (digits, optionally a leading +)")]
    BadNumber { number: String },
    /// Another rule of the api refused the call; `rule` names the spec rule.
    #[error("{rule}: {message}")]
    Policy { rule: String, message: String },
}

/// Implemented by the api: decides whether a call may be placed (DNC, caller numbers, the
/// tenant's licensed lines, any tenant policy). Every dialling path calls it through
/// [`super::CallControl::place_call`].
pub trait CallGate: Send + Sync {
    /// `Ok` with what the call holds while it lasts (such as one of the tenant's licensed
    /// lines, [`Admission::holding`]); it is dropped when the call ends.
    fn check(&self, request: &CallRequest) -> Result<Admission, Refusal>;
}

/// A call the gate let through, with whatever the gate wants held until the call ends.
#[derive(Default)]
pub struct Admission {
    _held: Option<Box<dyn Send + Sync>>,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("holds", &self._held.is_some())
            .finish()
    }
}

impl Admission {
    /// Allowed, holding nothing.
    pub fn allowed() -> Self {
        Admission { _held: None }
    }

    /// Allowed; `held` is kept until the call ends (then dropped).
    pub fn holding(held: impl Send + Sync + 'static) -> Self {
        Admission {
            _held: Some(Box::new(held)),
        }
    }
}

/// A gate that allows everything (tests, the demo without an api).
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl CallGate for AllowAll {
    fn check(&self, _: &CallRequest) -> Result<Admission, Refusal> {
        Ok(Admission::allowed())
    }
}

/// Licensed concurrent lines (MON-3): first come, first served; a line is held by a
/// [`LineGuard`] and returned when the guard drops.
#[derive(Debug, Clone)]
pub struct LineLicences {
    inner: Arc<Lines>,
}

#[derive(Debug)]
struct Lines {
    limit: AtomicU32,
    in_use: AtomicU32,
}

/// One line in use; dropping it frees the line.
#[derive(Debug)]
pub struct LineGuard {
    inner: Arc<Lines>,
}

impl Drop for LineGuard {
    fn drop(&mut self) {
        self.inner.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

impl LineLicences {
    pub fn new(limit: u32) -> Self {
        LineLicences {
            inner: Arc::new(Lines {
                limit: AtomicU32::new(limit),
                in_use: AtomicU32::new(0),
            }),
        }
    }

    pub fn limit(&self) -> u32 {
        self.inner.limit.load(Ordering::Acquire)
    }

    /// Change the licence; calls in progress keep their lines.
    pub fn set_limit(&self, limit: u32) {
        self.inner.limit.store(limit, Ordering::Release);
    }

    pub fn in_use(&self) -> u32 {
        self.inner.in_use.load(Ordering::Acquire)
    }

    /// Take a line, or refuse naming the limit.
    pub fn try_acquire(&self) -> Result<LineGuard, Refusal> {
        let mut cur = self.inner.in_use.load(Ordering::Acquire);
        loop {
            let limit = self.limit();
            if cur >= limit {
                return Err(Refusal::LinesExhausted { limit });
            }
            match self.inner.in_use.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Ok(LineGuard {
                        inner: self.inner.clone(),
                    });
                }
                Err(now) => cur = now,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mon_3_lines_first_come_first_served_and_refusal_names_the_limit() {
        let lines = LineLicences::new(2);
        let a = lines.try_acquire().unwrap();
        let _b = lines.try_acquire().unwrap();
        let err = lines.try_acquire().unwrap_err();
        assert_eq!(err, Refusal::LinesExhausted { limit: 2 });
        assert!(err.to_string().contains("all 2 licensed lines"));
        drop(a);
        assert_eq!(lines.in_use(), 1);
        let _c = lines.try_acquire().unwrap();
        lines.set_limit(1);
        assert!(lines.try_acquire().is_err());
    }

    #[test]
    fn mon_3_concurrent_takers_never_exceed_the_limit() {
        let lines = LineLicences::new(5);
        let granted = std::sync::Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let lines = lines.clone();
                let granted = granted.clone();
                std::thread::spawn(move || {
                    if let Ok(g) = lines.try_acquire() {
                        granted.fetch_add(1, Ordering::SeqCst);
                        std::mem::forget(g);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(granted.load(Ordering::SeqCst), 5);
        assert_eq!(lines.in_use(), 5);
    }
}
