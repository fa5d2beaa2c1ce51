//! Stereo 16-bit 8 kHz WAV writer: customer on the left channel, operator on the right.
//!
//! Plain blocking `std::fs` I/O: call it from a blocking thread (the relay's recording writer,
//! `media::recorder`, does), never from an async task.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const SAMPLE_RATE: u32 = 8000;

#[derive(Debug)]
pub struct WavWriter {
    out: BufWriter<File>,
    path: PathBuf,
    frames: u32,
}

fn header(frames: u32) -> [u8; 44] {
    let data_len = frames * 4;
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_len).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&2u16.to_le_bytes()); // channels
    h[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
    h[28..32].copy_from_slice(&(SAMPLE_RATE * 4).to_le_bytes());
    h[32..34].copy_from_slice(&4u16.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

impl WavWriter {
    pub fn create(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = BufWriter::with_capacity(32 * 1024, File::create(path)?);
        out.write_all(&header(0))?;
        Ok(WavWriter {
            out,
            path: path.to_path_buf(),
            frames: 0,
        })
    }

    /// Append frames: `left[i]`, `right[i]` (equal lengths).
    pub fn write(&mut self, left: &[i16], right: &[i16]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(left.len() * 4);
        for (l, r) in left.iter().zip(right) {
            buf.extend_from_slice(&l.to_le_bytes());
            buf.extend_from_slice(&r.to_le_bytes());
        }
        self.out.write_all(&buf)?;
        self.frames += left.len().min(right.len()) as u32;
        Ok(())
    }

    /// Drop everything after the first `frames` frames.
    pub fn truncate(&mut self, frames: u32) -> io::Result<()> {
        if frames >= self.frames {
            return Ok(());
        }
        self.out.flush()?;
        let f = self.out.get_mut();
        f.set_len(44 + u64::from(frames) * 4)?;
        f.seek(SeekFrom::End(0))?;
        self.frames = frames;
        Ok(())
    }

    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// Write the final sizes and flush to disk.
    pub fn finish(mut self) -> io::Result<(PathBuf, u32)> {
        self.out.flush()?;
        let mut f = self.out.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&header(self.frames))?;
        f.sync_data()?;
        Ok((self.path, self.frames))
    }
}

/// Read back a WAV written by [`WavWriter`]: (channels, sample rate, frames, samples).
pub fn read(path: &Path) -> io::Result<(u16, u32, u32, Vec<i16>)> {
    let data = std::fs::read(path)?;
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "not a PCM WAV file");
    if data.len() < 44 || &data[0..4] != b"RIFF" || &data[8..12] != b"WAVE" {
        return Err(bad());
    }
    let channels = u16::from_le_bytes([data[22], data[23]]);
    let rate = u32::from_le_bytes([data[24], data[25], data[26], data[27]]);
    let len = u32::from_le_bytes([data[40], data[41], data[42], data[43]]) as usize;
    if data.len() < 44 + len || channels == 0 {
        return Err(bad());
    }
    let samples: Vec<i16> = data[44..44 + len]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    let frames = (samples.len() / usize::from(channels)) as u32;
    Ok((channels, rate, frames, samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_readable_stereo_file() {
        let path = std::env::temp_dir().join(format!("kaden-wav-{}.wav", rand::random::<u64>()));
        let mut w = WavWriter::create(&path).unwrap();
        w.write(&[1, 2, 3], &[-1, -2, -3]).unwrap();
        w.truncate(2).unwrap();
        w.write(&[4], &[-4]).unwrap();
        let (p, frames) = w.finish().unwrap();
        assert_eq!(frames, 3);
        let (ch, rate, n, s) = read(&p).unwrap();
        assert_eq!((ch, rate, n), (2, 8000, 3));
        assert_eq!(s, vec![1, -1, 2, -2, 4, -4]);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 44 + 12);
        std::fs::remove_file(p).unwrap();
    }
}
