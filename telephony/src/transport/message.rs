//! SIP message model, framing and normalisation around rsip.
//!
//! rsip 0.4 parses the start line and validates the message, but it ignores Content-Length,
//! does not know compact header names, does not unfold folded lines and loses the second value
//! of comma-separated `Via`/`Contact` lists (see ARCHITECTURE §6 "rsip 0.4, measured here").
//! So we frame and normalise first, keep our own header list (one entry per value), and hand a
//! normalised copy of the head to rsip for validation of the start line.
//!
//! Limits before anything is kept (issue 17 item 2): [`MAX_MESSAGE`], [`MAX_HEADERS`]; what an
//! error may quote never includes credentials. Longer than 600 lines because the message
//! model, its parser and the header helpers are one concept (the message as we read and
//! write it); about a third of the file is their tests.

use std::fmt::Write as _;

use rsip::Method;

/// One header line after normalisation: canonical name (for the names we know), one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// Request line or status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: Method, uri: String },
    Response { code: u16, reason: String },
}

/// A framed, normalised SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub start: StartLine,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

/// Why a datagram could not be taken as a SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message has no blank line ending its headers")]
    NoHeaderEnd,
    #[error("the message is not UTF-8 in its start line or headers")]
    NotUtf8,
    #[error("bad start line {line:?}")]
    BadStartLine { line: String },
    #[error("header line without a colon: {line:?}")]
    BadHeaderLine { line: String },
    #[error("Content-Length {declared} but only {available} body bytes arrived")]
    ContentLengthTooLong { declared: usize, available: usize },
    #[error("Content-Length is not a number: {value:?}")]
    BadContentLength { value: String },
    #[error("required header {name} is missing")]
    MissingHeader { name: &'static str },
    #[error("method {method} is not implemented")]
    UnsupportedMethod { method: String },
    #[error("message refused by the SIP parser: {reason}")]
    Rejected { reason: String },
    #[error("message too large ({size} bytes, limit {limit})")]
    TooLarge { size: usize, limit: usize },
    #[error("too many header lines (more than {limit})")]
    TooManyHeaders { limit: usize },
}

impl ParseError {
    /// The status a request failing this way should be answered with.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            ParseError::UnsupportedMethod { .. } => (501, "Not Implemented"),
            ParseError::TooLarge { .. } => (513, "Message Too Large"),
            ParseError::TooManyHeaders { .. } => (400, "Bad Request (too many headers)"),
            _ => (400, "Bad Request"),
        }
    }
}

/// Largest message we accept (issue 17 item 2). Real SIP messages are a few kilobytes (an
/// INVITE with SDP is under 2 KB); anything larger is answered 513 statelessly from what the
/// first lines hold, and nothing of it is kept.
pub const MAX_MESSAGE: usize = 16 * 1024;

/// Most header lines (and header values, once lists are split) we accept; beyond it a request
/// is answered 400 statelessly. Before the limit a 63 KB datagram of 9,000 headers cost about
/// 1 MB, held for 32 s by its transaction.
pub const MAX_HEADERS: usize = 128;

/// How many header lines of an oversize message are read to answer it (the five a response
/// copies are near the top), and how many Via values are copied at most.
const ANSWER_SCAN_LINES: usize = 64;
const ANSWER_MAX_VIAS: usize = 8;

const COMPACT: &[(&str, &str)] = &[
    ("v", "Via"),
    ("f", "From"),
    ("t", "To"),
    ("i", "Call-ID"),
    ("m", "Contact"),
    ("l", "Content-Length"),
    ("c", "Content-Type"),
    ("k", "Supported"),
    ("s", "Subject"),
    ("e", "Content-Encoding"),
    ("o", "Event"),
    ("r", "Refer-To"),
    ("u", "Allow-Events"),
    ("x", "Session-Expires"),
    ("b", "Referred-By"),
];

const CANONICAL: &[&str] = &[
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Content-Length",
    "Content-Type",
    "Max-Forwards",
    "Route",
    "Record-Route",
    "Expires",
    "WWW-Authenticate",
    "Authorization",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "P-Asserted-Identity",
    "User-Agent",
    "Allow",
    "Supported",
    "Reason",
    "Min-Expires",
    "Unsupported",
    "Warning",
];

/// Headers whose values are comma-separated lists we split into one entry each.
const LIST_HEADERS: &[&str] = &["Via", "Contact", "Route", "Record-Route"];

