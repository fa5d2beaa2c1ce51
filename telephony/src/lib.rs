//! Kaden telephony: SIP user agent, registrar, RTP relay with recording, dialler.
//!
//! # Layout
//!
//! One module per SIP layer, bottom up:
//! - [`transport`]: UDP sockets, Content-Length framing and header normalisation around rsip.
//! - [`auth`]: HTTP digest (MD5, SHA-256, qop=auth), client and server side.
//! - [`transaction`]: RFC 3261 client and server transactions with timers A–K.
//! - [`sdp`]: SDP offer/answer for PCMU/PCMA 8 kHz and telephone-event.
//! - [`dialog`]: dialogs and the user agent (INVITE, ACK, CANCEL, BYE, re-INVITE).
//! - [`registrar`]: REGISTER with digest, expiring bindings, lookup by user, and a hook that
//!   keeps bindings outside the process (restarts, several nodes).
//! - [`media`]: RTP, G.711, the two-leg relay and the stereo WAV recorder.
//! - [`dialer`]: the call-control API for the api crate (gate, licensed lines, call events)
//!   and auto-call.
//! - [`carrier`]: a built-in test carrier on loopback speaking real SIP/RTP.
//! - [`softphone`]: a registering, auto-answering softphone for tests and demos.
//! - [`sync`]: the crate's lock-poisoning policy (recover the guard) and its `lock` helper.
//!
//! This crate speaks calls, not customers: it knows numbers and SIP causes; the api crate maps
//! call events to domain commands.

pub mod auth;
pub mod carrier;
pub mod dialer;
pub mod dialog;
pub mod media;
pub mod registrar;
pub mod sdp;
pub mod softphone;
pub mod sync;
pub mod transaction;
pub mod transport;
