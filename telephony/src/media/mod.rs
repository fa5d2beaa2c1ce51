//! Media: RTP, G.711, the two-leg relay and the stereo WAV recorder (written off the relay's
//! task, by a writer thread behind a bounded queue).

pub mod g711;
pub mod probe;
mod recorder;
mod relay;
pub mod rtp;
pub mod tone;
pub mod wav;

pub use relay::{FRAME, LegConfig, LegId, Relay, RelayReport, RelayStats};
