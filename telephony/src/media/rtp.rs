//! RTP (RFC 3550) header parsing and the per-leg stream rewriter that keeps one outgoing
//! SSRC with continuous sequence numbers and timestamps across input SSRC changes and
//! injected packets.

/// The fields of an RTP packet the relay needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Offset of the payload in the packet.
    pub payload_offset: usize,
    /// Length of the payload (padding removed).
    pub payload_len: usize,
}

impl RtpHeader {
    /// Parse; `None` for anything that is not RTP version 2 with a sane length.
    pub fn parse(p: &[u8]) -> Option<RtpHeader> {
        if p.len() < 12 || p[0] >> 6 != 2 {
            return None;
        }
        let cc = usize::from(p[0] & 0x0F);
        let mut off = 12 + 4 * cc;
        if p[0] & 0x10 != 0 {
            if p.len() < off + 4 {
                return None;
            }
            let words = usize::from(u16::from_be_bytes([p[off + 2], p[off + 3]]));
            off += 4 + 4 * words;
        }
        if p.len() < off {
            return None;
        }
        let mut end = p.len();
        if p[0] & 0x20 != 0 {
            let pad = usize::from(*p.last()?);
            if pad == 0 || end - off < pad {
                return None;
            }
            end -= pad;
        }
        Some(RtpHeader {
            marker: p[1] & 0x80 != 0,
            payload_type: p[1] & 0x7F,
            seq: u16::from_be_bytes([p[2], p[3]]),
            timestamp: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
            ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
            payload_offset: off,
            payload_len: end - off,
        })
    }
}

/// Write a minimal 12-byte header followed by `payload`.
pub fn build(
    out: &mut Vec<u8>,
    pt: u8,
    marker: bool,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: &[u8],
) {
    out.clear();
    out.push(0x80);
    out.push(pt | if marker { 0x80 } else { 0 });
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ts.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Keeps one outgoing stream per leg: fixed SSRC, sequence numbers and timestamps that
/// continue across input SSRC changes (a phone restarting its stream, a carrier switching
/// from announcement to call) and across packets we inject (hold silence).
#[derive(Debug, Clone)]
pub struct Rewriter {
    pub ssrc: u32,
    in_ssrc: Option<u32>,
    seq_off: u16,
    ts_off: u32,
    last_seq: u16,
    last_ts: u32,
    started: bool,
    resync: bool,
}

impl Rewriter {
    pub fn new(ssrc: u32) -> Self {
        Rewriter {
            ssrc,
            in_ssrc: None,
            seq_off: 0,
            ts_off: 0,
            last_seq: 0,
            last_ts: 0,
            started: false,
            resync: true,
        }
    }

    /// Map an incoming (ssrc, seq, ts) to outgoing (seq, ts, marker).
    pub fn rewrite(&mut self, ssrc: u32, seq: u16, ts: u32, samples: u32) -> (u16, u32, bool) {
        let mut marker = false;
        if self.resync || self.in_ssrc != Some(ssrc) {
            // New source: continue right after what we sent last.
            let (next_seq, next_ts) = if self.started {
                (
                    self.last_seq.wrapping_add(1),
                    self.last_ts.wrapping_add(samples),
                )
            } else {
                (seq, ts)
            };
            self.seq_off = next_seq.wrapping_sub(seq);
            self.ts_off = next_ts.wrapping_sub(ts);
            self.in_ssrc = Some(ssrc);
            self.resync = false;
            marker = self.started;
        }
        let out_seq = seq.wrapping_add(self.seq_off);
        let out_ts = ts.wrapping_add(self.ts_off);
        // Only move "last" forward (late packets keep their mapped numbers).
        if !self.started || out_seq.wrapping_sub(self.last_seq) < 0x8000 {
            self.last_seq = out_seq;
            self.last_ts = out_ts;
        }
        self.started = true;
        (out_seq, out_ts, marker)
    }

    /// Numbers for a packet we generate ourselves; the next relayed packet re-syncs.
    pub fn inject(&mut self, samples: u32) -> (u16, u32) {
        if self.started {
            self.last_seq = self.last_seq.wrapping_add(1);
            self.last_ts = self.last_ts.wrapping_add(samples);
        } else {
            self.last_seq = rand::random();
            self.last_ts = rand::random();
            self.started = true;
        }
        self.resync = true;
        (self.last_seq, self.last_ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_builds() {
        let mut p = Vec::new();
        build(&mut p, 8, true, 65_535, 0xdead_beef, 42, &[1, 2, 3]);
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(
            (h.payload_type, h.marker, h.seq, h.timestamp, h.ssrc),
            (8, true, 65_535, 0xdead_beef, 42)
        );
        assert_eq!(
            &p[h.payload_offset..h.payload_offset + h.payload_len],
            &[1, 2, 3]
        );
    }

    #[test]
    fn csrc_extension_and_padding_are_skipped() {
        let mut p = vec![0x80 | 0x20 | 0x10 | 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7];
        p.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        p.extend_from_slice(&[0xBE, 0xDE, 0, 1, 5, 5, 5, 5]); // extension of one word
        p.extend_from_slice(&[0xAA, 0xBB]); // payload
        p.extend_from_slice(&[0, 2]); // padding: 2 bytes
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h.payload_offset, 24);
        assert_eq!(h.payload_len, 2);
    }

    #[test]
    fn junk_is_not_rtp() {
        assert!(RtpHeader::parse(&[0u8; 12]).is_none());
        assert!(RtpHeader::parse(&[0x80, 0, 0]).is_none());
        assert!(RtpHeader::parse(&[0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_none());
        assert!(RtpHeader::parse(&[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]).is_none());
    }

    #[test]
    fn ssrc_change_and_injection_keep_the_output_continuous() {
        let mut r = Rewriter::new(1);
        assert_eq!(r.rewrite(100, 10, 1000, 160), (10, 1000, false));
        assert_eq!(r.rewrite(100, 11, 1160, 160), (11, 1160, false));
        // The source restarts with a new SSRC and random numbers.
        assert_eq!(r.rewrite(200, 5000, 77, 160), (12, 1320, true));
        assert_eq!(r.rewrite(200, 5001, 237, 160), (13, 1480, false));
        // Hold silence.
        assert_eq!(r.inject(160), (14, 1640));
        assert_eq!(r.inject(160), (15, 1800));
        assert_eq!(r.rewrite(200, 5002, 397, 160), (16, 1960, true));
        // Sequence wrap-around.
        let mut w = Rewriter::new(1);
        w.rewrite(1, 65_535, 0, 160);
        assert_eq!(w.rewrite(1, 0, 160, 160), (0, 160, false));
    }
}
