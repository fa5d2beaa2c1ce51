//! # kaden-domain
//!
//! The decision side of Kaden: aggregates, commands, events, typed errors and pure rules.
//! No sockets, databases or files here.
//!
//! ## Layout
//! - `access`: roles, the permission table (USR-6) and security rules (passwords, IP allow-lists,
//!   login throttling, the access-log hash chain).
//! - `list`: list import rules (phone numbers, CSV/xlsx decoding, header rules, export encoding).
//! - `metadata`: what every event carries (tenant, user, request, address, time).
//! - `error`: the `DomainError` trait (stable codes) and shared name rules.
//! - `campaign`, `tenant`, `session`: aggregates (cqrs-es), one folder each.
//! - `event`: `KadenEvent`, every stored event as one enum for the read side.

pub mod campaign;
pub mod error;
pub mod event;
pub mod metadata;
pub mod session;
pub mod tenant;
pub mod access;
pub mod list;
