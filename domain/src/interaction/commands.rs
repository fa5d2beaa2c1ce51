//! The commands of one interaction (a call and its result).

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InteractionCommand {
    /// Telephony accepted the call.
    Place {
        tenant_id: TenantId,
        target: CallTarget,
    },
    /// Telephony (or the api before it) refused the call: recorded, never dialled.
    Refuse {
        tenant_id: TenantId,
        target: CallTarget,
        code: String,
        reason: String,
    },
    OperatorConnected,
    Ring {
        code: u16,
    },
    Answer,
    Fail {
        code: u16,
        reason: String,
        outcome: CallOutcome,
    },
    End {
        talk_ms: u64,
        ended_by: EndedBy,
        fax_tone: bool,
    },
    StoreRecording {
        file: String,
        duration_ms: u64,
        bytes: u64,
    },
    RecordingFailed {
        error: String,
    },
    /// CALL-6. `by`: the saving user and whether they may edit every user's rows (USR-6
    /// "edit an interaction's result": MGR all, others own); `None` for the system.
    /// `statuses`: the campaign's statuses, looked up by the caller.
    SaveResult {
        tenant_id: TenantId,
        by: Option<(u64, bool)>,
        status: String,
        memo: Option<String>,
        statuses: Vec<String>,
    },
}