fn canonical_name(raw: &str) -> String {
    let raw = raw.trim();
    if raw.len() == 1 {
        for (short, long) in COMPACT {
            if raw.eq_ignore_ascii_case(short) {
                return (*long).to_string();
            }
        }
    }
    for name in CANONICAL {
        if raw.eq_ignore_ascii_case(name) {
            return (*name).to_string();
        }
    }
    raw.to_string()
}

/// Split a header value on top-level commas: not inside double quotes (with `\` escapes) and
/// not inside `<...>`.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, ch) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => {
                let part = value[start..i].trim();
                if !part.is_empty() {
                    parts.push(part);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = value[start..].trim();
    if !last.is_empty() {
        parts.push(last);
    }
    parts
}

/// Remove whitespace around `;` and `=` outside quotes (`Via: ... ;branch=x` would otherwise
/// lose its branch in rsip, and our own parameter lookup would be fragile).
fn tighten_params(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_quotes = false;
    let mut chars = value.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '"' {
            in_quotes = !in_quotes;
            out.push(ch);
            continue;
        }
        if !in_quotes && (ch == ';' || ch == '=') {
            while out.ends_with([' ', '\t']) {
                out.pop();
            }
            out.push(ch);
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            continue;
        }
        out.push(ch);
    }
    out
}

/// Headers whose values are credentials: never quoted in errors, logs or Warning headers, and
/// not handed to rsip (whose errors quote what they fail on).
const SECRET_HEADERS: &[&str] = &["authorization", "proxy-authorization"];

/// A header or start line as it may appear in an error: at most 200 characters, and only the
/// name of a credentials header (or of anything that looks like a digest answer), never its
/// value (issue 17 item 8).
fn quotable(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let name = lower
        .trim_start()
        .split(|c: char| c == ':' || c.is_whitespace())
        .next()
        .unwrap_or("");
    if SECRET_HEADERS.contains(&name) || lower.contains("digest") || lower.contains("response=") {
        let shown: String = line
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect();
        return format!("{shown} <value withheld: may hold credentials>");
    }
    line.chars().take(200).collect()
}

fn is_secret(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s))
}

fn find_head_end(data: &[u8]) -> Option<(usize, usize)> {
    if let Some(p) = data.windows(4).position(|w| w == b"\r\n\r\n") {
        return Some((p, p + 4));
    }
    data.windows(2)
        .position(|w| w == b"\n\n")
        .map(|p| (p, p + 2))
}

impl Message {
    /// Frame, normalise and validate one UDP datagram.
    pub fn parse(datagram: &[u8]) -> Result<Message, ParseError> {
        Self::parse_inner(datagram, true)
    }

    /// Frame and normalise without asking rsip (used to answer messages rsip refuses).
    pub fn parse_lenient(datagram: &[u8]) -> Result<Message, ParseError> {
        Self::parse_inner(datagram, false)
    }

