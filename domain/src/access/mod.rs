//! Access rules: who may do what, and the security rules around logging in (SPEC §1 USR, §11 SEC
//! and AUD).
//!
//! Everything here is pure: no clock, no network, no storage. Times come in as arguments; the
//! api crate does the I/O (argon2 hashing, reading the peer address, storing the access log) and
//! asks these rules for the decision.
//!
//! ## Layout
//! - [`audit_chain`]: the access log's hash chain and its verification (AUD-1).
//! - [`role`]: the five roles (USR-1) and who may manage whom (USR-5).
//! - [`permission`]: the one permission table (USR-6), [`permission::check`] and [`Forbidden`].
//! - [`session`]: idle logout (SEC-1) and the tenant's [`SecuritySettings`].
//! - [`throttle`]: login throttling after repeated failures.
//! - [`ip_allow`]: the IP allow-list of addresses and CIDR ranges (SEC-3).
//! - [`password`]: the password policy (minimum length, common passwords) and password age (SEC-2).

pub mod audit_chain;
pub mod ip_allow;
pub mod password;
pub mod permission;
pub mod role;
pub mod session;
pub mod throttle;

pub use audit_chain::{AccessEntry, ChainBreak, ChainHead, Outcome, entry_hash, verify};
pub use ip_allow::{IpAllowError, IpAllowList, IpRange, IpRangeError};
pub use password::{PasswordPolicy, PasswordRejected, must_change};
pub use permission::{Access, Capability, Forbidden, check, scope};
pub use role::{Role, UnknownRole};
pub use session::{SecuritySettings, SecuritySettingsError, expired};
pub use throttle::{LoginThrottle, RetryAt};
