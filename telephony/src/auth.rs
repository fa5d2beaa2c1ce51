//! HTTP digest authentication for SIP (RFC 2617 / RFC 7616 / RFC 8760): MD5 and SHA-256 with
//! `qop=auth` (and the legacy no-qop form), client and server side.
//!
//! Ours rather than rsip's: rsip refuses `algorithm=SHA-256`, `qop="auth,auth-int"` and hex
//! `nc`, and re-renders URIs before hashing (ARCHITECTURE §6).

use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::transport::split_list;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn parse(s: &str) -> Result<Self, AuthError> {
        if s.eq_ignore_ascii_case("MD5") {
            Ok(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") || s.eq_ignore_ascii_case("SHA256") {
            Ok(Algorithm::Sha256)
        } else {
            Err(AuthError::UnsupportedAlgorithm {
                algorithm: s.to_string(),
            })
        }
    }

    /// Lower-case hex digest of `data`.
    pub fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Only the scheme word is kept: the rest of an Authorization value can hold secrets and
    /// errors end up in logs and Warning headers (issue 17 item 8).
    #[error("not a Digest header (scheme {scheme:?})")]
    NotDigest { scheme: String },
    #[error("digest parameter {name} is missing")]
    MissingParam { name: &'static str },
    #[error("digest algorithm {algorithm} is not supported (MD5 and SHA-256 are)")]
    UnsupportedAlgorithm { algorithm: String },
    #[error("the server offers qop {offered:?}; only auth (or none) is supported")]
    UnsupportedQop { offered: String },
    #[error("nc {value:?} is not 8 hex digits")]
    BadNonceCount { value: String },
}

/// Split `Digest a=b, c="d, e"` into (name, unquoted value) pairs.
fn params(value: &str) -> Result<Vec<(String, String)>, AuthError> {
    let rest = value.trim();
    let rest = match rest.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("Digest") => rest,
        _ => {
            return Err(AuthError::NotDigest {
                scheme: scheme_word(rest),
            });
        }
    };
    let mut out = Vec::new();
    for part in split_list(rest) {
        if let Some((k, v)) = part.split_once('=') {
            let v = v.trim();
            let v = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
                v[1..v.len() - 1]
                    .replace("\\\"", "\"")
                    .replace("\\\\", "\\")
            } else {
                v.to_string()
            };
            out.push((k.trim().to_ascii_lowercase(), v));
        }
    }
    Ok(out)
}

/// The leading token of a header value if it looks like an auth scheme (short, letters and
/// digits), else a placeholder: a long token may be a secret.
fn scheme_word(value: &str) -> String {
    let word: String = value
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(17)
        .collect();
    if word.is_empty() || word.len() > 16 {
        "(unrecognised)".into()
    } else {
        word
    }
}

fn take(ps: &[(String, String)], name: &str) -> Option<String> {
    ps.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// The server offers qop=auth (we then answer with qop=auth, cnonce and nc).
    pub qop_auth: bool,
    pub stale: bool,
}