    /// Only what a stateless answer needs (start line, Via, From, To, Call-ID, CSeq), read
    /// from the first lines of a datagram refused as too large or with too many headers: a
    /// bounded amount of work and memory whatever the datagram holds.
    pub fn parse_essentials(datagram: &[u8]) -> Result<Message, ParseError> {
        let skip = datagram
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        let data = &datagram[skip..datagram.len().min(skip + MAX_MESSAGE)];
        let text = match std::str::from_utf8(data) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or(""),
        };
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let start = parse_start_line(lines.next().unwrap_or("").trim())?;
        let mut headers = Vec::new();
        let mut vias = 0;
        for line in lines.take(ANSWER_SCAN_LINES) {
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = canonical_name(name);
            if !matches!(name.as_str(), "Via" | "From" | "To" | "Call-ID" | "CSeq") {
                continue;
            }
            let value = value.trim();
            if name == "Via" {
                for part in split_list(value) {
                    if vias < ANSWER_MAX_VIAS {
                        vias += 1;
                        headers.push(Header {
                            name: name.clone(),
                            value: tighten_params(part),
                        });
                    }
                }
            } else if !headers.iter().any(|h: &Header| h.name == name) {
                headers.push(Header {
                    name,
                    value: value.chars().take(512).collect(),
                });
            }
        }
        Ok(Message {
            start,
            headers,
            body: Vec::new(),
        })
    }

    fn parse_inner(datagram: &[u8], validate: bool) -> Result<Message, ParseError> {
        if datagram.len() > MAX_MESSAGE {
            return Err(ParseError::TooLarge {
                size: datagram.len(),
                limit: MAX_MESSAGE,
            });
        }
        // RFC 3261 7.5: CRLFs before the start line are ignored (keep-alives).
        let skip = datagram
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        let data = &datagram[skip..];
        let (head_end, body_start) = find_head_end(data).ok_or(ParseError::NoHeaderEnd)?;
        let head = std::str::from_utf8(&data[..head_end]).map_err(|_| ParseError::NotUtf8)?;
        // Counted before anything is allocated for them.
        if head.bytes().filter(|b| *b == b'\n').count() > MAX_HEADERS {
            return Err(ParseError::TooManyHeaders { limit: MAX_HEADERS });
        }
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let start_line = lines.next().unwrap_or("").trim();
        let start = parse_start_line(start_line)?;

        // Unfold: a line starting with whitespace continues the previous one.
        let mut logical: Vec<String> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                match logical.last_mut() {
                    Some(prev) => {
                        prev.push(' ');
                        prev.push_str(line.trim());
                    }
                    None => {
                        return Err(ParseError::BadHeaderLine {
                            line: quotable(line),
                        });
                    }
                }
            } else if !line.is_empty() {
                logical.push(line.to_string());
            }
        }
        let mut headers = Vec::with_capacity(logical.len() + 4);
        for line in &logical {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| ParseError::BadHeaderLine {
                    line: quotable(line),
                })?;
            let name = canonical_name(name);
            if name.is_empty() || name.contains(' ') {
                return Err(ParseError::BadHeaderLine {
                    line: quotable(line),
                });
            }
            let value = value.trim();
            if LIST_HEADERS.contains(&name.as_str()) {
                for part in split_list(value) {
                    headers.push(Header {
                        name: name.clone(),
                        value: tighten_params(part),
                    });
                }
            } else {
                headers.push(Header {
                    name,
                    value: value.to_string(),
                });
            }
        }

        if headers.len() > MAX_HEADERS {
            return Err(ParseError::TooManyHeaders { limit: MAX_HEADERS });
        }
        let available = data.len() - body_start;
        let body_len = match headers.iter().find(|h| h.name == "Content-Length") {
            Some(h) => {
                let declared: usize =
                    h.value
                        .trim()
                        .parse()
                        .map_err(|_| ParseError::BadContentLength {
                            value: h.value.clone(),
                        })?;
                if declared > available {
                    return Err(ParseError::ContentLengthTooLong {
                        declared,
                        available,
                    });
                }
                declared
            }
            // UDP: no Content-Length means the body runs to the end of the datagram.
            None => available,
        };
        let body = data[body_start..body_start + body_len].to_vec();
        let msg = Message {
            start,
            headers,
            body,
        };
        if validate {
            msg.validate()?;
        }
        Ok(msg)
    }

    fn validate(&self) -> Result<(), ParseError> {
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            if self.get(name).is_none() {
                return Err(ParseError::MissingHeader {
                    name: match name {
                        "Via" => "Via",
                        "From" => "From",
                        "To" => "To",
                        "Call-ID" => "Call-ID",
                        _ => "CSeq",
                    },
                });
            }
        }
        if self.cseq().is_none() {
            return Err(ParseError::Rejected {
                reason: format!("bad CSeq {:?}", self.get("CSeq").unwrap_or("")),
            });
        }
        // rsip validates the start line (URI syntax, version) and the header syntax.
        let mut head = String::with_capacity(512);
        self.write_head(&mut head, false);
        head.push_str("\r\n");
        rsip::SipMessage::try_from(head.as_bytes()).map_err(|e| ParseError::Rejected {
            reason: e.to_string(),
        })?;
        Ok(())
    }

    fn write_head(&self, out: &mut String, with_length: bool) {
        match &self.start {
            StartLine::Request { method, uri } => {
                let _ = write!(out, "{method} {uri} SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                // rsip's StatusCode::Other keeps our reason phrase verbatim.
                let status = rsip::StatusCode::Other(*code, reason.clone());
                let _ = write!(out, "SIP/2.0 {status}\r\n");
            }
        }
        for h in &self.headers {
            if h.name == "Content-Length" || (!with_length && is_secret(&h.name)) {
                // Validation (with_length false) does not show rsip the credentials.
                continue;
            }
            let _ = write!(out, "{}: {}\r\n", h.name, h.value);
        }
        if with_length {
            let _ = write!(out, "Content-Length: {}\r\n", self.body.len());
        }
    }

    /// Serialise with a Content-Length that matches the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = String::with_capacity(512 + self.body.len());
        self.write_head(&mut head, true);
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    pub fn request(method: Method, uri: impl Into<String>) -> Message {
        Message {
            start: StartLine::Request {
                method,
                uri: uri.into(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response to `req` copying Via, From, To, Call-ID and CSeq (RFC 3261 8.2.6.2).
    pub fn response_to(req: &Message, code: u16, reason: &str) -> Message {
        let mut resp = Message {
            start: StartLine::Response {
                code,
                reason: reason.to_string(),
            },
            headers: Vec::with_capacity(8),
            body: Vec::new(),
        };
        for h in &req.headers {
            if matches!(h.name.as_str(), "Via" | "From" | "To" | "Call-ID" | "CSeq") {
                resp.headers.push(h.clone());
            }
        }
        resp
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    pub fn uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }

    /// First value of a header (case-insensitive name, compact forms already expanded).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.headers.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
    }

    /// Replace all values of `name` by one value (appended if absent).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(pos) = self
            .headers
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))
        {
            self.headers[pos].value = value;
            let mut i = pos + 1;
            while i < self.headers.len() {
                if self.headers[i].name.eq_ignore_ascii_case(name) {
                    self.headers.remove(i);
                } else {
                    i += 1;
                }
            }
        } else {
            self.push(name, value);
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    /// Insert a header value before the existing ones of that name (used for Via).
    pub fn push_front(&mut self, name: &str, value: impl Into<String>) {
        let pos = self
            .headers
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))
            .unwrap_or(0);
        self.headers.insert(
            pos,
            Header {
                name: name.to_string(),
                value: value.into(),
            },
        );
    }

    pub fn call_id(&self) -> Option<&str> {
        self.get("Call-ID")
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, Method)> {
        let v = self.get("CSeq")?;
        let mut it = v.split_whitespace();
        let num = it.next()?.parse().ok()?;
        let method = it.next()?.parse::<Method>().ok()?;
        Some((num, method))
    }

    pub fn top_via(&self) -> Option<&str> {
        self.get("Via")
    }

    /// The sent-by of the top Via (`host:port`, lower case, port 5060 when absent): with the
    /// branch it identifies a server transaction (RFC 3261 17.2.3).
    pub fn sent_by(&self) -> Option<String> {
        let via = self.top_via()?;
        let (_, rest) = via.trim().split_once(char::is_whitespace)?;
        let hostport = rest.split(';').next()?.trim().to_ascii_lowercase();
        if hostport.is_empty() {
            return None;
        }
        let has_port = match hostport.rsplit_once(':') {
            Some((h, p)) => (!h.contains('[') || h.ends_with(']')) && p.parse::<u16>().is_ok(),
            None => false,
        };
        Some(if has_port {
            hostport
        } else {
            format!("{hostport}:5060")
        })
    }

    /// Branch parameter of the top Via.
    pub fn branch(&self) -> Option<&str> {
        param(self.top_via()?, "branch")
    }

    pub fn from_tag(&self) -> Option<&str> {
        param(self.get("From")?, "tag")
    }

    pub fn to_tag(&self) -> Option<&str> {
        param(self.get("To")?, "tag")
    }

    /// Max-Forwards, defaulting to 70 when absent.
    pub fn max_forwards(&self) -> Option<u32> {
        match self.get("Max-Forwards") {
            Some(v) => v.trim().parse().ok(),
            None => Some(70),
        }
    }
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    let bad = || ParseError::BadStartLine {
        line: quotable(line),
    };
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code: u16 = code.parse().map_err(|_| bad())?;
        if !(100..700).contains(&code) {
            return Err(bad());
        }
        return Ok(StartLine::Response {
            code,
            reason: reason.trim().to_string(),
        });
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if version != "SIP/2.0" {
        return Err(bad());
    }
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(bad());
    }
    // rsip's Method::from_str is case-insensitive; SIP methods are case-sensitive.
    let parsed = match method.parse::<Method>() {
        Ok(m) if m.to_string() == method => m,
        _ => {
            return Err(ParseError::UnsupportedMethod {
                method: method.to_string(),
            });
        }
    };
    Ok(StartLine::Request {
        method: parsed,
        uri: uri.to_string(),
    })
}

