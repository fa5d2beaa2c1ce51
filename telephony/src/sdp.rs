//! SDP (RFC 4566) offer/answer (RFC 3264) for one audio stream: PCMU/PCMA at 8 kHz plus
//! telephone-event (RFC 4733). What we cannot do is refused with a typed error whose message
//! goes into the 488 reason.

use std::net::IpAddr;

/// G.711 codecs we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }
    fn from_name(name: &str) -> Option<Codec> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    /// The direction an answer takes for an offered direction (RFC 3264 6.1).
    pub fn answer_to(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP is not UTF-8")]
    NotUtf8,
    #[error("SDP line {line:?} is malformed")]
    Malformed { line: String },
    #[error("SDP has no audio stream")]
    NoAudio,
    #[error("audio transport {proto} is not supported (RTP/AVP only)")]
    UnsupportedTransport { proto: String },
    #[error("no common codec: offered {offered}, Kaden speaks PCMU/8000 and PCMA/8000")]
    NoCommonCodec { offered: String },
    #[error("SDP has no connection address for audio")]
    NoConnection,
}

/// One parsed `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSection {
    pub kind: String,
    pub port: u16,
    pub proto: String,
    pub formats: Vec<u8>,
    /// (payload type, encoding name, clock rate).
    pub rtpmap: Vec<(u8, String, u32)>,
    pub direction: Direction,
    pub connection: Option<IpAddr>,
    /// The raw `m=` line for sections we refuse (echoed with port 0).
    raw_fmt: String,
}

impl MediaSection {
    fn encoding(&self, pt: u8) -> Option<(String, u32)> {
        if let Some((_, n, r)) = self.rtpmap.iter().find(|(p, _, _)| *p == pt) {
            return Some((n.clone(), *r));
        }
        match pt {
            0 => Some(("PCMU".into(), 8000)),
            8 => Some(("PCMA".into(), 8000)),
            _ => None,
        }
    }
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    pub connection: Option<IpAddr>,
    pub direction: Direction,
    pub media: Vec<MediaSection>,
}

/// The result of a negotiation: where to send audio and in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub remote_addr: IpAddr,
    pub remote_port: u16,
    pub codec: Codec,
    /// Payload type of telephone-event on this leg, if both sides have it.
    pub dtmf_pt: Option<u8>,
    /// The direction from our point of view.
    pub direction: Direction,
}

fn parse_direction(a: &str) -> Option<Direction> {
    match a {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    }
}

fn parse_conn(v: &str) -> Option<IpAddr> {
    let mut it = v.split_whitespace();
    let (_, _, addr) = (it.next()?, it.next()?, it.next()?);
    addr.split('/').next()?.parse().ok()
}

