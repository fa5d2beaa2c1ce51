//! SEC-1 idle logout and the per-tenant security settings (SEC-1..3, password policy).

use std::ops::RangeInclusive;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::ip_allow::IpAllowList;
use super::password::{DEFAULT_MIN_PASSWORD_LENGTH, PasswordPolicy};

/// Allowed idle-logout times in minutes: one minute to one day.
pub const IDLE_LOGOUT_MINUTES: RangeInclusive<u32> = 1..=1440;

/// Allowed maximum password ages in days: one day to two years.
pub const PASSWORD_MAX_AGE_DAYS: RangeInclusive<u32> = 1..=730;

/// Allowed minimum password lengths: 8 (the shortest the embedded common-password list checks)
/// to 128 characters.
pub const MIN_PASSWORD_LENGTH: RangeInclusive<u32> = 8..=128;

/// SEC-1: whether a session last seen at `last_seen` has expired at `now`.
///
/// `idle_minutes` is the tenant's setting; `None` means no idle logout. A session expires once it
/// has been idle for the full time: with 30 minutes, a request exactly 30 minutes after the last
/// one finds the session dead.
pub fn expired(last_seen: DateTime<Utc>, now: DateTime<Utc>, idle_minutes: Option<u32>) -> bool {
    match idle_minutes {
        None => false,
        Some(minutes) => now - last_seen >= Duration::minutes(i64::from(minutes)),
    }
}

/// A tenant's security settings (MGR only, USR-6 `security_settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecuritySettings {
    /// SEC-1: log out after this many idle minutes; `None` keeps sessions until logout.
    pub idle_logout_minutes: Option<u32>,
    /// SEC-2: passwords older than this many days must be changed at login; `None`: never.
    pub password_max_age_days: Option<u32>,
    /// SEC-3: addresses and ranges allowed to log in and call the API; empty allows all.
    pub ip_allow: IpAllowList,
    /// Minimum length of new passwords.
    pub min_password_length: u32,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            idle_logout_minutes: None,
            password_max_age_days: None,
            ip_allow: IpAllowList::default(),
            min_password_length: DEFAULT_MIN_PASSWORD_LENGTH,
        }
    }
}

/// A security setting outside its documented range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SecuritySettingsError {
    #[error(
        "自動ログアウト時間は{}〜{}分で指定してください(指定: {minutes}分)。自動ログアウトしない場合は\
         未設定にしてください (idle logout of {minutes} minutes is out of range; use {} to {} \
         minutes, or none to keep sessions until logout)",
        IDLE_LOGOUT_MINUTES.start(),
        IDLE_LOGOUT_MINUTES.end(),
        IDLE_LOGOUT_MINUTES.start(),
        IDLE_LOGOUT_MINUTES.end()
    )]
    IdleLogoutOutOfRange { minutes: u32 },
    #[error(
        "パスワードの有効期間は{}〜{}日で指定してください(指定: {days}日)。期限を設けない場合は未設定\
         にしてください (password maximum age of {days} days is out of range; use {} to {} days, \
         or none for passwords that never expire)",
        PASSWORD_MAX_AGE_DAYS.start(),
        PASSWORD_MAX_AGE_DAYS.end(),
        PASSWORD_MAX_AGE_DAYS.start(),
        PASSWORD_MAX_AGE_DAYS.end()
    )]
    PasswordMaxAgeOutOfRange { days: u32 },
    #[error(
        "パスワードの最小文字数は{}〜{}文字で指定してください(指定: {length}文字) (minimum password \
         length {length} is out of range; use {} to {} characters)",
        MIN_PASSWORD_LENGTH.start(),
        MIN_PASSWORD_LENGTH.end(),
        MIN_PASSWORD_LENGTH.start(),
        MIN_PASSWORD_LENGTH.end()
    )]
    MinPasswordLengthOutOfRange { length: u32 },
}

