//! Rights end the moment a session ends (SEC-1, USR-3, issue 12 item 1): a GraphQL WebSocket
//! is closed when its session ends (logout, idle logout, a password change or reset elsewhere,
//! a manager's revocation), when its user is deleted, or when its user's role changes — so a
//! socket can neither keep streaming nor start new subscriptions with rights it no longer has.
//! Checked on every read-model change, and every [`IDLE_CHECK`] for idle logout (a socket that
//! only listens makes no requests that would find the session idle).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::commands::RequestContext;
use crate::state::AppState;

/// How often a listening socket's session is checked for idle logout.
pub const IDLE_CHECK: Duration = Duration::from_secs(15);

/// The socket's screened context, once `connection_init` has authenticated it.
pub type Watched = Arc<Mutex<Option<RequestContext>>>;

/// Resolves when the watched socket's rights end; never while nobody is logged in on it.
pub async fn ended(state: Arc<AppState>, watched: Watched) {
    let mut changes = state.engine.subscribe();
    let mut tick = tokio::time::interval(IDLE_CHECK);
    tick.tick().await;
    loop {
        let idle_check = tokio::select! {
            change = changes.recv() => {
                if matches!(change, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                    return std::future::pending().await;
                }
                false
            }
            _ = tick.tick() => true,
        };
        let ctx = watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let Some(ctx) = ctx else { continue };
        let Ok(Some(user)) = ctx.user.clone() else {
            continue;
        };
        let tenant = &ctx.tenant_id;
        let still = state.engine.read(|m| {
            m.sessions.get(&user.session_id).is_some()
                && m.directory
                    .active_user(tenant, user.user_id)
                    .is_some_and(|u| u.role == user.role)
        });
        if !still {
            return;
        }
        if idle_check && crate::service::security::end_if_idle(state.screen(), &ctx, &user).await {
            return;
        }
    }
}
