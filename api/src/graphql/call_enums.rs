//! The call screen's enums in GraphQL, derived from the domain's own (async-graphql `remote`
//! enums): a variant added in the domain and not here fails to compile, and the wire names are
//! the derive's SCREAMING_SNAKE_CASE, not text built from `Debug`.

use async_graphql::Enum;
use kaden_domain::interaction;

/// How a call was placed.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "interaction::DialMode")]
pub enum DialMode {
    /// The Call button on a customer's call screen.
    List,
    /// Auto-call (CALL-7).
    Auto,
}

/// Where a call is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "interaction::CallState")]
pub enum CallState {
    New,
    Refused,
    Dialling,
    Ringing,
    Talking,
    Ended,
    Failed,
}

/// Who ended a call.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "interaction::EndedBy")]
pub enum EndedBy {
    Operator,
    Customer,
    /// Kaden (the hang-up button, shutdown).
    Kaden,
}

/// Why a call was not answered.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "interaction::CallOutcome")]
pub enum CallOutcome {
    NoAnswer,
    Busy,
    NotInService,
    Rejected,
    NetworkError,
    Cancelled,
    OperatorUnavailable,
    Fax,
}
