//! The recording writer: the relay's task hands blocks of stereo frames to a writer on a
//! blocking thread through a bounded queue, so a slow disk never delays relayed audio.
//!
//! The relay never waits for the writer: [`Recorder::push`] uses `try_send`, and when the queue
//! is full (the disk has fallen [`QUEUE_BLOCKS`] ticks behind) the block is dropped and counted.
//! Every block carries its file position, so the writer fills a dropped stretch with silence:
//! the file stays aligned and exactly as long as the talk, but it is incomplete, and the relay
//! reports it like any failed recording (`recording_error`, which the dialler turns into
//! `CallEvent::RecordingFailed`); the partial file is left in place.
//!
//! Everything that touches the file system (creating the directory and the file, writing,
//! truncating, the final header and `sync_data`) runs on the writer's thread, never on the
//! relay's task. Only stopping waits for the writer: the report says what became of the file.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::wav::{SAMPLE_RATE, WavWriter};

/// Blocks the writer may fall behind before the relay drops recording audio: the relay queues
/// one block per 20 ms tick, so this is 5 s of audio (about 160 KiB per call).
pub(super) const QUEUE_BLOCKS: usize = 250;

/// How the writer is set up; tests shrink the queue and slow the writer down.
#[derive(Clone)]
pub(crate) struct WriterTuning {
    /// Capacity of the queue, in blocks.
    pub queue: usize,
    /// Called on the writer's thread before each block is written (a test hook for a slow disk).
    pub before_block: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Default for WriterTuning {
    fn default() -> Self {
        WriterTuning {
            queue: QUEUE_BLOCKS,
            before_block: None,
        }
    }
}

impl fmt::Debug for WriterTuning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterTuning")
            .field("queue", &self.queue)
            .field("before_block", &self.before_block.is_some())
            .finish()
    }
}

enum Block {
    /// Frames from file position `at` on: customer (left) and operator (right).
    Frames {
        at: u64,
        left: Vec<i16>,
        right: Vec<i16>,
    },
    /// Make the file exactly `frames` long, write the header and sync.
    Finish { frames: u64 },
}

/// What the writer's thread did with the file.
enum Written {
    /// The file could not be created; the error went to the caller of `Relay::record`.
    NotStarted,
    Done(io::Result<(PathBuf, u32)>),
}

/// The relay's end of a recording in progress.
pub(super) struct Recorder {
    tx: mpsc::Sender<Block>,
    writer: JoinHandle<Written>,
    started: Instant,
    /// Frames handed over (queued or dropped): the file position of the next block.
    queued: u64,
    /// Frames dropped because the queue was full.
    dropped: u64,
    /// The writer has gone (it could not create or write the file): stop queueing.
    closed: bool,
}

impl Recorder {
    /// Start a writer for `path`; it answers `reply` once the file exists (with the recording's
    /// frame 0, now) or could not be created. Returns at once.
    pub(super) fn start(
        path: PathBuf,
        tuning: WriterTuning,
        reply: oneshot::Sender<io::Result<Instant>>,
    ) -> Recorder {
        let started = Instant::now();
        let (tx, rx) = mpsc::channel(tuning.queue.max(1));
        let writer = tokio::task::spawn_blocking(move || {
            write_file(path, rx, reply, started, tuning.before_block)
        });
        Recorder {
            tx,
            writer,
            started,
            queued: 0,
            dropped: 0,
            closed: false,
        }
    }

    /// Frames of real time since the recording started.
    pub(super) fn position(&self) -> u64 {
        frames_in(self.started.elapsed())
    }

    /// Frames of real time from the start to `end`.
    pub(super) fn frames_until(&self, end: Instant) -> u64 {
        frames_in(end.saturating_duration_since(self.started))
    }

    /// Frames handed to the writer so far (written, queued or dropped).
    pub(super) fn frames(&self) -> u64 {
        self.queued
    }

