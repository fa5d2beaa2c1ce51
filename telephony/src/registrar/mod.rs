//! Registrar for operators' softphones (RFC 3261 §10): REGISTER with a digest challenge,
//! bindings that expire, lookup by user.
//!
//! Credentials come from the api through [`SipCredentials`]: it hands out HA1 values (the
//! hash of user, realm and SIP password), so this crate never sees passwords.
//!
//! Nonces are signed, expire after [`NONCE_LIFETIME`] and their `nc` counts are single-use
//! ([`nonce`]), so a captured REGISTER cannot be sent again to move a binding; every failed
//! proof gets the same 403 text ([`AUTH_FAILED`]).
//!
//! Bindings can outlive the process and be shared between nodes through a [`BindingStore`]
//! ([`shared`]): news is saved, the stored set is adopted when it is newer (restart, another
//! node), and refreshes that change nothing write nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

mod nonce;
pub mod shared;

pub use nonce::{NONCE_LIFETIME, NonceError, Nonces};
pub use shared::{BindingSet, BindingStore, SharedBinding};

use crate::auth::{Algorithm, Challenge, Credentials};
use crate::transaction::ServerTx;
use crate::transport::{Message, addr_uri, param, uri_user};

/// Implemented by the api: the HA1 of a user's SIP password, `None` if the user has none.
pub trait SipCredentials: Send + Sync {
    fn ha1(&self, user: &str, realm: &str, algorithm: Algorithm) -> Option<String>;
}

/// One registered contact of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub user: String,
    /// The Contact URI the phone registered.
    pub contact: String,
    /// Where the REGISTER came from: INVITEs go here (NAT-friendly, RFC 5626 style).
    pub source: SocketAddr,
    pub expires_at: Instant,
}

pub const DEFAULT_EXPIRES: u32 = 3600;
pub const MIN_EXPIRES: u32 = 60;
pub const MAX_EXPIRES: u32 = 7200;

/// The one text every failed proof gets (wrong password, unknown user, username not the
/// registered user): a scanner learns nothing about which users exist (issue 17 item 8).
pub const AUTH_FAILED: &str = "authentication failed";

/// What a REGISTER's Authorization proves, decided before anything is stored.
enum Proof {
    /// Correct response to a fresh nonce of ours with an unused count: may change bindings.
    Valid {
        user: String,
        nonce: String,
        issued: Instant,
        nc: Option<u32>,
    },
    /// Answer this without touching bindings (challenge, refusal).
    Refused(Message),
}

/// A user's bindings on this node.
#[derive(Default)]
struct UserBindings {
    list: Vec<Binding>,
    /// The set as this node last saved or adopted it (with a [`BindingStore`] only).
    stored: Option<BindingSet>,
}

impl UserBindings {
    /// Take `loaded` (from the store) when it is newer than what this node holds.
    fn adopt(&mut self, loaded: Option<BindingSet>, now: SystemTime) {
        let Some(loaded) = loaded else { return };
        if self.stored.as_ref().is_none_or(|s| loaded.at > s.at) {
            self.list = loaded.live(now);
            self.stored = Some(loaded);
        }
    }
}

/// The registrar: bindings by user.
pub struct Registrar {
    realm: String,
    algorithm: Algorithm,
    credentials: Arc<dyn SipCredentials>,
    bindings: Mutex<HashMap<String, UserBindings>>,
    store: OnceLock<Arc<dyn BindingStore>>,
    nonces: Nonces,
    /// HA1 of no one, checked against when the user is unknown so both refusals take as long.
    decoy_ha1: String,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar")
            .field("realm", &self.realm)
            .finish()
    }
}

