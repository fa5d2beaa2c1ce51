//! Japanese phone number normalisation (SPEC LST-3, DNC-1).
//! (Over 600 lines on purpose: the tests of every number form of LST-3 sit beside the rules.)
//!
//! A cell such as `03-1234-5678`, `０３（１２３４）５６７８`, `+81 3 1234 5678` or `312345678`
//! (Excel dropped the zero) all become the national form `0312345678`.
//!
//! # Normalisation steps
//! 1. Surrounding whitespace (ASCII and full-width U+3000) is trimmed: a warning
//!    ([`PhoneWarning::WhitespaceTrimmed`]).
//! 2. Separators are removed anywhere: spaces (incl. full-width), hyphens and dashes
//!    (`-` `‐` `‑` `–` `—` `―` `−` `－` `ー` `ｰ`), parentheses (`(` `)` `（` `）`) and dots
//!    (`.` `．`). Full-width digits become ASCII digits. Anything else (letters, `#`, `内線`…) is
//!    refused with [`PhoneError::InvalidCharacter`].
//! 3. A leading `+` (or `＋`) must be followed by the country code `81`, which is replaced by the
//!    trunk prefix `0` (`+81 (0)3…` keeps a single `0`). Another country code is refused
//!    ([`PhoneError::ForeignNumber`]).
//! 4. A number not starting with `0` first gets its lost leading zero back (warning
//!    [`PhoneWarning::LeadingZeroRestored`]); if that is not a valid number and the digits start
//!    with `81`, they are read as the country code written without `+`.
//!
//! # Validation (the Japanese numbering plan, as a call centre dials it)
//! | prefix | kind | digits incl. the leading 0 |
//! | --- | --- | --- |
//! | `070`, `080`, `090` | mobile ([`PhoneKind::Mobile`]) | 11 |
//! | `050` | IP telephone ([`PhoneKind::IpPhone`]) | 11 |
//! | `0120` | free dial ([`PhoneKind::FreeDial`]) | 10 |
//! | `0800` | free dial ([`PhoneKind::FreeDial`]) | 11 |
//! | `0570` | navi dial ([`PhoneKind::NaviDial`]) | 10 |
//! | `0` + `[1-9]` + `[1-9]`, none of the above | fixed line ([`PhoneKind::FixedLine`]) | 10 |
//!
//! The fixed-line row takes every area code (`03`, `011`, `0470`, `04992`…: a subscriber number
//! never starts with `0`, so the third digit is never `0`) and also the few other 10-digit
//! service numbers (`0180`, `0990`), which a list rarely holds.
//!
//! Refused prefixes ([`PhoneError::UnsupportedPrefix`]): `00…` (international/carrier access
//! codes), `010` (international prefix), `020` (pagers/M2M data), `030`, `040` (unassigned) and
//! `060` (reserved). A number of the wrong length for its prefix is
//! [`PhoneError::WrongLength`].

use crate::error::ErrorCode;

use std::fmt;

use crate::error::DomainError;

/// Longest valid national number (mobile, IP, 0800): 11 digits.
const MAX_DIGITS: usize = 11;

/// A normalised Japanese phone number in national form: ASCII digits, leading `0`, 10 or 11
/// digits. `Copy`, no heap allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber {
    digits: [u8; MAX_DIGITS],
    len: u8,
}

/// The kind of number, from its prefix (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// Geographic number, 10 digits (`03-1234-5678`).
    FixedLine,
    /// `070`/`080`/`090`, 11 digits.
    Mobile,
    /// `050`, 11 digits.
    IpPhone,
    /// `0120` (10 digits) or `0800` (11 digits).
    FreeDial,
    /// `0570`, 10 digits.
    NaviDial,
}

/// A change made while normalising that the importer should be told about (LST-3 decision:
/// reported, not refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneWarning {
    /// Whitespace around the value was removed.
    WhitespaceTrimmed,
    /// The leading `0` was missing (Excel drops it from numeric cells) and was put back.
    LeadingZeroRestored,
}

impl fmt::Display for PhoneWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WhitespaceTrimmed => {
                f.write_str("前後の空白を削除しました (surrounding whitespace removed)")
            }
            Self::LeadingZeroRestored => {
                f.write_str("先頭の0を補いました (the leading 0 was missing and has been restored)")
            }
        }
    }
}

