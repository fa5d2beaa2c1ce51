//! Why a registration change was refused.

use super::*;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SipRegistrationError {
    #[error("this registration change is already recorded (record each change on a new stream)")]
    AlreadyRecorded,
    #[error("a SIP registration needs a SIP user name")]
    NoSipUser,
    #[error("binding {contact:?} is not a usable SIP binding: {why}")]
    BadBinding { contact: String, why: &'static str },
}

impl DomainError for SipRegistrationError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::AlreadyRecorded => ErrorCode::AlreadyExists,
            Self::NoSipUser | Self::BadBinding { .. } => ErrorCode::BadArgument,
        }
    }
}
