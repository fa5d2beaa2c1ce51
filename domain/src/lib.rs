//! # kaden-domain
//!
//! The decision side of Kaden: aggregates, commands, events, typed errors and pure rules.
//! No sockets, databases or files here.
//!
//! ## Layout
//! - `access`: roles, the permission table (USR-6) and security rules (passwords, IP allow-lists,
//!   login throttling, the access-log hash chain).
//! - `list`: list import rules (phone numbers, CSV/xlsx decoding, header rules, export encoding).