/// The warnings of one normalisation; at most one of each kind, so no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PhoneWarnings {
    trimmed: bool,
    zero_restored: bool,
}

impl PhoneWarnings {
    /// True when nothing was reported.
    pub fn is_empty(self) -> bool {
        !self.trimmed && !self.zero_restored
    }

    /// True when `warning` was reported.
    pub fn contains(self, warning: PhoneWarning) -> bool {
        match warning {
            PhoneWarning::WhitespaceTrimmed => self.trimmed,
            PhoneWarning::LeadingZeroRestored => self.zero_restored,
        }
    }

    /// The reported warnings, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = PhoneWarning> {
        [
            self.trimmed.then_some(PhoneWarning::WhitespaceTrimmed),
            self.zero_restored
                .then_some(PhoneWarning::LeadingZeroRestored),
        ]
        .into_iter()
        .flatten()
    }
}

/// A successfully normalised number with what was changed on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalisedPhone {
    pub number: PhoneNumber,
    pub warnings: PhoneWarnings,
}

/// Why a value is not a Japanese phone number. Each variant carries the value as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Empty or only whitespace.
    #[error("電話番号が空です (the phone number is empty: enter a number such as 03-1234-5678)")]
    Empty,
    /// A character that is neither a digit nor a separator.
    #[error(
        "電話番号に使えない文字「{character}」があります: 「{value}」 (\"{value}\" contains '{character}': use only digits, hyphens, spaces and parentheses)"
    )]
    InvalidCharacter { value: String, character: char },
    /// An international number for another country.
    #[error(
        "日本の電話番号ではありません: 「{value}」 (\"{value}\" has a foreign country code: only Japanese numbers (+81) can be registered)"
    )]
    ForeignNumber { value: String },
    /// A prefix that is no callable Japanese subscriber number.
    #[error(
        "電話番号の先頭「{prefix}」は登録できません: 「{value}」 (\"{value}\" starts with {prefix}, which is not a Japanese subscriber number: check the number)"
    )]
    UnsupportedPrefix { value: String, prefix: String },
    /// The wrong number of digits for the prefix.
    #[error(
        "電話番号の桁数が違います: 「{value}」は{digits}桁、{kind}は{expected}桁です (\"{value}\" has {digits} digits; a {kind} number has {expected}: check for missing or extra digits)"
    )]
    WrongLength {
        value: String,
        digits: usize,
        expected: usize,
        kind: PhoneKindLabel,
    },
}

/// The kind named in a [`PhoneError::WrongLength`] message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneKindLabel(pub PhoneKind);

impl fmt::Display for PhoneKindLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            PhoneKind::FixedLine => "固定電話 (fixed line)",
            PhoneKind::Mobile => "携帯電話 (mobile)",
            PhoneKind::IpPhone => "IP電話 (050 IP phone)",
            PhoneKind::FreeDial => "フリーダイヤル (free dial)",
            PhoneKind::NaviDial => "ナビダイヤル (navi dial)",
        })
    }
}

impl DomainError for PhoneError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Empty => ErrorCode::PhoneEmpty,
            Self::InvalidCharacter { .. } => ErrorCode::PhoneInvalidCharacter,
            Self::ForeignNumber { .. } => ErrorCode::PhoneForeignNumber,
            Self::UnsupportedPrefix { .. } => ErrorCode::PhoneUnsupportedPrefix,
            Self::WrongLength { .. } => ErrorCode::PhoneWrongLength,
        }
    }
}

/// Digits collected from the raw value (bounded: longer input is still counted for the message).
struct Digits {
    buf: [u8; 16],
    len: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len.min(self.buf.len())]
    }
}

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{3000}'
            | '\t'
            | '-'
            | '\u{2010}'
            | '\u{2011}'
            | '\u{2012}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2015}'
            | '\u{2212}'
            | '\u{FF0D}'
            | '\u{30FC}'
            | '\u{FF70}'
            | '('
            | ')'
            | '\u{FF08}'
            | '\u{FF09}'
            | '.'
            | '\u{FF0E}'
    )
}

fn ascii_digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8),
        '\u{FF10}'..='\u{FF19}' => Some(b'0' + (c as u32 - 0xFF10) as u8),
        _ => None,
    }
}