impl SecuritySettings {
    /// Checks every value against its documented range; the first one out of range is reported.
    /// (The IP allow-list is already valid: it cannot be built from bad entries.)
    pub fn validate(&self) -> Result<(), SecuritySettingsError> {
        let out_of = |range: RangeInclusive<u32>| move |value: &u32| !range.contains(value);
        if let Some(minutes) = self.idle_logout_minutes.filter(out_of(IDLE_LOGOUT_MINUTES)) {
            return Err(SecuritySettingsError::IdleLogoutOutOfRange { minutes });
        }
        if let Some(days) = self
            .password_max_age_days
            .filter(out_of(PASSWORD_MAX_AGE_DAYS))
        {
            return Err(SecuritySettingsError::PasswordMaxAgeOutOfRange { days });
        }
        if !MIN_PASSWORD_LENGTH.contains(&self.min_password_length) {
            return Err(SecuritySettingsError::MinPasswordLengthOutOfRange {
                length: self.min_password_length,
            });
        }
        Ok(())
    }

    /// The policy new passwords are checked against.
    pub fn password_policy(&self) -> PasswordPolicy {
        PasswordPolicy {
            min_length: self.min_password_length,
        }
    }

    /// SEC-1 with this tenant's setting.
    pub fn session_expired(&self, last_seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        expired(last_seen, now, self.idle_logout_minutes)
    }

    /// SEC-1 as a refusal, for a request on a session last seen at `last_seen`.
    pub fn check_session(
        &self,
        last_seen: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), SessionExpired> {
        match self.idle_logout_minutes {
            Some(idle_minutes) if self.session_expired(last_seen, now) => {
                Err(SessionExpired { idle_minutes })
            }
            _ => Ok(()),
        }
    }

    /// SEC-2 with this tenant's setting.
    pub fn password_must_change(&self, changed_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        super::password::must_change(changed_at, now, self.password_max_age_days)
    }

    /// SEC-2 as a refusal: at login, a password changed at `changed_at` that is too old must be
    /// changed before anything else.
    pub fn check_password_age(
        &self,
        changed_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), PasswordExpired> {
        match self.password_max_age_days {
            Some(max_age_days) if self.password_must_change(changed_at, now) => {
                Err(PasswordExpired { max_age_days })
            }
            _ => Ok(()),
        }
    }
}

/// SEC-1: the session was idle for longer than the tenant allows and is no longer valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "{idle_minutes}分間操作がなかったため、自動的にログアウトしました。もう一度ログインしてください \
     (the session ended after {idle_minutes} idle minutes; log in again)"
)]
pub struct SessionExpired {
    /// The tenant's idle-logout setting.
    pub idle_minutes: u32,
}

