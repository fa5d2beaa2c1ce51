//! `AppState`: everything the edge (GraphQL resolvers, HTTP handlers) reaches, built only by
//! the composition root (`crate::app`) through [`AppState::new`]. Services never take it: the
//! accessors below hand them the narrow handles they need.

use std::future::Future;
use std::sync::Arc;

use kaden_projections::ReadModels;
use kaden_projections::engine::Engine;
use kaden_projections::log::LogPosition;
use tokio::sync::watch;

use crate::auth::LoginLimiter;
use crate::commands::Commands;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Name of the read-model snapshot row.
pub(crate) const SNAPSHOT_NAME: &str = "read_models";

/// Everything a request handler needs.
pub struct AppState {
    pub settings: Settings,
    pub store: Store,
    pub engine: Arc<Engine>,
    pub commands: Commands,
    pub metrics: Metrics,
    pub login_limiter: LoginLimiter,
    /// List import previews waiting for their commit (LST-2).
    pub previews: crate::service::imports::Previews,
    /// The access-log batcher (AUD-1).
    pub access: crate::access_log::AccessRecorder,
    /// Last activity per session on this node (SEC-1 idle logout).
    pub activity: crate::service::security::Activity,
    /// Telephony (None when the server runs without it).
    calls: Option<Arc<crate::calls::Calls>>,
    stop: watch::Sender<bool>,
    closing: watch::Sender<bool>,
}

/// What the composition root assembles into an [`AppState`].
pub(crate) struct Parts {
    pub settings: Settings,
    pub store: Store,
    pub engine: Arc<Engine>,
    pub commands: Commands,
    pub metrics: Metrics,
    pub login_limiter: LoginLimiter,
    pub previews: crate::service::imports::Previews,
    pub access: crate::access_log::AccessRecorder,
    pub activity: crate::service::security::Activity,
    pub calls: Option<Arc<crate::calls::Calls>>,
    pub stop: watch::Sender<bool>,
}

impl AppState {
    pub(crate) fn new(parts: Parts) -> Self {
        Self {
            settings: parts.settings,
            store: parts.store,
            engine: parts.engine,
            commands: parts.commands,
            metrics: parts.metrics,
            login_limiter: parts.login_limiter,
            previews: parts.previews,
            access: parts.access,
            activity: parts.activity,
            calls: parts.calls,
            stop: parts.stop,
            closing: watch::channel(false).0,
        }
    }
}

impl AppState {
    /// The handles list imports need.
    pub fn imports(&self) -> crate::service::imports::Imports<'_> {
        crate::service::imports::Imports {
            engine: &self.engine,
            commands: &self.commands,
            previews: &self.previews,
        }
    }

    /// The handles the security checks need (SEC-1..3).
    pub fn screen(&self) -> crate::service::security::Screen<'_> {
        crate::service::security::Screen {
            engine: &self.engine,
            commands: &self.commands,
            activity: &self.activity,
        }
    }

    /// The handles logging in needs.
    pub fn login(&self) -> crate::service::session::Login<'_> {
        crate::service::session::Login {
            engine: &self.engine,
            commands: &self.commands,
            limiter: &self.login_limiter,
            access: &self.access,
            zone: self.settings.time_zone,
        }
    }

    /// Telephony, when this server runs it.
    pub fn calls(&self) -> Option<Arc<crate::calls::Calls>> {
        self.calls.clone()
    }

    /// Resolves once the server starts shutting down (subscriptions and WebSockets end then).
    pub fn closing(&self) -> impl Future<Output = ()> + Send + use<> {
        stopped(self.closing.subscribe())
    }

    /// Stops the background readers (log follower, reactions, snapshots).
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Starts the shutdown: long-lived connections end; requests in flight finish.
    pub fn begin_closing(&self) {
        self.closing.send_replace(true);
    }

    /// Saves the read models with the position they include (start-up replays only the tail).
    pub async fn save_snapshot(&self) -> Result<(), StoreError> {
        let (position, models) = self.engine.snapshot();
        if position == LogPosition::START {
            return Ok(());
        }
        let payload = serde_json::to_string(&models)?;
        self.store
            .save_projection_snapshot(
                SNAPSHOT_NAME,
                ReadModels::SCHEMA_VERSION,
                position,
                &payload,
            )
            .await
    }
}

/// Resolves once `rx` turns true (a stop or closing signal).
pub(crate) async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}