impl Sdp {
    pub fn parse(body: &[u8]) -> Result<Sdp, SdpError> {
        let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
        let mut sdp = Sdp {
            connection: None,
            direction: Direction::SendRecv,
            media: Vec::new(),
        };
        let mut session_dir = None;
        for line in text.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            let malformed = || SdpError::Malformed {
                line: line.chars().take(100).collect(),
            };
            let (kind, value) = line.split_once('=').ok_or_else(malformed)?;
            match kind {
                "c" => {
                    let addr = parse_conn(value).ok_or_else(malformed)?;
                    match sdp.media.last_mut() {
                        Some(m) => m.connection = Some(addr),
                        None => sdp.connection = Some(addr),
                    }
                }
                "m" => {
                    let mut it = value.split_whitespace();
                    let kind = it.next().ok_or_else(malformed)?.to_string();
                    let port_s = it.next().ok_or_else(malformed)?;
                    let port = port_s
                        .split('/')
                        .next()
                        .and_then(|p| p.parse().ok())
                        .ok_or_else(malformed)?;
                    let proto = it.next().ok_or_else(malformed)?.to_string();
                    let fmts: Vec<&str> = it.collect();
                    let formats = fmts.iter().filter_map(|f| f.parse().ok()).collect();
                    sdp.media.push(MediaSection {
                        kind,
                        port,
                        proto,
                        formats,
                        rtpmap: Vec::new(),
                        direction: session_dir.unwrap_or_default(),
                        connection: None,
                        raw_fmt: fmts.join(" "),
                    });
                }
                "a" => {
                    if let Some(d) = parse_direction(value) {
                        match sdp.media.last_mut() {
                            Some(m) => m.direction = d,
                            None => {
                                session_dir = Some(d);
                                sdp.direction = d;
                            }
                        }
                    } else if let Some(map) = value.strip_prefix("rtpmap:") {
                        let (pt, enc) = map.split_once(' ').ok_or_else(malformed)?;
                        let pt: u8 = pt.trim().parse().map_err(|_| malformed())?;
                        let mut parts = enc.trim().split('/');
                        let name = parts.next().unwrap_or("").to_string();
                        let rate = parts.next().and_then(|r| r.parse().ok()).unwrap_or(0);
                        if let Some(m) = sdp.media.last_mut() {
                            m.rtpmap.push((pt, name, rate));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(sdp)
    }

    fn audio_index(&self) -> Result<usize, SdpError> {
        self.media
            .iter()
            .position(|m| m.kind == "audio" && m.port != 0)
            .ok_or(SdpError::NoAudio)
    }
}

/// Our SDP for one audio stream offering or answering `codecs` (first preferred).
pub fn render(
    addr: IpAddr,
    port: u16,
    codecs: &[Codec],
    dtmf_pt: Option<u8>,
    direction: Direction,
    session_version: u64,
) -> String {
    render_with_rejected(addr, port, codecs, dtmf_pt, direction, session_version, &[])
}

fn render_with_rejected(
    addr: IpAddr,
    port: u16,
    codecs: &[Codec],
    dtmf_pt: Option<u8>,
    direction: Direction,
    session_version: u64,
    sections: &[Option<&MediaSection>],
) -> String {
    let ip = if addr.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = format!(
        "v=0\r\no=kaden {session_version} {session_version} IN {ip} {addr}\r\ns=kaden\r\nc=IN {ip} {addr}\r\nt=0 0\r\n"
    );
    let audio = |s: &mut String| {
        let mut fmts: Vec<String> = codecs
            .iter()
            .map(|c| c.payload_type().to_string())
            .collect();
        if let Some(pt) = dtmf_pt {
            fmts.push(pt.to_string());
        }
        s.push_str(&format!("m=audio {port} RTP/AVP {}\r\n", fmts.join(" ")));
        for c in codecs {
            s.push_str(&format!(
                "a=rtpmap:{} {}/8000\r\n",
                c.payload_type(),
                c.name()
            ));
        }
        if let Some(pt) = dtmf_pt {
            s.push_str(&format!(
                "a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n"
            ));
        }
        s.push_str("a=ptime:20\r\n");
        s.push_str(&format!("a={}\r\n", direction.attr()));
    };
    if sections.is_empty() {
        audio(&mut s);
    }
    for section in sections {
        match section {
            None => audio(&mut s),
            Some(m) => s.push_str(&format!("m={} 0 {} {}\r\n", m.kind, m.proto, m.raw_fmt)),
        }
    }
    s
}

/// Answer an offer (RFC 3264 §6): pick the first offered codec we support, keep
/// telephone-event if offered, refuse extra streams with port 0.
pub fn answer(
    offer: &Sdp,
    local_addr: IpAddr,
    local_port: u16,
    supported: &[Codec],
    session_version: u64,
) -> Result<(String, Negotiated), SdpError> {
    let idx = offer.audio_index()?;
    let m = &offer.media[idx];
    if !m.proto.eq_ignore_ascii_case("RTP/AVP") {
        return Err(SdpError::UnsupportedTransport {
            proto: m.proto.clone(),
        });
    }
    let mut codec = None;
    let mut dtmf = None;
    for pt in &m.formats {
        if let Some((name, rate)) = m.encoding(*pt)
            && rate == 8000
        {
            if codec.is_none()
                && let Some(c) = Codec::from_name(&name)
                && supported.contains(&c)
            {
                codec = Some(c);
            }
            if dtmf.is_none() && name.eq_ignore_ascii_case("telephone-event") {
                dtmf = Some(*pt);
            }
        }
    }
    let Some(codec) = codec else {
        let offered: Vec<String> = m
            .formats
            .iter()
            .map(|pt| match m.encoding(*pt) {
                Some((n, r)) => format!("{n}/{r}"),
                None => format!("pt {pt}"),
            })
            .collect();
        return Err(SdpError::NoCommonCodec {
            offered: offered.join(", "),
        });
    };
    let remote_addr = m
        .connection
        .or(offer.connection)
        .ok_or(SdpError::NoConnection)?;
    let direction = m.direction.answer_to();
    let sections: Vec<Option<&MediaSection>> = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, s)| if i == idx { None } else { Some(s) })
        .collect();
    let body = render_with_rejected(
        local_addr,
        local_port,
        &[codec],
        dtmf,
        direction,
        session_version,
        &sections,
    );
    Ok((
        body,
        Negotiated {
            remote_addr,
            remote_port: m.port,
            codec,
            dtmf_pt: dtmf,
            direction,
        },
    ))
}

/// Read the answer to an offer we made with `offered` codecs.
pub fn accept_answer(answer: &Sdp, offered: &[Codec]) -> Result<Negotiated, SdpError> {
    let idx = answer.audio_index()?;
    let m = &answer.media[idx];
    let codec = m
        .formats
        .iter()
        .filter_map(|pt| m.encoding(*pt))
        .filter(|(_, r)| *r == 8000)
        .find_map(|(n, _)| Codec::from_name(&n).filter(|c| offered.contains(c)))
        .ok_or_else(|| SdpError::NoCommonCodec {
            offered: m
                .formats
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        })?;
    let dtmf_pt = m.formats.iter().copied().find(|pt| {
        m.encoding(*pt)
            .is_some_and(|(n, _)| n.eq_ignore_ascii_case("telephone-event"))
    });
    Ok(Negotiated {
        remote_addr: m
            .connection
            .or(answer.connection)
            .ok_or(SdpError::NoConnection)?,
        remote_port: m.port,
        codec,
        dtmf_pt,
        direction: m.direction.answer_to(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

    #[test]
    fn answers_sipp_pcmu_offer() {
        let offer = Sdp::parse(SIPP_OFFER.as_bytes()).unwrap();
        let (body, neg) = answer(
            &offer,
            "127.0.0.1".parse().unwrap(),
            7000,
            &[Codec::Pcma, Codec::Pcmu],
            1,
        )
        .unwrap();
        assert_eq!(neg.codec, Codec::Pcmu);
        assert_eq!(neg.remote_port, 6000);
        assert!(body.contains("m=audio 7000 RTP/AVP 0\r\n"), "{body}");
        let back = Sdp::parse(body.as_bytes()).unwrap();
        assert_eq!(
            accept_answer(&back, &[Codec::Pcmu]).unwrap().codec,
            Codec::Pcmu
        );
    }

    #[test]
    fn keeps_offerers_codec_order_and_telephone_event() {
        let offer = "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
        let (body, neg) = answer(
            &Sdp::parse(offer.as_bytes()).unwrap(),
            "127.0.0.1".parse().unwrap(),
            7000,
            &[Codec::Pcmu, Codec::Pcma],
            1,
        )
        .unwrap();
        assert_eq!(neg.codec, Codec::Pcma);
        assert_eq!(neg.dtmf_pt, Some(101));
        assert!(body.contains("a=rtpmap:101 telephone-event/8000"));
    }

    #[test]
    fn hold_offer_sendonly_is_answered_recvonly() {
        let offer = "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        let (body, neg) = answer(
            &Sdp::parse(offer.as_bytes()).unwrap(),
            "127.0.0.1".parse().unwrap(),
            7000,
            &[Codec::Pcmu],
            2,
        )
        .unwrap();
        assert_eq!(neg.direction, Direction::RecvOnly);
        assert!(body.contains("a=recvonly"));
    }

    #[test]
    fn no_common_codec_names_what_was_offered() {
        let offer = "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 4000 RTP/AVP 9 18\r\na=rtpmap:9 G722/8000\r\na=rtpmap:18 G729/8000\r\n";
        let err = answer(
            &Sdp::parse(offer.as_bytes()).unwrap(),
            "127.0.0.1".parse().unwrap(),
            7000,
            &[Codec::Pcmu],
            1,
        )
        .unwrap_err();
        assert_eq!(
            err,
            SdpError::NoCommonCodec {
                offered: "G722/8000, G729/8000".into()
            }
        );
        assert!(err.to_string().contains("PCMU/8000"));
    }

    #[test]
    fn srtp_and_video_only_are_refused() {
        let srtp = "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 4000 RTP/SAVP 0\r\n";
        assert!(matches!(
            answer(
                &Sdp::parse(srtp.as_bytes()).unwrap(),
                "127.0.0.1".parse().unwrap(),
                7000,
                &[Codec::Pcmu],
                1
            ),
            Err(SdpError::UnsupportedTransport { .. })
        ));
        let video = "v=0\r\nc=IN IP4 10.0.0.5\r\nm=video 4000 RTP/AVP 96\r\n";
        assert_eq!(
            answer(
                &Sdp::parse(video.as_bytes()).unwrap(),
                "127.0.0.1".parse().unwrap(),
                7000,
                &[Codec::Pcmu],
                1
            ),
            Err(SdpError::NoAudio)
        );
    }

    #[test]
    fn extra_video_stream_is_rejected_with_port_zero() {
        let offer =
            "v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\n";
        let (body, _) = answer(
            &Sdp::parse(offer.as_bytes()).unwrap(),
            "127.0.0.1".parse().unwrap(),
            7000,
            &[Codec::Pcmu],
            1,
        )
        .unwrap();
        assert!(body.contains("m=video 0 RTP/AVP 96"), "{body}");
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(Sdp::parse(b"v=0\r\nc=IN IP4\r\n").is_err());
        assert!(Sdp::parse(b"v=0\r\nm=audio x RTP/AVP 0\r\n").is_err());
        assert!(Sdp::parse(b"garbage").is_err());
        assert!(Sdp::parse(&[0xff, 0xfe]).is_err());
    }
}
