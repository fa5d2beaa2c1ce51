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
//!
//! The endpoint side lives here too: [`Endpoint::set_screen`], the screening and charging of a
//! new request, and stateless answers (a To tag derived from the branch and Call-ID).

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

use rsip::Method;

use super::Endpoint;
use crate::sync::lock;
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

impl Endpoint {
    /// Send a response without a transaction. A To tag is added if missing, derived from the
    /// branch and Call-ID, so a retransmission answered again gets the same tag.
    pub(super) async fn answer_statelessly(
        &self,
        mut resp: Message,
        msg: &Message,
        branch: &str,
        from: SocketAddr,
    ) {
        if let Some(to) = resp.headers.iter_mut().find(|h| h.name == "To")
            && crate::transport::param(&to.value, "tag").is_none()
        {
            let mut h = std::hash::DefaultHasher::new();
            (branch, msg.call_id()).hash(&mut h);
            let tag = format!("{:012x}", h.finish() & 0xffff_ffff_ffff);
            to.value = format!("{};tag={tag}", to.value);
        }
        if let Err(e) = self.shared.transport.send(&resp, from).await {
            tracing::debug!(%from, error = %e, "stateless answer not sent");
        }
    }

    /// Install the transaction user's [`Screen`] (once; later calls are ignored).
    pub fn set_screen(&self, screen: std::sync::Weak<dyn Screen>) {
        let _ = self.shared.screen.set(screen);
    }

    /// Issue 17 item 3: screen a new request and charge its source's budget. Returns true
    /// when the request was answered (statelessly) here.
    pub(super) async fn screened_away(
        &self,
        msg: &Message,
        branch: &str,
        from: SocketAddr,
    ) -> bool {
        let Some(screen) = self.shared.screen.get().and_then(std::sync::Weak::upgrade) else {
            return false;
        };
        // Without credentials a request cannot be authenticated, except inside a dialog:
        // a source past its budget is refused before any more work.
        let may_prove = msg.get("Authorization").is_some()
            || msg.to_tag().is_some()
            || msg.method() == Some(&Method::Cancel);
        let mut charged = false;
        if !may_prove {
            charged = true;
            if !self.shared.budgets.take(from.ip()) {
                self.shed_unauthenticated(msg, branch, from).await;
                return true;
            }
        }
        let verdict = screen.screen(msg, from);
        if matches!(verdict, Verdict::Authenticated) {
            return false;
        }
        if !charged && !self.shared.budgets.take(from.ip()) {
            self.shed_unauthenticated(msg, branch, from).await;
            return true;
        }
        match verdict {
            Verdict::Answer(resp) => {
                lock(&self.shared.stats).answered_statelessly += 1;
                self.answer_statelessly(resp, msg, branch, from).await;
                true
            }
            _ => false,
        }
    }

    async fn shed_unauthenticated(&self, msg: &Message, branch: &str, from: SocketAddr) {
        let mut resp = Message::response_to(msg, 503, "Service Unavailable");
        resp.push(
            "Retry-After",
            self.shared.retry_after.as_secs().max(1).to_string(),
        );
        lock(&self.shared.stats).shed_unauthenticated += 1;
        self.answer_statelessly(resp, msg, branch, from).await;
    }
}
