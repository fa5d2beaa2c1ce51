//! Application services: the use cases and policies behind the GraphQL resolvers and HTTP
//! handlers, one module per area. A service takes narrow handles (the read-model engine, the
//! command path, the store, a zone), never the whole `AppState`, and never knows GraphQL or
//! HTTP: resolvers and handlers authorise, call one service, and map its answer. Rules that
//! span aggregates are decided here, in one append (see `commands::Writer`).

pub mod calls;
pub mod campaigns;
pub mod folders;
pub mod imports;
pub mod previews;
pub mod security;
pub mod session;
pub mod users;
