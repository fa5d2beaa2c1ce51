//! User use cases that span aggregates: a password change or reset ends the user's other
//! sessions in the same append (SEC-2, issue 12 item 1) — a session opened with the old
//! password never outlives it, and a reset's sessions never come back to life.

use kaden_domain::session::{Session, SessionCommand, SessionEndReason};
use kaden_domain::tenant::{Tenant, TenantCommand};
use kaden_projections::engine::Engine;
use kaden_projections::log::LogPosition;

use crate::commands::{Commands, RequestContext};
use crate::error::ApiError;

/// Runs `command` (a password change or reset of `user_id`) and ends every open session of
/// that user except `keep` (the session that changed its own password), in ONE append.
pub async fn set_password_ending_sessions(
    engine: &Engine,
    commands: &Commands,
    ctx: &RequestContext,
    user_id: u64,
    keep: Option<&str>,
    command: TenantCommand,
) -> Result<Option<LogPosition>, ApiError> {
    let tenant = &ctx.tenant_id;
    let writer = commands.writer(ctx)?;
    loop {
        let others: Vec<String> = engine.read(|m| {
            m.sessions
                .of_user(tenant, user_id)
                .filter(|s| Some(s.session_id.as_str()) != keep)
                .map(|s| s.session_id.clone())
                .collect()
        });
        let mut attempt = writer.attempt();
        let mut tenant_state = writer.load::<Tenant>(tenant).await?;
        writer
            .decide(&mut attempt, &mut tenant_state, command.clone())
            .await?;
        for session_id in &others {
            let mut session = writer.load::<Session>(session_id).await?;
            let end = SessionCommand::End {
                reason: SessionEndReason::Revoked,
            };
            // A session that ended meanwhile has nothing left to end.
            if writer
                .decide(&mut attempt, &mut session, end)
                .await
                .is_err()
            {
                continue;
            }
        }
        if let Some(position) = writer.append(attempt).await? {
            return Ok(position);
        }
    }
}
