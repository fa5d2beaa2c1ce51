//! The transaction user's say on a new request before a transaction exists (issue 17 item 3).
//!
//! A server transaction is a task and up to 32 s of state (timer J); a flood of requests that
//! prove nothing must not buy that. So the endpoint asks the installed [`Screen`] (the user
//! agent, which asks the registrar) about every new request: an authenticated one (a REGISTER
//! with a valid digest answer, a request inside a live dialog, a CANCEL for a pending INVITE)
//! goes on to a transaction without touching any budget; an unauthenticated one that needs an
//! answer only (a challenge, a stale nonce, 403, 481) is answered statelessly; the others (an
//! OPTIONS, an INVITE from a stranger) get a transaction. Everything unauthenticated is charged
//! to its source's budget ([`super::budget`]).

use std::net::SocketAddr;

use crate::transport::Message;

/// What a [`Screen`] says about a new request.
#[derive(Debug)]
pub enum Verdict {
    /// Proven (valid digest, live dialog): a transaction, and no budget spent.
    Authenticated,
    /// Proves nothing but needs a transaction (OPTIONS, INVITE…): budget spent.
    Unauthenticated,
    /// Proves nothing and is answered with this response, without a transaction: budget spent.
    Answer(Message),
}

/// Implemented by the transaction user (the user agent).
pub trait Screen: Send + Sync {
    fn screen(&self, request: &Message, from: SocketAddr) -> Verdict;
}
