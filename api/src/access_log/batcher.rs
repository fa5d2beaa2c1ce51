//! The batcher: the edge hands it one draft per access; every ~100 ms (or 500 entries) it
//! appends each tenant's share as one atomic write.

use super::*;

/// Most entries written by one command.
pub const BATCH_ENTRIES: usize = 500;
/// How long the first access of a batch waits for others.
pub const BATCH_WAIT: Duration = Duration::from_millis(100);
/// Accesses waiting to be written before new ones are dropped (and logged as an error).
pub(super) const QUEUE: usize = 100_000;
/// Longest texts kept per entry (operation names, details).
pub(super) const MAX_TEXT: usize = 500;

pub(super) enum Message {
    Entry(AccessDraft),
    Flush(oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

/// Hands accesses to the batcher. Cheap; never waits for the store.
pub struct AccessRecorder {
    tx: mpsc::Sender<Message>,
}

/// The batcher's end of the queue; give it to [`run`].
pub struct AccessInbox(mpsc::Receiver<Message>);

impl AccessRecorder {
    pub fn new() -> (Self, AccessInbox) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Self { tx }, AccessInbox(rx))
    }

    /// Queues one access for the log.
    pub fn record(&self, draft: AccessDraft) {
        if let Err(error) = self.tx.try_send(Message::Entry(draft)) {
            tracing::error!(%error, "access log queue full or closed: an access was not recorded");
        }
    }

    /// Writes everything queued so far; returns when it is in the store.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Writes everything queued and stops the batcher (at shutdown, before the store closes).
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// The batcher: collects accesses for up to [`BATCH_WAIT`] or [`BATCH_ENTRIES`], then appends
/// each tenant's share as one command (conflicts with other nodes are retried by `Commands`).
pub async fn run(store: Store, inbox: AccessInbox) {
    let mut rx = inbox.0;
    let mut pending: Vec<AccessDraft> = Vec::new();
    loop {
        let first = if pending.is_empty() {
            match rx.recv().await {
                Some(m) => Some(m),
                None => return,
            }
        } else {
            match tokio::time::timeout(BATCH_WAIT, rx.recv()).await {
                Ok(Some(m)) => Some(m),
                Ok(None) => {
                    write(&store, std::mem::take(&mut pending)).await;
                    return;
                }
                Err(_) => None,
            }
        };
        match first {
            Some(Message::Entry(draft)) => {
                pending.push(draft);
                if pending.len() < BATCH_ENTRIES {
                    continue;
                }
            }
            Some(Message::Flush(done)) => {
                write(&store, std::mem::take(&mut pending)).await;
                let _ = done.send(());
                continue;
            }
            Some(Message::Close(done)) => {
                write(&store, std::mem::take(&mut pending)).await;
                let _ = done.send(());
                return;
            }
            None => {}
        }
        write(&store, std::mem::take(&mut pending)).await;
    }
}

pub(super) async fn write(store: &Store, drafts: Vec<AccessDraft>) {
    let mut by_tenant: BTreeMap<String, Vec<AccessDraft>> = BTreeMap::new();
    for d in drafts {
        by_tenant.entry(d.tenant.clone()).or_default().push(d);
    }
    for (tenant, entries) in by_tenant {
        let count = entries.len();
        if let Err(error) = append(store, &tenant, entries).await {
            tracing::error!(%error, %tenant, count, "access log entries could not be written");
        }
    }
}
