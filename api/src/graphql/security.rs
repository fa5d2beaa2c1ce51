//! The tenant's security settings (SEC-1..3, password policy): MGR only (`security_settings`).

use async_graphql::{Context, MaybeUndefined, Object, Result, SimpleObject};
use kaden_domain::access::{Capability, IpAllowList, SecuritySettings};
use kaden_domain::error::ErrorCode;
use kaden_domain::tenant::TenantCommand;

use super::{authorize, position_text, reach, state};
use crate::error::ApiError;

/// The settings as clients see them.
#[derive(SimpleObject)]
pub struct SecuritySettingsObject {
    /// SEC-1: minutes of inactivity after which a session ends (null: never).
    idle_logout_minutes: Option<u32>,
    /// SEC-2: days after which a password must be changed at login (null: never).
    password_max_age_days: Option<u32>,
    /// SEC-3: addresses and CIDR ranges allowed to log in and call the API (empty: all).
    ip_allow_list: Vec<String>,
    /// Minimum length of new passwords (12 by default).
    min_password_length: u32,
}

impl From<&SecuritySettings> for SecuritySettingsObject {
    fn from(s: &SecuritySettings) -> Self {
        Self {
            idle_logout_minutes: s.idle_logout_minutes,
            password_max_age_days: s.password_max_age_days,
            ip_allow_list: s.ip_allow.clone().into(),
            min_password_length: s.min_password_length,
        }
    }
}

#[derive(SimpleObject)]
pub struct SecuritySettingsPayload {
    settings: SecuritySettingsObject,
    position: Option<String>,
}

#[derive(Default)]
pub struct SecurityQuery;

#[Object]
impl SecurityQuery {
    async fn security_settings(&self, ctx: &Context<'_>) -> Result<SecuritySettingsObject> {
        let (request, _) = authorize(ctx, Capability::SecuritySettings)?;
        let settings = state(ctx)
            .engine
            .read(|m| m.directory.security(&request.tenant_id));
        Ok((&settings).into())
    }
}

#[derive(Default)]
pub struct SecurityMutation;

#[Object]
impl SecurityMutation {
    /// Changes the security settings. Arguments left out stay as they are; `null` switches idle
    /// logout or password expiry off. An allow-list that would lock out the caller's own
    /// address is refused.
    async fn update_security_settings(
        &self,
        ctx: &Context<'_>,
        idle_logout_minutes: MaybeUndefined<u32>,
        password_max_age_days: MaybeUndefined<u32>,
        ip_allow_list: Option<Vec<String>>,
        min_password_length: Option<u32>,
    ) -> Result<SecuritySettingsPayload> {
        let (request, _) = authorize(ctx, Capability::SecuritySettings)?;
        let app = state(ctx);
        let mut settings = app
            .engine
            .read(|m| m.directory.security(&request.tenant_id));
        match idle_logout_minutes {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => settings.idle_logout_minutes = None,
            MaybeUndefined::Value(v) => settings.idle_logout_minutes = Some(v),
        }
        match password_max_age_days {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => settings.password_max_age_days = None,
            MaybeUndefined::Value(v) => settings.password_max_age_days = Some(v),
        }
        if let Some(length) = min_password_length {
            settings.min_password_length = length;
        }
        if let Some(entries) = ip_allow_list {
            let entries: Vec<&str> = entries
                .iter()
                .map(|e| e.trim())
                .filter(|e| !e.is_empty())
                .collect();
            settings.ip_allow = IpAllowList::parse(entries).map_err(|e| ApiError::domain(&e))?;
            if let Ok(caller) = request.client_addr.parse::<std::net::IpAddr>()
                && !settings.ip_allow.allows(caller)
            {
                return Err(ApiError::new(
                    ErrorCode::IpAllowExcludesCaller,
                    format!(
                        "このIP許可リストでは、今お使いのアドレス({caller})からもアクセスできなくなります。\
                         このアドレスを含めてください (the allow-list does not include your own address \
                         {caller}, so it would lock you out: add it, or a range containing it)"
                    ),
                )
                .into());
            }
        }
        settings.validate().map_err(|e| ApiError::domain(&e))?;
        let position = app
            .commands
            .tenant(
                &request.tenant_id,
                TenantCommand::ChangeSecuritySettings { settings },
                request,
            )
            .await?;
        reach(ctx, position).await?;
        let now = app
            .engine
            .read(|m| m.directory.security(&request.tenant_id));
        Ok(SecuritySettingsPayload {
            settings: (&now).into(),
            position: position_text(position),
        })
    }
}
