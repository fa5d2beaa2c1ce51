//! `/metrics`: the Prometheus text exposition (format 0.0.4), written by the `prometheus`
//! crate (tikv/rust-prometheus), not by hand.
//!
//! One histogram lives with the server ([`Metrics`]: HTTP request durations). Everything else
//! is read at scrape time ([`Gauges`]: event counts, log positions, sessions, the SIP
//! endpoint's counters) and put into a registry made for that scrape, next to the histogram.
//!
//! Why `prometheus` and not `prometheus-client`: the latter writes OpenMetrics, where a
//! counter's `# TYPE` line names the family without `_total` (`# TYPE kaden_sip_shed counter`
//! above `kaden_sip_shed_total 0`). Dashboards and the tests read the 0.0.4 form
//! (`# TYPE kaden_sip_shed_total counter`), which this crate writes; the sample names are the
//! same in both.

use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Registry, TextEncoder};

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Upper bounds (seconds) of the request-latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

const REQUEST_DURATION: &str = "kaden_http_request_duration_seconds";

/// What the server measures itself: HTTP request durations.
pub struct Metrics {
    requests: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let opts =
            HistogramOpts::new(REQUEST_DURATION, "HTTP request latency.").buckets(BUCKETS.to_vec());
        Self {
            // Fixed, increasing buckets and a valid name: `with_opts` cannot fail here.
            requests: Histogram::with_opts(opts).expect("valid histogram options"),
        }
    }
}

/// Figures the server adds at scrape time.
pub struct Gauges {
    pub events_appended: u64,
    pub events_applied: u64,
    pub events_skipped: u64,
    pub projection_position: i64,
    pub store_head_position: i64,
    pub open_sessions: usize,
    /// More counters: `(name, help, value)`; the SIP endpoint's (empty without telephony).
    pub counters: Vec<(&'static str, &'static str, u64)>,
}

impl Metrics {
    pub fn observe_request(&self, elapsed: Duration) {
        self.requests.observe(elapsed.as_secs_f64());
    }

    /// The exposition text of `g` and the request histogram.
    pub fn render(&self, g: &Gauges) -> Result<String, prometheus::Error> {
        let registry = Registry::new();
        let counters = [
            (
                "kaden_events_appended_total",
                "Events appended by this node.",
                g.events_appended,
            ),
            (
                "kaden_projection_events_applied_total",
                "Events folded into the read models since start.",
                g.events_applied,
            ),
            (
                "kaden_projection_events_skipped_total",
                "Events the read models could not decode.",
                g.events_skipped,
            ),
        ];
        for (name, help, value) in counters.into_iter().chain(g.counters.iter().copied()) {
            let counter = IntCounter::new(name, help)?;
            counter.inc_by(value);
            registry.register(Box::new(counter))?;
        }
        let gauges = [
            (
                "kaden_projection_position",
                "Log position (id) the read models have reached.",
                g.projection_position,
            ),
            (
                "kaden_store_head_position",
                "Newest log position (id) in the store.",
                g.store_head_position,
            ),
            (
                "kaden_projection_lag_events",
                "Log ids between the store head and the read models (0 when caught up).",
                (g.store_head_position - g.projection_position).max(0),
            ),
            (
                "kaden_sessions_open",
                "Open login sessions.",
                i64::try_from(g.open_sessions).unwrap_or(i64::MAX),
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = IntGauge::new(name, help)?;
            gauge.set(value);
            registry.register(Box::new(gauge))?;
        }
        registry.register(Box::new(self.requests.clone()))?;
        TextEncoder::new().encode_to_string(&registry.gather())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Types (`# TYPE` lines) and samples (`name{labels}` → value) of an exposition text.
    fn parse(text: &str) -> (HashMap<String, String>, HashMap<String, f64>) {
        let (mut types, mut samples) = (HashMap::new(), HashMap::new());
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("name and type");
                assert!(
                    types.insert(name.to_owned(), kind.to_owned()).is_none(),
                    "{name} typed twice"
                );
            } else if !line.starts_with('#') && !line.is_empty() {
                let (name, value) = line.rsplit_once(' ').expect("sample and value");
                let value: f64 = value.parse().expect("a number");
                assert!(samples.insert(name.to_owned(), value).is_none(), "{name}");
            }
        }
        (types, samples)
    }

    #[test]
    fn obs_1_exposition_has_names_types_and_values() {
        let metrics = Metrics::default();
        metrics.observe_request(Duration::from_micros(1_500));
        metrics.observe_request(Duration::from_millis(300));
        let text = metrics
            .render(&Gauges {
                events_appended: 7,
                events_applied: 5,
                events_skipped: 1,
                projection_position: 40,
                store_head_position: 42,
                open_sessions: 3,
                counters: vec![("kaden_sip_shed_total", "Shed.", 2)],
            })
            .unwrap();
        let (types, samples) = parse(&text);
        for (name, kind, value) in [
            ("kaden_events_appended_total", "counter", 7.0),
            ("kaden_projection_events_applied_total", "counter", 5.0),
            ("kaden_projection_events_skipped_total", "counter", 1.0),
            ("kaden_sip_shed_total", "counter", 2.0),
            ("kaden_projection_position", "gauge", 40.0),
            ("kaden_store_head_position", "gauge", 42.0),
            ("kaden_projection_lag_events", "gauge", 2.0),
            ("kaden_sessions_open", "gauge", 3.0),
        ] {
            assert_eq!(types.get(name).map(String::as_str), Some(kind), "{text}");
            assert_eq!(samples.get(name), Some(&value), "{name}: {text}");
        }
        assert_eq!(
            types.get(REQUEST_DURATION).map(String::as_str),
            Some("histogram")
        );
        let bucket = |le: &str| samples[&format!("{REQUEST_DURATION}_bucket{{le=\"{le}\"}}")];
        assert_eq!(bucket("0.001"), 0.0);
        assert_eq!(bucket("0.0025"), 1.0);
        assert_eq!(bucket("0.25"), 1.0);
        assert_eq!(bucket("0.5"), 2.0);
        assert_eq!(bucket("+Inf"), 2.0);
        assert_eq!(samples[&format!("{REQUEST_DURATION}_count")], 2.0);
        let sum = samples[&format!("{REQUEST_DURATION}_sum")];
        assert!((sum - 0.3015).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn obs_1_lag_never_negative() {
        let text = Metrics::default()
            .render(&Gauges {
                events_appended: 0,
                events_applied: 0,
                events_skipped: 0,
                projection_position: 9,
                store_head_position: 0,
                open_sessions: 0,
                counters: Vec::new(),
            })
            .unwrap();
        assert_eq!(parse(&text).1["kaden_projection_lag_events"], 0.0);
    }
}