impl Registrar {
    pub fn new(
        realm: impl Into<String>,
        algorithm: Algorithm,
        credentials: Arc<dyn SipCredentials>,
    ) -> Self {
        let realm = realm.into();
        let decoy = format!("{:032x}", rand::random::<u128>());
        Registrar {
            decoy_ha1: crate::auth::ha1(algorithm, "-", &realm, &decoy),
            realm,
            algorithm,
            credentials,
            bindings: Mutex::new(HashMap::new()),
            store: OnceLock::new(),
            nonces: Nonces::new(),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Answer a REGISTER through its transaction.
    pub fn handle(&self, stx: ServerTx) {
        let resp = self.process(&stx.request, stx.source);
        stx.respond(resp);
    }

    /// Keep bindings in `store` from now on (issue 17 item 4, [`shared`]): set once, before
    /// phones register; false if a store was already set.
    pub fn set_store(&self, store: Arc<dyn BindingStore>) -> bool {
        self.store.set(store).is_ok()
    }

    fn load(&self, user: &str) -> Option<BindingSet> {
        self.store.get().and_then(|s| s.load(user))
    }

    /// Live bindings of `user`, most recently registered first. With a store, a newer set
    /// stored by another node (or before a restart) is adopted first.
    pub fn lookup(&self, user: &str) -> Vec<Binding> {
        let loaded = self.load(user);
        let now = Instant::now();
        let mut map = crate::sync::lock(&self.bindings);
        if loaded.is_some() {
            map.entry(user.to_string())
                .or_default()
                .adopt(loaded, SystemTime::now());
        }
        let Some(entry) = map.get_mut(user) else {
            return Vec::new();
        };
        entry.list.retain(|b| b.expires_at > now);
        let mut out = entry.list.clone();
        out.reverse();
        out
    }

    /// Nonce counts held for replay detection (bounded; for metrics and tests).
    pub fn nonce_counts_held(&self) -> usize {
        self.nonces.counted()
    }

    fn challenge(&self, req: &Message, stale: bool) -> Message {
        let ch = Challenge {
            realm: self.realm.clone(),
            nonce: self.nonces.issue(&self.realm),
            opaque: None,
            algorithm: self.algorithm,
            qop_auth: true,
            stale,
        };
        let mut r = Message::response_to(req, 401, "Unauthorized");
        r.push("WWW-Authenticate", ch.to_header());
        r
    }

    fn refuse(req: &Message, code: u16, reason: &str, why: &str) -> Message {
        let mut r = Message::response_to(req, code, reason);
        r.push("Warning", format!("399 kaden \"{why}\""));
        r
    }

    /// Check a REGISTER's proof without storing anything (RFC 7616 §3.4): used both by the
    /// stateless screen in front of transactions and, again, before bindings change.
    fn prove(&self, req: &Message) -> Proof {
        let Some(user) = req.get("To").and_then(|t| uri_user(addr_uri(t))) else {
            return Proof::Refused(Self::refuse(req, 400, "Bad Request", "To has no user part"));
        };
        let Some(auth) = req.get("Authorization") else {
            return Proof::Refused(self.challenge(req, false));
        };
        let creds = match Credentials::parse(auth) {
            Ok(c) => c,
            // The error names what is missing, never the header's value (it holds secrets).
            Err(e) => return Proof::Refused(Self::refuse(req, 400, "Bad Request", &e.to_string())),
        };
        if creds.realm != self.realm {
            return Proof::Refused(self.challenge(req, true));
        }
        let issued = match self.nonces.check(&creds.nonce, &self.realm) {
            Ok(t) => t,
            // A nonce of another process (we restarted), expired or forged: try again with ours.
            Err(_) => return Proof::Refused(self.challenge(req, true)),
        };
        let nc = match &creds.qop {
            Some((nc, _)) => match u32::from_str_radix(nc, 16) {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Proof::Refused(Self::refuse(
                        req,
                        400,
                        "Bad Request",
                        "nc must be 1 or more",
                    ));
                }
            },
            None => None,
        };
        let known = if creds.username == user {
            self.credentials.ha1(user, &self.realm, creds.algorithm)
        } else {
            None
        };
        // Unknown users are checked against a decoy so the answer and its timing match.
        let ha1 = known.as_deref().unwrap_or(&self.decoy_ha1);
        if !creds.verify(ha1, "REGISTER") || known.is_none() {
            return Proof::Refused(Self::refuse(req, 403, "Forbidden", AUTH_FAILED));
        }
        if !self.nonces.is_new(&creds.nonce, nc) {
            // A replayed Authorization: the client must answer a new nonce (RFC 7616 §3.4).
            return Proof::Refused(self.challenge(req, true));
        }
        Proof::Valid {
            user: user.to_string(),
            nonce: creds.nonce,
            issued,
            nc,
        }
    }

    /// Stateless screening of a new REGISTER (issue 17 items 1 and 3): `Some(answer)` for every
    /// REGISTER that proves nothing (challenge, stale nonce, replay, wrong password), to be sent
    /// without a transaction; `None` for one with a valid proof, which goes on to
    /// [`Registrar::process`] in a transaction.
    pub fn screen(&self, req: &Message) -> Option<Message> {
        match self.prove(req) {
            Proof::Valid { .. } => None,
            Proof::Refused(r) => Some(r),
        }
    }

    /// Decide the response to a REGISTER. Bindings change only with a valid proof whose nonce
    /// count is used here for the first time.
    pub fn process(&self, req: &Message, source: SocketAddr) -> Message {
        let (user, nonce, issued, nc) = match self.prove(req) {
            Proof::Valid {
                user,
                nonce,
                issued,
                nc,
            } => (user, nonce, issued, nc),
            Proof::Refused(r) => return r,
        };
        if !self.nonces.accept(&nonce, issued, nc) {
            return self.challenge(req, true);
        }

        let header_expires = req
            .get("Expires")
            .and_then(|e| e.trim().parse::<u32>().ok());
        let loaded = self.load(&user);
        let now = Instant::now();
        let wall = SystemTime::now();
        let contacts: Vec<&str> = req.get_all("Contact").collect();
        let news = {
            let mut map = crate::sync::lock(&self.bindings);
            let entry = map.entry(user.clone()).or_default();
            entry.adopt(loaded, wall);
            let list = &mut entry.list;
            list.retain(|b| b.expires_at > now);
            if contacts.iter().any(|c| c.trim() == "*") {
                if header_expires != Some(0) || contacts.len() != 1 {
                    return Self::refuse(req, 400, "Bad Request", "Contact * needs Expires: 0");
                }
                list.clear();
            }
            for c in contacts.iter().filter(|c| c.trim() != "*") {
                let uri = addr_uri(c).to_string();
                let expires = param(c, "expires")
                    .and_then(|e| e.parse::<u32>().ok())
                    .or(header_expires)
                    .unwrap_or(DEFAULT_EXPIRES);
                if expires > 0 && expires < MIN_EXPIRES {
                    let mut r = Message::response_to(req, 423, "Interval Too Brief");
                    r.push("Min-Expires", MIN_EXPIRES.to_string());
                    return r;
                }
                list.retain(|b| b.contact != uri);
                if expires > 0 {
                    list.push(Binding {
                        user: user.clone(),
                        contact: uri,
                        source,
                        expires_at: now + Duration::from_secs(u64::from(expires.min(MAX_EXPIRES))),
                    });
                }
            }
            // Only news is saved: a refresh that just extends the expiry writes nothing.
            let set = BindingSet::of(&user, wall, list);
            (self.store.get().is_some() && shared::is_news(entry.stored.as_ref(), &set)).then(
                || {
                    entry.stored = Some(set.clone());
                    set
                },
            )
        };
        if let (Some(set), Some(store)) = (news, self.store.get()) {
            store.save(set);
        }
        let mut ok = Message::response_to(req, 200, "OK");
        for b in self.lookup(&user) {
            let left = b.expires_at.saturating_duration_since(now).as_secs();
            ok.push("Contact", format!("<{}>;expires={left}", b.contact));
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{authorization, ha1};

    struct Users;
    impl SipCredentials for Users {
        fn ha1(&self, user: &str, realm: &str, algorithm: Algorithm) -> Option<String> {
            (user == "op1").then(|| ha1(algorithm, user, realm, "secret"))
        }
    }

    fn register(user: &str, contact: &str, auth: Option<String>) -> Message {
        let mut m = Message::request(rsip::Method::Register, "sip:127.0.0.1");
        m.push("Via", "SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bKr");
        m.push("From", format!("<sip:{user}@127.0.0.1>;tag=r1"));
        m.push("To", format!("<sip:{user}@127.0.0.1>"));
        m.push("Call-ID", "reg1");
        m.push("CSeq", "1 REGISTER");
        m.push("Contact", contact);
        if let Some(a) = auth {
            m.push("Authorization", a);
        }
        m
    }

    fn answer_challenge(reg: &Registrar, user: &str, pw: &str, contact: &str) -> Message {
        let src = "127.0.0.1:6000".parse().unwrap();
        let ch = reg.process(&register(user, contact, None), src);
        assert_eq!(ch.status(), Some(401));
        let ch = Challenge::parse(ch.get("WWW-Authenticate").unwrap()).unwrap();
        let a = authorization(&ch, user, pw, "REGISTER", "sip:127.0.0.1", "cn", 1);
        reg.process(&register(user, contact, Some(a)), src)
    }

    #[tokio::test(start_paused = true)]
    async fn register_with_digest_then_binding_expires() {
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let reg = Registrar::new("kaden", alg, Arc::new(Users));
            let ok = answer_challenge(&reg, "op1", "secret", "<sip:op1@127.0.0.1:6000>;expires=60");
            assert_eq!(ok.status(), Some(200));
            assert_eq!(
                ok.get("Contact"),
                Some("<sip:op1@127.0.0.1:6000>;expires=60")
            );
            let b = reg.lookup("op1");
            assert_eq!(b.len(), 1);
            assert_eq!(b[0].source, "127.0.0.1:6000".parse().unwrap());
            tokio::time::advance(Duration::from_secs(59)).await;
            assert_eq!(reg.lookup("op1").len(), 1);
            tokio::time::advance(Duration::from_secs(2)).await;
            assert!(reg.lookup("op1").is_empty(), "binding expired");
        }
    }

    #[test]
    fn wrong_password_unknown_user_and_reused_foreign_nonce_are_refused() {
        let reg = Registrar::new("kaden", Algorithm::Md5, Arc::new(Users));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let bad = answer_challenge(&reg, "op1", "nope", "<sip:op1@127.0.0.1:6000>");
            assert_eq!(bad.status(), Some(403));
            assert!(bad.get("Warning").unwrap().contains(AUTH_FAILED));
            let unknown = answer_challenge(&reg, "op2", "secret", "<sip:op2@127.0.0.1:6000>");
            assert_eq!(unknown.status(), Some(403));
            // tel_17_8: no username discovery: the same status, phrase and Warning.
            assert_eq!(unknown.reason(), bad.reason());
            assert_eq!(unknown.get("Warning"), bad.get("Warning"));
            // A nonce we never issued is answered with a fresh, stale challenge.
            let ch = Challenge {
                realm: "kaden".into(),
                nonce: "forged".into(),
                opaque: None,
                algorithm: Algorithm::Md5,
                qop_auth: true,
                stale: false,
            };
            let a = authorization(&ch, "op1", "secret", "REGISTER", "sip:127.0.0.1", "c", 1);
            let r = reg.process(
                &register("op1", "<sip:op1@x>", Some(a)),
                "127.0.0.1:1".parse().unwrap(),
            );
            assert_eq!(r.status(), Some(401));
            assert!(r.get("WWW-Authenticate").unwrap().contains("stale=true"));
            assert!(reg.lookup("op1").is_empty());
        });
    }

