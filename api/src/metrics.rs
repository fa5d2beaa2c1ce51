//! Prometheus text metrics, kept in atomics (no registry crate needed for a handful).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request-latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
pub struct Metrics {
    buckets: [AtomicU64; BUCKETS.len()],
    requests: AtomicU64,
    latency_micros: AtomicU64,
}

/// Figures the server adds at scrape time.
pub struct Gauges {
    pub events_appended: u64,
    pub events_applied: u64,
    pub events_skipped: u64,
    pub projection_position: i64,
    pub store_head_position: i64,
    pub open_sessions: usize,
    /// The SIP endpoint's counters as Prometheus text (empty without telephony).
    pub sip: String,
}

impl Metrics {
    pub fn observe_request(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.latency_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let mut gauge = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            "kaden_events_appended_total",
            "counter",
            "Events appended by this node.",
            g.events_appended.to_string(),
        );
        gauge(
            "kaden_projection_events_applied_total",
            "counter",
            "Events folded into the read models since start.",
            g.events_applied.to_string(),
        );
        gauge(
            "kaden_projection_events_skipped_total",
            "counter",
            "Events the read models could not decode.",
            g.events_skipped.to_string(),
        );
        gauge(
            "kaden_projection_position",
            "gauge",
            "Log position (id) the read models have reached.",
            g.projection_position.to_string(),
        );
        gauge(
            "kaden_store_head_position",
            "gauge",
            "Newest log position (id) in the store.",
            g.store_head_position.to_string(),
        );
        gauge(
            "kaden_projection_lag_events",
            "gauge",
            "Log ids between the store head and the read models (0 when caught up).",
            (g.store_head_position - g.projection_position)
                .max(0)
                .to_string(),
        );
        gauge(
            "kaden_sessions_open",
            "gauge",
            "Open login sessions.",
            g.open_sessions.to_string(),
        );
        out.push_str(&g.sip);
        let _ = writeln!(
            out,
            "# HELP kaden_http_request_duration_seconds HTTP request latency."
        );
        let _ = writeln!(out, "# TYPE kaden_http_request_duration_seconds histogram");
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "kaden_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let total = self.requests.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "kaden_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}"
        );
        let sum = self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "kaden_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "kaden_http_request_duration_seconds_count {total}");
        out
    }
}
