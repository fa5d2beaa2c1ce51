//! List-import previews waiting for their commit (LST-2), bounded: each holds a parsed list, so
//! a node keeps at most [`MAX_PREVIEWS`] of them and one user at most [`MAX_PREVIEWS_PER_USER`]
//! (a user's newest preview evicts their oldest), each for [`PREVIEW_TTL`]. A commit that comes
//! too late says why its preview is gone — expired, evicted by newer previews, or unknown
//! here — and how to go on (issue 12 item 8).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kaden_domain::error::ErrorCode;
use kaden_domain::list::ParsedList;

use super::imports::{Committed, Destination, PREVIEW_TTL};
use crate::error::ApiError;

/// Previews a node keeps at once.
pub const MAX_PREVIEWS: usize = 32;
/// Previews one user keeps at once.
pub const MAX_PREVIEWS_PER_USER: usize = 5;
/// Ids of gone previews remembered, to say why they are gone.
const GONE_REMEMBERED: usize = 4_096;

/// A checked upload waiting for its commit.
pub struct Preview {
    pub tenant_id: String,
    pub user_id: u64,
    pub destination: Destination,
    pub campaign_id: String,
    pub list: ParsedList,
    created: Instant,
    /// The first commit's outcome (a retried commit answers it again).
    pub(super) outcome: tokio::sync::Mutex<Option<Committed>>,
}

impl Preview {
    pub fn new(
        tenant_id: String,
        user_id: u64,
        destination: Destination,
        campaign_id: String,
        list: ParsedList,
    ) -> Self {
        Self {
            tenant_id,
            user_id,
            destination,
            campaign_id,
            list,
            created: Instant::now(),
            outcome: tokio::sync::Mutex::new(None),
        }
    }

    fn expired(&self) -> bool {
        self.created.elapsed() >= PREVIEW_TTL
    }
}

/// Why a preview cannot be committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    Expired,
    /// The same user made [`MAX_PREVIEWS_PER_USER`] newer previews (or the node its
    /// [`MAX_PREVIEWS`]).
    Evicted,
    NotFound,
}

impl Gone {
    /// The refusal for a commit of `preview_id`, saying what to do.
    pub fn error(self, preview_id: &str) -> ApiError {
        let again = "upload the file to /api/folders/import/preview again";
        match self {
            Gone::Expired => ApiError::new(
                ErrorCode::PreviewExpired,
                format!(
                    "プレビューの有効期限({}分)が切れました (preview {preview_id:?} expired after {} minutes: {again})",
                    PREVIEW_TTL.as_secs() / 60,
                    PREVIEW_TTL.as_secs() / 60
                ),
            ),
            Gone::Evicted => ApiError::new(
                ErrorCode::PreviewEvicted,
                format!(
                    "新しいプレビューが{MAX_PREVIEWS_PER_USER}件を超えたため、このプレビューは破棄されました (preview {preview_id:?} was dropped for newer ones: a user keeps {MAX_PREVIEWS_PER_USER} at once; {again})"
                ),
            ),
            Gone::NotFound => ApiError::new(
                ErrorCode::PreviewNotFound,
                format!(
                    "プレビューが見つかりません (preview {preview_id:?} is unknown on this server — previews live on the node that made them: {again})"
                ),
            ),
        }
    }
}

#[derive(Default)]
struct Inner {
    live: HashMap<String, Arc<Preview>>,
    gone: HashMap<String, (Gone, Instant)>,
}

impl Inner {
    fn bury(&mut self, id: &str, why: Gone) {
        self.live.remove(id);
        if self.gone.len() >= GONE_REMEMBERED {
            self.gone.retain(|_, (_, at)| at.elapsed() < PREVIEW_TTL);
        }
        if self.gone.len() < GONE_REMEMBERED {
            self.gone.insert(id.to_string(), (why, Instant::now()));
        }
    }

