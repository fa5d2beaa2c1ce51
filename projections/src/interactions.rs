//! Interactions read model (対応履歴): every call with its live state, talk time, failure
//! cause, recording and saved result, by id, by customer and by operator (the call in
//! progress), for the call screen and its live subscription.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use kaden_domain::event::KadenEvent;
use kaden_domain::interaction::{CallOutcome, CallState, CallTarget, EndedBy, InteractionEvent};
use kaden_domain::metadata::TenantId;
use serde::{Deserialize, Serialize};

use crate::Change;
use crate::log::StoredEvent;

/// A failed call's cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFailure {
    pub code: u16,
    pub reason: String,
    pub outcome: CallOutcome,
}

/// The call's recording (REC-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingView {
    /// Relative to the recordings folder.
    pub file: String,
    pub duration_ms: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionView {
    pub id: String,
    pub target: CallTarget,
    pub state: CallState,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The last provisional code of the customer's side (180, 183).
    pub ringing: Option<u16>,
    pub operator_connected: bool,
    pub talk_ms: u64,
    pub talk_seconds: u64,
    pub ended_by: Option<EndedBy>,
    pub failure: Option<CallFailure>,
    /// (code, reason) of a call refused before dialling (DNC-5, MON-3, CMP-2).
    pub refusal: Option<(String, String)>,
    /// What the call's cause or audio suggests to the save form.
    pub suggested_status: Option<String>,
    pub status: Option<String>,
    /// CALL-6: every save's memo, in order.
    pub memos: Vec<String>,
    pub saved_at: Option<DateTime<Utc>>,
    pub saved_by: Option<u64>,
    pub recording: Option<RecordingView>,
    pub recording_error: Option<String>,
}

impl InteractionView {
    /// A call in CNT terms: placed (refused attempts are not calls).
    pub fn is_call(&self) -> bool {
        self.refusal.is_none()
    }

    /// Still ringing or talking.
    pub fn in_progress(&self) -> bool {
        matches!(
            self.state,
            CallState::Dialling | CallState::Ringing | CallState::Talking
        )
    }

    /// The memos joined, in order (CALL-6).
    pub fn memo(&self) -> String {
        self.memos.join("\n")
    }
}

