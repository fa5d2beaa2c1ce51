//! List import rules (SPEC LST-2..4, DNC-1/3, EXP-1/2, ERR-1/2): pure functions from bytes to
//! validated lists, and from rows to export bytes. No I/O: callers hand in `&[u8]` and an
//! `impl Write`.
//!
//! ## Layout
//! - `phone`: Japanese phone number normalisation and validation (LST-3).

pub mod phone;

pub use phone::{NormalisedPhone, PhoneError, PhoneKind, PhoneNumber, PhoneWarning, PhoneWarnings};
