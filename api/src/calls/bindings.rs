//! Softphones' registrations in the log (issue 17 item 4): the api's [`BindingStore`] for the
//! registrar.
//!
//! - **save**: a binding change the registrar judged news (a contact added, moved or removed,
//!   or an expiry about to lapse; not every refresh) is queued and written, on its own task, as
//!   one `SipBindingsChanged` event on a fresh `SipRegistration` stream (see
//!   `kaden_domain::registration`). The SIP task never waits for the store.
//! - **load**: the `registrations` read model, folded from the log by every node. After a
//!   restart the read models are ready before telephony starts, so a phone registered before is
//!   reachable at once; on several nodes, a phone that registered on node A is found by a call
//!   placed on node B as soon as B has folded the event (B sends its INVITE straight to the
//!   address the REGISTER came from — see docs/telephony.md for phones behind NAT).
//! - Expired bindings are never adopted (the registrar checks), so they are not restored.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use kaden_domain::registration::{
    SipBinding, SipRegistration, SipRegistrationCommand, registration_aggregate_id,
};
use kaden_projections::engine::Engine;
use kaden_telephony::registrar::{BindingSet, BindingStore, SharedBinding};
use tokio::sync::mpsc;

use crate::commands::{Commands, RequestContext};
use crate::error::ApiError;

/// The registrar's bindings, kept as events and read back from the read model.
pub struct StoredBindings {
    engine: Arc<Engine>,
    queue: mpsc::UnboundedSender<BindingSet>,
    inbox: Mutex<Option<mpsc::UnboundedReceiver<BindingSet>>>,
    /// Changes saved but not yet written (for [`StoredBindings::flush`]).
    unwritten: Arc<AtomicUsize>,
}

impl StoredBindings {
    pub fn new(engine: Arc<Engine>) -> Arc<Self> {
        let (queue, inbox) = mpsc::unbounded_channel();
        Arc::new(Self {
            engine,
            queue,
            inbox: Mutex::new(Some(inbox)),
            unwritten: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Starts writing queued changes through `commands` (once; changes saved before wait in
    /// the queue). The task ends when this store is dropped (with the registrar).
    pub fn run(&self, commands: Commands) {
        let Some(mut inbox) = self.inbox.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let unwritten = self.unwritten.clone();
        let engine = self.engine.clone();
        tokio::spawn(async move {
            while let Some(set) = inbox.recv().await {
                if let Err(e) = write(&engine, &commands, &set).await {
                    tracing::error!(sip_user = %set.user, code = e.code.as_str(), message = %e.message, "could not store a SIP registration; it is kept in memory only");
                }
                unwritten.fetch_sub(1, Ordering::Relaxed);
            }
        });
    }

    /// Waits (up to `limit`) until every queued change is written: at shutdown, so a phone
    /// that registered a moment before is still known after the restart.
    pub async fn flush(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.unwritten.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl BindingStore for StoredBindings {
    fn load(&self, user: &str) -> Option<BindingSet> {
        self.engine.read(|m| {
            let v = m.registrations.get(user)?;
            Some(BindingSet {
                user: user.to_string(),
                at: SystemTime::from(v.at),
                bindings: v
                    .bindings
                    .iter()
                    .filter_map(|b| {
                        Some(SharedBinding {
                            contact: b.contact.clone(),
                            source: b.source.parse::<SocketAddr>().ok()?,
                            expires_at: SystemTime::from(b.expires_at),
                        })
                    })
                    .collect(),
            })
        })
    }

    fn save(&self, set: BindingSet) {
        self.unwritten.fetch_add(1, Ordering::Relaxed);
        if self.queue.send(set).is_err() {
            self.unwritten.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Writes one change as the system, in the SIP user's tenant.
async fn write(engine: &Engine, commands: &Commands, set: &BindingSet) -> Result<(), ApiError> {
    let Some(tenant) = engine.read(|m| {
        m.directory
            .sip_user(&set.user)
            .map(|(u, _)| u.tenant_id.clone())
    }) else {
        // The user was deleted (or lost its SIP password) since the REGISTER: nothing to keep.
        return Ok(());
    };
    let mut ctx = RequestContext::system(&tenant);
    ctx.client_addr = "telephony".into();
    let writer = commands.writer(&ctx)?;
    let change = uuid::Uuid::now_v7().simple().to_string();
    let id = registration_aggregate_id(&tenant, &set.user, &change);
    let cmd = SipRegistrationCommand::Record {
        tenant_id: tenant.clone(),
        sip_user: set.user.clone(),
        at: DateTime::<Utc>::from(set.at),
        bindings: set
            .bindings
            .iter()
            .map(|b| SipBinding {
                contact: b.contact.clone(),
                source: b.source.to_string(),
                expires_at: DateTime::<Utc>::from(b.expires_at),
            })
            .collect(),
    };
    let mut attempt = writer.attempt();
    let mut loaded = writer.load::<SipRegistration>(&id).await?;
    writer.decide(&mut attempt, &mut loaded, cmd).await?;
    match writer.append(attempt).await? {
        Some(_) => Ok(()),
        // A fresh stream cannot conflict; if it did, the change is simply not stored.
        None => Err(ApiError::conflict()),
    }
}
