//! The SIP endpoint's counters in /metrics (issue 17 item 8, docs/telephony.md "Putting
//! Kaden's SIP port on the Internet"): what it could not read, refused or shed. Named here,
//! written by [`crate::metrics`].

use kaden_telephony::transaction::EndpointStats;

/// One counter per field of `stats`: `(name, help, value)`.
pub fn counters(stats: &EndpointStats) -> Vec<(&'static str, &'static str, u64)> {
    vec![
        (
            "kaden_sip_datagrams_unparseable_total",
            "Datagrams on the SIP port that are not readable SIP (oversize ones included).",
            stats.unparseable,
        ),
        (
            "kaden_sip_datagrams_too_large_total",
            "Datagrams over the SIP size or header-count limit (answered statelessly).",
            stats.too_large,
        ),
        (
            "kaden_sip_keepalives_total",
            "CRLF keep-alives received (RFC 5626).",
            stats.keepalives,
        ),
        (
            "kaden_sip_answered_bad_request_total",
            "Requests answered 400 Bad Request.",
            stats.answered_bad_request,
        ),
        (
            "kaden_sip_shed_total",
            "New requests answered 503 by admission control.",
            stats.shed,
        ),
        (
            "kaden_sip_shed_unauthenticated_total",
            "Unauthenticated requests answered 503 because their source spent its budget.",
            stats.shed_unauthenticated,
        ),
        (
            "kaden_sip_answered_statelessly_total",
            "Unauthenticated requests answered without a transaction (challenges, 403, 481).",
            stats.answered_statelessly,
        ),
    ]
}
