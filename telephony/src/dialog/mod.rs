//! Dialogs (RFC 3261 §12) and the user agent built on them.
//!
//! A [`Dialog`] holds what in-dialog requests need: Call-ID, tags, CSeq, remote target and
//! route set. [`UserAgent`] places and receives INVITEs, answers digest challenges, ACKs,
//! CANCELs, sends BYE and re-INVITE, and routes in-dialog requests to the call that owns them.

mod reoffer;
mod ua;

use std::net::SocketAddr;

use rsip::Method;

use crate::transaction::new_branch;
use crate::transport::{Message, addr_uri, param, uri_host_port};

pub use ua::{
    CallLeg, IncomingCall, InviteRequest, LegEvent, OutgoingCall, Progress, UaConfig, UserAgent,
};

/// Dialog state shared by both sides.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// From value of our requests (with our tag).
    pub local_party: String,
    /// To value of our requests (with the remote tag).
    pub remote_party: String,
    /// Remote Contact URI.
    pub remote_target: String,
    /// Route set, in the order Route headers are sent.
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    /// Where in-dialog requests go.
    pub dest: SocketAddr,
    /// Our Contact value.
    pub local_contact: String,
}

fn resolve(uri: &str, fallback: SocketAddr) -> SocketAddr {
    uri_host_port(uri)
        .and_then(|(h, p)| format!("{h}:{p}").parse().ok())
        .or_else(|| {
            uri_host_port(uri).and_then(|(h, p)| h.parse().ok().map(|ip| SocketAddr::new(ip, p)))
        })
        .unwrap_or(fallback)
}

fn next_hop(route_set: &[String], target: &str, fallback: SocketAddr) -> SocketAddr {
    match route_set.first() {
        Some(r) => resolve(addr_uri(r), fallback),
        None => resolve(target, fallback),
    }
}

impl Dialog {
    /// The dialog a UAC gets from a 2xx (or 1xx with tag) to its INVITE (RFC 3261 12.1.2).
    pub fn from_uac(invite: &Message, resp: &Message, sent_to: SocketAddr) -> Option<Dialog> {
        let remote_target = addr_uri(resp.get("Contact")?).to_string();
        let route_set: Vec<String> = resp
            .get_all("Record-Route")
            .map(str::to_string)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let dest = next_hop(&route_set, &remote_target, sent_to);
        Some(Dialog {
            call_id: invite.call_id()?.to_string(),
            local_tag: invite.from_tag()?.to_string(),
            remote_tag: resp.to_tag()?.to_string(),
            local_party: invite.get("From")?.to_string(),
            remote_party: resp.get("To")?.to_string(),
            remote_target,
            route_set,
            local_cseq: invite.cseq()?.0,
            dest,
            local_contact: invite.get("Contact")?.to_string(),
        })
    }

    /// The dialog a UAS creates when answering an INVITE (RFC 3261 12.1.1).
    pub fn from_uas(
        invite: &Message,
        local_tag: &str,
        source: SocketAddr,
        local_contact: &str,
    ) -> Option<Dialog> {
        let remote_target = addr_uri(invite.get("Contact")?).to_string();
        let route_set: Vec<String> = invite.get_all("Record-Route").map(str::to_string).collect();
        // Symmetric: with no route set, in-dialog requests go where the INVITE came from when
        // the Contact cannot be resolved (NATed softphones).
        let dest = match route_set.first() {
            Some(r) => resolve(addr_uri(r), source),
            None => source,
        };
        let to = invite.get("To")?;
        let local_party = if param(to, "tag").is_some() {
            to.to_string()
        } else {
            format!("{to};tag={local_tag}")
        };
        Some(Dialog {
            call_id: invite.call_id()?.to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: invite.from_tag()?.to_string(),
            local_party,
            remote_party: invite.get("From")?.to_string(),
            remote_target,
            route_set,
            local_cseq: rand::random::<u16>() as u32 + 1,
            dest,
            local_contact: local_contact.to_string(),
        })
    }