/// Normalises and validates one phone cell (LST-3).
pub fn normalise(raw: &str) -> Result<NormalisedPhone, PhoneError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let mut warnings = PhoneWarnings {
        trimmed: trimmed.len() != raw.len(),
        zero_restored: false,
    };
    let mut digits = Digits {
        buf: [0; 16],
        len: 0,
    };
    let mut plus = false;
    for (i, c) in trimmed.char_indices() {
        if let Some(d) = ascii_digit(c) {
            if digits.len < digits.buf.len() {
                digits.buf[digits.len] = d;
            }
            digits.len += 1;
        } else if is_separator(c) {
        } else if (c == '+' || c == '\u{FF0B}')
            && digits.len == 0
            && !plus
            && trimmed[..i].chars().all(is_separator)
        {
            plus = true;
        } else {
            return Err(PhoneError::InvalidCharacter {
                value: raw.to_owned(),
                character: c,
            });
        }
    }
    if digits.len == 0 {
        return Err(PhoneError::Empty);
    }
    let d = digits.as_slice();
    if plus {
        // "+81" then the national number, with or without its trunk "0".
        let Some(national) = d.strip_prefix(b"81") else {
            return Err(PhoneError::ForeignNumber {
                value: raw.to_owned(),
            });
        };
        if digits.len > digits.buf.len() {
            return Err(wrong_length(raw, digits.len - 1, national));
        }
        let national = national.strip_prefix(b"0").unwrap_or(national);
        return with_trunk_zero(raw, national).map(|number| NormalisedPhone { number, warnings });
    }
    if digits.len > digits.buf.len() {
        return Err(wrong_length(raw, digits.len, d));
    }
    if d[0] == b'0' {
        return validate(raw, d).map(|number| NormalisedPhone { number, warnings });
    }
    // A lost leading zero: the usual case from Excel.
    match with_trunk_zero(raw, d) {
        Ok(number) => {
            warnings.zero_restored = true;
            Ok(NormalisedPhone { number, warnings })
        }
        Err(first) => match d.strip_prefix(b"81") {
            // "81…" is the country code written without "+".
            Some(national) if !national.is_empty() => {
                let national = national.strip_prefix(b"0").unwrap_or(national);
                with_trunk_zero(raw, national)
                    .map(|number| NormalisedPhone { number, warnings })
                    .map_err(|_| first)
            }
            _ => Err(first),
        },
    }
}

fn wrong_length(raw: &str, digits: usize, d: &[u8]) -> PhoneError {
    let kind = if d.starts_with(b"0") {
        kind_of(d)
    } else {
        None
    };
    let kind = kind.unwrap_or(PhoneKind::FixedLine);
    PhoneError::WrongLength {
        value: raw.to_owned(),
        digits,
        expected: expected_len(kind, d),
        kind: PhoneKindLabel(kind),
    }
}

fn with_trunk_zero(raw: &str, national: &[u8]) -> Result<PhoneNumber, PhoneError> {
    let mut buf = [0u8; 17];
    buf[0] = b'0';
    let n = national.len().min(16);
    buf[1..=n].copy_from_slice(&national[..n]);
    validate(raw, &buf[..=n])
}

/// Kind from the prefix of a number starting with `0`; `None` for refused prefixes.
fn kind_of(d: &[u8]) -> Option<PhoneKind> {
    match d {
        [b'0', b'1', b'2', b'0', ..] => Some(PhoneKind::FreeDial),
        [b'0', b'8', b'0', b'0', ..] => Some(PhoneKind::FreeDial),
        [b'0', b'5', b'7', b'0', ..] => Some(PhoneKind::NaviDial),
        [b'0', b'7' | b'8' | b'9', b'0', ..] => Some(PhoneKind::Mobile),
        [b'0', b'5', b'0', ..] => Some(PhoneKind::IpPhone),
        [b'0', b'0', ..] | [b'0', _, b'0', ..] => None,
        [b'0', b'1'..=b'9', ..] => Some(PhoneKind::FixedLine),
        _ => None,
    }
}

fn expected_len(kind: PhoneKind, d: &[u8]) -> usize {
    match kind {
        PhoneKind::Mobile | PhoneKind::IpPhone => 11,
        PhoneKind::FreeDial if d.starts_with(b"0800") => 11,
        PhoneKind::FreeDial | PhoneKind::NaviDial | PhoneKind::FixedLine => 10,
    }
}

