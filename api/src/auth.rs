//! Passwords (argon2id), session tokens, CSRF tokens, login throttling (by address, and per user
//! after repeated failures), and login itself, which records its outcome in the access log.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use kaden_domain::access::Outcome;
use kaden_domain::error::ErrorCode;
use kaden_domain::session::{LoginRefusal, SessionCommand};
use kaden_projections::directory::UserView;
use kaden_projections::log::LogPosition;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::commands::{AuthUser, RequestContext};
use crate::error::ApiError;
use crate::state::AppState;

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

/// A successful login.
pub struct LoggedIn {
    pub token: String,
    pub csrf_token: String,
    pub user: UserView,
    pub position: LogPosition,
}

/// A valid PHC hash of an unguessable password, verified against when the username is unknown
/// so that unknown and known usernames take the same time.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Gx1w3tTqkWQ3L3m7b7G4b0fDq8a0bJ8gNw2sB3T8H5E";

/// Per-user login throttling: the refusal names the time, in the configured zone, from which
/// the user may try again.
pub fn throttled(app: &AppState, retry: kaden_domain::access::RetryAt) -> ApiError {
    use kaden_domain::access::throttle::{FAILED_LOGIN_WINDOW_MINUTES, MAX_FAILED_LOGINS};
    let zone = app.settings.time_zone;
    let at = retry.0.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S");
    ApiError::new(
        ErrorCode::LoginThrottled,
        format!(
            "ログインの失敗が続いたため、{at}({zone})までこのユーザーではログインできません。その時刻以降に\
             再度お試しいただくか、マネージャーにパスワードの再設定を依頼してください (too many failed \
             logins for this user ({MAX_FAILED_LOGINS} within {FAILED_LOGIN_WINDOW_MINUTES} minutes): \
             try again at {at} {zone}, or ask a manager to reset the password)"
        ),
    )
}

/// Checks the password, records the outcome as an event and in the access log, and opens a
/// session.
pub async fn login(
    app: &AppState,
    ctx: &RequestContext,
    client: IpAddr,
    username: &str,
    password: &str,
) -> Result<LoggedIn, ApiError> {
    let tried: String = username.chars().take(64).collect();
    let result = login_checked(app, ctx, client, &tried, password).await;
    let entry = |user: Option<u64>, outcome, detail: &str| {
        let mut draft = crate::audit::draft(
            ctx,
            user.map(|id| (id, tried.as_str())),
            "login",
            outcome,
            detail,
        );
        if user.is_none() {
            // A failed login keeps the username tried, though no user has it.
            draft.username.clone_from(&tried);
        }
        app.access.record(draft);
    };
    match &result {
        Ok(done) => entry(Some(done.user.user_id), Outcome::Success, ""),
        Err((user, error)) => {
            let outcome = if error.code == ErrorCode::BadCredentials {
                Outcome::Failure
            } else {
                Outcome::Refused
            };
            entry(*user, outcome, error.code.as_str());
        }
    }
    result.map_err(|(_, error)| error)
}

/// Stores a refused login and waits until the read models count it, so the very next attempt
/// on this node sees it (login throttling).
async fn record_refusal(
    app: &AppState,
    session_id: &str,
    refuse: SessionCommand,
    ctx: &RequestContext,
) -> Result<(), ApiError> {
    if let Some(position) = app.commands.session(session_id, refuse, ctx).await? {
        app.engine
            .wait_for(position, Duration::from_secs(10))
            .await
            .map_err(|e| ApiError::lagging(&e))?;
    }
    Ok(())
}

async fn login_checked(
    app: &AppState,
    ctx: &RequestContext,
    client: IpAddr,
    username: &str,
    password: &str,
) -> Result<LoggedIn, (Option<u64>, ApiError)> {
    app.login_limiter.attempt(client).map_err(|e| (None, e))?;
    let (user, throttle) = app.engine.read(|m| {
        (
            m.directory.user_by_name(&ctx.tenant_id, username).cloned(),
            m.directory.throttle(&ctx.tenant_id, username).cloned(),
        )
    });
    let user_id = user.as_ref().map(|u| u.user_id);
    let session_id = uuid::Uuid::now_v7().to_string();
    // Per-user throttling, before the password is even checked.
    if let Some(Err(retry)) = throttle.map(|t| t.check(chrono::Utc::now())) {
        let refuse = SessionCommand::Refuse {
            tenant_id: ctx.tenant_id.clone(),
            username: username.to_string(),
            reason: LoginRefusal::Throttled,
        };
        record_refusal(app, &session_id, refuse, ctx)
            .await
            .map_err(|e| (user_id, e))?;
        return Err((user_id, throttled(app, retry)));
    }
    let hash = user
        .as_ref()
        .map_or_else(|| DECOY_HASH.to_string(), |u| u.password_hash.clone());
    let ok = verify_password(password.to_string(), hash).await;
    let known = user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        let reason = if known {
            LoginRefusal::WrongPassword
        } else {
            LoginRefusal::UnknownUser
        };
        let refuse = SessionCommand::Refuse {
            tenant_id: ctx.tenant_id.clone(),
            username: username.to_string(),
            reason,
        };
        record_refusal(app, &session_id, refuse, ctx)
            .await
            .map_err(|e| (user_id, e))?;
        return Err((user_id, ApiError::bad_login()));
    };
    let token = new_token();
    let start = SessionCommand::Start {
        tenant_id: ctx.tenant_id.clone(),
        user_id: user.user_id,
        token_hash: token_hash(&token),
    };
    let mut as_user = ctx.clone();
    as_user.user = Ok(Some(AuthUser {
        user_id: user.user_id,
        username: user.username.clone(),
        role: user.role,
        session_id: session_id.clone(),
    }));
    let position = app
        .commands
        .session(&session_id, start, &as_user)
        .await
        .map_err(|e| (user_id, e))?
        .unwrap_or_default();
    // The token must work on the very next request: wait until the sessions model has it.
    app.engine
        .wait_for(position, Duration::from_secs(10))
        .await
        .map_err(|e| (user_id, ApiError::lagging(&e)))?;
    Ok(LoggedIn {
        csrf_token: csrf_token(&token),
        token,
        user,
        position,
    })
}

/// The session a token belongs to, if it is open, with its user.
pub fn session_user(app: &AppState, tenant_id: &str, token: &str) -> Option<AuthUser> {
    let hash = token_hash(token);
    app.engine.read(|m| {
        let session = m.sessions.by_token_hash(&hash)?;
        if session.tenant_id != tenant_id {
            return None;
        }
        // A deleted user's sessions stop working at once (USR-3).
        let user = m.directory.active_user(tenant_id, session.user_id)?;
        Some(AuthUser {
            user_id: user.user_id,
            username: user.username.clone(),
            role: user.role,
            session_id: session.session_id.clone(),
        })
    })
}

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
