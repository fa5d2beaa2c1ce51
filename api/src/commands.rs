//! Running commands: metadata on every event, conflicts retried, the written log position
//! returned so callers can read their own writes.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use cqrs_es::{Aggregate, AggregateError};
use kaden_domain::access::Role;
use kaden_domain::campaign::Campaign;
use kaden_domain::dnc::DncRegistry;
use kaden_domain::error::DomainError;
use kaden_domain::folder::ListFolder;
use kaden_domain::interaction::Interaction;
use kaden_domain::metadata::{EventMetadata, TenantId};
use kaden_domain::session::Session;
use kaden_domain::tenant::Tenant;
use kaden_projections::log::LogPosition;

use crate::error::ApiError;
use crate::store::{Cqrs, Store, capture_position};

/// The authenticated user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: u64,
    pub username: String,
    pub role: Role,
    pub session_id: String,
}

/// Who is asking, for which tenant, from where.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub tenant_id: TenantId,
    /// `Ok(None)`: no credentials given; `Err`: credentials given but refused (why).
    pub user: Result<Option<AuthUser>, ApiError>,
    pub request_id: String,
    pub client_addr: String,
}

impl RequestContext {
    /// The command line or the server itself acting for a tenant.
    pub fn system(tenant_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_string(),
            user: Ok(None),
            request_id: new_request_id(),
            client_addr: "local".into(),
        }
    }

    pub fn from_http(tenant_id: &str, client: IpAddr) -> Self {
        Self {
            tenant_id: tenant_id.to_string(),
            user: Ok(None),
            request_id: new_request_id(),
            client_addr: client.to_string(),
        }
    }

    /// The logged-in user, or the reason there is none.
    pub fn user(&self) -> Result<&AuthUser, ApiError> {
        match &self.user {
            Ok(Some(u)) => Ok(u),
            Ok(None) => Err(ApiError::unauthenticated()),
            Err(e) => Err(e.clone()),
        }
    }

    pub fn metadata(&self) -> EventMetadata {
        EventMetadata {
            tenant_id: self.tenant_id.clone(),
            user_id: self
                .user
                .as_ref()
                .ok()
                .and_then(|u| u.as_ref())
                .map(|u| u.user_id),
            request_id: self.request_id.clone(),
            client_addr: self.client_addr.clone(),
            recorded_at: Utc::now(),
        }
    }
}

pub fn new_request_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Every aggregate's command entry point.
pub struct Commands {
    campaign: Cqrs<Campaign>,
    tenant: Cqrs<Tenant>,
    session: Cqrs<Session>,
    folder: Cqrs<ListFolder>,
    dnc: Cqrs<DncRegistry>,
    interaction: Cqrs<Interaction>,
}

/// Attempts for a command whose aggregate was changed concurrently.
const ATTEMPTS: u32 = 5;

impl Commands {
    pub fn new(store: &Store) -> Self {
        Self {
            campaign: store.cqrs(),
            tenant: store.cqrs(),
            session: store.cqrs(),
            folder: store.cqrs(),
            dnc: store.cqrs(),
            interaction: store.cqrs(),
        }
    }

    pub async fn campaign(
        &self,
        id: &str,
        cmd: <Campaign as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        execute(&self.campaign, id, cmd, ctx).await
    }

    pub async fn tenant(
        &self,
        id: &str,
        cmd: <Tenant as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        execute(&self.tenant, id, cmd, ctx).await
    }

    pub async fn session(
        &self,
        id: &str,
        cmd: <Session as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        execute(&self.session, id, cmd, ctx).await
    }

    /// A list folder's small commands (imports go through `crate::imports`).
    pub async fn folder(
        &self,
        id: &str,
        cmd: <ListFolder as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        execute(&self.folder, id, cmd, ctx).await
    }

    /// The tenant's do-not-call registry (aggregate id = tenant id).
    pub async fn dnc(
        &self,
        id: &str,
        cmd: <DncRegistry as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        execute(&self.dnc, id, cmd, ctx).await
    }
}

impl Commands {
    /// One interaction (call) of a tenant (aggregate id `"{tenant}:{interaction id}"`).
    pub async fn interaction(
        &self,
        id: &str,
        cmd: <Interaction as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        execute(&self.interaction, id, cmd, ctx).await
    }
}

/// Runs one command; retries (with a short growing pause) when another writer changed the
/// aggregate first; returns where its events landed in the log (`None`: nothing to write).
async fn execute<A>(
    cqrs: &Cqrs<A>,
    id: &str,
    cmd: A::Command,
    ctx: &RequestContext,
) -> Result<Option<LogPosition>, ApiError>
where
    A: Aggregate<Services = ()>,
    A::Command: Clone,
    A::Error: DomainError,
{
    let metadata = ctx.metadata().to_map();
    for attempt in 1..=ATTEMPTS {
        let (result, position) =
            capture_position(cqrs.execute_with_metadata(id, cmd.clone(), metadata.clone())).await;
        match result {
            Ok(()) => return Ok(position),
            Err(AggregateError::UserError(e)) => return Err(ApiError::domain(&e)),
            Err(AggregateError::AggregateConflict) if attempt < ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(u64::from(attempt * attempt))).await;
            }
            Err(AggregateError::AggregateConflict) => return Err(ApiError::conflict()),
            Err(error) => {
                tracing::error!(request_id = %ctx.request_id, aggregate = A::TYPE, %id, %error, "command failed in the store");
                return Err(ApiError::internal(&ctx.request_id));
            }
        }
    }
    Err(ApiError::conflict())
}