/// One number for (folder, customer): JSON map keys (the snapshot) must be strings or numbers.
fn customer_key(folder: u32, customer: u32) -> u64 {
    (u64::from(folder) << 32) | u64::from(customer)
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantInteractions {
    /// By id; ids are UUIDv7, so id order is creation order.
    by_id: BTreeMap<String, InteractionView>,
    /// [`customer_key`] → interaction ids, oldest first.
    by_customer: HashMap<u64, Vec<String>>,
    /// Operator → their call in progress.
    live: HashMap<u64, String>,
}

impl TenantInteractions {
    pub fn get(&self, id: &str) -> Option<&InteractionView> {
        self.by_id.get(id)
    }

    /// A customer's interactions, newest first.
    pub fn of_customer(&self, folder: u32, customer: u32) -> Vec<&InteractionView> {
        self.by_customer
            .get(&customer_key(folder, customer))
            .into_iter()
            .flatten()
            .rev()
            .filter_map(|id| self.by_id.get(id))
            .collect()
    }

    /// The operator's call in progress, if any.
    pub fn live_call(&self, user_id: u64) -> Option<&InteractionView> {
        self.by_id.get(self.live.get(&user_id)?)
    }

    /// Calls in progress in the tenant.
    pub fn live_calls(&self) -> usize {
        self.live.len()
    }

    /// The newest interactions (of one user when given), at most `limit`.
    pub fn recent(&self, user: Option<u64>, limit: usize) -> Vec<&InteractionView> {
        self.by_id
            .values()
            .rev()
            .filter(|i| user.is_none_or(|u| i.target.user_id == u))
            .take(limit)
            .collect()
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interactions {
    by_tenant: HashMap<TenantId, TenantInteractions>,
}

impl Interactions {
    pub fn tenant(&self, tenant: &str) -> Option<&TenantInteractions> {
        self.by_tenant.get(tenant)
    }

    pub fn get(&self, tenant: &str, id: &str) -> Option<&InteractionView> {
        self.by_tenant.get(tenant)?.get(id)
    }

    pub fn apply(&mut self, event: &StoredEvent, changes: &mut Vec<Change>) {
        let KadenEvent::Interaction(e) = &event.event else {
            return;
        };
        let tenant_id = &event.metadata.tenant_id;
        let at = event.metadata.recorded_at;
        let Some(id) = event
            .aggregate_id
            .strip_prefix(tenant_id.as_str())
            .and_then(|r| r.strip_prefix(':'))
        else {
            return;
        };
        let t = self.by_tenant.entry(tenant_id.clone()).or_default();
        let new = |target: &CallTarget, state| InteractionView {
            id: id.to_string(),
            target: target.clone(),
            state,
            started_at: at,
            answered_at: None,
            ended_at: None,
            ringing: None,
            operator_connected: false,
            talk_ms: 0,
            talk_seconds: 0,
            ended_by: None,
            failure: None,
            refusal: None,
            suggested_status: None,
            status: None,
            memos: Vec::new(),
            saved_at: None,
            saved_by: None,
            recording: None,
            recording_error: None,
        };
        match e {
            InteractionEvent::CallPlaced { target, .. } => {
                t.by_customer
                    .entry(customer_key(target.folder, target.customer))
                    .or_default()
                    .push(id.to_string());
                t.live.insert(target.user_id, id.to_string());
                t.by_id
                    .insert(id.to_string(), new(target, CallState::Dialling));
            }
            InteractionEvent::CallRefused {
                target,
                code,
                reason,
                ..
            } => {
                let mut v = new(target, CallState::Refused);
                v.refusal = Some((code.clone(), reason.clone()));
                v.ended_at = Some(at);
                t.by_id.insert(id.to_string(), v);
            }
            other => {
                let Some(v) = t.by_id.get_mut(id) else {
                    return;
                };
                match other {
                    InteractionEvent::OperatorConnected => v.operator_connected = true,
                    InteractionEvent::CustomerRinging { code } => {
                        v.state = CallState::Ringing;
                        v.ringing = Some(*code);
                    }
                    InteractionEvent::CallAnswered => {
                        v.state = CallState::Talking;
                        v.answered_at = Some(at);
                    }
                    InteractionEvent::CallFailed {
                        code,
                        reason,
                        outcome,
                        suggested_status,
                    } => {
                        v.state = CallState::Failed;
                        v.ended_at = Some(at);
                        v.failure = Some(CallFailure {
                            code: *code,
                            reason: reason.clone(),
                            outcome: *outcome,
                        });
                        v.suggested_status = Some(suggested_status.clone());
                    }
                    InteractionEvent::CallEnded {
                        talk_ms,
                        talk_seconds,
                        ended_by,
                        suggested_status,
                    } => {
                        v.state = CallState::Ended;
                        v.ended_at = Some(at);
                        v.talk_ms = *talk_ms;
                        v.talk_seconds = *talk_seconds;
                        v.ended_by = Some(*ended_by);
                        v.suggested_status.clone_from(suggested_status);
                    }
                    InteractionEvent::RecordingStored {
                        file,
                        duration_ms,
                        bytes,
                    } => {
                        v.recording = Some(RecordingView {
                            file: file.clone(),
                            duration_ms: *duration_ms,
                            bytes: *bytes,
                        });
                    }
                    InteractionEvent::RecordingFailed { error } => {
                        v.recording_error = Some(error.clone());
                    }
                    InteractionEvent::ResultSaved {
                        status,
                        memo,
                        user_id,
                    } => {
                        v.status = Some(status.clone());
                        v.memos.extend(memo.iter().cloned());
                        v.saved_at = Some(at);
                        v.saved_by = *user_id;
                    }
                    InteractionEvent::RecordingDropped { .. } => v.recording = None,
                    InteractionEvent::CallPlaced { .. } | InteractionEvent::CallRefused { .. } => {}
                }
                if !v.in_progress() && t.live.get(&v.target.user_id).is_some_and(|l| l == id) {
                    t.live.remove(&v.target.user_id);
                }
            }
        }
        let user_id = t.by_id.get(id).map_or(0, |v| v.target.user_id);
        changes.push(Change::Interaction {
            tenant_id: tenant_id.clone(),
            interaction_id: id.to_string(),
            user_id,
        });
    }
}

#[cfg(test)]
mod tests {
    use kaden_domain::interaction::DialMode;

    use super::*;
    use crate::testing::event;

    fn target() -> CallTarget {
        CallTarget {
            customer_id: "001-002".into(),
            folder: 1,
            customer: 2,
            campaign_id: "c".into(),
            number: "0312345678".into(),
            caller_number: "0311112222".into(),
            user_id: 7,
            mode: DialMode::List,
        }
    }

    fn fold(model: &mut Interactions, id: &str, e: InteractionEvent) -> Vec<Change> {
        let mut changes = Vec::new();
        model.apply(
            &event("acme", &format!("acme:{id}"), KadenEvent::Interaction(e)),
            &mut changes,
        );
        changes
    }

    #[test]
    fn a_call_is_followed_from_placed_to_recorded_and_saved() {
        let mut m = Interactions::default();
        let placed = InteractionEvent::CallPlaced {
            tenant_id: "acme".into(),
            target: target(),
        };
        let changes = fold(&mut m, "i1", placed);
        assert_eq!(
            changes,
            vec![Change::Interaction {
                tenant_id: "acme".into(),
                interaction_id: "i1".into(),
                user_id: 7
            }]
        );
        let t = m.tenant("acme").unwrap();
        assert_eq!(t.live_call(7).unwrap().state, CallState::Dialling);
        fold(
            &mut m,
            "i1",
            InteractionEvent::CustomerRinging { code: 180 },
        );
        fold(&mut m, "i1", InteractionEvent::CallAnswered);
        assert_eq!(m.get("acme", "i1").unwrap().state, CallState::Talking);
        fold(
            &mut m,
            "i1",
            InteractionEvent::CallEnded {
                talk_ms: 3_500,
                talk_seconds: 3,
                ended_by: EndedBy::Customer,
                suggested_status: None,
            },
        );
        fold(
            &mut m,
            "i1",
            InteractionEvent::RecordingStored {
                file: "acme/i1.wav".into(),
                duration_ms: 3_500,
                bytes: 112_044,
            },
        );
        for memo in ["一回目", "二回目"] {
            fold(
                &mut m,
                "i1",
                InteractionEvent::ResultSaved {
                    status: "見込".into(),
                    memo: Some(memo.into()),
                    user_id: Some(7),
                },
            );
        }
        let t = m.tenant("acme").unwrap();
        let v = t.get("i1").unwrap();
        assert_eq!(v.talk_seconds, 3);
        assert_eq!(v.recording.as_ref().unwrap().file, "acme/i1.wav");
        assert_eq!(v.memo(), "一回目\n二回目");
        assert!(t.live_call(7).is_none(), "an ended call is no longer live");
        assert_eq!(t.of_customer(1, 2).len(), 1);
        fold(
            &mut m,
            "i1",
            InteractionEvent::RecordingDropped {
                file: "acme/i1.wav".into(),
            },
        );
        assert!(m.get("acme", "i1").unwrap().recording.is_none());
        // The read-model snapshot keeps it all.
        let text = serde_json::to_string(&m).expect("the model serialises for the snapshot");
        let back: Interactions = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.tenant("acme").unwrap().of_customer(1, 2).len(), 1);
    }

    #[test]
    fn dnc_5_refused_attempts_are_recorded_but_are_not_calls() {
        let mut m = Interactions::default();
        fold(
            &mut m,
            "i2",
            InteractionEvent::CallRefused {
                tenant_id: "acme".into(),
                target: target(),
                code: "DO_NOT_CALL".into(),
                reason: "架電禁止".into(),
            },
        );
        let t = m.tenant("acme").unwrap();
        let v = t.get("i2").unwrap();
        assert!(!v.is_call());
        assert_eq!(v.state, CallState::Refused);
        assert!(
            t.of_customer(1, 2).is_empty(),
            "not in the customer's history"
        );
        assert!(t.live_call(7).is_none());
    }
}
