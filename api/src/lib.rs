//! # kaden-api
//!
//! The `kaden` binary's library: the composition root of Kaden.
//!
//! ## Layout
//! - `config`: typed settings from flags, `KADEN_*` variables and a TOML file.
//! - `store`: the event store (PostgreSQL, SQLite) behind cqrs-es, with the global log.
//! - `commands`: runs commands with event metadata, retries conflicts, returns log positions.
//! - `auth`: argon2id passwords, session and CSRF tokens, login throttling, login.
//! - `graphql`: the schema (queries, mutations, subscriptions), separate from transport.
//! - `http`: the axum router: GraphQL over HTTP and WebSocket, GraphiQL, health, metrics.
//! - `app`: start-up (replay, follow, snapshots), first run, serve and graceful shutdown.
//! - `cli`: the command line (`kaden serve`, `migrate`, `admin create`, `bench`).
//! - `bench`: `kaden bench`, store and subscription benchmarks against raw baselines.
//! - `error`, `metrics`: the edge error type and Prometheus text.

pub mod app;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod store;

pub use app::{App, run};