fn validate(raw: &str, d: &[u8]) -> Result<PhoneNumber, PhoneError> {
    let Some(kind) = kind_of(d) else {
        let prefix_len = if d.get(1) == Some(&b'0') { 2 } else { 3 };
        let prefix = String::from_utf8_lossy(&d[..prefix_len.min(d.len())]).into_owned();
        return Err(PhoneError::UnsupportedPrefix {
            value: raw.to_owned(),
            prefix,
        });
    };
    let expected = expected_len(kind, d);
    if d.len() != expected {
        return Err(PhoneError::WrongLength {
            value: raw.to_owned(),
            digits: d.len(),
            expected,
            kind: PhoneKindLabel(kind),
        });
    }
    let mut digits = [0u8; MAX_DIGITS];
    digits[..d.len()].copy_from_slice(d);
    Ok(PhoneNumber {
        digits,
        len: d.len() as u8,
    })
}

impl PhoneNumber {
    /// Parses a number that must already be in normalised national form (`0312345678`): no
    /// separators, no restored zero. For values read back from storage.
    pub fn from_normalised(s: &str) -> Result<Self, PhoneError> {
        if let Some(c) = s.chars().find(|c| !c.is_ascii_digit()) {
            return Err(PhoneError::InvalidCharacter {
                value: s.to_owned(),
                character: c,
            });
        }
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        if !s.starts_with('0') {
            return Err(PhoneError::UnsupportedPrefix {
                value: s.to_owned(),
                prefix: s[..1].to_owned(),
            });
        }
        if s.len() > MAX_DIGITS {
            return Err(wrong_length(s, s.len(), s.as_bytes()));
        }
        validate(s, s.as_bytes())
    }