    fn oldest(&self, of_user: Option<(&str, u64)>) -> Option<String> {
        self.live
            .iter()
            .filter(|(_, p)| of_user.is_none_or(|(t, u)| p.tenant_id == t && p.user_id == u))
            .min_by_key(|(_, p)| p.created)
            .map(|(id, _)| id.clone())
    }
}

/// In-memory previews of this node.
#[derive(Default)]
pub struct Previews {
    inner: Mutex<Inner>,
}

impl Previews {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `preview` and returns its id, evicting the user's oldest beyond their share and
    /// the node's oldest beyond its cap.
    pub fn insert(&self, preview: Preview) -> String {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let mut inner = self.lock();
        let expired: Vec<String> = inner
            .live
            .iter()
            .filter(|(_, p)| p.expired())
            .map(|(id, _)| id.clone())
            .collect();
        for old in expired {
            inner.bury(&old, Gone::Expired);
        }
        let user = (preview.tenant_id.clone(), preview.user_id);
        let mine = |inner: &Inner| {
            inner
                .live
                .values()
                .filter(|p| p.tenant_id == user.0 && p.user_id == user.1)
                .count()
        };
        while mine(&inner) >= MAX_PREVIEWS_PER_USER {
            let Some(old) = inner.oldest(Some((&user.0, user.1))) else {
                break;
            };
            inner.bury(&old, Gone::Evicted);
        }
        while inner.live.len() >= MAX_PREVIEWS {
            let Some(old) = inner.oldest(None) else { break };
            inner.bury(&old, Gone::Evicted);
        }
        inner.live.insert(id.clone(), Arc::new(preview));
        id
    }

    /// The preview `id` of `user` in `tenant`, or why it is gone. Another user's preview is
    /// unknown to them.
    pub fn get(&self, id: &str, tenant: &str, user: u64) -> Result<Arc<Preview>, Gone> {
        let mut inner = self.lock();
        match inner.live.get(id).cloned() {
            Some(p) if p.tenant_id != tenant || p.user_id != user => Err(Gone::NotFound),
            Some(p) if p.expired() => {
                inner.bury(id, Gone::Expired);
                Err(Gone::Expired)
            }
            Some(p) => Ok(p),
            None => Err(inner.gone.get(id).map_or(Gone::NotFound, |(why, _)| *why)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaden_domain::list::{ImportRules, ImportTarget, ReservedNames, parse_customer_file};

    fn list() -> ParsedList {
        let reserved = ReservedNames::default();
        let rules = ImportRules {
            reserved: &reserved,
            target: ImportTarget::NewFolder,
        };
        parse_customer_file("電話番号\r\n0312345678\r\n".as_bytes(), &rules).expect("list")
    }

    fn preview(user: u64) -> Preview {
        Preview::new(
            "t".into(),
            user,
            Destination::Folder { number: 1 },
            "c".into(),
            list(),
        )
    }

    #[test]
    fn lst_2_sec_12_8_previews_are_bounded_per_user_and_a_lost_one_says_why() {
        let previews = Previews::default();
        let first = previews.insert(preview(1));
        let others: Vec<String> = (0..MAX_PREVIEWS_PER_USER)
            .map(|_| previews.insert(preview(1)))
            .collect();
        assert_eq!(previews.get(&first, "t", 1).err(), Some(Gone::Evicted));
        for id in &others {
            assert!(previews.get(id, "t", 1).is_ok(), "the newest five stay");
        }
        // Another user's previews do not push this user's out, and are not theirs to commit.
        let theirs = previews.insert(preview(2));
        assert!(previews.get(&others[0], "t", 1).is_ok());
        assert_eq!(previews.get(&theirs, "t", 1).err(), Some(Gone::NotFound));
        assert_eq!(previews.get("nope", "t", 1).err(), Some(Gone::NotFound));
        assert_eq!(Gone::Evicted.error("x").code, ErrorCode::PreviewEvicted);
        assert!(Gone::Expired.error("x").message.contains("30"));
    }
}
