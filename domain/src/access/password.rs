//! Password rules (SEC-2, issue 5): the password policy and the password age.
//!
//! Hashing (argon2id) happens in the api crate; this module only decides whether a new password
//! is acceptable and whether a stored one is too old.
//!
//! `common-passwords.txt` holds the 8,354 entries of at least 8 characters (the smallest minimum
//! length a tenant may configure) from Django's list of 20,000 common passwords
//! (`django/contrib/auth/common-passwords.txt.gz`, BSD-3-Clause; the list itself was compiled by
//! Royce Williams from leaked password sets), one lowercase password per line.

use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The minimum password length when a tenant has configured none (issue 5).
pub const DEFAULT_MIN_PASSWORD_LENGTH: u32 = 12;

/// The longest password accepted, in characters. Long enough for any passphrase, short enough
/// that hashing a submitted password stays cheap.
pub const MAX_PASSWORD_CHARS: usize = 256;

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common-passwords.txt").lines().collect());

/// Whether `password` is on the embedded list of common passwords (compared in lowercase).
pub fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.to_lowercase().as_str())
}

/// Which new passwords are acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values, so `パスワード` is 5).
    pub min_length: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: DEFAULT_MIN_PASSWORD_LENGTH,
        }
    }
}

/// Why a new password was refused. Each message says how to choose one that is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordRejected {
    #[error(
        "パスワードは{min}文字以上にしてください(現在{actual}文字)。関係のない単語をいくつか並べると、\
         覚えやすく長いパスワードになります (the password has {actual} characters but must have \
         at least {min}; a few unrelated words make a long password that is still easy to remember)"
    )]
    TooShort { min: u32, actual: usize },
    #[error(
        "パスワードは{max}文字以下にしてください(現在{actual}文字) (the password has {actual} \
         characters but may have at most {max}; choose a shorter one)"
    )]
    TooLong { max: usize, actual: usize },
    #[error(
        "ユーザー名と同じパスワードは使えません。別のパスワードにしてください (the password is the \
         same as the username; choose a password that is not the username)"
    )]
    SameAsUsername,
    #[error(
        "よく使われているパスワードのため使えません。よく知られた単語・名前・キー配列ではないものにして\
         ください (the password is on the list of commonly used passwords that attackers try \
         first; choose one that is not a well-known word, name or keyboard pattern)"
    )]
    Common,
}

impl PasswordPolicy {
    /// Checks a new password for the user `username`. Checks run in this order: length, equal to
    /// the username (ignoring letter case and surrounding spaces), common password.
    pub fn check(&self, username: &str, password: &str) -> Result<(), PasswordRejected> {
        let length = password.chars().count();
        if length < self.min_length as usize {
            return Err(PasswordRejected::TooShort {
                min: self.min_length,
                actual: length,
            });
        }
        if length > MAX_PASSWORD_CHARS {
            return Err(PasswordRejected::TooLong {
                max: MAX_PASSWORD_CHARS,
                actual: length,
            });
        }
        if password.trim().to_lowercase() == username.trim().to_lowercase() {
            return Err(PasswordRejected::SameAsUsername);
        }
        if is_common(password) {
            return Err(PasswordRejected::Common);
        }
        Ok(())
    }
}

