//! The one typed reference to a tenant's aggregate: stream ids are `"{tenant}:{id}"` (tenant
//! names never hold `:`), built and read only here, never split by hand.

use std::fmt;

/// A tenant-scoped aggregate id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateRef<'a> {
    pub tenant: &'a str,
    /// The id inside the tenant (an interaction id, a folder number…).
    pub id: &'a str,
}

impl<'a> AggregateRef<'a> {
    pub fn new(tenant: &'a str, id: &'a str) -> Self {
        Self { tenant, id }
    }

    /// Reads a stream id; `None` when it is not tenant-scoped.
    pub fn parse(stream_id: &'a str) -> Option<Self> {
        stream_id
            .split_once(':')
            .map(|(tenant, id)| Self { tenant, id })
    }
}

impl fmt::Display for AggregateRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.tenant, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::AggregateRef;

    #[test]
    fn a_reference_round_trips_and_keeps_colons_in_the_id() {
        let r = AggregateRef::new("acme", "0190a:1");
        let text = r.to_string();
        assert_eq!(text, "acme:0190a:1");
        assert_eq!(AggregateRef::parse(&text), Some(r));
        assert_eq!(AggregateRef::parse("no-tenant"), None);
    }
}
