//! Access rules: who may do what, and the security rules around logging in (SPEC §1 USR, §11 SEC
//! and AUD).
//!
//! Everything here is pure: no clock, no network, no storage. Times come in as arguments; the
//! api crate does the I/O (argon2 hashing, reading the peer address, storing the access log) and
//! asks these rules for the decision.
//!
//! ## Layout
//! - [`audit_chain`]: the access log's hash chain and its verification (AUD-1).
//! - `codes`: the stable error code of every refusal here (`DomainError`).
//! - [`ip_allow`]: the IP allow-list of addresses and CIDR ranges (SEC-3).
//! - [`password`]: the password policy (minimum length, common passwords) and password age (SEC-2).
//! - [`permission`]: the one permission table (USR-6), [`permission::check`] and [`Forbidden`].
//! - [`role`]: the five roles (USR-1) and who may manage whom (USR-5).
//! - [`security_settings`]: idle logout (SEC-1) and the tenant's [`SecuritySettings`].
//! - [`throttle`]: login throttling after repeated failures.
//!
//! The types and the permission check are re-exported here; the rule functions are reached
//! through their module (`security_settings::expired`, `password::must_change`, `audit_chain::verify`).

pub mod audit_chain;
mod codes;
pub mod ip_allow;
pub mod password;
pub mod permission;
pub mod role;
pub mod security_settings;
pub mod throttle;

pub use audit_chain::{AccessEntry, BreakReason, ChainBreak, ChainHead, Outcome};
pub use ip_allow::{AddressNotAllowed, IpAllowError, IpAllowList, IpRange, IpRangeError};
pub use password::{PasswordPolicy, PasswordRejected};
pub use permission::{Access, Capability, Forbidden, check, scope};
pub use role::{Role, UnknownRole};
pub use security_settings::{
    PasswordExpired, SecuritySettings, SecuritySettingsError, SessionExpired,
};
pub use throttle::{LoginThrottle, RetryAt};
