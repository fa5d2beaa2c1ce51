//! Auto-call (CALL-7) for one operator: walk a folder's customers in id order from a start id,
//! dial each with the chosen ring time (10–45 s); an unanswered call ends, is saved as 不通 by
//! the pump, and the next customer is dialled; a customer whose call is refused (DNC…) is
//! passed over with the reason (CALL-2a); a connected call stops the run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kaden_domain::aggregate_ref::AggregateRef;
use kaden_domain::error::ErrorCode;
use kaden_domain::interaction::DialMode;
use kaden_telephony::dialer::auto::{self, AutoStop, NextCustomer, RingTime};
use kaden_telephony::dialer::{CallRequest, Refusal};

use super::gate::{refusal_code, refusal_message};
use super::{Calls, customer_target};
use crate::commands::RequestContext;
use crate::error::ApiError;

/// A customer the run passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    pub customer_id: String,
    pub code: String,
    pub reason: String,
}

/// What an auto-call run is doing, for the call screen.
#[derive(Debug, Clone, Default)]
pub struct AutoStatus {
    pub running: bool,
    pub folder: u32,
    pub ring_seconds: u64,
    /// The interaction being dialled now (or the last one).
    pub current: Option<String>,
    pub dialled: u32,
    pub passed_over: Vec<PassedOver>,
    /// Why the run stopped: (code, message).
    pub stopped: Option<(String, String)>,
}

/// A running (or finished) auto-call.
pub struct AutoRun {
    task: tokio::task::JoinHandle<()>,
    pub status: Arc<Mutex<AutoStatus>>,
}

impl AutoRun {
    pub fn abort(&self) {
        self.task.abort();
    }

    pub fn snapshot(&self) -> AutoStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Where the run is and what it dials.
pub struct Walk {
    pub engine: Arc<kaden_projections::engine::Engine>,
    pub calls: Arc<Calls>,
    pub ctx: RequestContext,
    pub folder: u32,
    pub caller_number: String,
    pub user_id: u64,
    pub sip_user: String,
    /// Customer number last considered.
    pub cursor: u32,
    /// Only customers never worked (the "New" shortcut, CALL-2).
    pub only_new: bool,
    pub status: Arc<Mutex<AutoStatus>>,
}

impl Walk {
    fn status(&self) -> std::sync::MutexGuard<'_, AutoStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl NextCustomer for Walk {
    fn next_call(&mut self) -> Option<CallRequest> {
        loop {
            let tenant = &self.ctx.tenant_id;
            let next = self.engine.read(|m| {
                let f = m.folders.folder(tenant, self.folder)?;
                let n = *f.customer_numbers(self.cursor, 1).first()?;
                let c = f.customer(n)?;
                let target = customer_target(
                    f,
                    &c,
                    self.caller_number.clone(),
                    self.user_id,
                    DialMode::Auto,
                );
                Some((c, target))
            })?;
            let (customer, target) = next;
            self.cursor = customer.number;
            if self.only_new && customer.interactions > 0 {
                continue;
            }
            let Some(target) = target else {
                self.status().passed_over.push(PassedOver {
                    customer_id: customer.id.clone(),
                    code: "NO_PHONE".into(),
                    reason: "電話番号がありません (the customer has no phone number)".into(),
                });
                continue;
            };
            let ring = Duration::from_secs(self.status().ring_seconds);
            let (request, _) =
                self.calls
                    .prepare(&self.ctx, target, self.sip_user.clone(), ring, false);
            let mut status = self.status();
            status.current = AggregateRef::parse(&request.call_ref).map(|r| r.id.to_string());
            status.dialled += 1;
            return Some(request);
        }
    }

    fn passed_over(&mut self, request: &CallRequest, refusal: &Refusal) {
        let customer_id = self
            .engine
            .read(|m| {
                let f = m.folders.folder(&self.ctx.tenant_id, self.folder)?;
                f.customer(self.cursor).map(|c| c.id)
            })
            .unwrap_or_else(|| request.number.clone());
        self.status().passed_over.push(PassedOver {
            customer_id,
            code: refusal_code(refusal).as_str().into(),
            reason: refusal_message(refusal),
        });
    }
}

/// Starts (or restarts) the operator's auto-call run.
pub fn start(walk: Walk, ring_seconds: u64) -> Result<Arc<Mutex<AutoStatus>>, ApiError> {
    let ring = RingTime::new(Duration::from_secs(ring_seconds))
        .map_err(|r| super::gate::refusal_error(&r))?;
    let calls = Arc::clone(&walk.calls);
    let key = (walk.ctx.tenant_id.clone(), walk.user_id);
    let status = Arc::clone(&walk.status);
    {
        let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
        *s = AutoStatus {
            running: true,
            folder: walk.folder,
            ring_seconds,
            ..AutoStatus::default()
        };
    }
    let mut autos = calls.autos.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(old) = autos.get(&key)
        && old.snapshot().running
    {
        return Err(ApiError::new(
            ErrorCode::AutoCallRunning,
            "オートコールは既に実行中です (auto-call is already running: stop it first)",
        ));
    }
    let run_status = Arc::clone(&status);
    let control = calls.control.clone();
    let task = tokio::spawn(async move {
        let mut walk = walk;
        let stop = auto::run(&control, ring, &mut walk).await;
        let reason = match stop {
            AutoStop::Connected(_) => (
                "CONNECTED".to_string(),
                "通話に接続しました。結果を保存して再開してください (a customer answered: save the result, then start auto-call again)".to_string(),
            ),
            AutoStop::Exhausted => (
                "NO_MORE_CUSTOMERS".to_string(),
                "これ以上顧客がいません (there are no more customers in this folder)".to_string(),
            ),
            AutoStop::Refused(r) => (refusal_code(&r).to_string(), refusal_message(&r)),
            AutoStop::OperatorUnavailable(_) => (
                "OPERATOR_UNAVAILABLE".to_string(),
                "オペレータの電話が応答しませんでした (your phone did not answer or hung up: check the softphone, then start again)".to_string(),
            ),
        };
        let mut s = run_status.lock().unwrap_or_else(|p| p.into_inner());
        s.running = false;
        s.stopped = Some(reason);
    });
    autos.insert(
        key,
        AutoRun {
            task,
            status: Arc::clone(&status),
        },
    );
    Ok(status)
}

/// Stops the operator's run; the call being dialled is hung up. False if none was running.
pub fn stop(calls: &Calls, tenant: &str, user_id: u64) -> bool {
    let current = {
        let autos = calls.autos.lock().unwrap_or_else(|p| p.into_inner());
        let Some(run) = autos.get(&(tenant.to_string(), user_id)) else {
            return false;
        };
        let mut s = run.status.lock().unwrap_or_else(|p| p.into_inner());
        if !s.running {
            return false;
        }
        run.abort();
        s.running = false;
        s.stopped = Some((
            "STOPPED".into(),
            "オートコールを停止しました (auto-call stopped)".into(),
        ));
        s.current.clone()
    };
    if let Some(current) = current {
        calls.hang_up(tenant, &current);
    }
    true
}
