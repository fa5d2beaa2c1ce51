//! Bytes of an uploaded text file → text (SPEC LST-3 decision: UTF-8 with or without BOM, or
//! Shift_JIS/CP932 as Japanese Excel writes it, detected automatically).
//!
//! Detection: a UTF-8 BOM means UTF-8 (strict); a UTF-16 BOM is refused with a hint; otherwise
//! valid UTF-8 is taken as UTF-8 (borrowed, no copy) and anything else is decoded as Shift_JIS.
//! `encoding_rs::SHIFT_JIS` is the WHATWG Shift_JIS, which is Windows-31J (CP932): it includes the
//! NEC and IBM extensions (`①`, `㈱`, `髙`) that Excel writes.
//!
//! NUL bytes are refused before decoding: they are valid in neither encoding's text files and
//! usually mean a UTF-16 or binary file.

use crate::error::ErrorCode;

use std::borrow::Cow;

use encoding_rs::{DecoderResult, SHIFT_JIS};

use crate::error::DomainError;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The encoding a text file was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark (what Excel writes for "CSV UTF-8").
    Utf8Bom,
    /// Shift_JIS / CP932 (Windows-31J), what Japanese Excel writes for "CSV".
    ShiftJis,
}

/// Decoded text and the encoding it was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedText<'a> {
    /// The text without any BOM. Borrowed from the input when it was UTF-8.
    pub text: Cow<'a, str>,
    pub encoding: TextEncoding,
}

/// Why the bytes could not be read as text. Offsets are 0-based byte offsets into the upload,
/// lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No bytes, or only a byte-order mark.
    #[error(
        "ファイルが空です (the file is empty: choose the file again, or check that it was saved)"
    )]
    Empty,
    /// A NUL byte (0x00).
    #[error(
        "ファイルの{line}行目(バイト位置{offset})にNUL文字があります (the file contains a NUL byte at line {line}, byte {offset}: it is not a text CSV; save it from Excel as \"CSV\" or \"CSV UTF-8\")"
    )]
    NulByte { offset: usize, line: usize },
    /// A UTF-16 byte-order mark ("Unicode text" from Excel).
    #[error(
        "UTF-16のファイルは読み込めません (the file is UTF-16 (\"Unicode text\"): save it from Excel as \"CSV UTF-8\" or \"CSV\")"
    )]
    Utf16,
    /// The file starts with a UTF-8 BOM but has bytes that are not UTF-8.
    #[error(
        "UTF-8として読めない文字が{line}行目(バイト位置{offset})にあります (the file says it is UTF-8 but line {line}, byte {offset} is not valid UTF-8: save it again as \"CSV UTF-8\")"
    )]
    InvalidUtf8 { offset: usize, line: usize },
    /// Neither valid UTF-8 nor valid Shift_JIS. The position is where the encoding that read
    /// further (`closest`) failed.
    #[error(
        "文字コードを判別できません: {line}行目(バイト位置{offset})が{closest}として読めません (the file is neither UTF-8 nor Shift_JIS: line {line}, byte {offset} is invalid in {closest}; save it from Excel as \"CSV UTF-8\" or \"CSV\")"
    )]
    UnknownEncoding {
        offset: usize,
        line: usize,
        closest: EncodingName,
    },
}

/// An encoding named in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingName {
    Utf8,
    ShiftJis,
}

impl std::fmt::Display for EncodingName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Utf8 => "UTF-8",
            Self::ShiftJis => "Shift_JIS",
        })
    }
}

impl DomainError for DecodeError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Empty => ErrorCode::FileEmpty,
            Self::NulByte { .. } => ErrorCode::FileNulByte,
            Self::Utf16 => ErrorCode::FileUtf16,
            Self::InvalidUtf8 { .. } | Self::UnknownEncoding { .. } => ErrorCode::FileEncoding,
        }
    }
}

