//! SEC-3: the IP allow-list. Only allowed addresses and ranges may log in or call the API.
//!
//! An entry is one address (`203.0.113.7`, `2001:db8::1`) or a CIDR range (`203.0.113.0/24`,
//! `2001:db8::/32`). An empty list allows every address (no restriction configured).
//! IPv4 clients that reach a dual-stack listener appear as IPv4-mapped IPv6 addresses
//! (`::ffff:203.0.113.7`); they are matched as the IPv4 address they are. An IPv6 range such as
//! `::ffff:0:0/96` (or `::/0`) also covers IPv4 clients through their mapped form.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The most entries one allow-list may hold.
pub const MAX_IP_ALLOW_ENTRIES: usize = 1000;

/// One allow-list entry: an address with a prefix length (a single address has the full length,
/// 32 or 128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

/// Why one entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IpRangeError {
    #[error(
        "空欄です。203.0.113.7 のようなアドレスか 203.0.113.0/24 のような範囲を入力してください \
         (the entry is empty; write an address such as 203.0.113.7 or a range such as \
         203.0.113.0/24)"
    )]
    Empty,
    #[error(
        "「{address}」はIPアドレスではありません。203.0.113.7、203.0.113.0/24、2001:db8::/32 の\
         ように入力してください (\"{address}\" is not an IPv4 or IPv6 address; write e.g. \
         203.0.113.7, 203.0.113.0/24 or 2001:db8::/32)"
    )]
    NotAnAddress { address: String },
    #[error(
        "「/」の後は0から{max}までの整数にしてください(「{prefix}」になっています) (the prefix \
         length after '/' must be a whole number from 0 to {max}, not \"{prefix}\")"
    )]
    BadPrefix { prefix: String, max: u8 },
    #[error(
        "範囲の先頭アドレスではありません。範囲全体を許可するには {network}/{prefix} と入力してくだ\
         さい (the address has bits set after the first {prefix} bits, so it is not the start of \
         a range; write {network}/{prefix} to allow that whole range)"
    )]
    HostBitsSet { network: IpAddr, prefix: u8 },
}

impl IpRange {
    /// A range from its first address and prefix length; refuses a prefix longer than the
    /// address or host bits set after the prefix.
    pub fn new(network: IpAddr, prefix: u8) -> Result<Self, IpRangeError> {
        let max = max_prefix(network);
        if prefix > max {
            return Err(IpRangeError::BadPrefix {
                prefix: prefix.to_string(),
                max,
            });
        }
        let masked = mask(network, prefix);
        if masked != network {
            return Err(IpRangeError::HostBitsSet {
                network: masked,
                prefix,
            });
        }
        Ok(Self { network, prefix })
    }

    /// A single address.
    pub fn single(address: IpAddr) -> Self {
        Self {
            network: address,
            prefix: max_prefix(address),
        }
    }

    /// The first address of the range.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `addr` is in this range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, addr.to_canonical()) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(addr.to_canonical(), self.prefix) == self.network
            }
            (IpAddr::V6(_), IpAddr::V4(v4)) => {
                mask(IpAddr::V6(v4.to_ipv6_mapped()), self.prefix) == self.network
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `addr` with every bit after the first `prefix` bits cleared (`prefix` <= the address length).
fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let bits = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & bits))
        }
        IpAddr::V6(v6) => {
            let bits = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & bits))
        }
    }
}

impl FromStr for IpRange {
    type Err = IpRangeError;

    /// Reads `address` or `address/prefix`, ignoring surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(IpRangeError::Empty);
        }
        let (address, prefix) = match s.split_once('/') {
            Some((address, prefix)) => (address.trim(), Some(prefix.trim())),
            None => (s, None),
        };
        let network: IpAddr = address.parse().map_err(|_| IpRangeError::NotAnAddress {
            address: address.to_owned(),
        })?;
        match prefix {
            None => Ok(Self::single(network)),
            Some(text) => {
                let max = max_prefix(network);
                let bad = || IpRangeError::BadPrefix {
                    prefix: text.to_owned(),
                    max,
                };
                // Digits only: `u8::from_str` would also take "+24".
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let prefix: u8 = text.parse().map_err(|_| bad())?;
                Self::new(network, prefix)
            }
        }
    }
}

impl fmt::Display for IpRange {
    /// A single address without a prefix, a range as `network/prefix`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == max_prefix(self.network) {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

/// Why an allow-list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IpAllowError {
    /// One entry is wrong; `position` counts from 1 in the order given.
    #[error("IP許可リストの{position}番目「{entry}」: {source}")]
    Entry {
        position: usize,
        entry: String,
        source: IpRangeError,
    },
    #[error(
        "IP許可リストは{max}件までです(現在{count}件)。アドレスをCIDR範囲にまとめてください (the \
         IP allow-list has {count} entries but may have at most {max}; combine addresses into \
         CIDR ranges)"
    )]
    TooMany { count: usize, max: usize },
}

/// SEC-3: the tenant's allowed addresses and ranges. Serialized as a list of strings
/// (`["203.0.113.0/24", "2001:db8::1"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct IpAllowList {
    ranges: Vec<IpRange>,
}

