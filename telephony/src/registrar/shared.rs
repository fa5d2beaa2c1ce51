//! Bindings kept outside the process (issue 17 item 4): the hook through which the api makes
//! registrations durable and shared between nodes, without this crate knowing the store.
//!
//! A [`BindingStore`] is given to [`super::Registrar::set_store`]. The registrar then
//! - **saves** a user's whole [`BindingSet`] when a REGISTER brought news ([`is_news`]): a
//!   contact or source added, moved or removed, or a stored expiry that would lapse before half
//!   of the requested interval has passed. A refresh that only extends the expiry writes
//!   nothing, so phones refreshing every minute do not flood the log;
//! - **loads** the stored set at lookup and REGISTER time and adopts it when it is newer than
//!   what the registrar holds (stamped [`BindingSet::at`]). This is the restore after a restart
//!   (the registrar starts empty, the store is not) and how a node learns of a phone that
//!   registered on another node. Expired bindings are never adopted.
//!
//! `save` is called on the SIP task: it must not block (queue the write). `load` is called on
//! every lookup: it must be a memory read (the api answers it from a read model).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::Binding;

/// One binding with a wall-clock expiry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedBinding {
    pub contact: String,
    pub source: SocketAddr,
    pub expires_at: SystemTime,
}

/// A user's bindings as set by the REGISTER at `at` (an empty list: unregistered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingSet {
    pub user: String,
    pub at: SystemTime,
    pub bindings: Vec<SharedBinding>,
}

/// Where bindings live outside the registrar (implemented by the api).
pub trait BindingStore: Send + Sync {
    /// The user's bindings as last stored by any node, `None` if never. A memory read.
    fn load(&self, user: &str) -> Option<BindingSet>;
    /// Store a change. Must not block: called on the SIP task.
    fn save(&self, set: BindingSet);
}

impl BindingSet {
    /// The set of `user`'s live bindings, stamped `at`.
    pub(super) fn of(user: &str, at: SystemTime, bindings: &[Binding]) -> BindingSet {
        let now = Instant::now();
        BindingSet {
            user: user.to_string(),
            at,
            bindings: bindings
                .iter()
                .filter(|b| b.expires_at > now)
                .map(|b| SharedBinding {
                    contact: b.contact.clone(),
                    source: b.source,
                    expires_at: at + b.expires_at.saturating_duration_since(now),
                })
                .collect(),
        }
    }

    /// The bindings still live at `now`, on the registrar's clock (expired ones are dropped).
    pub(super) fn live(&self, now: SystemTime) -> Vec<Binding> {
        let mono = Instant::now();
        self.bindings
            .iter()
            .filter_map(|b| {
                let left = b.expires_at.duration_since(now).ok()?;
                (!left.is_zero()).then(|| Binding {
                    user: self.user.clone(),
                    contact: b.contact.clone(),
                    source: b.source,
                    expires_at: mono + left,
                })
            })
            .collect()
    }
}

