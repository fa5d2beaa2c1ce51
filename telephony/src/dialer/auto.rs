//! Auto-call (CALL-7): dial the next customer, ring for 10–45 s; no answer → the call ends,
//! is reported (the api saves it as 不通) and the next customer is dialled. A connected call
//! stops the run: the operator talks and saves, then starts the next.

use std::time::Duration;

use super::{CallControl, CallRequest, CallSummary, Refusal};

/// A ring time inside CALL-7's 10–45 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingTime(Duration);

impl RingTime {
    pub const MIN: Duration = Duration::from_secs(10);
    pub const MAX: Duration = Duration::from_secs(45);

    pub fn new(d: Duration) -> Result<RingTime, Refusal> {
        if d < Self::MIN || d > Self::MAX {
            return Err(Refusal::RingTimeOutOfRange {
                seconds: d.as_secs(),
            });
        }
        Ok(RingTime(d))
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

/// Supplies the next customer to dial (the api walks the call-data search, CALL-2a).
pub trait NextCustomer: Send {
    /// The next call to place, or `None` when the list is done.
    fn next_call(&mut self) -> Option<CallRequest>;
    /// Told when a customer was passed over because the call was refused (DNC…).
    fn passed_over(&mut self, request: &CallRequest, refusal: &Refusal);
}

/// Why an auto-call run stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum AutoStop {
    /// A customer answered: the operator is talking (the summary is of that call, ended).
    Connected(CallSummary),
    /// No more customers.
    Exhausted,
    /// A refusal that concerns the operator, not the customer (lines, phone not
    /// registered): stop rather than skip everyone.
    Refused(Refusal),
    /// The operator's phone did not answer.
    OperatorUnavailable(CallSummary),
}

/// Run auto-call until a customer answers, the list ends or a call cannot be placed.
/// Every unanswered call is reported through the normal call events.
pub async fn run(cc: &CallControl, ring: RingTime, source: &mut dyn NextCustomer) -> AutoStop {
    loop {
        let Some(mut req) = source.next_call() else {
            return AutoStop::Exhausted;
        };
        req.ring_timeout = ring.get();
        let handle = match cc.place_call(req.clone()) {
            Ok(h) => h,
            Err(
                r @ (Refusal::LinesExhausted { .. }
                | Refusal::OperatorNotRegistered { .. }
                | Refusal::NoCallerNumber),
            ) => {
                return AutoStop::Refused(r);
            }
            Err(r) => {
                source.passed_over(&req, &r);
                continue;
            }
        };
        let summary = handle.finished().await;
        if summary.answered {
            return AutoStop::Connected(summary);
        }
        if let Some((_, _, super::Outcome::OperatorUnavailable | super::Outcome::Cancelled)) =
            summary.failure
        {
            return AutoStop::OperatorUnavailable(summary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_7_ring_time_is_10_to_45_seconds() {
        assert!(RingTime::new(Duration::from_secs(10)).is_ok());
        assert!(RingTime::new(Duration::from_secs(45)).is_ok());
        assert_eq!(
            RingTime::new(Duration::from_secs(9)),
            Err(Refusal::RingTimeOutOfRange { seconds: 9 })
        );
        assert!(RingTime::new(Duration::from_secs(46)).is_err());
    }
}
