//! The interaction (対応履歴): one press of Call (CALL-6), its call as telephony reports it,
//! and its saved result. Aggregate id: `"{tenant}:{interaction id}"` (a UUIDv7).
//!
//! The api writes `Place` (or `Refuse`) when telephony accepted (or refused) the call, then one
//! command per call event in the order telephony reports them: the operator's phone answered,
//! the customer rings, answers, the call ends with its talk time, the recording is stored.
//! `SaveResult` records the status and memo (CALL-6); saving 不通 drops the recording (REC-1,
//! CNT table), and an unanswered auto-call is saved as 不通 by the system (CALL-7).

mod error;
mod events;

pub use error::InteractionError;
pub use events::InteractionEvent;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::metadata::TenantId;

/// The status that drops the recording and counts no connect (CNT table).
pub const NO_ANSWER_STATUS: &str = "不通";
/// Longest memo one save may add.
pub const MAX_MEMO_CHARS: usize = 2_000;

/// The aggregate id of interaction `id` of `tenant`.
pub fn interaction_aggregate_id(tenant: &str, id: &str) -> String {
    crate::aggregate_ref::AggregateRef::new(tenant, id).to_string()
}

/// How the call was started (CALL-2a/CALL-5, CALL-7). More paths (recall, predictive) add
/// variants; every one goes through the same gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DialMode {
    /// The Call button on a customer's call screen.
    List,
    /// Auto-call (CALL-7).
    Auto,
}

/// Whom the call is to, for whom, from which number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTarget {
    /// `FFF-CCC` (LST-7).
    pub customer_id: String,
    pub folder: u32,
    pub customer: u32,
    pub campaign_id: String,
    /// The number dialled (national digits).
    pub number: String,
    /// The caller number shown (CALL-9).
    pub caller_number: String,
    /// The operator whose phone rings first.
    pub user_id: u64,
    pub mode: DialMode,
}

/// Why a call was not answered, from the SIP cause (the telephony layer decides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallOutcome {
    NoAnswer,
    Busy,
    NotInService,
    Rejected,
    NetworkError,
    Cancelled,
    OperatorUnavailable,
    Fax,
}

impl CallOutcome {
    /// The status this outcome suggests (CNT table): 現アナ for a not-in-service number, FAX
    /// for a fax, 不通 for every other failure.
    pub fn suggested_status(self) -> &'static str {
        match self {
            Self::NotInService => "現アナ",
            Self::Fax => "FAX",
            _ => NO_ANSWER_STATUS,
        }
    }

    /// Japanese label for the call-state area.
    pub fn label(self) -> &'static str {
        match self {
            Self::NoAnswer => "応答なし",
            Self::Busy => "話し中",
            Self::NotInService => "現在使われておりません",
            Self::Rejected => "着信拒否",
            Self::NetworkError => "回線エラー",
            Self::Cancelled => "発信取消",
            Self::OperatorUnavailable => "オペレータ電話が応答しません",
            Self::Fax => "FAX",
        }
    }
}

/// Who ended a connected call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndedBy {
    Operator,
    Customer,
    /// Kaden (the hang-up button, shutdown).
    Kaden,
}

/// Where the call is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallState {
    #[default]
    New,
    Refused,
    /// The operator's phone rings, then the customer is dialled.
    Dialling,
    Ringing,
    Talking,
    Ended,
    Failed,
}

impl CallState {
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "未発信",
            Self::Refused => "発信拒否",
            Self::Dialling => "発信中",
            Self::Ringing => "呼出中",
            Self::Talking => "通話中",
            Self::Ended => "通話終了",
            Self::Failed => "不通",
        }
    }
}

/// What an interaction's decisions need to remember.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    tenant_id: Option<TenantId>,
    state: CallState,
    user_id: u64,
    refused_code: Option<String>,
    recording: Option<String>,
    status: Option<String>,
}

impl Interaction {
    pub fn state(&self) -> CallState {
        self.state
    }

    fn owned_by(&self, tenant: &str) -> Result<(), InteractionError> {
        match &self.tenant_id {
            Some(t) if t == tenant => Ok(()),
            _ => Err(InteractionError::NotFound),
        }
    }

    fn expect(&self, allowed: &[CallState], what: &'static str) -> Result<(), InteractionError> {
        if self.state == CallState::New {
            return Err(InteractionError::NotFound);
        }
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(InteractionError::WrongState {
                state: self.state.label(),
                what,
            })
        }
    }
}