/// SEC-2: whether a password last changed at `changed_at` must be changed at a login at `now`.
///
/// `max_age_days` is the tenant's setting; `None` means passwords never expire. A password
/// expires once it is *older* than the maximum age: with 90 days, a password changed at 09:00 on
/// day 0 is still good at 09:00 on day 90 and must be changed a moment later.
pub fn must_change(
    changed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    max_age_days: Option<u32>,
) -> bool {
    match max_age_days {
        None => false,
        Some(days) => now - changed_at > Duration::days(i64::from(days)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, hour, minute, second)
            .unwrap()
            + Duration::days(day.into())
    }

    #[test]
    fn sec_pw_default_minimum_is_12() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check("tanaka", "kT9#mq2!vLx"),
            Err(PasswordRejected::TooShort {
                min: 12,
                actual: 11
            })
        );
        assert_eq!(policy.check("tanaka", "kT9#mq2!vLxZ"), Ok(()));
    }

    #[test]
    fn sec_pw_minimum_is_configurable() {
        let policy = PasswordPolicy { min_length: 16 };
        assert_eq!(
            policy.check("tanaka", "kT9#mq2!vLxZ"),
            Err(PasswordRejected::TooShort {
                min: 16,
                actual: 12
            })
        );
        let policy = PasswordPolicy { min_length: 8 };
        assert_eq!(policy.check("tanaka", "kT9#mq2!"), Ok(()));
    }

    #[test]
    fn sec_pw_length_counts_characters_not_bytes() {
        let policy = PasswordPolicy::default();
        // 12 characters, 36 bytes in UTF-8.
        assert_eq!(policy.check("tanaka", "東京都大阪府名古屋市福岡県"), Ok(()));
        assert_eq!(
            policy.check("tanaka", "東京都大阪府名古屋市福"),
            Err(PasswordRejected::TooShort {
                min: 12,
                actual: 11
            })
        );
    }

    #[test]
    fn sec_pw_over_long_password_refused() {
        let long = "ab".repeat(MAX_PASSWORD_CHARS / 2) + "c";
        assert_eq!(
            PasswordPolicy::default().check("tanaka", &long),
            Err(PasswordRejected::TooLong {
                max: MAX_PASSWORD_CHARS,
                actual: MAX_PASSWORD_CHARS + 1
            })
        );
    }

    #[test]
    fn sec_pw_common_passwords_refused_ignoring_case() {
        let policy = PasswordPolicy { min_length: 8 };
        for common in [
            "password",
            "PassWord1",
            "qwertyuiop",
            "1q2w3e4r5t",
            "iloveyou",
        ] {
            assert_eq!(
                policy.check("tanaka", common),
                Err(PasswordRejected::Common),
                "{common}"
            );
        }
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check("tanaka", "Qwerty123456"),
            Err(PasswordRejected::Common)
        );
    }

    #[test]
    fn sec_pw_list_is_embedded_and_long() {
        assert!(COMMON_PASSWORDS.len() > 8_000, "{}", COMMON_PASSWORDS.len());
        assert!(!is_common("kT9#mq2!vLxZ"));
    }

    #[test]
    fn sec_pw_username_as_password_refused() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check("yamada.hanako", "Yamada.Hanako"),
            Err(PasswordRejected::SameAsUsername)
        );
        assert_eq!(policy.check("yamada.hanako", "yamada.hanako-kT9#"), Ok(()));
    }

    #[test]
    fn sec_pw_messages_say_how_to_fix() {
        let message = PasswordRejected::TooShort { min: 12, actual: 5 }.to_string();
        assert!(message.contains("at least 12"), "{message}");
        assert!(PasswordRejected::Common.to_string().contains("choose"));
    }

    #[test]
    fn sec_2_no_maximum_age_never_expires() {
        assert!(!must_change(at(0, 0, 0, 0), at(10_000, 0, 0, 0), None));
    }

    #[test]
    fn sec_2_password_older_than_maximum_age_must_change() {
        let changed = at(0, 9, 0, 0);
        assert!(!must_change(changed, at(89, 9, 0, 0), Some(90)));
        assert!(!must_change(changed, at(90, 9, 0, 0), Some(90)));
        assert!(must_change(changed, at(90, 9, 0, 1), Some(90)));
        assert!(must_change(changed, at(200, 0, 0, 0), Some(90)));
    }

    #[test]
    fn sec_2_change_in_the_future_does_not_expire() {
        assert!(!must_change(at(5, 0, 0, 0), at(0, 0, 0, 0), Some(1)));
    }
}
