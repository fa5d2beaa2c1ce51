//! G.711 μ-law and A-law (ITU-T G.711), sample by sample.

const BIAS: i32 = 0x84;
const CLIP: i32 = 32_635;

/// Linear 16-bit → μ-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let exponent = (7 - ((s as u32) << 17).leading_zeros().min(7)) as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// μ-law → linear 16-bit.
pub fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let sign = u & 0x80;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

/// Linear 16-bit → A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let s = i32::from(sample);
    let (sign, mut mag) = if s >= 0 { (0xD5, s) } else { (0x55, -s - 1) };
    mag = mag.min(32_767) >> 3;
    let code = if mag < 32 {
        mag >> 1
    } else {
        let mut seg = 1;
        let mut v = mag >> 5;
        while v > 1 {
            v >>= 1;
            seg += 1;
        }
        (seg << 4) | ((mag >> seg) & 0x0F)
    };
    (code ^ sign) as u8
}

/// A-law → linear 16-bit.
pub fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let seg = i32::from((a & 0x70) >> 4);
    let mut t = i32::from(a & 0x0F) << 4;
    t += 8;
    if seg >= 1 {
        t += 0x100;
    }
    if seg > 1 {
        t <<= seg - 1;
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// The byte that decodes to silence.
pub fn silence_byte(codec: crate::sdp::Codec) -> u8 {
    match codec {
        crate::sdp::Codec::Pcmu => 0xFF,
        crate::sdp::Codec::Pcma => 0xD5,
    }
}

pub fn decode(codec: crate::sdp::Codec, payload: &[u8], out: &mut Vec<i16>) {
    match codec {
        crate::sdp::Codec::Pcmu => out.extend(payload.iter().map(|b| ulaw_to_linear(*b))),
        crate::sdp::Codec::Pcma => out.extend(payload.iter().map(|b| alaw_to_linear(*b))),
    }
}

pub fn encode(codec: crate::sdp::Codec, samples: &[i16], out: &mut Vec<u8>) {
    match codec {
        crate::sdp::Codec::Pcmu => out.extend(samples.iter().map(|s| linear_to_ulaw(*s))),
        crate::sdp::Codec::Pcma => out.extend(samples.iter().map(|s| linear_to_alaw(*s))),
    }
}

/// Convert a payload between the two laws in place.
pub fn transcode(from: crate::sdp::Codec, to: crate::sdp::Codec, payload: &mut [u8]) {
    if from == to {
        return;
    }
    for b in payload.iter_mut() {
        *b = match from {
            crate::sdp::Codec::Pcmu => linear_to_alaw(ulaw_to_linear(*b)),
            crate::sdp::Codec::Pcma => linear_to_ulaw(alaw_to_linear(*b)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::Codec;

    #[test]
    fn known_codes() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x00), -32_124);
        assert_eq!(ulaw_to_linear(0x80), 32_124);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x2A), -32_256);
        assert_eq!(alaw_to_linear(0xAA), 32_256);
    }

    #[test]
    fn round_trip_error_is_within_the_segment_step() {
        for s in (-32_000i32..32_000).step_by(37) {
            let s = s as i16;
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            let tol = (i32::from(s).abs() / 16).max(16);
            assert!(
                (i32::from(u) - i32::from(s)).abs() <= tol,
                "ulaw {s} -> {u}"
            );
            assert!(
                (i32::from(a) - i32::from(s)).abs() <= tol,
                "alaw {s} -> {a}"
            );
        }
    }

    #[test]
    fn every_code_round_trips_through_linear() {
        for c in 0..=255u8 {
            let u = linear_to_ulaw(ulaw_to_linear(c));
            // 0x7F and 0xFF both mean zero in μ-law.
            assert!(
                u == c || ulaw_to_linear(u) == ulaw_to_linear(c),
                "ulaw {c:#x}"
            );
            assert_eq!(linear_to_alaw(alaw_to_linear(c)), c, "alaw {c:#x}");
        }
    }

    #[test]
    fn transcode_keeps_the_signal() {
        let samples: Vec<i16> = (0..160)
            .map(|i| ((i as f32 / 10.0).sin() * 8000.0) as i16)
            .collect();
        let mut p = Vec::new();
        encode(Codec::Pcmu, &samples, &mut p);
        transcode(Codec::Pcmu, Codec::Pcma, &mut p);
        let mut back = Vec::new();
        decode(Codec::Pcma, &p, &mut back);
        for (a, b) in samples.iter().zip(&back) {
            assert!((i32::from(*a) - i32::from(*b)).abs() < 600, "{a} vs {b}");
        }
    }
}
