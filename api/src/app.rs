//! The composition root: opens the store, rebuilds the read models, follows the log, builds the
//! GraphQL schema, and serves HTTP until shut down.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kaden_domain::access::Role;
use kaden_domain::error::ErrorCode;
use kaden_domain::tenant::TenantCommand;
use kaden_projections::ReadModels;
use kaden_projections::engine::Engine;
use kaden_projections::log::LogPosition;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{LoginLimiter, hash_password, one_time_password};
use crate::commands::{Commands, RequestContext};
use crate::config::Settings;
use crate::error::ApiError;
use crate::graphql::build_schema;
use crate::metrics::Metrics;
use crate::state::{AppState, Parts, SNAPSHOT_NAME, stopped};
use crate::store::{Store, StoreError};

/// How often a changed read-model snapshot is saved.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(300);

pub use crate::http::App;

impl App {
    /// Opens the store, restores the read models (snapshot + replay of the tail) and starts
    /// following the log.
    pub async fn start(settings: Settings) -> Result<Self, StoreError> {
        let store = Store::open(&settings.store()).await?;
        let started = Instant::now();
        let (models, position) = match store
            .load_projection_snapshot(SNAPSHOT_NAME, ReadModels::SCHEMA_VERSION)
            .await?
        {
            Some((position, payload)) => match serde_json::from_str::<ReadModels>(&payload) {
                Ok(models) => (models, position),
                Err(error) => {
                    tracing::warn!(%error, "read-model snapshot unreadable; replaying the whole log");
                    (ReadModels::default(), LogPosition::START)
                }
            },
            None => (ReadModels::default(), LogPosition::START),
        };
        let from_snapshot = position != LogPosition::START;
        let engine = Engine::new(models, position);
        let replayed = engine.catch_up(&store).await?;
        tracing::info!(
            store = store.kind(),
            from_snapshot,
            replayed,
            position = %engine.position(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "read models ready"
        );
        let (stop, stop_rx) = watch::channel(false);
        tokio::spawn(Arc::clone(&engine).follow(store.clone(), stopped(stop_rx.clone())));
        tokio::spawn(crate::reactions::run(
            store.clone(),
            settings.data_dir.clone(),
            stopped(stop_rx.clone()),
        ));
        let (access, access_inbox) = crate::access_log::AccessRecorder::new();
        let (calls, call_events) = match &settings.telephony {
            Some(t) => {
                let (calls, events) =
                    crate::calls::Calls::start(t.clone(), Arc::clone(&engine), &settings.data_dir)
                        .map_err(StoreError::Telephony)?;
                (Some(calls), Some(events))
            }
            None => (None, None),
        };
        let state = Arc::new(AppState::new(Parts {
            calls,
            commands: Commands::new(&store),
            settings,
            store,
            engine,
            metrics: Metrics::default(),
            login_limiter: LoginLimiter::new(),
            previews: crate::service::imports::Previews::default(),
            access,
            activity: crate::service::security::Activity::new(),
            stop,
        }));
        if let (Some(calls), Some(events)) = (state.calls(), call_events) {
            calls.run_pump(Arc::clone(&state.engine), state.commands.clone(), events);
        }
        tokio::spawn(save_snapshots(Arc::clone(&state), stop_rx));
        tokio::spawn(crate::access_log::run(state.store.clone(), access_inbox));
        let schema = build_schema(Arc::clone(&state));
        Ok(Self { state, schema })
    }

    /// Stops following the log, saves a read-model snapshot, closes the store.
    pub async fn shutdown(&self) {
        if let Some(calls) = self.state.calls() {
            calls.shutdown().await;
        }
        self.state.access.close().await;
        self.state.stop();
        if let Err(error) = self.state.save_snapshot().await {
            tracing::warn!(%error, "could not save the read-model snapshot at shutdown");
        }
        self.state.store.close().await;
    }

    /// On an empty store, creates the default tenant and a manager `admin` with a one-time
    /// password, and returns that password (to be shown once). Otherwise `None`.
    pub async fn first_run(&self) -> Result<Option<(String, String)>, ApiError> {
        let tenant = self.state.settings.default_tenant.clone();
        if self.state.engine.read(|m| m.directory.has_tenants()) {
            return Ok(None);
        }
        let password = one_time_password();
        create_manager(&self.state, &tenant, "admin", &password).await?;
        Ok(Some(("admin".to_string(), password)))
    }
}

/// Creates the tenant if needed, then a manager with `password`.
pub async fn create_manager(
    state: &AppState,
    tenant: &str,
    username: &str,
    password: &str,
) -> Result<LogPosition, ApiError> {
    let ctx = RequestContext::system(tenant);
    if !state.engine.read(|m| m.directory.tenant(tenant).is_some()) {
        let create = TenantCommand::Create {
            name: tenant.to_string(),
        };
        match state.commands.tenant(tenant, create, &ctx).await {
            Ok(_) => {}
            Err(e) if e.code == ErrorCode::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    let register = TenantCommand::RegisterUser {
        username: username.to_string(),
        display_name: "管理者".to_string(),
        role: Role::Mgr,
        password_hash: hash_password(password.to_string()).await?,
    };
    let position = state
        .commands
        .tenant(tenant, register, &ctx)
        .await?
        .unwrap_or_default();
    crate::commands::read_your_write(&state.engine, Some(position)).await?;
    Ok(position)
}

async fn save_snapshots(state: Arc<AppState>, stop: watch::Receiver<bool>) {
    let mut saved = state.engine.position();
    let stop = stopped(stop);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = tokio::time::sleep(SNAPSHOT_EVERY) => {}
            () = &mut stop => return,
        }
        let now = state.engine.position();
        if now != saved {
            match state.save_snapshot().await {
                Ok(()) => saved = now,
                Err(error) => tracing::warn!(%error, "could not save the read-model snapshot"),
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then shuts the app down cleanly.
pub async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = crate::http::router(app.clone());
    let state = Arc::clone(&app.state);
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        state.begin_closing();
    };
    let connections = Arc::new(crate::http::serve::Connections::default());
    let served = crate::http::serve::serve(listener, router, connections, shutdown).await;
    app.shutdown().await;
    served
}