    #[tokio::test(start_paused = true)]
    async fn tel_17_1_replayed_authorization_gets_stale_401_and_the_binding_stays() {
        let reg = Registrar::new("kaden", Algorithm::Md5, Arc::new(Users));
        let phone: SocketAddr = "127.0.0.1:6000".parse().unwrap();
        let contact = "<sip:op1@127.0.0.1:6000>";
        let ch = reg.process(&register("op1", contact, None), phone);
        let ch = Challenge::parse(ch.get("WWW-Authenticate").unwrap()).unwrap();
        let a = authorization(&ch, "op1", "secret", "REGISTER", "sip:127.0.0.1", "cn", 1);
        assert_eq!(
            reg.process(&register("op1", contact, Some(a.clone())), phone)
                .status(),
            Some(200)
        );
        // The same Authorization from elsewhere, pointing the binding at the attacker.
        let attacker: SocketAddr = "127.0.0.1:6666".parse().unwrap();
        let evil = register("op1", "<sip:op1@127.0.0.1:6666>", Some(a.clone()));
        assert!(reg.screen(&evil).is_some(), "screened statelessly");
        let r = reg.process(&evil, attacker);
        assert_eq!(r.status(), Some(401));
        assert!(r.get("WWW-Authenticate").unwrap().contains("stale=true"));
        let b = reg.lookup("op1");
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].contact.as_str(), b[0].source),
            ("sip:op1@127.0.0.1:6000", phone)
        );
        // The phone itself goes on with the next count on the same nonce.
        let a2 = authorization(&ch, "op1", "secret", "REGISTER", "sip:127.0.0.1", "cn", 2);
        assert_eq!(
            reg.process(&register("op1", contact, Some(a2)), phone)
                .status(),
            Some(200)
        );
        // After the nonce's lifetime even a new count is stale.
        tokio::time::advance(NONCE_LIFETIME + Duration::from_secs(1)).await;
        let a3 = authorization(&ch, "op1", "secret", "REGISTER", "sip:127.0.0.1", "cn", 3);
        let r = reg.process(
            &register("op1", "<sip:op1@127.0.0.1:6666>", Some(a3)),
            attacker,
        );
        assert_eq!(r.status(), Some(401));
        assert!(r.get("WWW-Authenticate").unwrap().contains("stale=true"));
        assert_eq!(reg.lookup("op1")[0].source, phone);
    }

    #[test]
    fn tel_17_1_challenges_keep_no_state() {
        let reg = Registrar::new("kaden", Algorithm::Md5, Arc::new(Users));
        for _ in 0..1000 {
            assert!(reg.screen(&register("op1", "<sip:op1@x>", None)).is_some());
        }
        assert_eq!(reg.nonce_counts_held(), 0);
    }

    #[test]
    fn too_brief_expiry_and_unregister() {
        let reg = Registrar::new("kaden", Algorithm::Md5, Arc::new(Users));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let r = answer_challenge(&reg, "op1", "secret", "<sip:op1@127.0.0.1:6000>;expires=10");
            assert_eq!(r.status(), Some(423));
            assert_eq!(r.get("Min-Expires"), Some("60"));
            assert_eq!(
                answer_challenge(&reg, "op1", "secret", "<sip:op1@127.0.0.1:6000>").status(),
                Some(200)
            );
            assert_eq!(reg.lookup("op1").len(), 1);
            let r = answer_challenge(&reg, "op1", "secret", "<sip:op1@127.0.0.1:6000>;expires=0");
            assert_eq!(r.status(), Some(200));
            assert!(reg.lookup("op1").is_empty());
        });
    }
}
