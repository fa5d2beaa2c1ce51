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
//! - `access_log`: the per-tenant access-log aggregate (AUD-1 hash chain).
//! - `folder`: the list folder aggregate (LST), imports as row chunks on their own stream.
//! - `interaction`: one call (one press of Call) and its saved result (CALL-6, CNT, REC-1).
//! - `dnc`: the per-tenant do-not-call registry and `dial_permission` (DNC-5).
//! - `registration`: softphones' SIP bindings as events, so they survive restarts and every
//!   node knows them (issue 17 item 4).
//! - `event`: `KadenEvent`, every stored event as one enum for the read side.

pub mod access;
pub mod access_log;
pub mod aggregate_ref;
pub mod campaign;
pub mod dnc;
pub mod error;
mod error_code;
pub mod event;
pub mod folder;
pub mod interaction;
pub mod list;
pub mod metadata;
pub mod registration;
pub mod session;
pub mod tenant;
