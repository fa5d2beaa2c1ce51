//! Fax CNG tone detection (1100 Hz, 0.5 s on / 3 s off, ITU-T T.30) with a Goertzel filter on
//! 20 ms frames: a call answered by a fax machine can be suggested as FAX.

/// Detects a sustained 1100 Hz tone in 8 kHz audio.
#[derive(Debug, Clone)]
pub struct CngDetector {
    coeff: f32,
    run: u32,
    detected: bool,
}

/// Frames of tone in a row that count as CNG (0.4 s of the 0.5 s burst).
const FRAMES_NEEDED: u32 = 20;

impl Default for CngDetector {
    fn default() -> Self {
        CngDetector {
            coeff: 2.0 * (std::f32::consts::TAU * 1100.0 / 8000.0).cos(),
            run: 0,
            detected: false,
        }
    }
}

impl CngDetector {
    /// Feed one frame; returns true once CNG has been heard.
    pub fn frame(&mut self, samples: &[i16]) -> bool {
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        let mut energy = 0.0f32;
        for &x in samples {
            let x = f32::from(x);
            energy += x * x;
            let s0 = x + self.coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = s1 * s1 + s2 * s2 - self.coeff * s1 * s2;
        let n = samples.len().max(1) as f32;
        // Share of the frame's energy at 1100 Hz (≈1 for a pure tone).
        let share = if energy > 0.0 {
            2.0 * power / (n * energy)
        } else {
            0.0
        };
        let loud = energy / n > 100_000.0; // about -30 dBFS
        if loud && share > 0.7 {
            self.run += 1;
            if self.run >= FRAMES_NEEDED {
                self.detected = true;
            }
        } else {
            self.run = 0;
        }
        self.detected
    }

    pub fn detected(&self) -> bool {
        self.detected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, frames: usize, amp: f32) -> Vec<Vec<i16>> {
        (0..frames)
            .map(|f| {
                (0..160)
                    .map(|i| {
                        let t = (f * 160 + i) as f32 / 8000.0;
                        ((std::f32::consts::TAU * freq * t).sin() * amp) as i16
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn detects_half_a_second_of_1100_hz() {
        let mut d = CngDetector::default();
        let frames = tone(1100.0, 25, 8000.0);
        let hits: Vec<bool> = frames.iter().map(|f| d.frame(f)).collect();
        assert!(!hits[10], "not after 200 ms");
        assert!(hits[24], "after 500 ms");
    }

    #[test]
    fn speech_band_tones_and_quiet_tone_are_not_cng() {
        for (freq, amp) in [(440.0, 8000.0), (2100.0, 8000.0), (1100.0, 100.0)] {
            let mut d = CngDetector::default();
            assert!(
                !tone(freq, 50, amp).iter().any(|f| d.frame(f)),
                "{freq} Hz at {amp}"
            );
        }
        let mut d = CngDetector::default();
        let mut synth = crate::carrier::SpeechSynth::new(3);
        let mut frame = [0i16; 160];
        for _ in 0..500 {
            synth.fill(&mut frame);
            assert!(!d.frame(&frame), "speech is not a fax");
        }
    }
}