/// 1-based line of a byte offset: newlines before it plus one. A `\n` byte is never part of a
/// multi-byte character in UTF-8 or Shift_JIS, so this is right for both.
pub(crate) fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Decodes an uploaded text file (see the module docs for the detection rules).
pub fn decode(bytes: &[u8]) -> Result<DecodedText<'_>, DecodeError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(DecodeError::Utf16);
    }
    if let Some(offset) = memchr::memchr(0, bytes) {
        return Err(DecodeError::NulByte {
            offset,
            line: line_of(bytes, offset),
        });
    }
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        if rest.is_empty() {
            return Err(DecodeError::Empty);
        }
        return match std::str::from_utf8(rest) {
            Ok(text) => Ok(DecodedText {
                text: Cow::Borrowed(text),
                encoding: TextEncoding::Utf8Bom,
            }),
            Err(e) => {
                let offset = UTF8_BOM.len() + e.valid_up_to();
                Err(DecodeError::InvalidUtf8 {
                    offset,
                    line: line_of(bytes, offset),
                })
            }
        };
    }
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let utf8_error = match std::str::from_utf8(bytes) {
        Ok(text) => {
            return Ok(DecodedText {
                text: Cow::Borrowed(text),
                encoding: TextEncoding::Utf8,
            });
        }
        Err(e) => e.valid_up_to(),
    };
    match decode_shift_jis(bytes) {
        Ok(text) => Ok(DecodedText {
            text: Cow::Owned(text),
            encoding: TextEncoding::ShiftJis,
        }),
        Err(sjis_error) => {
            let (offset, closest) = if sjis_error >= utf8_error {
                (sjis_error, EncodingName::ShiftJis)
            } else {
                (utf8_error, EncodingName::Utf8)
            };
            Err(DecodeError::UnknownEncoding {
                offset,
                line: line_of(bytes, offset),
                closest,
            })
        }
    }
}

/// Strict Shift_JIS decoding; the error is the byte offset of the first malformed sequence.
fn decode_shift_jis(bytes: &[u8]) -> Result<String, usize> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len() * 3);
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok(out),
        DecoderResult::Malformed(bad, unread) => {
            // `read` includes the malformed bytes and `unread` bytes after them.
            Err(read.saturating_sub(usize::from(bad) + usize::from(unread)))
        }
        // Cannot happen with an exact-size buffer; report the position reached.
        DecoderResult::OutputFull => Err(read),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sjis(s: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = SHIFT_JIS.encode(s);
        assert!(!unmappable);
        bytes.into_owned()
    }

    #[test]
    fn lst_3_utf8_without_bom_is_borrowed() {
        let d = decode("電話番号\n0312345678\n".as_bytes()).unwrap();
        assert_eq!(d.encoding, TextEncoding::Utf8);
        assert!(matches!(d.text, Cow::Borrowed(_)));
        assert_eq!(d.text, "電話番号\n0312345678\n");
    }

    #[test]
    fn lst_3_utf8_bom_is_stripped() {
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice("電話番号\n".as_bytes());
        let d = decode(&bytes).unwrap();
        assert_eq!(d.encoding, TextEncoding::Utf8Bom);
        assert_eq!(d.text, "電話番号\n");
    }

    #[test]
    fn lst_3_shift_jis_cp932_detected() {
        let text = "電話番号,会社名\n03-1234-5678,㈱髙橋商事①～\n";
        let bytes = sjis(text);
        let d = decode(&bytes).unwrap();
        assert_eq!(d.encoding, TextEncoding::ShiftJis);
        assert!(d.text.starts_with("電話番号,会社名\n"));
        assert!(d.text.contains("㈱髙橋商事①"));
    }

    #[test]
    fn invalid_in_both_encodings_names_line_and_offset() {
        let mut bytes = sjis("電話番号\n0312345678\n");
        let offset = bytes.len();
        bytes.extend_from_slice(b"\x81\x20\n");
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::UnknownEncoding {
                offset,
                line: 3,
                closest: EncodingName::ShiftJis
            })
        );
    }

    #[test]
    fn invalid_utf8_after_bom_names_line() {
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice(b"a\nb\n\xFF");
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::InvalidUtf8 { offset: 7, line: 3 })
        );
    }

    #[test]
    fn nul_bytes_refused_with_position() {
        assert_eq!(
            decode(b"a,b\nc\x00d\n"),
            Err(DecodeError::NulByte { offset: 5, line: 2 })
        );
    }

    #[test]
    fn empty_and_bom_only_and_utf16_refused() {
        assert_eq!(decode(b""), Err(DecodeError::Empty));
        assert_eq!(decode(UTF8_BOM), Err(DecodeError::Empty));
        assert_eq!(decode(b"\xFF\xFEa\x00"), Err(DecodeError::Utf16));
    }
}
