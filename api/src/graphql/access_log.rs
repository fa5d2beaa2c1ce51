//! The access log (AUD-1): search by user, period, operation, address and outcome, newest
//! first, with cursor pagination. MGR only (`access_log_view`).

use async_graphql::{Context, Object, Result, SimpleObject};
use kaden_domain::access::Capability;
use kaden_domain::error::ErrorCode;
use kaden_projections::access_log::AccessView;

use super::{authorize, local_time, state};
use crate::access_log::SearchArgs;
use crate::error::ApiError;

/// Most entries per page.
pub const MAX_PAGE: i32 = 500;

/// One access: who, when, what, from where, how it ended.
pub struct AccessEntryObject {
    view: AccessView,
    /// The user's current display name (USR-4), kept after deletion.
    display_name: Option<String>,
}

#[Object(name = "AccessEntry")]
impl AccessEntryObject {
    /// Position in the tenant's log, from 1 without gaps.
    async fn seq(&self) -> u64 {
        self.view.entry.seq
    }

    /// When, in the configured zone (RFC 3339).
    async fn at(&self, ctx: &Context<'_>) -> String {
        local_time(ctx, self.view.entry.at)
    }

    async fn user_id(&self) -> Option<u64> {
        self.view.entry.user_id
    }

    /// The login id as given at the time (also for failed logins).
    async fn username(&self) -> &str {
        &self.view.entry.username
    }

    /// The user's display name now (renames show here; deleted users keep their last name).
    async fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// `login`, `logout`, a GraphQL operation's root fields, `download …`, `websocket`.
    async fn operation(&self) -> &str {
        &self.view.entry.operation
    }

    /// The client's address.
    async fn address(&self) -> &str {
        &self.view.entry.address
    }

    /// `success`, `failure` or `refused`.
    async fn outcome(&self) -> &str {
        self.view.entry.outcome.name()
    }

    /// Error codes, the client's operation name, row counts.
    async fn detail(&self) -> &str {
        &self.view.entry.detail
    }

    /// This entry's hash in the chain (what `kaden audit verify` recomputes).
    async fn hash(&self) -> &str {
        &self.view.hash
    }
}

#[derive(SimpleObject)]
pub struct AccessLogPage {
    /// Newest first.
    entries: Vec<AccessEntryObject>,
    /// Pass as `after` for the next (older) page; null on the last page.
    end_cursor: Option<String>,
    has_next_page: bool,
}

#[derive(Default)]
pub struct AccessLogQuery;

#[Object]
impl AccessLogQuery {
    /// Searches the access log. `from`/`to` take a day (`2026-11-23`, in the configured zone;
    /// `to` includes that day) or an RFC 3339 time; `operation` matches part of the name,
    /// `address` the start of the address, `outcome` is success, failure or refused.
    #[allow(clippy::too_many_arguments)]
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        user: Option<String>,
        user_id: Option<u64>,
        from: Option<String>,
        to: Option<String>,
        operation: Option<String>,
        address: Option<String>,
        outcome: Option<String>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> Result<AccessLogPage> {
        let (request, _) = authorize(ctx, Capability::AccessLogView)?;
        let app = state(ctx);
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(ApiError::new(
                ErrorCode::PageSizeInvalid,
                format!(
                    "firstは1〜{MAX_PAGE}で指定してください (first = {first}: ask for 1 to {MAX_PAGE} entries per page)"
                ),
            )
            .into());
        }
        let before = match after.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                ApiError::new(
                    ErrorCode::BadCursor,
                    format!(
                        "カーソル「{text}」が不正です (cursor {text:?} is not one this query returned: pass endCursor from the previous page)"
                    ),
                )
            })?),
        };
        let filter = SearchArgs {
            user,
            user_id,
            from,
            to,
            operation,
            address,
            outcome,
        }
        .filter(app.settings.time_zone)?;
        let tenant = &request.tenant_id;
        Ok(app.engine.read(|m| {
            let page = m.access_log.search(
                tenant,
                &filter,
                before,
                usize::try_from(first).unwrap_or(50),
            );
            let end_cursor = page
                .entries
                .last()
                .filter(|_| page.has_more)
                .map(|v| v.entry.seq.to_string());
            AccessLogPage {
                entries: page
                    .entries
                    .into_iter()
                    .map(|v| AccessEntryObject {
                        display_name: v
                            .entry
                            .user_id
                            .and_then(|id| m.directory.user(tenant, id))
                            .map(|u| u.display_name.clone()),
                        view: v.clone(),
                    })
                    .collect(),
                end_cursor,
                has_next_page: page.has_more,
            }
        }))
    }
}
