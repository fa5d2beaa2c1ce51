//! User management (USR-1..5): the user list, create, update (display name, role), delete,
//! password reset by a manager, and each user's own password change. SV sees and manages OP,
//! BIZ and BY users only and deletes no one; the tenant aggregate decides that, the permission
//! table (`user_manage`, `user_delete`) is checked first.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use kaden_domain::access::{Access, Capability, Role, check};
use kaden_domain::error::ErrorCode;
use kaden_domain::tenant::TenantCommand;
use kaden_projections::directory::UserView;

use super::session::UserObject;
use super::{authorize, position_text, reach, request, state};
use crate::auth::{hash_password, verify_password};
use crate::commands::{AuthUser, RequestContext};
use crate::error::ApiError;
use crate::service::security::PasswordChangeOnly;

fn parse_role(text: &str) -> Result<Role, ApiError> {
    text.parse::<Role>().map_err(|e| ApiError::domain(&e))
}

/// Whether `viewer` may see `user` in user management (USR-5: SV sees lower roles only).
fn visible(viewer: &AuthUser, scope: Access, user: &UserView) -> bool {
    scope == Access::All || viewer.role.can_manage(user.role)
}

/// The new password against the tenant's policy (length, not the username, not common).
fn check_password(
    ctx: &Context<'_>,
    tenant: &str,
    username: &str,
    password: &str,
) -> Result<(), ApiError> {
    let policy = state(ctx)
        .engine
        .read(|m| m.directory.security(tenant).password_policy());
    policy
        .check(username, password)
        .map_err(|e| ApiError::domain(&e))
}

fn user_view(ctx: &Context<'_>, tenant: &str, user_id: u64) -> Result<UserView, ApiError> {
    state(ctx)
        .engine
        .read(|m| m.directory.user(tenant, user_id).cloned())
        .ok_or_else(|| ApiError::not_found("ユーザー", &user_id.to_string()))
}

/// A user mutation's answer: the user as it is now and the log position written.
#[derive(SimpleObject)]
pub struct UserPayload {
    user: UserObject,
    /// Null when nothing changed.
    position: Option<String>,
}

#[derive(SimpleObject)]
pub struct DeleteUserPayload {
    /// The deleted user's id (never given to anyone else, USR-3).
    id: u64,
    position: Option<String>,
}

#[derive(SimpleObject)]
pub struct PasswordPayload {
    position: Option<String>,
}

/// Seats of the licensed user quota (USR-3).
#[derive(SimpleObject)]
pub struct UserSeats {
    /// Null: unlimited.
    quota: Option<u32>,
    used: u32,
    /// Null: unlimited.
    available: Option<u32>,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    /// ログインID: ASCII letters, digits and . _ - @ (1 to 64), unique ignoring case.
    username: String,
    /// 氏名 (1 to 100 characters).
    display_name: String,
    /// MGR, SV, OP, BIZ or BY.
    role: String,
    /// At least the tenant's minimum length (12 by default), not a common password.
    password: String,
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The tenant's users by id (USR-5: MGR sees every login id, SV sees OP, BIZ and BY).
    /// Deleted users are left out unless `includeDeleted` (they keep their name for history).
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_deleted: bool,
    ) -> Result<Vec<UserObject>> {
        let (request, user) = authorize(ctx, Capability::UserManage)?;
        let scope = check(user.role, Capability::UserManage).map_err(ApiError::from)?;
        Ok(state(ctx).engine.read(|m| {
            m.directory
                .tenant(&request.tenant_id)
                .map(|t| {
                    t.users
                        .values()
                        .filter(|u| include_deleted || !u.is_deleted())
                        .filter(|u| visible(user, scope, u))
                        .cloned()
                        .map(UserObject)
                        .collect()
                })
                .unwrap_or_default()
        }))
    }

    /// One user by id (deleted users too, for history).
    async fn user(&self, ctx: &Context<'_>, id: u64) -> Result<UserObject> {
        let (request, user) = authorize(ctx, Capability::UserManage)?;
        let scope = check(user.role, Capability::UserManage).map_err(ApiError::from)?;
        let found = user_view(ctx, &request.tenant_id, id)?;
        if !visible(user, scope, &found) {
            return Err(ApiError::not_found("ユーザー", &id.to_string()).into());
        }
        Ok(UserObject(found))
    }

    /// Seats of the licensed user quota: deleting a user frees one (USR-3).
    async fn user_seats(&self, ctx: &Context<'_>) -> Result<UserSeats> {
        let (request, _) = authorize(ctx, Capability::UserManage)?;
        Ok(state(ctx).engine.read(|m| {
            let tenant = m.directory.tenant(&request.tenant_id);
            let used = tenant.map_or(0, |t| t.active_users().count()) as u32;
            let quota = tenant.and_then(|t| t.user_quota);
            UserSeats {
                quota,
                used,
                available: quota.map(|q| q.saturating_sub(used)),
            }
        }))
    }
}

#[derive(Default)]
pub struct UserMutation;

impl UserMutation {
    async fn run(
        ctx: &Context<'_>,
        request: &RequestContext,
        user_id: Option<u64>,
        command: TenantCommand,
    ) -> Result<(Option<String>, Option<UserView>)> {
        let app = state(ctx);
        let position = app
            .commands
            .tenant(&request.tenant_id, command, request)
            .await?;
        reach(ctx, position).await?;
        let view = match user_id {
            Some(id) => Some(user_view(ctx, &request.tenant_id, id)?),
            None => None,
        };
        Ok((position_text(position), view))
    }
}

