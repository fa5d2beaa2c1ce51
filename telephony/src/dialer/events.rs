//! Call events for the api, and the outcome suggested from a SIP cause.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::gate::Refusal;

/// The status a failed or short call suggests to the operator's save form. The api maps
/// these to campaign statuses (CNT table): all of them except `NotInService` and `Fax`
/// are 不通 (no connect, no recording); `NotInService` is 現アナ, `Fax` is FAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ring time ran out or 408/480 (CALL-7: saved as 不通).
    NoAnswer,
    /// 486/600.
    Busy,
    /// 404/410/484/604, or a "not in service" announcement (現アナ).
    NotInService,
    /// 403/603: refused by the network or the callee.
    Rejected,
    /// 5xx / transport failure: the network could not place the call.
    NetworkError,
    /// Hung up by the operator before the customer answered.
    Cancelled,
    /// The operator's phone did not answer or refused.
    OperatorUnavailable,
    /// A fax answered.
    Fax,
}

impl Outcome {
    /// Suggest an outcome from a final SIP status of the customer leg.
    pub fn from_sip(code: u16) -> Outcome {
        match code {
            486 | 600 => Outcome::Busy,
            404 | 410 | 484 | 604 => Outcome::NotInService,
            403 | 603 => Outcome::Rejected,
            408 | 480 => Outcome::NoAnswer,
            487 => Outcome::Cancelled,
            500..=599 => Outcome::NetworkError,
            _ => Outcome::Rejected,
        }
    }
}

/// Which side ended a connected call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Operator,
    Customer,
    /// The api asked (hang-up button, shutdown).
    Kaden,
}

/// What happened to a call, in order: `Placed`, then `OperatorAnswered`, `Ringing`*,
/// then either `Failed`, or `Answered` … `Ended` (+ `RecordingStored`).
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    Placed {
        call_ref: String,
        number: String,
        caller_number: String,
        at: SystemTime,
    },
    Refused {
        call_ref: String,
        refusal: Refusal,
    },
    OperatorAnswered {
        call_ref: String,
    },
    Ringing {
        call_ref: String,
        /// 180, or 183 (early media: an announcement may be playing).
        code: u16,
    },
    Answered {
        call_ref: String,
        at: SystemTime,
    },
    Failed {
        call_ref: String,
        /// SIP status of the failing leg (408 also for our ring timeout).
        code: u16,
        reason: String,
        outcome: Outcome,
    },
    Ended {
        call_ref: String,
        talk: Duration,
        talk_seconds: u64,
        ended_by: Side,
        /// What the audio suggests the status is (a fax tone → `Fax`), if anything.
        suggested: Option<Outcome>,
    },
    RecordingStored {
        call_ref: String,
        path: PathBuf,
        duration: Duration,
    },
    RecordingFailed {
        call_ref: String,
        error: String,
    },
}

impl CallEvent {
    pub fn call_ref(&self) -> &str {
        match self {
            CallEvent::Placed { call_ref, .. }
            | CallEvent::Refused { call_ref, .. }
            | CallEvent::OperatorAnswered { call_ref }
            | CallEvent::Ringing { call_ref, .. }
            | CallEvent::Answered { call_ref, .. }
            | CallEvent::Failed { call_ref, .. }
            | CallEvent::Ended { call_ref, .. }
            | CallEvent::RecordingStored { call_ref, .. }
            | CallEvent::RecordingFailed { call_ref, .. } => call_ref,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_causes_map_to_outcomes() {
        assert_eq!(Outcome::from_sip(486), Outcome::Busy);
        assert_eq!(Outcome::from_sip(404), Outcome::NotInService);
        assert_eq!(Outcome::from_sip(480), Outcome::NoAnswer);
        assert_eq!(Outcome::from_sip(503), Outcome::NetworkError);
        assert_eq!(Outcome::from_sip(603), Outcome::Rejected);
    }
}