/// Byte range of the `<...>` of a name-addr, found outside quotes.
fn angle_range(value: &str) -> Option<(usize, usize)> {
    let mut in_quotes = false;
    let mut open = None;
    for (i, ch) in value.char_indices() {
        match ch {
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes && open.is_none() => open = Some(i),
            '>' if !in_quotes => {
                if let Some(l) = open {
                    return Some((l, i));
                }
            }
            _ => {}
        }
    }
    None
}

/// Value of a `;name=value` header parameter (after a name-addr's `>`), quotes removed.
pub fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let tail = match angle_range(value) {
        Some((_, r)) => &value[r + 1..],
        None => value,
    };
    for piece in split_params(tail).into_iter().skip(1) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        if k.trim().eq_ignore_ascii_case(name) {
            return Some(v.trim().trim_matches('"'));
        }
    }
    None
}

/// Split on `;` outside quotes.
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        match ch {
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The URI inside a name-addr (`"x" <sip:a@b>;tag=1` → `sip:a@b`) or an addr-spec.
pub fn addr_uri(value: &str) -> &str {
    if let Some((l, r)) = angle_range(value) {
        return &value[l + 1..r];
    }
    value.split(';').next().unwrap_or(value).trim()
}

/// Host and port of a SIP URI (`sip:user@host:port;params`), port defaulting to 5060.
pub fn uri_host_port(uri: &str) -> Option<(String, u16)> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let rest = rest.split([';', '?']).next()?;
    let hostport = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => (h, p.parse().ok()?),
        _ => (hostport, 5060),
    };
    Some((host.trim_matches(['[', ']']).to_string(), port))
}