    /// Queue the next frames without waiting; returns how many were dropped (0 or all of them)
    /// because the writer is too far behind.
    pub(super) fn push(&mut self, left: Vec<i16>, right: Vec<i16>) -> u64 {
        let n = left.len() as u64;
        let at = self.queued;
        self.queued += n;
        if self.closed {
            return 0;
        }
        match self.tx.try_send(Block::Frames { at, left, right }) {
            Ok(()) => 0,
            Err(TrySendError::Full(_)) => {
                self.dropped += n;
                n
            }
            Err(TrySendError::Closed(_)) => {
                self.closed = true;
                0
            }
        }
    }

    /// Append `tail` (the last frames), make the file exactly `frames` long and wait for the
    /// writer: (the recording and its length, or why there is none). Used when the relay stops,
    /// so it may wait for room in the queue.
    pub(super) async fn finish(
        self,
        frames: u64,
        tail: Option<(Vec<i16>, Vec<i16>)>,
    ) -> (Option<(PathBuf, Duration)>, Option<String>) {
        if let Some((left, right)) = tail {
            let at = self.queued;
            let _ = self.tx.send(Block::Frames { at, left, right }).await;
        }
        let _ = self.tx.send(Block::Finish { frames }).await;
        drop(self.tx);
        match self.writer.await {
            Ok(Written::NotStarted) => (None, None),
            Ok(Written::Done(Ok((path, frames)))) => {
                let length =
                    Duration::from_micros(u64::from(frames) * 1_000_000 / u64::from(SAMPLE_RATE));
                if self.dropped == 0 {
                    (Some((path, length)), None)
                } else {
                    let lost = self.dropped * 1000 / u64::from(SAMPLE_RATE);
                    let error = format!(
                        "recording incomplete: {lost} ms of audio dropped because the disk was too \
                         slow; the partial file {} ({length:?}) has silence there",
                        path.display()
                    );
                    (None, Some(error))
                }
            }
            Ok(Written::Done(Err(e))) => (None, Some(e.to_string())),
            Err(e) => (None, Some(format!("recording writer failed: {e}"))),
        }
    }
}

fn frames_in(d: Duration) -> u64 {
    (d.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000) as u64
}

/// The writer's thread: create the file, write blocks in order (silence where blocks were
/// dropped), finish. A write error ends the thread, which closes the queue.
fn write_file(
    path: PathBuf,
    mut rx: mpsc::Receiver<Block>,
    reply: oneshot::Sender<io::Result<Instant>>,
    started: Instant,
    before_block: Option<Arc<dyn Fn() + Send + Sync>>,
) -> Written {
    let mut w = match WavWriter::create(&path) {
        Ok(w) => {
            let _ = reply.send(Ok(started));
            w
        }
        Err(e) => {
            let _ = reply.send(Err(e));
            return Written::NotStarted;
        }
    };
    while let Some(block) = rx.blocking_recv() {
        let written = match block {
            Block::Frames { at, left, right } => {
                if let Some(hook) = &before_block {
                    hook();
                }
                silence_to(&mut w, at).and_then(|_| w.write(&left, &right))
            }
            Block::Finish { frames } => return Written::Done(finish(w, frames)),
        };
        if let Err(e) = written {
            return Written::Done(Err(e));
        }
    }
    // The relay went away without stopping: leave a complete file of what was written.
    Written::Done(w.finish())
}

/// Write silence up to file position `at` (where dropped blocks were).
fn silence_to(w: &mut WavWriter, at: u64) -> io::Result<()> {
    let mut have = u64::from(w.frames());
    while have < at {
        let n = (at - have).min(8000) as usize;
        let zeros = vec![0i16; n];
        w.write(&zeros, &zeros)?;
        have += n as u64;
    }
    Ok(())
}

fn finish(mut w: WavWriter, frames: u64) -> io::Result<(PathBuf, u32)> {
    let frames_u32 = u32::try_from(frames).unwrap_or(u32::MAX);
    if u64::from(w.frames()) < frames {
        silence_to(&mut w, frames)?;
    } else {
        w.truncate(frames_u32)?;
    }
    w.finish()
}
