//! Passwords (argon2id), session tokens, CSRF tokens and login throttling by address: the
//! primitives `service::session` builds login and sessions from.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{self, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use kaden_domain::error::ErrorCode;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The browser session cookie (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "kaden_session";

/// argon2id with 19 MiB, 2 passes, 1 lane (the OWASP minimum).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// How long a password check waits for a hashing slot before the request is refused `BUSY`.
pub const HASH_QUEUE: Duration = Duration::from_secs(2);

/// A password check or hash, run on a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// Concurrent argon2 computations: one per core (at least two), each on a thread of its own
/// that lives as long as the process. Each check holds 19 MiB while it runs, so the slots bound
/// CPU and memory under a burst of logins (SEC-3); fixed threads also keep the allocator from
/// parking 19 MiB in a fresh arena for every pool thread that ever hashed.
fn hashers() -> &'static (tokio::sync::Semaphore, std::sync::mpsc::SyncSender<Job>) {
    static HASHERS: std::sync::OnceLock<(
        tokio::sync::Semaphore,
        std::sync::mpsc::SyncSender<Job>,
    )> = std::sync::OnceLock::new();
    HASHERS.get_or_init(|| {
        let slots = std::thread::available_parallelism()
            .map_or(2, usize::from)
            .max(2);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(slots);
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..slots {
            let rx = std::sync::Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("kaden-argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = rx
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password-hashing thread");
            }
        }
        (tokio::sync::Semaphore::new(slots), tx)
    })
}

/// Runs `work` on a hashing thread once a slot is free; refuses `BUSY` (429, with Retry-After)
/// when none frees within [`HASH_QUEUE`].
async fn with_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (slots, jobs) = hashers();
    let permit = tokio::time::timeout(HASH_QUEUE, slots.acquire())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| ApiError::busy(HASH_QUEUE.as_secs()))?;
    let (done, result) = tokio::sync::oneshot::channel();
    // Never blocks: jobs in flight are at most the slots, and the queue holds that many.
    jobs.try_send(Box::new(move || {
        let _ = done.send(work());
    }))
    .map_err(|_| ApiError::busy(HASH_QUEUE.as_secs()))?;
    let out = result
        .await
        .map_err(|_| ApiError::internal("password hashing"));
    drop(permit);
    out
}

/// Largest argon2 memory a stored hash may ask for (ours asks for 19 MiB).
const MAX_HASH_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// Each hashing thread's argon2 memory, allocated once and reused: a burst of logins costs
    /// no allocation at all, and memory stays at one buffer per slot after it.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// argon2 with this thread's reused memory.
fn hash_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let count = argon2.params().block_count();
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < count {
            blocks.resize(count, argon2::Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..count])
    })
}

/// Hashes a password into a PHC string (argon2 takes tens of milliseconds on purpose), within
/// the hashing slots.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    with_hashing_slot(move || {
        let salt = SaltString::generate(&mut OsRng);
        let argon2 = argon2();
        let phc = (|| -> password_hash::Result<String> {
            let mut salt_buf = [0u8; 64];
            let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf)?;
            let len = argon2
                .params()
                .output_len()
                .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
            let output = password_hash::Output::init_with(len, |out| {
                Ok(hash_into(&argon2, password.as_bytes(), salt_bytes, out)?)
            })?;
            Ok(PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: password_hash::ParamsString::try_from(argon2.params())?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            }
            .to_string())
        })();
        phc.unwrap_or_default()
    })
    .await
}

/// Checks a password against a PHC hash (constant-time comparison), within the hashing slots.
pub async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    with_hashing_slot(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let (Ok(params), Ok(algorithm)) = (
            Params::try_from(&parsed),
            Algorithm::try_from(parsed.algorithm),
        ) else {
            return false;
        };
        if params.block_count() > MAX_HASH_BLOCKS {
            return false;
        }
        let version = parsed
            .version
            .map_or(Ok(Version::V0x13), Version::try_from)
            .unwrap_or(Version::V0x13);
        let argon2 = Argon2::new(algorithm, version, params);
        let mut salt_buf = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
            return false;
        };
        let mut out = vec![0u8; expected.len()];
        if hash_into(&argon2, password.as_bytes(), salt_bytes, &mut out).is_err() {
            return false;
        }
        password_hash::Output::new(&out).is_ok_and(|computed| computed == expected)
    })
    .await
}

/// A new random session token (256 bits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("kdn_{}", hex::encode(bytes))
}

/// What the store keeps of a token: its SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token that goes with a session token: derivable only by whoever holds the token.
pub fn csrf_token(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("kaden-csrf:{token}").as_bytes())[..16])
}

/// A random one-time password: 20 characters without look-alikes (0/O, 1/l/I).
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Login attempts per client address: at most `LIMIT` in `WINDOW`.
pub struct LoginLimiter {
    attempts: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub const LIMIT: usize = 30;
    pub const WINDOW: Duration = Duration::from_secs(300);

    pub fn new() -> Self {
        Self {
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt; refuses with the wait when the address is over its limit.
    pub fn attempt(&self, addr: IpAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut all = self
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if all.len() > 10_000 {
            all.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < Self::WINDOW)
            });
        }
        let queue = all.entry(addr).or_default();
        while queue
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Self::WINDOW)
        {
            queue.pop_front();
        }
        if queue.len() >= Self::LIMIT {
            let wait = queue.front().map_or(Self::WINDOW, |t| {
                Self::WINDOW.saturating_sub(now.duration_since(*t))
            });
            return Err(ApiError::new(
                ErrorCode::TooManyAttempts,
                format!(
                    "ログイン試行が多すぎます。{}秒後にお試しください (too many login attempts from {addr}: wait {} seconds)",
                    wait.as_secs() + 1,
                    wait.as_secs() + 1
                ),
            ));
        }
        queue.push_back(now);
        Ok(())
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new()
    }
}

/// A valid PHC hash of an unguessable password, verified against when the username is unknown
/// so that unknown and known usernames take the same time.
pub(crate) const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Gx1w3tTqkWQ3L3m7b7G4b0fDq8a0bJ8gNw2sB3T8H5E";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify_password("correct horse battery".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong".into(), hash).await.unwrap());
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
        assert!(
            !verify_password("anything".into(), DECOY_HASH.into())
                .await
                .unwrap()
        );
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let a = new_token();
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(csrf_token(&a), csrf_token(&new_token()));
        assert_eq!(one_time_password().len(), 20);
    }

    #[test]
    fn login_attempts_are_limited_per_address() {
        let limiter = LoginLimiter::new();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..LoginLimiter::LIMIT {
            limiter.attempt(a).unwrap();
        }
        assert_eq!(limiter.attempt(a).unwrap_err().code, "TOO_MANY_ATTEMPTS");
        limiter.attempt("192.0.2.2".parse().unwrap()).unwrap();
    }
}
