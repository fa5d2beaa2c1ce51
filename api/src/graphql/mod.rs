//! The GraphQL schema, built apart from any transport (the router only mounts it).
//!
//! Every resolver states the capability it needs from the one permission table (USR-6) through
//! [`authorize`]; errors carry `extensions.code` (see [`crate::error::ApiError`]).

mod access_log;
mod call_enums;
mod calls;
mod campaign;
mod codes;
mod dnc;
mod folder_objects;
mod folders;
mod security;
mod session;
mod users;

use std::sync::Arc;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema};
use chrono::{DateTime, Utc};
use kaden_domain::access::{Capability, check};
use kaden_projections::log::LogPosition;

use crate::commands::{AuthUser, RequestContext};
use crate::error::ApiError;
use crate::state::AppState;

pub use campaign::CampaignObject;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    campaign::CampaignQuery,
    session::SessionQuery,
    users::UserQuery,
    security::SecurityQuery,
    access_log::AccessLogQuery,
    folders::FolderQuery,
    dnc::DncQuery,
    calls::CallQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    campaign::CampaignMutation,
    session::SessionMutation,
    users::UserMutation,
    security::SecurityMutation,
    folders::FolderMutation,
    dnc::DncMutation,
    calls::CallMutation,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    campaign::CampaignSubscription,
    folders::FolderSubscription,
    calls::CallSubscription,
);

pub type KadenSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

pub fn build_schema(state: Arc<AppState>) -> KadenSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .data(state)
    .extension(codes::GraphqlErrorCodes)
    .limit_depth(16)
    .limit_complexity(2_000)
    .finish()
}

pub(crate) fn state<'a>(ctx: &Context<'a>) -> &'a Arc<AppState> {
    ctx.data_unchecked::<Arc<AppState>>()
}

pub(crate) fn request<'a>(ctx: &Context<'a>) -> Result<&'a RequestContext, ApiError> {
    ctx.data::<RequestContext>()
        .map_err(|_| ApiError::unauthenticated())
}

/// The logged-in user, if their role has `capability` (USR-6).
pub(crate) fn authorize<'a>(
    ctx: &Context<'a>,
    capability: Capability,
) -> Result<(&'a RequestContext, &'a AuthUser), ApiError> {
    let request = request(ctx)?;
    let user = request.user()?;
    check(user.role, capability)?;
    Ok((request, user))
}

/// Waits until the read models include `position` (a mutation's own write).
pub(crate) async fn reach(
    ctx: &Context<'_>,
    position: Option<LogPosition>,
) -> Result<(), ApiError> {
    crate::commands::read_your_write(&state(ctx).engine, position).await
}

/// A subscription's stream: each read-model change `pick` turns into an item, until the
/// server closes. A subscriber that falls behind the broadcast misses changes (logged).
pub(crate) fn change_stream<T: Send + 'static>(
    app: Arc<AppState>,
    what: &'static str,
    pick: impl Fn(&AppState, &kaden_projections::Change) -> Option<T> + Send + 'static,
) -> impl futures::Stream<Item = T> + Send + 'static {
    use futures::StreamExt;
    let closing = app.closing();
    tokio_stream::wrappers::BroadcastStream::new(app.engine.subscribe())
        .filter_map(move |change| {
            let found = match change.as_deref() {
                Ok(change) => pick(&app, change),
                Err(error) => {
                    tracing::warn!(%error, what, "subscriber fell behind; some changes were not sent");
                    None
                }
            };
            futures::future::ready(found)
        })
        .take_until(closing)
}

/// A timestamp in the configured zone (default Asia/Tokyo), RFC 3339.
pub(crate) fn local_time(ctx: &Context<'_>, at: DateTime<Utc>) -> String {
    at.with_timezone(&state(ctx).settings.time_zone)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// `None` when nothing was written (the command changed nothing).
pub(crate) fn position_text(position: Option<LogPosition>) -> Option<String> {
    position.map(|p| p.to_string())
}
