//! What one entry says: who, which operation (the GraphQL root fields), the outcome and its
//! detail, clipped to a bounded length.

use super::*;

pub(super) fn clip(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

/// An access by `ctx`'s client now.
pub fn draft(
    ctx: &RequestContext,
    user: Option<(u64, &str)>,
    operation: &str,
    outcome: Outcome,
    detail: &str,
) -> AccessDraft {
    AccessDraft {
        at: Utc::now(),
        tenant: ctx.tenant_id.clone(),
        user_id: user.map(|(id, _)| id),
        username: user.map_or_else(String::new, |(_, name)| clip(name)),
        operation: clip(operation),
        address: ctx.client_addr.clone(),
        outcome,
        detail: clip(detail),
    }
}

/// Error codes that mean "refused before being tried" rather than "tried and failed".
pub(super) const REFUSALS: [&str; 9] = [
    "FORBIDDEN",
    "UNAUTHENTICATED",
    "ADDRESS_NOT_ALLOWED",
    "PASSWORD_EXPIRED",
    "SESSION_EXPIRED",
    "CSRF_TOKEN_MISSING",
    "FORBIDDEN_ORIGIN",
    "TOO_MANY_ATTEMPTS",
    "LOGIN_THROTTLED",
];

/// How a GraphQL response ended, and its error codes for the detail column.
pub fn outcome_of(response: &async_graphql::Response) -> (Outcome, String) {
    if response.errors.is_empty() {
        return (Outcome::Success, String::new());
    }
    let codes: Vec<String> = response
        .errors
        .iter()
        .map(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|v| match v {
                    async_graphql::Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "GRAPHQL_ERROR".to_string())
        })
        .collect();
    let refused = codes.iter().any(|c| REFUSALS.contains(&c.as_str()));
    let outcome = if refused {
        Outcome::Refused
    } else {
        Outcome::Failure
    };
    (outcome, codes.join(","))
}

/// What a GraphQL request does: its root fields (`createCampaign`, `campaigns,me`; empty when
/// the document cannot be read) and the operation's own name, if it has one.
pub fn operation_of(request: &async_graphql::Request) -> (Vec<String>, Option<String>) {
    use async_graphql::parser::types::{DocumentOperations, Selection};
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return (Vec::new(), request.operation_name.clone());
    };
    let (name, operation) = match (&doc.operations, &request.operation_name) {
        (DocumentOperations::Single(op), _) => (None, Some(op)),
        (DocumentOperations::Multiple(ops), Some(wanted)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == wanted)
            .map_or((None, None), |(n, op)| (Some(n.to_string()), Some(op))),
        (DocumentOperations::Multiple(ops), None) => ops
            .iter()
            .next()
            .map_or((None, None), |(n, op)| (Some(n.to_string()), Some(op))),
    };
    let fields = operation
        .map(|op| {
            op.node
                .selection_set
                .node
                .items
                .iter()
                .filter_map(|s| match &s.node {
                    Selection::Field(f) => Some(f.node.name.node.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    (fields, name.or_else(|| request.operation_name.clone()))
}
