//! Recent append latencies, for metrics.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// How many recent appends [`crate::Store::append_latency`] summarises.
pub const LATENCY_WINDOW: usize = 1024;

/// The latency of the last [`LATENCY_WINDOW`] appends, from the call to its return (queueing + group commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendLatency {
    /// How many appends the figures cover (0: no append yet, every figure is zero).
    pub samples: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct LatencyWindow {
    recent: Mutex<VecDeque<Duration>>,
}

impl LatencyWindow {
    pub(crate) fn record(&self, d: Duration) {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() == LATENCY_WINDOW {
            recent.pop_front();
        }
        recent.push_back(d);
    }

    pub(crate) fn summary(&self) -> AppendLatency {
        let mut sorted: Vec<Duration> = {
            let recent = self
                .recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            recent.iter().copied().collect()
        };
        sorted.sort_unstable();
        let n = sorted.len();
        if n == 0 {
            return AppendLatency::default();
        }
        // Nearest rank: the smallest sample with at least p% of the samples at or below it.
        let rank = |pct: usize| sorted[(n * pct).div_ceil(100).clamp(1, n) - 1];
        AppendLatency {
            samples: n,
            p50: rank(50),
            p99: rank(99),
            max: sorted[n - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let w = LatencyWindow::default();
        assert_eq!(w.summary(), AppendLatency::default());
        for ms in (1..=100).rev() {
            w.record(Duration::from_millis(ms));
        }
        let s = w.summary();
        assert_eq!(s.samples, 100);
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
        for _ in 0..LATENCY_WINDOW {
            w.record(Duration::from_micros(7));
        }
        let s = w.summary();
        assert_eq!(s.samples, LATENCY_WINDOW);
        assert_eq!(s.max, Duration::from_micros(7));
    }
}