    /// A new in-dialog request with the next CSeq (RFC 3261 12.2.1.1).
    pub fn request(&mut self, method: Method, via: &dyn Fn(&str) -> String) -> Message {
        self.local_cseq += 1;
        self.build(method, self.local_cseq, &new_branch(), via)
    }

    fn build(
        &self,
        method: Method,
        cseq: u32,
        branch: &str,
        via: &dyn Fn(&str) -> String,
    ) -> Message {
        let mut m = Message::request(method, self.remote_target.clone());
        m.push("Via", via(branch));
        m.push("Max-Forwards", "70");
        m.push("From", self.local_party.clone());
        m.push("To", self.remote_party.clone());
        m.push("Call-ID", self.call_id.clone());
        m.push("CSeq", format!("{cseq} {method}"));
        for r in &self.route_set {
            m.push("Route", r.clone());
        }
        if method == Method::Invite {
            m.push("Contact", self.local_contact.clone());
        }
        m
    }

    /// The ACK for a 2xx to the INVITE with CSeq `cseq` (RFC 3261 13.2.2.4): new branch,
    /// same CSeq number.
    pub fn ack(&self, cseq: u32, via: &dyn Fn(&str) -> String) -> Message {
        self.build(Method::Ack, cseq, &new_branch(), via)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Message {
        let mut m = Message::request(Method::Invite, "sip:0312345678@10.0.0.9");
        m.push("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa");
        m.push("From", "<sip:0501234567@kaden>;tag=ours");
        m.push("To", "<sip:0312345678@10.0.0.9>");
        m.push("Call-ID", "cid");
        m.push("CSeq", "1 INVITE");
        m.push("Contact", "<sip:kaden@127.0.0.1:5060>");
        m
    }

    #[test]
    fn uac_dialog_reverses_record_route_and_targets_the_first_hop() {
        let inv = invite();
        let mut ok = Message::response_to(&inv, 200, "OK");
        ok.set("To", "<sip:0312345678@10.0.0.9>;tag=theirs");
        ok.push("Record-Route", "<sip:127.0.0.2:5070;lr>");
        ok.push("Record-Route", "<sip:127.0.0.3:5080;lr>");
        ok.push("Contact", "<sip:callee@127.0.0.4:5090>");
        let mut d = Dialog::from_uac(&inv, &ok, "127.0.0.9:5060".parse().unwrap()).unwrap();
        assert_eq!(
            d.route_set,
            vec!["<sip:127.0.0.3:5080;lr>", "<sip:127.0.0.2:5070;lr>"]
        );
        assert_eq!(d.dest, "127.0.0.3:5080".parse().unwrap());
        let bye = d.request(Method::Bye, &|b| {
            format!("SIP/2.0/UDP 127.0.0.1;branch={b}")
        });
        assert_eq!(bye.uri(), Some("sip:callee@127.0.0.4:5090"));
        assert_eq!(bye.cseq(), Some((2, Method::Bye)));
        assert_eq!(bye.to_tag(), Some("theirs"));
        assert_eq!(bye.from_tag(), Some("ours"));
        let routes: Vec<_> = bye.get_all("Route").collect();
        assert_eq!(
            routes,
            vec!["<sip:127.0.0.3:5080;lr>", "<sip:127.0.0.2:5070;lr>"]
        );
        let ack = d.ack(1, &|b| format!("SIP/2.0/UDP 127.0.0.1;branch={b}"));
        assert_eq!(ack.cseq(), Some((1, Method::Ack)));
        assert_ne!(ack.branch(), inv.branch());
    }

    #[test]
    fn uas_dialog_swaps_parties() {
        let inv = invite();
        let d = Dialog::from_uas(
            &inv,
            "mine",
            "127.0.0.7:5000".parse().unwrap(),
            "<sip:k@127.0.0.1>",
        )
        .unwrap();
        assert_eq!(d.remote_tag, "ours");
        assert_eq!(d.local_party, "<sip:0312345678@10.0.0.9>;tag=mine");
        assert_eq!(d.remote_target, "sip:kaden@127.0.0.1:5060");
        assert_eq!(d.dest, "127.0.0.7:5000".parse().unwrap());
    }
}
