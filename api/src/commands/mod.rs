//! Running commands: metadata on every event, conflicts retried, the written log position
//! returned so callers can read their own writes.

use std::net::IpAddr;

use chrono::Utc;
use cqrs_es::Aggregate;
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
use crate::store::Store;

mod write;

/// How long a request waits for the read models to show its own write.
pub const READ_YOUR_WRITES: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits (at most [`READ_YOUR_WRITES`]) until the read models include `position`, a write of
/// this request; `NOT_YET_VISIBLE` if they do not get there. `None`: nothing was written.
pub async fn read_your_write(
    engine: &kaden_projections::engine::Engine,
    position: Option<LogPosition>,
) -> Result<(), ApiError> {
    match position {
        Some(p) => engine
            .wait_for(p, READ_YOUR_WRITES)
            .await
            .map_err(|e| ApiError::lagging(&e)),
        None => Ok(()),
    }
}
pub use write::{ATTEMPTS, Attempt, Loaded, Writer};

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

/// Every aggregate's command entry point (one decision on one aggregate; see [`write`] for
/// decisions over several aggregates in one append).
#[derive(Clone)]
pub struct Commands {
    store: Store,
}

impl Commands {
    pub fn new(store: &Store) -> Self {
        Self {
            store: store.clone(),
        }
    }

    /// A writer for decisions of this request (see [`Writer`]).
    pub fn writer(&self, ctx: &RequestContext) -> Result<Writer<'_>, ApiError> {
        Writer::new(&self.store, ctx)
    }

    pub async fn campaign(
        &self,
        id: &str,
        cmd: <Campaign as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        self.execute::<Campaign>(id, cmd, ctx).await
    }

    pub async fn tenant(
        &self,
        id: &str,
        cmd: <Tenant as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        self.execute::<Tenant>(id, cmd, ctx).await
    }

    pub async fn session(
        &self,
        id: &str,
        cmd: <Session as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        self.execute::<Session>(id, cmd, ctx).await
    }

    /// A list folder's small commands (imports go through `crate::imports`).
    pub async fn folder(
        &self,
        id: &str,
        cmd: <ListFolder as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        self.execute::<ListFolder>(id, cmd, ctx).await
    }

    /// The tenant's do-not-call registry (aggregate id = tenant id).
    pub async fn dnc(
        &self,
        id: &str,
        cmd: <DncRegistry as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        self.execute::<DncRegistry>(id, cmd, ctx).await
    }

    /// One interaction (call) of a tenant (aggregate id `"{tenant}:{interaction id}"`).
    pub async fn interaction(
        &self,
        id: &str,
        cmd: <Interaction as Aggregate>::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError> {
        self.execute::<Interaction>(id, cmd, ctx).await
    }

    /// Runs one command on one aggregate through the write path; returns where its events
    /// landed in the log (`None`: nothing to write).
    async fn execute<A>(
        &self,
        id: &str,
        cmd: A::Command,
        ctx: &RequestContext,
    ) -> Result<Option<LogPosition>, ApiError>
    where
        A: Aggregate<Services = ()>,
        A::Command: Clone,
        A::Error: DomainError,
    {
        let writer = self.writer(ctx)?;
        loop {
            let mut attempt = writer.attempt();
            let mut loaded = writer.load::<A>(id).await?;
            writer
                .decide(&mut attempt, &mut loaded, cmd.clone())
                .await?;
            if let Some(position) = writer.append(attempt).await? {
                return Ok(position);
            }
        }
    }
}
