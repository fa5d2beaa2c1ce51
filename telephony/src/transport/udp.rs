//! UDP transport with a large receive buffer.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::message::{Message, ParseError};

/// Receive buffer we ask the kernel for. At default sizes sipp loses datagrams on loopback
/// long before CPU runs out (BASELINES.md); the kernel caps it at `net.core.rmem_max`.
pub const RECV_BUFFER: usize = 4 * 1024 * 1024;

/// A bound UDP socket speaking SIP.
#[derive(Clone, Debug)]
pub struct UdpTransport {
    socket: Arc<UdpSocket>,
    local: SocketAddr,
}

impl UdpTransport {
    /// Bind (port 0 picks a free port) with large send and receive buffers.
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let socket = bind_udp(addr)?;
        let local = socket.local_addr()?;
        Ok(UdpTransport {
            socket: Arc::new(socket),
            local,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub async fn send(&self, msg: &Message, to: SocketAddr) -> io::Result<()> {
        self.send_raw(&msg.to_bytes(), to).await
    }

    pub async fn send_raw(&self, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
        self.socket.send_to(bytes, to).await.map(|_| ())
    }

    /// Receive one datagram and parse it. Parse failures come back with the raw bytes so the
    /// caller can answer them ([`bad_request_answer`]) and record them.
    pub async fn recv(
        &self,
        buf: &mut [u8],
    ) -> io::Result<(Result<Message, (ParseError, Vec<u8>)>, SocketAddr)> {
        let (n, from) = self.socket.recv_from(buf).await?;
        let data = &buf[..n];
        Ok((Message::parse(data).map_err(|e| (e, data.to_vec())), from))
    }
}

/// Bind a non-blocking UDP socket with big buffers and hand it to tokio.
pub fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: a smaller buffer still works, it only loses more under bursts.
    let _ = socket.set_recv_buffer_size(RECV_BUFFER);
    let _ = socket.set_send_buffer_size(RECV_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The answer to a request we could not take: 400/501/513 with the reason in the phrase and
/// a Warning header, if the datagram has enough of a request to be answered at all (a
/// response, or a request without Via/Call-ID/CSeq, gets no answer: RFC 3261 8.2, 18.2.1).
pub fn bad_request_answer(err: &ParseError, datagram: &[u8]) -> Option<Message> {
    let essentials_only = matches!(
        err,
        ParseError::TooLarge { .. } | ParseError::TooManyHeaders { .. }
    );
    let lenient = if essentials_only {
        Message::parse_essentials(datagram).ok()
    } else {
        Message::parse_lenient(datagram).ok()
    };
    let req = lenient.or_else(|| {
        // The method itself may be what failed; re-read with a known method to copy headers.
        let text = std::str::from_utf8(datagram).ok()?;
        let (_, rest) = text.split_once(' ')?;
        Message::parse_lenient(format!("OPTIONS {rest}").as_bytes()).ok()
    })?;
    if !req.is_request() || req.method() == Some(&rsip::Method::Ack) {
        return None;
    }
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        req.get(name)?;
    }
    let (code, phrase) = err.status();
    let reason: String = err
        .to_string()
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    let mut resp = Message::response_to(&req, code, phrase);
    if let ParseError::UnsupportedMethod { .. } = err {
        resp.push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER");
    }
    resp.push(
        "Warning",
        format!("399 kaden \"{}\"", reason.replace('"', "'")),
    );
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_method_answered_501_with_reason() {
        let text = "PUBLISHX sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 1 PUBLISHX\r\n\r\n";
        let err = Message::parse(text.as_bytes()).unwrap_err();
        let resp = bad_request_answer(&err, text.as_bytes()).unwrap();
        assert_eq!(resp.status(), Some(501));
        assert!(resp.get("Warning").unwrap().contains("PUBLISHX"));
        assert_eq!(resp.get("Call-ID"), Some("x"));
    }

    #[test]
    fn tel_uri_refused_by_rsip_answered_400() {
        let text = "INVITE tel:+81312345678 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
From: <sip:a@127.0.0.1>;tag=1\r\nTo: <tel:+81312345678>\r\nCall-ID: y\r\nCSeq: 1 INVITE\r\n\r\n";
        let err = Message::parse(text.as_bytes()).unwrap_err();
        assert!(matches!(err, ParseError::Rejected { .. }), "{err:?}");
        let resp = bad_request_answer(&err, text.as_bytes()).unwrap();
        assert_eq!(resp.status(), Some(400));
        assert!(resp.get("Warning").is_some());
    }

    #[test]
    fn unanswerable_garbage_gets_no_answer() {
        let err = Message::parse(b"hello\r\n\r\n").unwrap_err();
        assert!(bad_request_answer(&err, b"hello\r\n\r\n").is_none());
    }

    #[tokio::test]
    async fn udp_roundtrip_on_loopback() {
        let a = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let b = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut m = Message::request(rsip::Method::Options, "sip:b@127.0.0.1");
        m.push("Via", "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx");
        m.push("From", "<sip:a@127.0.0.1>;tag=1");
        m.push("To", "<sip:b@127.0.0.1>");
        m.push("Call-ID", "rt");
        m.push("CSeq", "1 OPTIONS");
        a.send(&m, b.local_addr()).await.unwrap();
        let mut buf = vec![0u8; 65_536];
        let (got, from) = tokio::time::timeout(std::time::Duration::from_secs(5), b.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(from, a.local_addr());
        assert_eq!(got.unwrap().call_id(), Some("rt"));
    }
}