impl Challenge {
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let ps = params(value)?;
        let algorithm = match take(&ps, "algorithm") {
            Some(a) => Algorithm::parse(&a)?,
            None => Algorithm::Md5,
        };
        let qop_auth = match take(&ps, "qop") {
            None => false,
            Some(q) => {
                if q.split(',').any(|x| x.trim().eq_ignore_ascii_case("auth")) {
                    true
                } else {
                    return Err(AuthError::UnsupportedQop { offered: q });
                }
            }
        };
        Ok(Challenge {
            realm: take(&ps, "realm").ok_or(AuthError::MissingParam { name: "realm" })?,
            nonce: take(&ps, "nonce").ok_or(AuthError::MissingParam { name: "nonce" })?,
            opaque: take(&ps, "opaque"),
            algorithm,
            qop_auth,
            stale: take(&ps, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// Render as a header value.
    pub fn to_header(&self) -> String {
        let mut s = format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm={}",
            self.realm,
            self.nonce,
            self.algorithm.name()
        );
        if self.qop_auth {
            s.push_str(", qop=\"auth\"");
        }
        if let Some(o) = &self.opaque {
            s.push_str(&format!(", opaque=\"{o}\""));
        }
        if self.stale {
            s.push_str(", stale=true");
        }
        s
    }
}

/// HA1 = H(username:realm:password). Stored by the api instead of the password.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&format!("{username}:{realm}:{password}"))
}

/// The digest `response` value (RFC 7616 3.4.1).
pub fn response(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    qop: Option<(&str, &str)>, // (nc, cnonce) when qop=auth
    method: &str,
    uri: &str,
) -> String {
    let ha2 = algorithm.hash(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => algorithm.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        None => algorithm.hash(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// Client side: the `Authorization` / `Proxy-Authorization` value answering `challenge`.
pub fn authorization(
    challenge: &Challenge,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> String {
    let alg = challenge.algorithm;
    let h1 = ha1(alg, username, &challenge.realm, password);
    let nc_text = format!("{nc:08x}");
    let qop = challenge.qop_auth.then_some((nc_text.as_str(), cnonce));
    let resp = response(alg, &h1, &challenge.nonce, qop, method, uri);
    let mut s = format!(
        "Digest username=\"{username}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{resp}\", algorithm={}",
        challenge.realm,
        challenge.nonce,
        alg.name()
    );
    if challenge.qop_auth {
        s.push_str(&format!(", qop=auth, nc={nc_text}, cnonce=\"{cnonce}\""));
    }
    if let Some(o) = &challenge.opaque {
        s.push_str(&format!(", opaque=\"{o}\""));
    }
    s
}

/// Server side: a parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    /// (nc, cnonce) when qop=auth.
    pub qop: Option<(String, String)>,
    pub opaque: Option<String>,
}

impl Credentials {
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let ps = params(value)?;
        let algorithm = match take(&ps, "algorithm") {
            Some(a) => Algorithm::parse(&a)?,
            None => Algorithm::Md5,
        };
        let qop = match take(&ps, "qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let nc = take(&ps, "nc").ok_or(AuthError::MissingParam { name: "nc" })?;
                if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(AuthError::BadNonceCount { value: nc });
                }
                let cnonce =
                    take(&ps, "cnonce").ok_or(AuthError::MissingParam { name: "cnonce" })?;
                Some((nc, cnonce))
            }
            Some(q) => return Err(AuthError::UnsupportedQop { offered: q }),
        };
        Ok(Credentials {
            username: take(&ps, "username").ok_or(AuthError::MissingParam { name: "username" })?,
            realm: take(&ps, "realm").ok_or(AuthError::MissingParam { name: "realm" })?,
            nonce: take(&ps, "nonce").ok_or(AuthError::MissingParam { name: "nonce" })?,
            uri: take(&ps, "uri").ok_or(AuthError::MissingParam { name: "uri" })?,
            response: take(&ps, "response").ok_or(AuthError::MissingParam { name: "response" })?,
            algorithm,
            qop,
            opaque: take(&ps, "opaque"),
        })
    }

    /// Check the response against the stored HA1 (hashes compared in constant time). The uri
    /// is hashed exactly as the client sent it.
    pub fn verify(&self, ha1: &str, method: &str) -> bool {
        let qop = self.qop.as_ref().map(|(nc, c)| (nc.as_str(), c.as_str()));
        let expected = response(self.algorithm, ha1, &self.nonce, qop, method, &self.uri);
        constant_time_eq(
            expected.as_bytes(),
            self.response.to_ascii_lowercase().as_bytes(),
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 section 3.9.1.
    const REALM: &str = "http-auth@example.org";
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

    fn challenge(alg: &str) -> Challenge {
        Challenge::parse(&format!(
            "Digest realm=\"{REALM}\", qop=\"auth, auth-int\", algorithm={alg}, nonce=\"{NONCE}\", opaque=\"{OPAQUE}\""
        ))
        .unwrap()
    }

    #[test]
    fn rfc7616_md5_vector() {
        let ch = challenge("MD5");
        let h = authorization(
            &ch,
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            CNONCE,
            1,
        );
        assert!(
            h.contains("response=\"8ca523f5e9506fed4657c9700eebdbec\""),
            "{h}"
        );
        assert!(h.contains("nc=00000001"));
    }

    #[test]
    fn rfc7616_sha256_vector() {
        let ch = challenge("SHA-256");
        assert_eq!(ch.algorithm, Algorithm::Sha256);
        let h = authorization(
            &ch,
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            CNONCE,
            1,
        );
        assert!(
            h.contains(
                "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
            ),
            "{h}"
        );
    }

    #[test]
    fn rfc2617_no_qop_vector() {
        // RFC 2617 3.5 without qop: response = MD5(HA1:nonce:HA2).
        let h1 = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        assert_eq!(h1, "939e7578ed9e3c518a452acee763bce9");
        let r = response(
            Algorithm::Md5,
            &h1,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            None,
            "GET",
            "/dir/index.html",
        );
        assert_eq!(r, "670fd8c2df070c60b045671b8b24ff02");
    }

    #[test]
    fn server_verifies_what_client_computes_and_refuses_wrong_password() {
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let ch = Challenge {
                realm: "kaden".into(),
                nonce: "n1".into(),
                opaque: None,
                algorithm: alg,
                qop_auth: true,
                stale: false,
            };
            let uri = "sip:127.0.0.1:5060;transport=udp";
            let value = authorization(&ch, "op1", "pw", "REGISTER", uri, "c", 10);
            let creds = Credentials::parse(&value).unwrap();
            assert_eq!(creds.uri, uri);
            assert_eq!(creds.qop, Some(("0000000a".into(), "c".into())));
            assert!(creds.verify(&ha1(alg, "op1", "kaden", "pw"), "REGISTER"));
            assert!(!creds.verify(&ha1(alg, "op1", "kaden", "wrong"), "REGISTER"));
            assert!(!creds.verify(&ha1(alg, "op1", "kaden", "pw"), "INVITE"));
        }
    }

    #[test]
    fn unsupported_things_are_typed_errors() {
        assert!(matches!(
            Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess"),
            Err(AuthError::UnsupportedAlgorithm { .. })
        ));
        assert!(matches!(
            Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""),
            Err(AuthError::UnsupportedQop { .. })
        ));
        assert!(matches!(
            Challenge::parse("Basic realm=\"r\""),
            Err(AuthError::NotDigest { .. })
        ));
    }

    #[test]
    fn tel_17_8_a_refused_authorization_value_is_not_echoed() {
        let err = Credentials::parse("Basic b3AxOnMzY3JldC1wdw==").unwrap_err();
        assert_eq!(
            err,
            AuthError::NotDigest {
                scheme: "Basic".into()
            }
        );
        assert!(!err.to_string().contains("b3AxOnMzY3JldC1wdw"), "{err}");
        let err = Credentials::parse("password=hunter2").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(matches!(
            Credentials::parse(
                "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", qop=auth, nc=1, cnonce=\"c\""
            ),
            Err(AuthError::BadNonceCount { .. })
        ));
    }
}