#[Object]
impl UserMutation {
    /// Creates a user (USR-1, USR-5). Needs a free seat of the user quota.
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<UserPayload> {
        let (request, user) = authorize(ctx, Capability::UserManage)?;
        let role = parse_role(&input.role)?;
        // Cheap checks first, so a refused request never pays for hashing.
        let username = kaden_domain::tenant::validate_username(&input.username)
            .map_err(|e| ApiError::domain(&e))?;
        if !user.role.can_manage(role) {
            let e = kaden_domain::tenant::TenantError::CannotManageRole {
                by: user.role,
                target: role,
            };
            return Err(ApiError::domain(&e).into());
        }
        check_password(ctx, &request.tenant_id, &username, &input.password)?;
        let command = TenantCommand::CreateUser {
            by: user.role,
            username: username.clone(),
            display_name: input.display_name,
            role,
            password_hash: hash_password(input.password).await?,
        };
        let app = state(ctx);
        let position = app
            .commands
            .tenant(&request.tenant_id, command, request)
            .await?;
        reach(ctx, position).await?;
        let created = app
            .engine
            .read(|m| {
                m.directory
                    .user_by_name(&request.tenant_id, &username)
                    .cloned()
            })
            .ok_or_else(|| ApiError::internal(&request.request_id))?;
        Ok(UserPayload {
            user: UserObject(created),
            position: position_text(position),
        })
    }

    /// Renames a user and/or changes the role (USR-4: the new name shows wherever the user is
    /// referenced by id). Omitted arguments stay as they are.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: u64,
        display_name: Option<String>,
        role: Option<String>,
    ) -> Result<UserPayload> {
        let (request, user) = authorize(ctx, Capability::UserManage)?;
        let role = role.as_deref().map(parse_role).transpose()?;
        let command = TenantCommand::UpdateUser {
            by: user.role,
            user_id: id,
            display_name,
            role,
        };
        let (position, view) = Self::run(ctx, request, Some(id), command).await?;
        Ok(UserPayload {
            user: UserObject(view.ok_or_else(|| ApiError::internal(&request.request_id))?),
            position,
        })
    }

    /// Deletes a user for good (USR-3): the id is never reused, the seat is freed, history
    /// keeps the name, the user's sessions stop at once. MGR only.
    async fn delete_user(&self, ctx: &Context<'_>, id: u64) -> Result<DeleteUserPayload> {
        let (request, user) = authorize(ctx, Capability::UserDelete)?;
        let command = TenantCommand::DeleteUser {
            by: user.role,
            by_user: user.user_id,
            user_id: id,
        };
        let (position, _) = Self::run(ctx, request, None, command).await?;
        Ok(DeleteUserPayload { id, position })
    }

    /// Sets a new password for another user (USR-5); they must change it at their next login.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        id: u64,
        new_password: String,
    ) -> Result<PasswordPayload> {
        let (request, user) = authorize(ctx, Capability::UserManage)?;
        let target = state(ctx)
            .engine
            .read(|m| m.directory.active_user(&request.tenant_id, id).cloned())
            .ok_or_else(|| ApiError::not_found("ユーザー", &id.to_string()))?;
        if !user.role.can_manage(target.role) {
            let e = kaden_domain::tenant::TenantError::CannotManageRole {
                by: user.role,
                target: target.role,
            };
            return Err(ApiError::domain(&e).into());
        }
        check_password(ctx, &request.tenant_id, &target.username, &new_password)?;
        let command = TenantCommand::ResetPassword {
            by: user.role,
            user_id: id,
            password_hash: hash_password(new_password).await?,
        };
        // Every session of the user ends with the reset (none comes back to life later).
        let app = state(ctx);
        let position = crate::service::users::set_password_ending_sessions(
            &app.engine,
            &app.commands,
            request,
            id,
            None,
            command,
        )
        .await?;
        reach(ctx, position).await?;
        Ok(PasswordPayload {
            position: position_text(position),
        })
    }

    /// Changes the caller's own password. The only operation (with `logout`) a session may use
    /// while its password is expired or was reset (SEC-2).
    async fn change_own_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<PasswordPayload> {
        let request = request(ctx)?;
        let user = match (request.user(), ctx.data_opt::<PasswordChangeOnly>()) {
            (Ok(user), _) => user.clone(),
            (Err(_), Some(PasswordChangeOnly(user))) => user.clone(),
            (Err(error), None) => return Err(error.into()),
        };
        let view = state(ctx)
            .engine
            .read(|m| {
                m.directory
                    .active_user(&request.tenant_id, user.user_id)
                    .cloned()
            })
            .ok_or_else(ApiError::unauthenticated)?;
        if !verify_password(current_password, view.password_hash.clone()).await? {
            return Err(ApiError::new(
                ErrorCode::BadCredentials,
                "現在のパスワードが違います (the current password is wrong: enter the password you logged in with)",
            )
            .into());
        }
        check_password(ctx, &request.tenant_id, &view.username, &new_password)?;
        if verify_password(new_password.clone(), view.password_hash).await? {
            return Err(ApiError::new(
                ErrorCode::PasswordUnchanged,
                "新しいパスワードが現在のものと同じです (the new password is the same as the current one: choose a different one)",
            )
            .into());
        }
        let command = TenantCommand::ChangePassword {
            user_id: user.user_id,
            password_hash: hash_password(new_password).await?,
        };
        let mut as_user = request.clone();
        let user_id = user.user_id;
        let keep = user.session_id.clone();
        as_user.user = Ok(Some(user));
        // The user's other sessions end with the change; this one goes on.
        let app = state(ctx);
        let position = crate::service::users::set_password_ending_sessions(
            &app.engine,
            &app.commands,
            &as_user,
            user_id,
            Some(&keep),
            command,
        )
        .await?;
        reach(ctx, position).await?;
        Ok(PasswordPayload {
            position: position_text(position),
        })
    }
}
