//! The catalogue of stable error codes (SPEC ERR-1): every refusal Kaden gives, in GraphQL
//! (`extensions.code`) and HTTP (`{"code", "message"}`), is one of these, with one HTTP status.
//! docs/api.md lists them all; a test in the api crate checks the two agree.

use serde::{Serialize, Serializer};

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal;)*) => {
        /// A stable, machine-readable refusal code (`SCREAMING_SNAKE_CASE` on the wire).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// Every code, in alphabetical order of the wire text.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as clients see it, e.g. `NOT_FOUND`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status of a refusal with this code (file routes; GraphQL answers 200).
            pub const fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            /// The code for its wire text.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($code => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    AccessBatchTooLarge = "ACCESS_BATCH_TOO_LARGE", 413;
    AccessLogBroken = "ACCESS_LOG_BROKEN", 500;
    AddressNotAllowed = "ADDRESS_NOT_ALLOWED", 403;
    AlreadyExists = "ALREADY_EXISTS", 409;
    AttributeKindUnknown = "ATTRIBUTE_KIND_UNKNOWN", 422;
    AttributeNeedsChoices = "ATTRIBUTE_NEEDS_CHOICES", 422;
    AttributeTargetUnknown = "ATTRIBUTE_TARGET_UNKNOWN", 422;
    AutoCallRunning = "AUTO_CALL_RUNNING", 409;
    BadArgument = "BAD_ARGUMENT", 400;
    BadColumnOrder = "BAD_COLUMN_ORDER", 422;
    BadCredentials = "BAD_CREDENTIALS", 401;
    BadCursor = "BAD_CURSOR", 400;
    BadJson = "BAD_JSON", 400;
    BadNumber = "BAD_NUMBER", 422;
    BadOutcome = "BAD_OUTCOME", 400;
    BadPosition = "BAD_POSITION", 400;
    BadRange = "BAD_RANGE", 416;
    BadRequest = "BAD_REQUEST", 400;
    BadRequestBody = "BAD_REQUEST_BODY", 400;
    BadTime = "BAD_TIME", 400;
    Busy = "BUSY", 429;
    CallerNumberNotInCampaign = "CALLER_NUMBER_NOT_IN_CAMPAIGN", 422;
    CallInProgress = "CALL_IN_PROGRESS", 409;
    CallWasRefused = "CALL_WAS_REFUSED", 422;
    CallWrongState = "CALL_WRONG_STATE", 409;
    CampaignInactive = "CAMPAIGN_INACTIVE", 422;
    CampaignNotFound = "CAMPAIGN_NOT_FOUND", 404;
    CannotDeleteSelf = "CANNOT_DELETE_SELF", 422;
    CapabilityUnknown = "CAPABILITY_UNKNOWN", 422;
    CellTooLong = "CELL_TOO_LONG", 422;
    ConflictRetry = "CONFLICT_RETRY", 409;
    CsrfTokenMissing = "CSRF_TOKEN_MISSING", 403;
    CustomerNotFound = "CUSTOMER_NOT_FOUND", 404;
    DestinationMissing = "DESTINATION_MISSING", 400;
    DncAlreadyRegistered = "DNC_ALREADY_REGISTERED", 409;
    DncNoCampaigns = "DNC_NO_CAMPAIGNS", 422;
    DncNoNumbers = "DNC_NO_NUMBERS", 422;
    DoNotCall = "DO_NOT_CALL", 422;
    Duplicate = "DUPLICATE", 422;
    EmailInvalid = "EMAIL_INVALID", 422;
    ExportCellCount = "EXPORT_CELL_COUNT", 422;
    ExportIo = "EXPORT_IO", 500;
    ExportUnmappableCharacter = "EXPORT_UNMAPPABLE_CHARACTER", 422;
    FileEmpty = "FILE_EMPTY", 422;
    FileEncoding = "FILE_ENCODING", 422;
    FileMissing = "FILE_MISSING", 400;
    FileNulByte = "FILE_NUL_BYTE", 422;
    FileTooLarge = "FILE_TOO_LARGE", 413;
    FileUtf16 = "FILE_UTF16", 422;
    FixedStatus = "FIXED_STATUS", 422;
    FolderFull = "FOLDER_FULL", 422;
    FolderNotPermitted = "FOLDER_NOT_PERMITTED", 403;
    Forbidden = "FORBIDDEN", 403;
    ForbiddenOrigin = "FORBIDDEN_ORIGIN", 403;
    GraphqlParseFailed = "GRAPHQL_PARSE_FAILED", 400;
    GraphqlValidationFailed = "GRAPHQL_VALIDATION_FAILED", 400;
    HashInvalid = "HASH_INVALID", 400;
    HeaderCollidesWithAttribute = "HEADER_COLLIDES_WITH_ATTRIBUTE", 422;
    HeaderCollidesWithStatus = "HEADER_COLLIDES_WITH_STATUS", 422;
    HeaderDuplicate = "HEADER_DUPLICATE", 422;
    HeaderEmpty = "HEADER_EMPTY", 422;
    HeaderMismatch = "HEADER_MISMATCH", 422;
    IdempotencyKeyInvalid = "IDEMPOTENCY_KEY_INVALID", 400;
    IdleLogoutOutOfRange = "IDLE_LOGOUT_OUT_OF_RANGE", 422;
    ImportRefused = "IMPORT_REFUSED", 422;
    Internal = "INTERNAL", 500;
    IpAllowEntryInvalid = "IP_ALLOW_ENTRY_INVALID", 422;
    IpAllowExcludesCaller = "IP_ALLOW_EXCLUDES_CALLER", 422;
    IpAllowTooMany = "IP_ALLOW_TOO_MANY", 422;
    LastManager = "LAST_MANAGER", 422;
    LinesExhausted = "LINES_EXHAUSTED", 422;
    LoginThrottled = "LOGIN_THROTTLED", 429;
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405;
    MinPasswordLengthOutOfRange = "MIN_PASSWORD_LENGTH_OUT_OF_RANGE", 422;
    NameCollision = "NAME_COLLISION", 422;
    NameEmpty = "NAME_EMPTY", 422;
    NameInvalidCharacter = "NAME_INVALID_CHARACTER", 422;
    NameTooLong = "NAME_TOO_LONG", 422;
    NotFound = "NOT_FOUND", 404;
    NotYetVisible = "NOT_YET_VISIBLE", 503;
    NoDataRows = "NO_DATA_ROWS", 422;
    NoHeader = "NO_HEADER", 422;
    NoMainCallerNumber = "NO_MAIN_CALLER_NUMBER", 422;
    NoPhone = "NO_PHONE", 422;
    NoSipAccount = "NO_SIP_ACCOUNT", 422;
    NumberNotContracted = "NUMBER_NOT_CONTRACTED", 422;
    PageSizeInvalid = "PAGE_SIZE_INVALID", 400;
    PasswordExpired = "PASSWORD_EXPIRED", 403;
    PasswordMaxAgeOutOfRange = "PASSWORD_MAX_AGE_OUT_OF_RANGE", 422;
    PasswordSameAsUsername = "PASSWORD_SAME_AS_USERNAME", 422;
    PasswordTooCommon = "PASSWORD_TOO_COMMON", 422;
    PasswordTooLong = "PASSWORD_TOO_LONG", 422;
    PasswordTooShort = "PASSWORD_TOO_SHORT", 422;
    PasswordUnchanged = "PASSWORD_UNCHANGED", 422;
    PhoneColumnMissing = "PHONE_COLUMN_MISSING", 422;
    PhoneColumnRename = "PHONE_COLUMN_RENAME", 422;
    PhoneEmpty = "PHONE_EMPTY", 422;
    PhoneForeignNumber = "PHONE_FOREIGN_NUMBER", 422;
    PhoneInvalidCharacter = "PHONE_INVALID_CHARACTER", 422;
    PhoneNotRegistered = "PHONE_NOT_REGISTERED", 422;
    PhoneUnsupportedPrefix = "PHONE_UNSUPPORTED_PREFIX", 422;
    PhoneWrongLength = "PHONE_WRONG_LENGTH", 422;
    PreviewEvicted = "PREVIEW_EVICTED", 410;
    PreviewExpired = "PREVIEW_EXPIRED", 410;
    PreviewNotFound = "PREVIEW_NOT_FOUND", 404;
    QueryTooComplex = "QUERY_TOO_COMPLEX", 400;
    QueryTooDeep = "QUERY_TOO_DEEP", 400;
    ReportWithoutRecipients = "REPORT_WITHOUT_RECIPIENTS", 422;
    RingTimeOutOfRange = "RING_TIME_OUT_OF_RANGE", 422;
    RoleUnknown = "ROLE_UNKNOWN", 422;
    RouteNotFound = "ROUTE_NOT_FOUND", 404;
    RowCellCount = "ROW_CELL_COUNT", 422;
    SessionExpired = "SESSION_EXPIRED", 401;
    SjisUnmappable = "SJIS_UNMAPPABLE", 422;
    TelephonyOff = "TELEPHONY_OFF", 503;
    TextAttributeHasChoices = "TEXT_ATTRIBUTE_HAS_CHOICES", 422;
    TextTooLong = "TEXT_TOO_LONG", 422;
    TooManyAttempts = "TOO_MANY_ATTEMPTS", 429;
    TooManyColumns = "TOO_MANY_COLUMNS", 422;
    TooManyConnections = "TOO_MANY_CONNECTIONS", 503;
    TooManyRows = "TOO_MANY_ROWS", 422;
    TooManySubNumbers = "TOO_MANY_SUB_NUMBERS", 422;
    Unauthenticated = "UNAUTHENTICATED", 401;
    UnclosedQuote = "UNCLOSED_QUOTE", 422;
    UnknownColumn = "UNKNOWN_COLUMN", 422;
    UnknownStatus = "UNKNOWN_STATUS", 422;
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", 415;
    UploadTooLarge = "UPLOAD_TOO_LARGE", 413;
    UsernameInvalid = "USERNAME_INVALID", 422;
    UsernameTaken = "USERNAME_TAKEN", 409;
    UserQuotaExceeded = "USER_QUOTA_EXCEEDED", 422;
    UserQuotaTooLow = "USER_QUOTA_TOO_LOW", 422;
    XlsxNoSheet = "XLSX_NO_SHEET", 422;
    XlsxTooLarge = "XLSX_TOO_LARGE", 413;
    XlsxUnreadable = "XLSX_UNREADABLE", 422;
    XlsNotSupported = "XLS_NOT_SUPPORTED", 422;
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn err_1_codes_are_unique_screaming_snake_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{text}"
            );
            assert_eq!(ErrorCode::parse(text), Some(*code));
            assert!((400..600).contains(&code.http_status()), "{text}");
        }
        assert_eq!(ErrorCode::CsrfTokenMissing.http_status(), 403);
        assert_eq!(ErrorCode::NotFound.http_status(), 404);
        assert_eq!(ErrorCode::parse("NO_SUCH_CODE"), None);
        let texts: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert!(
            texts.is_sorted(),
            "the catalogue stays in alphabetical order"
        );
    }
}
