//! Stable error codes for every refusal in this module ([`DomainError`], SPEC ERR-1). The api
//! crate puts the code in `extensions.code`; the message is the error's `Display`.

use crate::error::DomainError;
use crate::error::ErrorCode;

use super::audit_chain::{BadHashHex, ChainBreak};
use super::ip_allow::{AddressNotAllowed, IpAllowError, IpRangeError};
use super::password::PasswordRejected;
use super::permission::{Forbidden, UnknownCapability};
use super::role::UnknownRole;
use super::security_settings::{PasswordExpired, SecuritySettingsError, SessionExpired};
use super::throttle::RetryAt;

impl DomainError for Forbidden {
    fn code(&self) -> ErrorCode {
        ErrorCode::Forbidden
    }
}

impl DomainError for UnknownRole {
    fn code(&self) -> ErrorCode {
        ErrorCode::RoleUnknown
    }
}

impl DomainError for UnknownCapability {
    fn code(&self) -> ErrorCode {
        ErrorCode::CapabilityUnknown
    }
}

impl DomainError for PasswordRejected {
    fn code(&self) -> ErrorCode {
        match self {
            PasswordRejected::TooShort { .. } => ErrorCode::PasswordTooShort,
            PasswordRejected::TooLong { .. } => ErrorCode::PasswordTooLong,
            PasswordRejected::SameAsUsername => ErrorCode::PasswordSameAsUsername,
            PasswordRejected::Common => ErrorCode::PasswordTooCommon,
        }
    }
}

impl DomainError for PasswordExpired {
    fn code(&self) -> ErrorCode {
        ErrorCode::PasswordExpired
    }
}

impl DomainError for SessionExpired {
    fn code(&self) -> ErrorCode {
        ErrorCode::SessionExpired
    }
}

impl DomainError for RetryAt {
    fn code(&self) -> ErrorCode {
        ErrorCode::LoginThrottled
    }
}

impl DomainError for AddressNotAllowed {
    fn code(&self) -> ErrorCode {
        ErrorCode::AddressNotAllowed
    }
}

impl DomainError for IpRangeError {
    fn code(&self) -> ErrorCode {
        ErrorCode::IpAllowEntryInvalid
    }
}

impl DomainError for IpAllowError {
    fn code(&self) -> ErrorCode {
        match self {
            IpAllowError::Entry { .. } => ErrorCode::IpAllowEntryInvalid,
            IpAllowError::TooMany { .. } => ErrorCode::IpAllowTooMany,
        }
    }
}

impl DomainError for SecuritySettingsError {
    fn code(&self) -> ErrorCode {
        match self {
            SecuritySettingsError::IdleLogoutOutOfRange { .. } => ErrorCode::IdleLogoutOutOfRange,
            SecuritySettingsError::PasswordMaxAgeOutOfRange { .. } => {
                ErrorCode::PasswordMaxAgeOutOfRange
            }
            SecuritySettingsError::MinPasswordLengthOutOfRange { .. } => {
                ErrorCode::MinPasswordLengthOutOfRange
            }
        }
    }
}

impl DomainError for ChainBreak {
    fn code(&self) -> ErrorCode {
        ErrorCode::AccessLogBroken
    }
}

impl DomainError for BadHashHex {
    fn code(&self) -> ErrorCode {
        ErrorCode::HashInvalid
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
            let code = error.code().as_str();
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{code}"
            );
            assert!(!error.to_string().is_empty());
        }
        assert_eq!(errors[0].code(), "FORBIDDEN");
    }
}
