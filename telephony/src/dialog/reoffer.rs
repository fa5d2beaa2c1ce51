//! Answering an offer inside an established dialog (RFC 3264 §8): the far end's re-INVITE
//! (a carrier putting the call on hold with `a=sendonly`, or `a=inactive`, and taking it off
//! again) gets our SDP with the direction RFC 3264 §6.1 asks for — `recvonly` to `sendonly`,
//! `inactive` to `inactive`, `sendonly` to `recvonly` — and the `o=` version raised whenever
//! the answer differs from what we sent last (§8, so the far end notices the change).

use crate::sdp::{Direction, Sdp};

const DIRECTIONS: [&str; 4] = ["sendrecv", "sendonly", "recvonly", "inactive"];

fn attr(d: Direction) -> &'static str {
    match d {
        Direction::SendRecv => "sendrecv",
        Direction::SendOnly => "sendonly",
        Direction::RecvOnly => "recvonly",
        Direction::Inactive => "inactive",
    }
}

/// The direction the offer asks of its audio stream (media level, else session level).
fn offered(offer: &[u8]) -> Direction {
    match Sdp::parse(offer) {
        Ok(s) => s
            .media
            .iter()
            .find(|m| m.kind == "audio" && m.port != 0)
            .map(|m| m.direction)
            .unwrap_or(s.direction),
        // An offer we cannot read (or none: a re-INVITE without SDP asks us to offer) keeps
        // the media flowing both ways.
        Err(_) => Direction::SendRecv,
    }
}

fn split_lines(sdp: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(sdp)
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

/// `o=` line's session version, and the other lines.
fn version_and_rest(lines: &[String]) -> (Option<u64>, Vec<&String>) {
    let version = lines
        .iter()
        .find(|l| l.starts_with("o="))
        .and_then(|o| o.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok());
    (
        version,
        lines.iter().filter(|l| !l.starts_with("o=")).collect(),
    )
}

fn ways(d: Direction) -> (bool, bool) {
    match d {
        Direction::SendRecv => (true, true),
        Direction::SendOnly => (true, false),
        Direction::RecvOnly => (false, true),
        Direction::Inactive => (false, false),
    }
}

/// What we may do given what we want (`local`) and what the offer allows.
fn both(local: Direction, allowed: Direction) -> Direction {
    let (ls, lr) = ways(local);
    let (os, or) = ways(allowed);
    match (ls && os, lr && or) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

/// Our answer to `offer`: `local` (our current SDP, whose direction says what we want — it is
/// `sendonly` while we hold the call) with every direction attribute replaced by what both
/// sides allow, versioned against `last_sent` (the SDP the far end last got from us).
pub fn answer(local: &[u8], offer: &[u8], last_sent: &[u8]) -> Vec<u8> {
    let dir = attr(both(offered(local), offered(offer).answer_to()));
    let mut lines: Vec<String> = split_lines(local)
        .into_iter()
        .map(|l| match l.strip_prefix("a=") {
            Some(a) if DIRECTIONS.contains(&a) => format!("a={dir}"),
            _ => l,
        })
        .collect();
    if !lines.iter().any(|l| l == &format!("a={dir}")) {
        lines.push(format!("a={dir}"));
    }
    let last = split_lines(last_sent);
    let (last_version, last_rest) = version_and_rest(&last);
    let (_, rest) = version_and_rest(&lines);
    let Some(last_version) = last_version else {
        return join(&lines);
    };
    let version = if rest == last_rest {
        last_version
    } else {
        last_version + 1
    };
    for l in lines.iter_mut().filter(|l| l.starts_with("o=")) {
        let mut f: Vec<String> = l.split_whitespace().map(str::to_string).collect();
        if f.len() >= 3 {
            f[2] = version.to_string();
            *l = f.join(" ");
        }
    }
    join(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::{Codec, render};

    fn ours(dir: Direction) -> Vec<u8> {
        render(
            "127.0.0.1".parse().unwrap(),
            4000,
            &[Codec::Pcmu],
            Some(101),
            dir,
            7,
        )
        .into_bytes()
    }

    fn offer(dir: &str) -> Vec<u8> {
        format!("v=0\r\no=c 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na={dir}\r\n").into_bytes()
    }

    fn parsed(b: &[u8]) -> (Direction, String) {
        let s = Sdp::parse(b).unwrap();
        let text = String::from_utf8(b.to_vec()).unwrap();
        let o = text
            .lines()
            .find(|l| l.starts_with("o="))
            .unwrap()
            .to_string();
        (s.media[0].direction, o)
    }

    #[test]
    fn tel_17_6_carrier_hold_sendonly_is_answered_recvonly_and_resume_sendrecv() {
        let local = ours(Direction::SendRecv);
        let hold = answer(&local, &offer("sendonly"), &local);
        assert_eq!(
            parsed(&hold),
            (Direction::RecvOnly, "o=kaden 7 8 IN IP4 127.0.0.1".into())
        );
        let resume = answer(&local, &offer("sendrecv"), &hold);
        assert_eq!(
            parsed(&resume),
            (Direction::SendRecv, "o=kaden 7 9 IN IP4 127.0.0.1".into())
        );
        // The same offer again changes nothing, so the version stays.
        let again = answer(&local, &offer("sendrecv"), &resume);
        assert_eq!(again, resume);
    }

    #[test]
    fn tel_17_6_inactive_is_answered_inactive_and_recvonly_sendonly() {
        let local = ours(Direction::SendRecv);
        assert_eq!(
            parsed(&answer(&local, &offer("inactive"), &local)).0,
            Direction::Inactive
        );
        assert_eq!(
            parsed(&answer(&local, &offer("recvonly"), &local)).0,
            Direction::SendOnly
        );
        // While we hold (our SDP sendonly) a sendrecv offer still gets sendonly, and a
        // sendonly one inactive.
        let holding = ours(Direction::SendOnly);
        assert_eq!(
            parsed(&answer(&holding, &offer("sendrecv"), &holding)).0,
            Direction::SendOnly
        );
        assert_eq!(
            parsed(&answer(&holding, &offer("sendonly"), &holding)).0,
            Direction::Inactive
        );
        // Session-level direction counts when the media has none.
        let session = b"v=0\r\no=c 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\na=sendonly\r\nm=audio 5000 RTP/AVP 0\r\n";
        assert_eq!(
            parsed(&answer(&local, session, &local)).0,
            Direction::RecvOnly
        );
    }
}