    /// The digits, e.g. `"0312345678"`.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored, so this cannot fail.
        std::str::from_utf8(&self.digits[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The kind of number.
    pub fn kind(&self) -> PhoneKind {
        kind_of(&self.digits[..usize::from(self.len)]).unwrap_or(PhoneKind::FixedLine)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.as_str())
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PhoneNumber {
    type Err = PhoneError;

    /// Full normalisation; warnings are dropped. Use [`normalise`] to see them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        normalise(s).map(|n| n.number)
    }
}

impl serde::Serialize for PhoneNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_normalised(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> NormalisedPhone {
        normalise(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"))
    }

    #[test]
    fn lst_3_hyphens_spaces_and_lost_zero_give_one_number() {
        for raw in ["03-1234-5678", "0312345678", "312345678", "03 1234 5678"] {
            assert_eq!(ok(raw).number.as_str(), "0312345678", "{raw}");
        }
    }

    #[test]
    fn lst_3_leading_zero_restored() {
        let n = ok("312345678");
        assert!(n.warnings.contains(PhoneWarning::LeadingZeroRestored));
        assert!(!n.warnings.contains(PhoneWarning::WhitespaceTrimmed));
        let m = ok("9012345678");
        assert_eq!(m.number.as_str(), "09012345678");
        assert_eq!(m.number.kind(), PhoneKind::Mobile);
        assert!(m.warnings.contains(PhoneWarning::LeadingZeroRestored));
        assert!(ok("0312345678").warnings.is_empty());
    }

    #[test]
    fn lst_3_surrounding_whitespace_trimmed_with_warning() {
        let n = ok(" \u{3000}090-1234-5678\t");
        assert_eq!(n.number.as_str(), "09012345678");
        assert_eq!(
            n.warnings.iter().collect::<Vec<_>>(),
            vec![PhoneWarning::WhitespaceTrimmed]
        );
        let both = ok(" 312345678 ");
        assert_eq!(both.warnings.iter().count(), 2);
    }

    #[test]
    fn lst_3_full_width_digits_parentheses_dots_and_dashes() {
        assert_eq!(ok("０３（１２３４）５６７８").number.as_str(), "0312345678");
        assert_eq!(ok("(03) 1234.5678").number.as_str(), "0312345678");
        assert_eq!(ok("090ー1234ー5678").number.as_str(), "09012345678");
        assert_eq!(ok("090－1234－5678").number.as_str(), "09012345678");
        assert_eq!(ok("090―1234―5678").number.as_str(), "09012345678");
        assert_eq!(ok("06‐6123‐4567").number.as_str(), "0661234567");
    }

    #[test]
    fn lst_3_country_code_becomes_trunk_zero() {
        assert_eq!(ok("+81 3-1234-5678").number.as_str(), "0312345678");
        assert_eq!(ok("+81 (0)3 1234 5678").number.as_str(), "0312345678");
        assert_eq!(
            ok("＋８１９０１２３４５６７８").number.as_str(),
            "09012345678"
        );
        let no_plus = ok("81-90-1234-5678");
        assert_eq!(no_plus.number.as_str(), "09012345678");
        assert!(!no_plus.warnings.contains(PhoneWarning::LeadingZeroRestored));
        assert!(matches!(
            normalise("+1 212 555 0100"),
            Err(PhoneError::ForeignNumber { .. })
        ));
        assert!(matches!(
            normalise("+44 20 7946 0958"),
            Err(PhoneError::ForeignNumber { .. })
        ));
    }

    #[test]
    fn lst_3_kinds_and_lengths() {
        assert_eq!(ok("0120-123-456").number.kind(), PhoneKind::FreeDial);
        assert_eq!(ok("0800-123-4567").number.kind(), PhoneKind::FreeDial);
        assert_eq!(ok("0570-012-345").number.kind(), PhoneKind::NaviDial);
        assert_eq!(ok("050-1234-5678").number.kind(), PhoneKind::IpPhone);
        assert_eq!(ok("070-1234-5678").number.kind(), PhoneKind::Mobile);
        assert_eq!(ok("080-1234-5678").number.kind(), PhoneKind::Mobile);
        assert_eq!(ok("0470-12-3456").number.kind(), PhoneKind::FixedLine);
        assert_eq!(ok("011-123-4567").number.kind(), PhoneKind::FixedLine);
        assert!(matches!(
            normalise("090-1234-567"),
            Err(PhoneError::WrongLength {
                digits: 10,
                expected: 11,
                ..
            })
        ));
        assert!(matches!(
            normalise("03-1234-56789"),
            Err(PhoneError::WrongLength {
                digits: 11,
                expected: 10,
                ..
            })
        ));
        assert!(matches!(
            normalise("0120-123-4567"),
            Err(PhoneError::WrongLength { expected: 10, .. })
        ));
        assert!(matches!(
            normalise("12345678901234567890"),
            Err(PhoneError::WrongLength { digits: 20, .. })
        ));
        assert!(matches!(
            normalise("1234"),
            Err(PhoneError::WrongLength { .. })
        ));
    }

    #[test]
    fn lst_3_refused_prefixes() {
        for raw in [
            "010-1234-5678",
            "020-1234-5678",
            "060-1234-5678",
            "0012345678",
            "040-123-4567",
        ] {
            assert!(
                matches!(normalise(raw), Err(PhoneError::UnsupportedPrefix { .. })),
                "{raw}"
            );
        }
    }

    #[test]
    fn lst_3_not_a_phone_number_names_the_value() {
        assert_eq!(
            normalise("03-1234-5678 内線12"),
            Err(PhoneError::InvalidCharacter {
                value: "03-1234-5678 内線12".into(),
                character: '内'
            })
        );
        assert!(matches!(
            normalise("abc"),
            Err(PhoneError::InvalidCharacter { character: 'a', .. })
        ));
        assert!(matches!(
            normalise("03+1234"),
            Err(PhoneError::InvalidCharacter { character: '+', .. })
        ));
        assert!(matches!(
            normalise("++81312345678"),
            Err(PhoneError::InvalidCharacter { .. })
        ));
        assert_eq!(normalise("   "), Err(PhoneError::Empty));
        assert_eq!(normalise("- ( )"), Err(PhoneError::Empty));
        assert_eq!(normalise(""), Err(PhoneError::Empty));
    }

    #[test]
    fn normalised_form_round_trips_through_serde_and_from_normalised() {
        let n = ok("03-1234-5678").number;
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"0312345678\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), n);
        assert!(serde_json::from_str::<PhoneNumber>("\"03-1234-5678\"").is_err());
        assert!(PhoneNumber::from_normalised("312345678").is_err());
        assert!(PhoneNumber::from_normalised("").is_err());
        assert_eq!(
            PhoneNumber::from_normalised("09012345678")
                .unwrap()
                .as_str(),
            "09012345678"
        );
        assert_eq!(
            "+81 90 1234 5678".parse::<PhoneNumber>().unwrap().as_str(),
            "09012345678"
        );
    }
}