impl IpAllowList {
    /// Reads entries such as `"203.0.113.7"` or `"2001:db8::/32"`; the error names the first bad
    /// entry and its position.
    pub fn parse<I, S>(entries: I) -> Result<Self, IpAllowError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut ranges = Vec::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let entry = entry.as_ref();
            let range = entry.parse().map_err(|source| IpAllowError::Entry {
                position: index + 1,
                entry: entry.to_owned(),
                source,
            })?;
            ranges.push(range);
        }
        if ranges.len() > MAX_IP_ALLOW_ENTRIES {
            return Err(IpAllowError::TooMany {
                count: ranges.len(),
                max: MAX_IP_ALLOW_ENTRIES,
            });
        }
        Ok(Self { ranges })
    }

    /// Whether the list is empty, i.e. every address is allowed.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The entries, in the order given.
    pub fn ranges(&self) -> &[IpRange] {
        &self.ranges
    }

    /// SEC-3: whether a client at `addr` may log in or call the API. An empty list allows all.
    pub fn allows(&self, addr: IpAddr) -> bool {
        self.ranges.is_empty() || self.ranges.iter().any(|range| range.contains(addr))
    }

    /// SEC-3 as a refusal: [`AddressNotAllowed`] naming the caller's address when
    /// [`IpAllowList::allows`] says no.
    pub fn check(&self, addr: IpAddr) -> Result<(), AddressNotAllowed> {
        if self.allows(addr) {
            Ok(())
        } else {
            Err(AddressNotAllowed {
                address: addr.to_canonical(),
            })
        }
    }
}

/// SEC-3: the caller's address is not on the tenant's allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "このIPアドレス({address})からのアクセスは許可されていません。許可されたネットワークから接続するか、\
     マネージャーにIP許可リストへの追加を依頼してください (access from {address} is not allowed: \
     connect from an allowed network, or ask a manager to add the address to the IP allow-list)"
)]
pub struct AddressNotAllowed {
    /// The caller's address (an IPv4-mapped IPv6 address is shown as IPv4).
    pub address: IpAddr,
}

impl TryFrom<Vec<String>> for IpAllowList {
    type Error = IpAllowError;

    fn try_from(entries: Vec<String>) -> Result<Self, Self::Error> {
        Self::parse(entries)
    }
}