/// Whether `new` (the bindings after a REGISTER at `new.at`) must be saved over `stored`: a
/// binding added, removed or pointing elsewhere, or one whose stored expiry lapses before half
/// of its new interval has passed (so a restored binding always outlives the phone's next
/// refresh). Expired stored bindings do not count.
pub fn is_news(stored: Option<&BindingSet>, new: &BindingSet) -> bool {
    let now = new.at;
    let live: Vec<&SharedBinding> = stored
        .map(|s| s.bindings.iter().filter(|b| b.expires_at > now).collect())
        .unwrap_or_default();
    if live.len() != new.bindings.len() {
        return true;
    }
    new.bindings.iter().any(|b| {
        let Some(old) = live
            .iter()
            .find(|o| o.contact == b.contact && o.source == b.source)
        else {
            return true;
        };
        let interval = b.expires_at.duration_since(now).unwrap_or(Duration::ZERO);
        old.expires_at < now + interval / 2
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::Registrar;
    use super::*;
    use crate::auth::{Algorithm, Challenge, authorization};
    use crate::transport::Message;

    fn set(at: u64, bindings: &[(&str, u16, u64)]) -> BindingSet {
        let t = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + s);
        BindingSet {
            user: "op1".into(),
            at: t(at),
            bindings: bindings
                .iter()
                .map(|(c, port, exp)| SharedBinding {
                    contact: c.to_string(),
                    source: SocketAddr::from(([127, 0, 0, 1], *port)),
                    expires_at: t(*exp),
                })
                .collect(),
        }
    }

    #[test]
    fn tel_17_4_a_refresh_is_news_only_when_something_changes_or_half_the_interval_passed() {
        let stored = set(0, &[("sip:a", 5000, 3600)]);
        // The first registration, and an unregistration, are news.
        assert!(is_news(None, &stored));
        assert!(is_news(Some(&stored), &set(10, &[])));
        // A refresh a minute later: same contact, expiry extended — nothing to write.
        assert!(!is_news(Some(&stored), &set(60, &[("sip:a", 5000, 3660)])));
        // Still nothing just before half the interval has passed...
        assert!(!is_news(
            Some(&stored),
            &set(1800, &[("sip:a", 5000, 5400)])
        ));
        // ...but after it the stored expiry would lapse too soon.
        assert!(is_news(Some(&stored), &set(1801, &[("sip:a", 5000, 5401)])));
        // Another contact, another source, a second contact: news.
        assert!(is_news(Some(&stored), &set(60, &[("sip:b", 5000, 3660)])));
        assert!(is_news(Some(&stored), &set(60, &[("sip:a", 6000, 3660)])));
        assert!(is_news(
            Some(&stored),
            &set(60, &[("sip:a", 5000, 3660), ("sip:b", 5000, 3660)])
        ));
        // A stored binding that has expired is no binding.
        assert!(is_news(Some(&stored), &set(3601, &[("sip:a", 5000, 7201)])));
        assert!(!is_news(Some(&stored), &set(3601, &[])));
    }

    #[test]
    fn tel_17_4_expired_bindings_are_not_live() {
        let s = set(0, &[("sip:a", 5000, 100), ("sip:b", 5001, 50)]);
        let t = |x: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + x);
        let live = s.live(t(60));
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].contact, "sip:a");
        assert!(s.live(t(100)).is_empty());
    }

    /// A store in memory, counting saves (what the api turns into events).
    #[derive(Default)]
    struct Memory {
        sets: std::sync::Mutex<Vec<BindingSet>>,
    }
    impl BindingStore for Memory {
        fn load(&self, user: &str) -> Option<BindingSet> {
            let sets = crate::sync::lock(&self.sets);
            sets.iter().rev().find(|s| s.user == user).cloned()
        }
        fn save(&self, set: BindingSet) {
            crate::sync::lock(&self.sets).push(set);
        }
    }

    struct Op1;
    impl super::super::SipCredentials for Op1 {
        fn ha1(&self, user: &str, realm: &str, algorithm: Algorithm) -> Option<String> {
            (user == "op1").then(|| crate::auth::ha1(algorithm, user, realm, "secret"))
        }
    }

    fn registrar(store: &Arc<Memory>) -> Registrar {
        let r = Registrar::new("kaden", Algorithm::Md5, Arc::new(Op1));
        assert!(r.set_store(store.clone()));
        r
    }

    /// REGISTER `contact` from `port` with a fresh challenge; the status.
    fn register(reg: &Registrar, port: u16, contact: &str) -> u16 {
        let src = SocketAddr::from(([127, 0, 0, 1], port));
        let msg = |auth: Option<String>| {
            let mut m = Message::request(rsip::Method::Register, "sip:127.0.0.1");
            m.push(
                "Via",
                format!("SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKr"),
            );
            m.push("From", "<sip:op1@127.0.0.1>;tag=r1");
            m.push("To", "<sip:op1@127.0.0.1>");
            m.push("Call-ID", "reg1");
            m.push("CSeq", "1 REGISTER");
            m.push("Contact", contact);
            if let Some(a) = auth {
                m.push("Authorization", a);
            }
            m
        };
        let ch = reg.process(&msg(None), src);
        let ch = Challenge::parse(ch.get("WWW-Authenticate").unwrap()).unwrap();
        let a = authorization(&ch, "op1", "secret", "REGISTER", "sip:127.0.0.1", "c", 1);
        reg.process(&msg(Some(a)), src).status().unwrap()
    }

    #[tokio::test]
    async fn tel_17_4_bindings_are_saved_once_restored_and_shared() {
        let store = Arc::new(Memory::default());
        let a = registrar(&store);
        assert_eq!(register(&a, 6000, "<sip:op1@127.0.0.1:6000>"), 200);
        assert_eq!(
            store.sets.lock().unwrap().len(),
            1,
            "the first REGISTER is saved"
        );
        for _ in 0..5 {
            assert_eq!(register(&a, 6000, "<sip:op1@127.0.0.1:6000>"), 200);
        }
        assert_eq!(store.sets.lock().unwrap().len(), 1, "refreshes are no news");
        // A restart: a new registrar on the same store finds the phone.
        let restarted = registrar(&store);
        let b = restarted.lookup("op1");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].source, SocketAddr::from(([127, 0, 0, 1], 6000)));
        // Its refresh after the restart is no news either.
        assert_eq!(register(&restarted, 6000, "<sip:op1@127.0.0.1:6000>"), 200);
        assert_eq!(store.sets.lock().unwrap().len(), 1);
        // The phone moves and registers on the other node: the first node follows.
        assert_eq!(register(&restarted, 7000, "<sip:op1@127.0.0.1:7000>"), 200);
        assert_eq!(store.sets.lock().unwrap().len(), 2);
        let b = a.lookup("op1");
        assert_eq!(b.len(), 2, "a second contact (RFC 3261 §10.3)");
        assert_eq!(b[0].contact, "sip:op1@127.0.0.1:7000", "the newest first");
        // Unregistering is news too, and every node sees it.
        assert_eq!(
            register(&a, 7000, "<sip:op1@127.0.0.1:7000>;expires=0"),
            200
        );
        assert_eq!(store.sets.lock().unwrap().len(), 3);
        let b = restarted.lookup("op1");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].contact, "sip:op1@127.0.0.1:6000");
        assert_eq!(
            register(&restarted, 6000, "<sip:op1@127.0.0.1:6000>;expires=0"),
            200
        );
        assert!(a.lookup("op1").is_empty());
    }

    #[tokio::test]
    async fn tel_17_4_expired_stored_bindings_are_not_restored() {
        let store = Arc::new(Memory::default());
        let past = SystemTime::now() - Duration::from_secs(10);
        store.save(BindingSet {
            user: "op1".into(),
            at: past - Duration::from_secs(60),
            bindings: vec![SharedBinding {
                contact: "sip:op1@127.0.0.1:6000".into(),
                source: SocketAddr::from(([127, 0, 0, 1], 6000)),
                expires_at: past,
            }],
        });
        assert!(registrar(&store).lookup("op1").is_empty());
    }
}