/// User part of a SIP URI.
pub fn uri_user(uri: &str) -> Option<&str> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let (user, _) = rest.split_once('@')?;
    Some(user.split(':').next().unwrap_or(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@127.0.0.1>;tag=a1\r\n\
To: <sip:bob@127.0.0.1>\r\n\
Call-ID: c1@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@127.0.0.1:5070>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\nEXTRA";

    #[test]
    fn content_length_frames_the_body() {
        let m = Message::parse(INVITE.as_bytes()).unwrap();
        assert_eq!(m.body, b"v=0\n");
        assert_eq!(m.branch(), Some("z9hG4bK-1"));
        assert_eq!(m.cseq(), Some((1, Method::Invite)));
        assert_eq!(m.from_tag(), Some("a1"));
        assert_eq!(m.to_tag(), None);
    }

    #[test]
    fn content_length_longer_than_datagram_is_refused() {
        let text = INVITE.replace("Content-Length: 4", "Content-Length: 400");
        let err = Message::parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            ParseError::ContentLengthTooLong {
                declared: 400,
                available: 9
            }
        );
        assert_eq!(err.status().0, 400);
    }

    #[test]
    fn compact_headers_are_expanded() {
        let text = "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKc\r\n\
f: <sip:a@127.0.0.1>;tag=x\r\nt: <sip:bob@127.0.0.1>\r\ni: cid\r\nCSeq: 2 OPTIONS\r\nm: <sip:a@127.0.0.1>\r\nl: 0\r\n\r\n";
        let m = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(m.call_id(), Some("cid"));
        assert_eq!(m.get("Contact"), Some("<sip:a@127.0.0.1>"));
        assert_eq!(m.branch(), Some("z9hG4bKc"));
    }

    #[test]
    fn folded_lines_and_space_before_colon_are_normalised() {
        let text = "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia : SIP/2.0/UDP 127.0.0.1:5070\r\n ;branch=z9hG4bKf\r\n\
From: <sip:a@127.0.0.1>;tag=x\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: cid\r\nCSeq: 2 OPTIONS\r\n\r\n";
        let m = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(m.branch(), Some("z9hG4bKf"));
        assert_eq!(
            m.top_via(),
            Some("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKf")
        );
    }

    #[test]
    fn via_and_contact_lists_are_split_quote_aware() {
        let text = "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.2 ;branch=z9hG4bKb\r\n\
From: <sip:a@127.0.0.1>;tag=x\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: cid\r\nCSeq: 2 REGISTER\r\n\
Contact: \"A, B\" <sip:a@10.0.0.1>;+sip.instance=\"<urn:uuid:1,2>\", <sip:a@10.0.0.2>;expires=60\r\n\r\n";
        let m = Message::parse(text.as_bytes()).unwrap();
        let vias: Vec<_> = m.get_all("Via").collect();
        assert_eq!(vias.len(), 2);
        assert_eq!(param(vias[1], "branch"), Some("z9hG4bKb"));
        let contacts: Vec<_> = m.get_all("Contact").collect();
        assert_eq!(contacts.len(), 2);
        assert_eq!(addr_uri(contacts[0]), "sip:a@10.0.0.1");
        assert_eq!(param(contacts[0], "+sip.instance"), Some("<urn:uuid:1,2>"));
        assert_eq!(param(contacts[1], "expires"), Some("60"));
    }

    #[test]
    fn reason_phrase_is_kept_on_serialise() {
        let req = Message::parse(INVITE.as_bytes()).unwrap();
        let resp = Message::response_to(&req, 183, "Session Progress");
        let text = String::from_utf8(resp.to_bytes()).unwrap();
        assert!(
            text.starts_with("SIP/2.0 183 Session Progress\r\n"),
            "{text}"
        );
        let back = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(back.reason(), Some("Session Progress"));
        assert_eq!(back.call_id(), Some("c1@127.0.0.1"));
    }

    #[test]
    fn extension_method_is_501_with_reason() {
        let text = INVITE.replace("INVITE sip:bob", "FROBNICATE sip:bob");
        let err = Message::parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            ParseError::UnsupportedMethod {
                method: "FROBNICATE".into()
            }
        );
        assert_eq!(err.status(), (501, "Not Implemented"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"\r\n\r\n",
            b"hello",
            b"INVITE\r\n\r\n",
            b"SIP/2.0 99 x\r\n\r\n",
            b"SIP/2.0 200 OK\r\nVia\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
            b"INVITE sip:a SIP/2.0\r\n folded-first\r\n\r\n",
        ] {
            assert!(Message::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tel_17_8_sent_by_defaults_the_port_and_ignores_case() {
        let mut m = Message::parse(INVITE.as_bytes()).unwrap();
        assert_eq!(m.sent_by().as_deref(), Some("127.0.0.1:5070"));
        m.set("Via", "SIP/2.0/UDP Host.Example ;branch=z9hG4bKx");
        assert_eq!(m.sent_by().as_deref(), Some("host.example:5060"));
        m.set("Via", "SIP/2.0/UDP [::1]:5062;branch=z9hG4bKx");
        assert_eq!(m.sent_by().as_deref(), Some("[::1]:5062"));
        m.set("Via", "SIP/2.0/UDP [::1];branch=z9hG4bKx");
        assert_eq!(m.sent_by().as_deref(), Some("[::1]:5060"));
    }

    /// A request with `pad` extra header lines and `fill` bytes in one more.
    pub(crate) fn padded_options(pad: usize, fill: usize) -> Vec<u8> {
        let mut m = String::from(
            "OPTIONS sip:k@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKbig\r\n\
From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:k@127.0.0.1>\r\nCall-ID: big\r\nCSeq: 1 OPTIONS\r\n",
        );
        for _ in 0..pad {
            m.push_str("P:1\r\n");
        }
        m.push_str("X-Fill: ");
        m.push_str(&"a".repeat(fill));
        m.push_str("\r\n\r\n");
        m.into_bytes()
    }

    #[test]
    fn tel_17_2_size_and_header_count_are_capped_and_the_essentials_still_read() {
        let big = padded_options(9000, 18_000);
        assert!(big.len() > 60_000 && big.len() < 65_000, "{}", big.len());
        let err = Message::parse(&big).unwrap_err();
        assert_eq!(err.status().0, 513);
        let many = padded_options(200, 10);
        assert!(many.len() < MAX_MESSAGE);
        let err = Message::parse(&many).unwrap_err();
        assert_eq!(err, ParseError::TooManyHeaders { limit: MAX_HEADERS });
        for d in [&big, &many] {
            let m = Message::parse_essentials(d).unwrap();
            assert_eq!(m.headers.len(), 5);
            assert_eq!((m.call_id(), m.branch()), (Some("big"), Some("z9hG4bKbig")));
        }
        // 128 header lines are still fine.
        assert!(Message::parse(&padded_options(MAX_HEADERS - 6, 10)).is_ok());
    }

    #[test]
    fn uri_helpers() {
        assert_eq!(
            uri_host_port("sip:bob@127.0.0.1:5080;transport=udp"),
            Some(("127.0.0.1".into(), 5080))
        );
        assert_eq!(
            uri_host_port("sip:127.0.0.1"),
            Some(("127.0.0.1".into(), 5060))
        );
        assert_eq!(uri_user("sip:0312345678@trunk"), Some("0312345678"));
        assert_eq!(addr_uri("<sip:a@b>;tag=1"), "sip:a@b");
        assert_eq!(addr_uri("sip:a@b;tag=1"), "sip:a@b");
    }
}