impl Aggregate for Interaction {
    const TYPE: &'static str = "Interaction";
    type Command = InteractionCommand;
    type Event = InteractionEvent;
    type Error = InteractionError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        use CallState::*;
        let event = match command {
            InteractionCommand::Place { tenant_id, target } => {
                if self.state != New {
                    return Err(InteractionError::AlreadyExists);
                }
                InteractionEvent::CallPlaced { tenant_id, target }
            }
            InteractionCommand::Refuse {
                tenant_id,
                target,
                code,
                reason,
            } => {
                if self.state != New {
                    return Err(InteractionError::AlreadyExists);
                }
                InteractionEvent::CallRefused {
                    tenant_id,
                    target,
                    code,
                    reason,
                }
            }
            InteractionCommand::OperatorConnected => {
                self.expect(&[Dialling], "オペレータ接続")?;
                InteractionEvent::OperatorConnected
            }
            InteractionCommand::Ring { code } => {
                self.expect(&[Dialling, Ringing], "呼出")?;
                InteractionEvent::CustomerRinging { code }
            }
            InteractionCommand::Answer => {
                self.expect(&[Dialling, Ringing], "応答")?;
                InteractionEvent::CallAnswered
            }
            InteractionCommand::Fail {
                code,
                reason,
                outcome,
            } => {
                self.expect(&[Dialling, Ringing], "不通の記録")?;
                InteractionEvent::CallFailed {
                    code,
                    reason,
                    outcome,
                    suggested_status: outcome.suggested_status().to_string(),
                }
            }
            InteractionCommand::End {
                talk_ms,
                ended_by,
                fax_tone,
            } => {
                self.expect(&[Talking], "通話終了")?;
                InteractionEvent::CallEnded {
                    talk_ms,
                    talk_seconds: talk_ms / 1_000,
                    ended_by,
                    suggested_status: fax_tone.then(|| CallOutcome::Fax.suggested_status().into()),
                }
            }
            InteractionCommand::StoreRecording {
                file,
                duration_ms,
                bytes,
            } => {
                self.expect(&[Talking, Ended], "録音の保存")?;
                let stored = InteractionEvent::RecordingStored {
                    file: file.clone(),
                    duration_ms,
                    bytes,
                };
                sink.write(stored, self).await;
                // Saved as 不通 while the call was still talking: the file goes at once.
                if self.status.as_deref() == Some(NO_ANSWER_STATUS) {
                    InteractionEvent::RecordingDropped { file }
                } else {
                    return Ok(());
                }
            }
            InteractionCommand::RecordingFailed { error } => {
                self.expect(&[Talking, Ended], "録音エラーの記録")?;
                InteractionEvent::RecordingFailed { error }
            }
            InteractionCommand::SaveResult {
                tenant_id,
                by,
                status,
                memo,
                statuses,
            } => {
                if self.state == New {
                    return Err(InteractionError::NotFound);
                }
                self.owned_by(&tenant_id)?;
                if let Some(code) = &self.refused_code {
                    return Err(InteractionError::WasRefused { code: code.clone() });
                }
                if let Some((user, edit_all)) = by
                    && user != self.user_id
                    && !edit_all
                {
                    return Err(InteractionError::NotYours {
                        holder: self.user_id,
                    });
                }
                if !statuses.contains(&status) {
                    return Err(InteractionError::UnknownStatus {
                        status,
                        allowed: statuses.join("・"),
                    });
                }
                let memo = memo.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
                if let Some(len) = memo
                    .as_ref()
                    .map(|m| m.chars().count())
                    .filter(|l| *l > MAX_MEMO_CHARS)
                {
                    return Err(InteractionError::MemoTooLong {
                        len,
                        max: MAX_MEMO_CHARS,
                    });
                }
                let drops = status == NO_ANSWER_STATUS;
                sink.write(
                    InteractionEvent::ResultSaved {
                        status,
                        memo,
                        user_id: by.map(|(u, _)| u),
                    },
                    self,
                )
                .await;
                match self.recording.clone() {
                    Some(file) if drops => InteractionEvent::RecordingDropped { file },
                    _ => return Ok(()),
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use CallState::*;
        match event {
            InteractionEvent::CallPlaced { tenant_id, target } => {
                self.tenant_id = Some(tenant_id);
                self.user_id = target.user_id;
                self.state = Dialling;
            }
            InteractionEvent::CallRefused {
                tenant_id,
                target,
                code,
                ..
            } => {
                self.tenant_id = Some(tenant_id);
                self.user_id = target.user_id;
                self.refused_code = Some(code);
                self.state = Refused;
            }
            InteractionEvent::OperatorConnected => {}
            InteractionEvent::CustomerRinging { .. } => self.state = Ringing,
            InteractionEvent::CallAnswered => self.state = Talking,
            InteractionEvent::CallFailed { .. } => self.state = Failed,
            InteractionEvent::CallEnded { .. } => self.state = Ended,
            InteractionEvent::RecordingStored { file, .. } => self.recording = Some(file),
            InteractionEvent::RecordingFailed { .. } => {}
            InteractionEvent::ResultSaved { status, .. } => self.status = Some(status),
            InteractionEvent::RecordingDropped { .. } => self.recording = None,
        }
    }
}

mod commands;
#[cfg(test)]
mod tests;
pub use commands::*;