impl From<IpAllowList> for Vec<String> {
    fn from(list: IpAllowList) -> Self {
        list.ranges.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn list(entries: &[&str]) -> IpAllowList {
        IpAllowList::parse(entries).unwrap()
    }

    #[test]
    fn sec_3_empty_list_allows_all() {
        let empty = IpAllowList::default();
        assert!(empty.allows(ip("198.51.100.1")));
        assert!(empty.allows(ip("2001:db8::1")));
    }

    #[test]
    fn sec_3_refusal_names_the_callers_address() {
        let allow = list(&["203.0.113.0/24"]);
        assert_eq!(allow.check(ip("203.0.113.1")), Ok(()));
        let err = allow.check(ip("::ffff:198.51.100.9")).unwrap_err();
        assert_eq!(
            err,
            AddressNotAllowed {
                address: ip("198.51.100.9")
            }
        );
        assert!(
            err.to_string().contains("198.51.100.9 is not allowed"),
            "{err}"
        );
        assert_eq!(IpAllowList::default().check(ip("198.51.100.9")), Ok(()));
    }

    #[test]
    fn sec_3_single_address_allows_only_itself() {
        let allow = list(&["203.0.113.7"]);
        assert!(allow.allows(ip("203.0.113.7")));
        assert!(!allow.allows(ip("203.0.113.8")));
    }

    #[test]
    fn sec_3_cidr_range_allows() {
        let allow = list(&["203.0.113.0/24", "10.0.0.0/8"]);
        assert!(allow.allows(ip("203.0.113.0")));
        assert!(allow.allows(ip("203.0.113.255")));
        assert!(allow.allows(ip("10.200.3.4")));
        assert!(!allow.allows(ip("203.0.114.0")));
        assert!(!allow.allows(ip("11.0.0.1")));
    }

    #[test]
    fn sec_3_ipv6_range_allows() {
        let allow = list(&["2001:db8:1::/48"]);
        assert!(allow.allows(ip("2001:db8:1:ffff::1")));
        assert!(!allow.allows(ip("2001:db8:2::1")));
        assert!(!allow.allows(ip("203.0.113.7")));
    }

    #[test]
    fn sec_3_ipv4_mapped_client_matches_ipv4_entry() {
        let allow = list(&["203.0.113.0/24"]);
        assert!(allow.allows(ip("::ffff:203.0.113.9")));
        assert!(!allow.allows(ip("::ffff:198.51.100.9")));
    }

    #[test]
    fn sec_3_mapped_ipv6_entry_matches_ipv4_client() {
        let allow = list(&["::ffff:203.0.113.0/120"]);
        assert!(allow.allows(ip("203.0.113.9")));
        assert!(allow.allows(ip("::ffff:203.0.113.9")));
        assert!(!allow.allows(ip("203.0.114.9")));
    }

    #[test]
    fn sec_3_zero_prefix_allows_whole_family() {
        let allow = list(&["0.0.0.0/0"]);
        assert!(allow.allows(ip("198.51.100.1")));
        assert!(!allow.allows(ip("2001:db8::1")));
        let allow = list(&["::/0"]);
        assert!(allow.allows(ip("2001:db8::1")));
        assert!(allow.allows(ip("198.51.100.1")));
    }

    #[test]
    fn sec_3_bad_address_named_with_position() {
        let err = IpAllowList::parse(["10.0.0.1", "10.0.0.300"]).unwrap_err();
        assert_eq!(
            err,
            IpAllowError::Entry {
                position: 2,
                entry: "10.0.0.300".into(),
                source: IpRangeError::NotAnAddress {
                    address: "10.0.0.300".into()
                },
            }
        );
        assert!(err.to_string().contains("2番目「10.0.0.300」"), "{err}");
    }

    #[test]
    fn sec_3_bad_prefix_refused() {
        for (entry, prefix, max) in [
            ("10.0.0.0/33", "33", 32),
            ("10.0.0.0/", "", 32),
            ("10.0.0.0/+8", "+8", 32),
            ("10.0.0.0/x", "x", 32),
            ("2001:db8::/129", "129", 128),
            ("2001:db8::/999", "999", 128),
        ] {
            let err = IpAllowList::parse([entry]).unwrap_err();
            assert_eq!(
                err,
                IpAllowError::Entry {
                    position: 1,
                    entry: entry.into(),
                    source: IpRangeError::BadPrefix {
                        prefix: prefix.into(),
                        max
                    },
                },
                "{entry}"
            );
        }
    }

    #[test]
    fn sec_3_host_bits_set_suggests_the_range() {
        let err = "192.168.1.5/24".parse::<IpRange>().unwrap_err();
        assert_eq!(
            err,
            IpRangeError::HostBitsSet {
                network: ip("192.168.1.0"),
                prefix: 24
            }
        );
        assert!(err.to_string().contains("192.168.1.0/24"), "{err}");
    }

    #[test]
    fn sec_3_empty_entry_refused() {
        let err = IpAllowList::parse(["10.0.0.1", "  "]).unwrap_err();
        assert!(matches!(
            err,
            IpAllowError::Entry {
                position: 2,
                source: IpRangeError::Empty,
                ..
            }
        ));
    }

    #[test]
    fn sec_3_too_many_entries_refused() {
        let entries: Vec<String> = (0..=MAX_IP_ALLOW_ENTRIES)
            .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
            .collect();
        assert_eq!(
            IpAllowList::parse(&entries).unwrap_err(),
            IpAllowError::TooMany {
                count: MAX_IP_ALLOW_ENTRIES + 1,
                max: MAX_IP_ALLOW_ENTRIES
            }
        );
    }

    /// Convention 17 (parsers are fuzzed), deterministically: every truncation of valid entries
    /// and every single-character insertion or replacement from a set of awkward characters
    /// either fails with an error or gives a range whose text reads back to the same range.
    #[test]
    fn sec_3_parser_never_panics_and_round_trips() {
        let seeds = [
            "203.0.113.0/24",
            "10.0.0.1",
            "2001:db8::/32",
            "::ffff:203.0.113.0/120",
            "fe80::1",
            "0.0.0.0/0",
            "::/0",
        ];
        let awkward = [
            '/', ':', '.', '0', '9', 'f', 'x', ' ', '-', '+', '%', '/', 'é', '\0',
        ];
        let mut inputs: Vec<String> = Vec::new();
        for seed in seeds {
            let chars: Vec<char> = seed.chars().collect();
            for cut in 0..=chars.len() {
                inputs.push(chars[..cut].iter().collect());
                inputs.push(chars[cut..].iter().collect());
                for c in awkward {
                    let mut inserted = chars.clone();
                    inserted.insert(cut, c);
                    inputs.push(inserted.into_iter().collect());
                    if cut < chars.len() {
                        let mut replaced = chars.clone();
                        replaced[cut] = c;
                        inputs.push(replaced.into_iter().collect());
                    }
                }
            }
        }
        let mut accepted = 0;
        for input in &inputs {
            if let Ok(range) = input.parse::<IpRange>() {
                accepted += 1;
                assert_eq!(range.to_string().parse::<IpRange>(), Ok(range), "{input:?}");
                assert!(range.contains(range.network()), "{input:?}");
            }
        }
        assert!(
            accepted > 0 && accepted < inputs.len(),
            "{accepted} of {}",
            inputs.len()
        );
    }

    #[test]
    fn sec_3_serializes_as_list_of_strings() {
        let allow = list(&[" 203.0.113.0/24 ", "2001:db8::1", "2001:DB8::/32"]);
        let json = serde_json::to_string(&allow).unwrap();
        assert_eq!(json, r#"["203.0.113.0/24","2001:db8::1","2001:db8::/32"]"#);
        assert_eq!(serde_json::from_str::<IpAllowList>(&json).unwrap(), allow);
        assert!(serde_json::from_str::<IpAllowList>(r#"["nope"]"#).is_err());
    }
}
