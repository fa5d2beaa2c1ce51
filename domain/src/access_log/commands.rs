//! The command of the access log: record a batch of accesses.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccessLogCommand {
    /// Appends the accesses in the order given.
    Record { entries: Vec<AccessDraft> },
}