/// SEC-2: the password is older than the tenant allows; it must be changed before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "パスワードの有効期間({max_age_days}日)が過ぎています。新しいパスワードに変更してください \
     (the password is older than {max_age_days} days; change it to continue)"
)]
pub struct PasswordExpired {
    /// The tenant's maximum password age.
    pub max_age_days: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + Duration::minutes(minute)
    }

    #[test]
    fn sec_1_no_idle_logout_never_expires() {
        assert!(!expired(t(0), t(100_000), None));
    }

    #[test]
    fn sec_1_idle_session_expires_after_the_configured_minutes() {
        assert!(!expired(t(0), t(29), Some(30)));
        assert!(!expired(t(0), t(30) - Duration::seconds(1), Some(30)));
        assert!(expired(t(0), t(30), Some(30)));
        assert!(expired(t(0), t(31), Some(30)));
    }

    #[test]
    fn sec_settings_defaults() {
        let settings = SecuritySettings::default();
        assert_eq!(settings.validate(), Ok(()));
        assert_eq!(settings.password_policy().min_length, 12);
        assert!(settings.ip_allow.is_empty());
        assert!(!settings.session_expired(t(0), t(10_000)));
        assert!(!settings.password_must_change(t(0), t(10_000_000)));
    }

    #[test]
    fn sec_1_idle_range_checked() {
        for (minutes, ok) in [(0, false), (1, true), (1440, true), (1441, false)] {
            let settings = SecuritySettings {
                idle_logout_minutes: Some(minutes),
                ..SecuritySettings::default()
            };
            let want = if ok {
                Ok(())
            } else {
                Err(SecuritySettingsError::IdleLogoutOutOfRange { minutes })
            };
            assert_eq!(settings.validate(), want, "{minutes}");
        }
    }

    #[test]
    fn sec_2_max_age_range_checked() {
        for (days, ok) in [(0, false), (1, true), (730, true), (731, false)] {
            let settings = SecuritySettings {
                password_max_age_days: Some(days),
                ..SecuritySettings::default()
            };
            let want = if ok {
                Ok(())
            } else {
                Err(SecuritySettingsError::PasswordMaxAgeOutOfRange { days })
            };
            assert_eq!(settings.validate(), want, "{days}");
        }
    }

    #[test]
    fn sec_pw_min_length_range_checked() {
        for (length, ok) in [(7, false), (8, true), (128, true), (129, false)] {
            let settings = SecuritySettings {
                min_password_length: length,
                ..SecuritySettings::default()
            };
            let want = if ok {
                Ok(())
            } else {
                Err(SecuritySettingsError::MinPasswordLengthOutOfRange { length })
            };
            assert_eq!(settings.validate(), want, "{length}");
        }
    }

    #[test]
    fn sec_settings_messages_give_the_range() {
        let message = SecuritySettingsError::IdleLogoutOutOfRange { minutes: 0 }.to_string();
        assert!(message.contains("1 to 1440 minutes"), "{message}");
    }

    #[test]
    fn sec_settings_apply_their_values() {
        let settings = SecuritySettings {
            idle_logout_minutes: Some(30),
            password_max_age_days: Some(90),
            ..SecuritySettings::default()
        };
        assert!(settings.session_expired(t(0), t(30)));
        assert!(!settings.session_expired(t(0), t(29)));
        assert!(settings.password_must_change(t(0), t(0) + Duration::days(91)));
        assert!(!settings.password_must_change(t(0), t(0) + Duration::days(89)));
    }

    #[test]
    fn sec_1_check_session_refuses_idle_session() {
        let settings = SecuritySettings {
            idle_logout_minutes: Some(30),
            ..SecuritySettings::default()
        };
        assert_eq!(settings.check_session(t(0), t(29)), Ok(()));
        assert_eq!(
            settings.check_session(t(0), t(30)),
            Err(SessionExpired { idle_minutes: 30 })
        );
        assert_eq!(
            SecuritySettings::default().check_session(t(0), t(10_000)),
            Ok(())
        );
    }

    #[test]
    fn sec_2_check_password_age_refuses_old_password() {
        let settings = SecuritySettings {
            password_max_age_days: Some(90),
            ..SecuritySettings::default()
        };
        assert_eq!(
            settings.check_password_age(t(0), t(0) + Duration::days(90)),
            Ok(())
        );
        let err = settings
            .check_password_age(t(0), t(0) + Duration::days(91))
            .unwrap_err();
        assert_eq!(err, PasswordExpired { max_age_days: 90 });
        assert!(err.to_string().contains("older than 90 days"), "{err}");
    }

    #[test]
    fn sec_3_settings_serialize_allow_list_as_strings() {
        let settings = SecuritySettings {
            idle_logout_minutes: Some(30),
            password_max_age_days: None,
            ip_allow: IpAllowList::parse(["203.0.113.0/24", "2001:db8::1"]).unwrap(),
            min_password_length: 14,
        };
        let json = serde_json::to_value(&settings).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "idle_logout_minutes": 30,
                "password_max_age_days": null,
                "ip_allow": ["203.0.113.0/24", "2001:db8::1"],
                "min_password_length": 14,
            })
        );
        assert_eq!(
            serde_json::from_value::<SecuritySettings>(json).unwrap(),
            settings
        );
    }
}
