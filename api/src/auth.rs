//! Passwords (argon2id), session tokens, CSRF tokens and login throttling by address: the
//! primitives `service::session` builds login and sessions from.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
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

/// Hashes a password on a blocking thread (argon2 takes tens of milliseconds on purpose).
pub async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// Checks a password against a PHC hash on a blocking thread.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
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
        let hash = hash_password("correct horse battery".into()).await;
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery".into(), hash.clone()).await);
        assert!(!verify_password("wrong".into(), hash).await);
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
        assert!(!verify_password("anything".into(), DECOY_HASH.into()).await);
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
