//! Transport: UDP sockets and our framing/normalisation layer around rsip.
//!
//! TCP will add a stream splitter that uses the same [`Message::parse`] per framed message
//! (Content-Length decides where a message ends); everything above this module sees only
//! [`Message`]s and socket addresses.

mod message;
mod udp;

pub use message::{
    Header, MAX_HEADERS, MAX_MESSAGE, Message, ParseError, StartLine, addr_uri, param, split_list,
    uri_host_port, uri_user,
};
pub use udp::{RECV_BUFFER, UdpTransport, bad_request_answer, bind_udp};
