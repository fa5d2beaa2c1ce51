//! Stable error codes for every refusal in this module ([`DomainError`], SPEC ERR-1). The api
//! crate puts the code in `extensions.code`; the message is the error's `Display`.

use crate::error::DomainError;

use super::audit_chain::{BadHashHex, ChainBreak};
use super::ip_allow::{AddressNotAllowed, IpAllowError, IpRangeError};
use super::password::PasswordRejected;
use super::permission::{Forbidden, UnknownCapability};
use super::role::UnknownRole;
use super::session::{PasswordExpired, SecuritySettingsError, SessionExpired};
use super::throttle::RetryAt;

impl DomainError for Forbidden {
    fn code(&self) -> &'static str {
        "FORBIDDEN"
    }
}

impl DomainError for UnknownRole {
    fn code(&self) -> &'static str {
        "ROLE_UNKNOWN"
    }
}

impl DomainError for UnknownCapability {
    fn code(&self) -> &'static str {
        "CAPABILITY_UNKNOWN"
    }
}

impl DomainError for PasswordRejected {
    fn code(&self) -> &'static str {
        match self {
            PasswordRejected::TooShort { .. } => "PASSWORD_TOO_SHORT",
            PasswordRejected::TooLong { .. } => "PASSWORD_TOO_LONG",
            PasswordRejected::SameAsUsername => "PASSWORD_SAME_AS_USERNAME",
            PasswordRejected::Common => "PASSWORD_TOO_COMMON",
        }
    }
}

impl DomainError for PasswordExpired {
    fn code(&self) -> &'static str {
        "PASSWORD_EXPIRED"
    }
}

impl DomainError for SessionExpired {
    fn code(&self) -> &'static str {
        "SESSION_EXPIRED"
    }
}

impl DomainError for RetryAt {
    fn code(&self) -> &'static str {
        "LOGIN_THROTTLED"
    }
}

impl DomainError for AddressNotAllowed {
    fn code(&self) -> &'static str {
        "ADDRESS_NOT_ALLOWED"
    }
}

impl DomainError for IpRangeError {
    fn code(&self) -> &'static str {
        "IP_ALLOW_ENTRY_INVALID"
    }
}

impl DomainError for IpAllowError {
    fn code(&self) -> &'static str {
        match self {
            IpAllowError::Entry { .. } => "IP_ALLOW_ENTRY_INVALID",
            IpAllowError::TooMany { .. } => "IP_ALLOW_TOO_MANY",
        }
    }
}

impl DomainError for SecuritySettingsError {
    fn code(&self) -> &'static str {
        match self {
            SecuritySettingsError::IdleLogoutOutOfRange { .. } => "IDLE_LOGOUT_OUT_OF_RANGE",
            SecuritySettingsError::PasswordMaxAgeOutOfRange { .. } => {
                "PASSWORD_MAX_AGE_OUT_OF_RANGE"
            }
            SecuritySettingsError::MinPasswordLengthOutOfRange { .. } => {
                "MIN_PASSWORD_LENGTH_OUT_OF_RANGE"
            }
        }
    }
}

impl DomainError for ChainBreak {
    fn code(&self) -> &'static str {
        "ACCESS_LOG_BROKEN"
    }
}

impl DomainError for BadHashHex {
    fn code(&self) -> &'static str {
        "HASH_INVALID"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::audit_chain::BreakReason;
    use crate::access::{Capability, Role};
    use chrono::{TimeZone, Utc};

    #[test]
    fn err_1_codes_are_screaming_snake_case_and_forbidden_is_forbidden() {
        let errors: Vec<Box<dyn DomainError>> = vec![
            Box::new(Forbidden {
                role: Role::Op,
                capability: Capability::CampaignEdit,
            }),
            Box::new(UnknownRole { given: "x".into() }),
            Box::new(UnknownCapability { given: "x".into() }),
            Box::new(PasswordRejected::TooShort { min: 12, actual: 1 }),
            Box::new(PasswordRejected::TooLong {
                max: 256,
                actual: 300,
            }),
            Box::new(PasswordRejected::SameAsUsername),
            Box::new(PasswordRejected::Common),
            Box::new(PasswordExpired { max_age_days: 90 }),
            Box::new(SessionExpired { idle_minutes: 30 }),
            Box::new(RetryAt(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())),
            Box::new(AddressNotAllowed {
                address: [198, 51, 100, 1].into(),
            }),
            Box::new(IpRangeError::Empty),
            Box::new(IpAllowError::TooMany { count: 2, max: 1 }),
            Box::new(SecuritySettingsError::IdleLogoutOutOfRange { minutes: 0 }),
            Box::new(SecuritySettingsError::PasswordMaxAgeOutOfRange { days: 0 }),
            Box::new(SecuritySettingsError::MinPasswordLengthOutOfRange { length: 0 }),
            Box::new(ChainBreak {
                seq: 1,
                reason: BreakReason::HashMismatch,
            }),
            Box::new(BadHashHex { given: "x".into() }),
        ];
        for error in &errors {
            let code = error.code();
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{code}"
            );
            assert!(!error.to_string().is_empty());
        }
        assert_eq!(errors[0].code(), "FORBIDDEN");
    }
}
