use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{CallOutcome, CallTarget, EndedBy};

/// Facts about one interaction (one press of Call). Stored names never change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InteractionEvent {
    /// The call passed every check (DNC-5, MON-3, CMP-2) and is being placed: the operator's
    /// phone rings first. A call in CNT terms from here on.
    CallPlaced {
        tenant_id: String,
        target: CallTarget,
    },
    /// The call was refused before dialling (DNC-5: "refused with a clear reason and
    /// recorded"). Not a call, not work (LST-9).
    CallRefused {
        tenant_id: String,
        target: CallTarget,
        /// Stable code of the refusal (`DO_NOT_CALL`, `LINES_EXHAUSTED`, …).
        code: String,
        reason: String,
    },
    /// The operator's phone answered; the customer is being dialled.
    OperatorConnected,
    /// The customer's side rings (180), or plays early media (183, e.g. an announcement).
    CustomerRinging { code: u16 },
    /// The customer answered: talk (and recording, REC-1) starts.
    CallAnswered,
    /// The call ended without the customer answering.
    CallFailed {
        code: u16,
        reason: String,
        outcome: CallOutcome,
        /// The status the cause suggests to the save form (不通, 現アナ, FAX).
        suggested_status: String,
    },
    /// A connected call ended. Carries its results (talk time), so readers never recompute.
    CallEnded {
        talk_ms: u64,
        talk_seconds: u64,
        ended_by: EndedBy,
        /// What the audio suggested (FAX for a fax tone), if anything.
        suggested_status: Option<String>,
    },
    /// The answered call's recording is stored (REC-1): `file` is relative to the
    /// recordings folder.
    RecordingStored {
        file: String,
        duration_ms: u64,
        bytes: u64,
    },
    /// The recorder could not write the file.
    RecordingFailed { error: String },
    /// CALL-6: a save; a later save before the next call overwrites the status while the memo
    /// is joined to the earlier ones. `user_id` is `None` for the system (CALL-7: an
    /// unanswered auto-call is saved as 不通).
    ResultSaved {
        status: String,
        memo: Option<String>,
        user_id: Option<u64>,
    },
    /// REC-1: the saved status (不通) drops the recording; the file is deleted.
    RecordingDropped { file: String },
}

impl DomainEvent for InteractionEvent {
    fn event_type(&self) -> String {
        match self {
            Self::CallPlaced { .. } => "CallPlaced",
            Self::CallRefused { .. } => "CallRefused",
            Self::OperatorConnected => "OperatorConnected",
            Self::CustomerRinging { .. } => "CustomerRinging",
            Self::CallAnswered => "CallAnswered",
            Self::CallFailed { .. } => "CallFailed",
            Self::CallEnded { .. } => "CallEnded",
            Self::RecordingStored { .. } => "RecordingStored",
            Self::RecordingFailed { .. } => "RecordingFailed",
            Self::ResultSaved { .. } => "ResultSaved",
            Self::RecordingDropped { .. } => "RecordingDropped",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
