//! What every domain error offers the edge: a stable machine-readable code (SPEC ERR-1).

pub use crate::error_code::ErrorCode;

/// A domain refusal with a stable code for clients (`extensions.code` in GraphQL).
///
/// The `Display` text is the human message: what was wrong and how to fix it.
pub trait DomainError: std::error::Error {
    /// A stable code from the one catalogue, e.g. [`ErrorCode::NameEmpty`] (`NAME_EMPTY`).
    fn code(&self) -> ErrorCode;
}

/// Limits on free text shared by every aggregate that takes a name.
pub const MAX_NAME_CHARS: usize = 100;

/// Why a name was refused. Shared by campaigns, users and the tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty or only whitespace.
    #[error("{what}を入力してください ({what} is empty: enter 1 to {max} characters)", max = MAX_NAME_CHARS)]
    Empty { what: &'static str },
    /// Longer than [`MAX_NAME_CHARS`].
    #[error("{what}が長すぎます: {len}文字 ({what} is {len} characters long: shorten it to at most {max})", max = MAX_NAME_CHARS)]
    TooLong { what: &'static str, len: usize },
    /// Contains a control character such as a newline or tab.
    #[error(
        "{what}に改行や制御文字は使えません ({what} contains a control character at position {position}: remove line breaks and tabs)"
    )]
    ControlCharacter { what: &'static str, position: usize },
}

/// Trims and checks a display name. Returns the trimmed name.
pub fn validate_name(what: &'static str, raw: &str) -> Result<String, NameError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameError::Empty { what });
    }
    let len = name.chars().count();
    if len > MAX_NAME_CHARS {
        return Err(NameError::TooLong { what, len });
    }
    if let Some(position) = name.chars().position(char::is_control) {
        return Err(NameError::ControlCharacter {
            what,
            position: position + 1,
        });
    }
    Ok(name.to_string())
}

impl DomainError for NameError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Empty { .. } => ErrorCode::NameEmpty,
            Self::TooLong { .. } => ErrorCode::NameTooLong,
            Self::ControlCharacter { .. } => ErrorCode::NameInvalidCharacter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(validate_name("案件名", "  春の案件 ").unwrap(), "春の案件");
        assert_eq!(
            validate_name("案件名", "   "),
            Err(NameError::Empty { what: "案件名" })
        );
        let long = "あ".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            validate_name("案件名", &long),
            Err(NameError::TooLong {
                what: "案件名",
                len: MAX_NAME_CHARS + 1
            })
        );
        assert_eq!(
            validate_name("案件名", "a\tb"),
            Err(NameError::ControlCharacter {
                what: "案件名",
                position: 2
            })
        );
        assert_eq!(
            validate_name("案件名", &"あ".repeat(MAX_NAME_CHARS))
                .unwrap()
                .chars()
                .count(),
            MAX_NAME_CHARS
        );
    }
}
