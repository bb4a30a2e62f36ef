//! The daemon's metrics, rendered in the Prometheus text format for `/metrics`.
//!
//! Counters are plain atomics and small maps the loop bumps as it goes (it is the only writer of most of
//! them); REST counts come from each gateway session and journal latency from the store at render time, so
//! nothing is counted twice. Latencies are fixed-bucket histograms in seconds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Histogram bucket bounds in seconds: 100 µs to 10 s.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

/// A latency histogram with [`BUCKETS`] (cumulative when rendered).
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    over: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let secs = d.as_secs_f64();
        match BUCKETS.iter().position(|b| secs <= *b) {
            Some(i) => self.counts[i].fetch_add(1, Ordering::Relaxed),
            None => self.over.fetch_add(1, Ordering::Relaxed),
        };
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.over.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        #[allow(clippy::cast_precision_loss, clippy::float_arithmetic)]
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything the daemon counts itself.
#[derive(Debug, Default)]
pub struct Metrics {
    events: Mutex<BTreeMap<&'static str, u64>>,
    decisions: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// From a decision to its gateway call's answer.
    pub enforcement: Histogram,
    /// From the arrival of the input behind a decision to its gateway call starting: the daemon's own share of
    /// breach-to-enforcement latency (the rest is the network and the gateway).
    pub reaction: Histogram,
    pub hub_reconnects: AtomicU64,
    pub malformed: AtomicU64,
    admin_actions: Mutex<BTreeMap<&'static str, u64>>,
}

/// Figures the renderer reads from elsewhere at render time.
#[derive(Debug, Default)]
pub struct External {
    /// (login, endpoint, calls, errors).
    pub rest: Vec<(String, &'static str, u64, u64)>,
    pub journal_p50: Duration,
    pub journal_p99: Duration,
    pub journal_max: Duration,
    pub journal_samples: usize,
    pub journal_degraded: bool,
}

impl Metrics {
    pub fn event(&self, kind: &'static str) {
        *lock(&self.events).entry(kind).or_default() += 1;
    }

    pub fn decision(&self, rule: String, action: &'static str) {
        *lock(&self.decisions).entry((rule, action)).or_default() += 1;
    }

    pub fn admin(&self, action: &'static str) {
        *lock(&self.admin_actions).entry(action).or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self, ext: &External) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP riskguard_events_total Gateway events handled, by kind.\n");
        out.push_str("# TYPE riskguard_events_total counter\n");
        for (kind, n) in lock(&self.events).iter() {
            let _ = writeln!(out, "riskguard_events_total{{kind=\"{kind}\"}} {n}");
        }
        out.push_str("# HELP riskguard_decisions_total Decisions taken, by rule and action.\n");
        out.push_str("# TYPE riskguard_decisions_total counter\n");
        for ((rule, action), n) in lock(&self.decisions).iter() {
            let _ = writeln!(
                out,
                "riskguard_decisions_total{{rule=\"{rule}\",action=\"{action}\"}} {n}"
            );
        }
        self.enforcement.render(
            &mut out,
            "riskguard_enforcement_latency_seconds",
            "From a decision to the gateway's answer to the call it made.",
        );
        self.reaction.render(
            &mut out,
            "riskguard_reaction_seconds",
            "From the arrival of the input behind a decision to its gateway call starting.",
        );
        out.push_str(
            "# HELP riskguard_rest_calls_total REST calls to the gateway, by login and endpoint.\n",
        );
        out.push_str("# TYPE riskguard_rest_calls_total counter\n");
        for (login, ep, calls, _) in &ext.rest {
            let _ = writeln!(
                out,
                "riskguard_rest_calls_total{{login=\"{}\",endpoint=\"{ep}\"}} {calls}",
                escape(login)
            );
        }
        out.push_str(
            "# HELP riskguard_rest_errors_total Failed REST calls, by login and endpoint.\n",
        );
        out.push_str("# TYPE riskguard_rest_errors_total counter\n");
        for (login, ep, _, errors) in &ext.rest {
            let _ = writeln!(
                out,
                "riskguard_rest_errors_total{{login=\"{}\",endpoint=\"{ep}\"}} {errors}",
                escape(login)
            );
        }
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            &mut out,
            "riskguard_hub_reconnects_total",
            "Hub connections lost and made again.",
            self.hub_reconnects.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "riskguard_malformed_payloads_total",
            "Gateway payloads skipped as malformed.",
            self.malformed.load(Ordering::Relaxed),
        );
        out.push_str(
            "# HELP riskguard_admin_actions_total Admin actions carried out, by action.\n",
        );
        out.push_str("# TYPE riskguard_admin_actions_total counter\n");
        for (action, n) in lock(&self.admin_actions).iter() {
            let _ = writeln!(
                out,
                "riskguard_admin_actions_total{{action=\"{action}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP riskguard_journal_write_seconds Journal append latency over the last appends (call to commit).\n",
        );
        out.push_str("# TYPE riskguard_journal_write_seconds summary\n");
        for (q, d) in [
            ("0.5", ext.journal_p50),
            ("0.99", ext.journal_p99),
            ("1", ext.journal_max),
        ] {
            let _ = writeln!(
                out,
                "riskguard_journal_write_seconds{{quantile=\"{q}\"}} {}",
                d.as_secs_f64()
            );
        }
        let _ = writeln!(
            out,
            "riskguard_journal_write_seconds_count {}",
            ext.journal_samples
        );
        let _ = writeln!(
            out,
            "# HELP riskguard_journal_degraded 1 while the journal cannot be written.\n# TYPE riskguard_journal_degraded gauge\nriskguard_journal_degraded {}",
            u8::from(ext.journal_degraded)
        );
        out
    }
}

/// A label value with Prometheus' escapes.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_what_was_recorded() {
        let m = Metrics::default();
        m.event("quote");
        m.event("quote");
        m.event("position");
        m.decision("max_contracts".into(), "close_position");
        m.enforcement.record(Duration::from_micros(700));
        m.enforcement.record(Duration::from_secs(20));
        m.reaction.record(Duration::from_micros(180));
        let text = m.render(&External {
            rest: vec![("main \"desk\"".into(), "Position/closeContract", 3, 1)],
            ..Default::default()
        });
        assert!(
            text.contains("riskguard_events_total{kind=\"quote\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("riskguard_events_total{kind=\"position\"} 1\n"));
        assert!(text.contains(
            "riskguard_decisions_total{rule=\"max_contracts\",action=\"close_position\"} 1\n"
        ));
        // 700 µs is under the 1 ms bound and over 500 µs; 20 s only in +Inf.
        assert!(text.contains("riskguard_enforcement_latency_seconds_bucket{le=\"0.0005\"} 0\n"));
        assert!(text.contains("riskguard_enforcement_latency_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("riskguard_enforcement_latency_seconds_bucket{le=\"10\"} 1\n"));
        assert!(text.contains("riskguard_enforcement_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("riskguard_enforcement_latency_seconds_count 2\n"));
        assert!(text.contains("riskguard_reaction_seconds_bucket{le=\"0.0001\"} 0\n"));
        assert!(text.contains("riskguard_reaction_seconds_bucket{le=\"0.00025\"} 1\n"));
        assert!(text.contains("riskguard_reaction_seconds_count 1\n"));
        assert!(text.contains(
            "riskguard_rest_errors_total{login=\"main \\\"desk\\\"\",endpoint=\"Position/closeContract\"} 1\n"
        ));
    }
}
