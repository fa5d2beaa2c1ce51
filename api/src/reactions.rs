//! Side effects that follow events, read from the log rather than done by the request that
//! wrote them: a crash between the write and the effect cannot lose the effect, because the
//! next start reads on from the last checkpoint.
//!
//! Today: a recording whose interaction was saved 不通 (`RecordingDropped`, REC-1) has its WAV
//! file deleted from this node's recordings folder. The checkpoint (the last position acted
//! on) is kept beside the files, in `<data dir>/reactions.position`; with no checkpoint and no
//! recordings folder there is nothing to clean up, so the reader starts at the log's head.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cqrs_es::Aggregate;
use kaden_domain::event::KadenEvent;
use kaden_domain::interaction::{Interaction, InteractionEvent};
use kaden_projections::log::{EventLog, LogPosition};

use crate::store::Store;

/// Events read per batch.
const BATCH: usize = 500;

/// Where a node keeps its reactions' checkpoint.
pub fn checkpoint_path(data_dir: &Path) -> PathBuf {
    data_dir.join("reactions.position")
}

/// Follows the log from the checkpoint and acts on each event until `stop` resolves.
pub async fn run(store: Store, data_dir: PathBuf, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    let recordings = data_dir.join("recordings");
    let checkpoint = checkpoint_path(&data_dir);
    let mut position = match read_checkpoint(&checkpoint).await {
        Some(p) => p,
        None if tokio::fs::metadata(&recordings).await.is_err() => {
            store.head().await.unwrap_or(LogPosition::START)
        }
        None => LogPosition::START,
    };
    let mut wakeups = store.wakeups();
    let poll = store.poll_interval();
    loop {
        wakeups.borrow_and_update();
        match store.read_after(position, BATCH).await {
            Ok(events) if !events.is_empty() => {
                for raw in &events {
                    if raw.aggregate_type == Interaction::TYPE
                        && raw.event_type == "RecordingDropped"
                    {
                        match raw.decode() {
                            Ok(stored) => act(&recordings, &stored.event).await,
                            Err(error) => tracing::warn!(%error, "reactions: unreadable event"),
                        }
                    }
                }
                position = events.last().map_or(position, |e| e.position);
                write_checkpoint(&checkpoint, position).await;
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "reactions: log read failed; retrying"),
        }
        tokio::select! {
            _ = wakeups.changed() => {}
            () = tokio::time::sleep(poll.max(Duration::from_millis(100))) => {}
            () = &mut stop => return,
        }
    }
}

async fn act(recordings: &Path, event: &KadenEvent) {
    let KadenEvent::Interaction(InteractionEvent::RecordingDropped { file }) = event else {
        return;
    };
    // Only a plain file name inside the recordings folder: never a path out of it.
    if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
        tracing::warn!(%file, "reactions: refusing a recording name that is not a plain file name");
        return;
    }
    match tokio::fs::remove_file(recordings.join(file)).await {
        Ok(()) => tracing::info!(%file, "recording dropped (status 不通): file deleted"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => tracing::warn!(%file, %error, "could not delete a dropped recording"),
    }
}

async fn read_checkpoint(path: &Path) -> Option<LogPosition> {
    let text = tokio::fs::read_to_string(path).await.ok()?;
    text.trim().parse().ok()
}

/// Written to a temporary file and renamed, so a crash leaves the old or the new checkpoint.
async fn write_checkpoint(path: &Path, position: LogPosition) {
    let tmp = path.with_extension("position.tmp");
    let written = async {
        tokio::fs::write(&tmp, position.to_string()).await?;
        tokio::fs::rename(&tmp, path).await
    }
    .await;
    if let Err(error) = written {
        tracing::warn!(%error, path = %path.display(), "reactions: cannot write the checkpoint");
    }
}
