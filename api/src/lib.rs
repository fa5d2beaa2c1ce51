//! # kaden-api
//!
//! The `kaden` binary's library: the composition root of Kaden.
//!
//! ## Layout
//! - `config`: typed settings from flags, `KADEN_*` variables and a TOML file.
//! - `store`: the event store (PostgreSQL, SQLite) behind cqrs-es, with the global log.
//! - `commands`: runs commands with event metadata, retries conflicts, returns log positions.
//! - `contract`: `kaden admin contract` (user quota, contracted caller numbers).
//! - `access_log`: the access-log batcher and `kaden audit export` / `verify` (AUD-1).
//! - `auth`: argon2id passwords, session and CSRF tokens, login throttling, login.
//! - `graphql`: the schema (queries, mutations, subscriptions), separate from transport.
//! - `http`: the axum router: GraphQL over HTTP and WebSocket, GraphiQL, health, metrics.
//! - `calls`: telephony wired in: the call gate, call events → interaction commands, auto-call.
//! - `recovery`: `kaden admin reset-password` and `clear-ip-allow-list` (lockout recovery).
//! - `reactions`: side effects that follow events from the log (a dropped recording's file).
//! - `service`: application services (use cases and cross-aggregate rules) behind the edge.
//! - `state`: `AppState`, what the edge reaches (built only by `app`).
//! - `app`: start-up (replay, follow, snapshots), first run, serve and graceful shutdown.
//! - `cli`: the command line (`kaden serve`, `migrate`, `admin create`, `bench`).
//! - `bench`: `kaden bench`, store and subscription benchmarks against raw baselines.
//! - `bench_import`: `kaden bench-import`, the list import and folder search benchmark.
//! - `error`, `metrics`: the edge error type and Prometheus text.

pub mod access_log;
pub mod app;
pub mod auth;
pub mod bench;
pub mod bench_import;
pub mod calls;
pub mod cli;
pub mod commands;
pub mod config;
pub mod contract;
pub mod error;
pub mod graphql;
pub mod http;
mod layers;
pub mod metrics;
pub mod reactions;
pub mod recovery;
pub mod service;
pub mod state;
pub mod store;

pub use app::{App, run};
