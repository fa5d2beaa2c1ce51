//! Digest nonces that cost the registrar nothing to hand out and cannot be replayed
//! (RFC 7616 §3.3, §3.4; issue 17 item 1).
//!
//! A nonce is `issued-at (ms since the registrar started) · 64 random bits · MAC`, where the MAC
//! is HMAC-SHA-256 under a secret drawn when the process starts, truncated to 128 bits. A
//! challenge therefore keeps no state (a flood of unauthenticated REGISTERs fills no table), a
//! forged nonce fails the MAC, and a nonce older than [`NONCE_LIFETIME`] is stale. Replay
//! protection is the `nc` count of `qop=auth`: the highest count accepted for each nonce is kept
//! (only after a correct response, so the table grows with successful logins, not with
//! attackers) and an Authorization whose count is not above it is a replay. A nonce used without
//! qop is single-use. After a restart the secret changes and every old nonce is stale, which is
//! what we want.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

/// How long a nonce may be answered. Softphones answer a challenge within a round trip; on
/// refresh they reuse the last nonce, get `stale=true` and answer the new one without asking
/// the user.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(30);

/// Accepted counts kept at most (one per successful login within [`NONCE_LIFETIME`]); beyond
/// it expired entries are dropped, then new logins with fresh nonces are still accepted but
/// the oldest entries go first.
const MAX_COUNTED: usize = 50_000;

/// Why a nonce was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceError {
    /// Not one of ours (bad MAC or format): answer with a fresh challenge.
    Unknown,
    /// Ours but older than [`NONCE_LIFETIME`]: `stale=true`.
    Expired,
    /// Ours and fresh, but this `nc` (or, without qop, the nonce itself) was already used:
    /// a replay, `stale=true`.
    Replayed,
}

/// Issues and checks nonces for one registrar.
pub struct Nonces {
    secret: [u8; 32],
    epoch: Instant,
    /// Highest nc accepted per nonce, with the nonce's issue time (0 = used without qop).
    counted: Mutex<HashMap<String, (u32, Instant)>>,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("Nonces").finish_non_exhaustive()
    }
}

fn hmac_sha256(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(data)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Default for Nonces {
    fn default() -> Self {
        Self::new()
    }
}

impl Nonces {
    /// A new secret for this process.
    pub fn new() -> Self {
        Nonces {
            secret: rand::random(),
            epoch: Instant::now(),
            counted: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, stamp: &str, salt: &str, realm: &str) -> String {
        let mac = hmac_sha256(&self.secret, format!("{stamp}:{salt}:{realm}").as_bytes());
        hex(&mac[..16])
    }

    /// A fresh nonce for `realm`; nothing is stored.
    pub fn issue(&self, realm: &str) -> String {
        let stamp = format!("{:012x}", self.epoch.elapsed().as_millis());
        let salt = format!("{:016x}", rand::random::<u64>());
        let mac = self.mac(&stamp, &salt, realm);
        format!("{stamp}{salt}{mac}")
    }

    /// When `nonce` was issued, if it is ours (MAC checked in constant time) and fresh.
    pub fn check(&self, nonce: &str, realm: &str) -> Result<Instant, NonceError> {
        if nonce.len() != 12 + 16 + 32 || !nonce.is_ascii() {
            return Err(NonceError::Unknown);
        }
        let (stamp, rest) = nonce.split_at(12);
        let (salt, mac) = rest.split_at(16);
        let expected = self.mac(stamp, salt, realm);
        let diff = expected
            .bytes()
            .zip(mac.to_ascii_lowercase().bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(NonceError::Unknown);
        }
        let millis = u64::from_str_radix(stamp, 16).map_err(|_| NonceError::Unknown)?;
        let issued = self.epoch + Duration::from_millis(millis);
        let now = Instant::now();
        if issued > now {
            return Err(NonceError::Unknown);
        }
        if now - issued > NONCE_LIFETIME {
            return Err(NonceError::Expired);
        }
        Ok(issued)
    }

    /// Would `nc` (None without qop) be accepted for `nonce`? Does not record it.
    pub fn is_new(&self, nonce: &str, nc: Option<u32>) -> bool {
        let counted = crate::sync::lock(&self.counted);
        match (counted.get(nonce), nc) {
            (None, _) => true,
            (Some((last, _)), Some(nc)) => nc > *last,
            (Some(_), None) => false,
        }
    }

    /// Record an accepted `nc` for `nonce` issued at `issued`; false if it is a replay (another
    /// request with this count got there first).
    pub fn accept(&self, nonce: &str, issued: Instant, nc: Option<u32>) -> bool {
        let mut counted = crate::sync::lock(&self.counted);
        if counted.len() >= MAX_COUNTED {
            let now = Instant::now();
            counted.retain(|_, (_, t)| now - *t <= NONCE_LIFETIME);
            if counted.len() >= MAX_COUNTED {
                let oldest = counted
                    .iter()
                    .min_by_key(|(_, (_, t))| *t)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    counted.remove(&k);
                }
            }
        }
        match counted.get_mut(nonce) {
            None => {
                counted.insert(nonce.to_string(), (nc.unwrap_or(0), issued));
                true
            }
            Some((last, _)) => match nc {
                Some(nc) if nc > *last => {
                    *last = nc;
                    true
                }
                _ => false,
            },
        }
    }

    /// Counts held (for tests and metrics).
    pub fn counted(&self) -> usize {
        crate::sync::lock(&self.counted).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc4231_case_2_shape() {
        // RFC 4231 test case 2 uses a 4-byte key; ours are always 32 bytes, so check the
        // construction against a key padded with zeros, which HMAC defines as the same key.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = hmac_sha256(&key, b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tel_17_1_nonce_is_signed_expires_and_counts_are_single_use() {
        let n = Nonces::new();
        let nonce = n.issue("kaden");
        let issued = n.check(&nonce, "kaden").unwrap();
        assert_eq!(n.check(&nonce, "other"), Err(NonceError::Unknown));
        let mut forged = nonce.clone();
        forged.replace_range(0..1, if &nonce[0..1] == "0" { "1" } else { "0" });
        assert_eq!(n.check(&forged, "kaden"), Err(NonceError::Unknown));
        assert_eq!(
            Nonces::new().check(&nonce, "kaden"),
            Err(NonceError::Unknown),
            "another process's secret"
        );
        assert!(n.accept(&nonce, issued, Some(1)));
        assert!(!n.is_new(&nonce, Some(1)));
        assert!(!n.accept(&nonce, issued, Some(1)), "same nc replayed");
        assert!(n.accept(&nonce, issued, Some(2)));
        assert!(!n.accept(&nonce, issued, Some(1)), "older nc replayed");
        let once = n.issue("kaden");
        assert!(n.accept(&once, issued, None));
        assert!(!n.accept(&once, issued, None), "no-qop nonce is single-use");
        tokio::time::advance(NONCE_LIFETIME + Duration::from_millis(1)).await;
        assert_eq!(n.check(&nonce, "kaden"), Err(NonceError::Expired));
    }
}
