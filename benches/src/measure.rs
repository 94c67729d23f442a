//! The timing loop.
//!
//! A sample times a batch of `k` calls and records the mean per call; `k` is chosen so a batch
//! lasts about 20 µs (1 for anything slower), so the clock's own cost is negligible. The median
//! and the 99th percentile (nearest rank) are over samples: for sub-microsecond calls the p99 is
//! that of 20 µs batches, which smooths single slow calls.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long to measure one figure.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Time to spend sampling (after calibration).
    pub time: Duration,
    /// Fewest samples, even if that takes longer than `time`.
    pub min_samples: usize,
    /// Most samples.
    pub max_samples: usize,
}

impl Budget {
    /// `cargo xtask bench --quick`.
    pub const QUICK: Budget = Budget {
        time: Duration::from_millis(250),
        min_samples: 3,
        max_samples: 20_000,
    };
    /// `cargo xtask bench`.
    pub const FULL: Budget = Budget {
        time: Duration::from_secs(3),
        min_samples: 10,
        max_samples: 200_000,
    };
}

/// Result of measuring one figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Median time per call.
    pub median_ns: f64,
    /// 99th percentile of the samples' time per call.
    pub p99_ns: f64,
    /// Samples taken.
    pub samples: usize,
    /// Calls per sample.
    pub batch: usize,
}

const BATCH_TARGET: Duration = Duration::from_micros(20);

/// Measures `f`. Its result goes through [`black_box`] so it is not optimized away.
pub fn measure<T>(mut f: impl FnMut() -> T, budget: Budget) -> Stats {
    // Warm up and estimate the cost of one call.
    let start = Instant::now();
    black_box(f());
    let first = start.elapsed();
    let calibrate = (budget.time / 10).max(Duration::from_millis(5));
    let mut calls = 0u64;
    let start = Instant::now();
    if first < calibrate {
        while start.elapsed() < calibrate && calls < 1_000_000 {
            black_box(f());
            calls += 1;
        }
    }
    let per_call = if calls == 0 {
        first
    } else {
        start.elapsed() / calls as u32
    };
    let per_call_ns = per_call.as_nanos().max(1);
    let batch = (BATCH_TARGET.as_nanos() / per_call_ns).max(1) as usize;
    let per_sample_ns = per_call_ns * batch as u128;
    let samples = ((budget.time.as_nanos() / per_sample_ns) as usize)
        .clamp(budget.min_samples, budget.max_samples);
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        times.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }
    summarize(&mut times, batch)
}

/// Median and p99 of per-call times.
pub fn summarize(times: &mut [f64], batch: usize) -> Stats {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let at = |q: f64| -> f64 {
        if n == 0 {
            return f64::NAN;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        times[rank - 1]
    };
    let median = if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    };
    Stats {
        median_ns: median,
        p99_ns: at(0.99),
        samples: n,
        batch,
    }
}

/// Formats nanoseconds for people: `85 ns`, `1.25 µs`, `771 µs`, `11.3 ms`, `3.90 s`.
pub fn human_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "—".to_string();
    }
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut t: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = summarize(&mut t, 1);
        assert_eq!(s.median_ns, 50.5);
        assert_eq!(s.p99_ns, 99.0);
        let mut t = vec![3.0, 1.0, 2.0];
        let s = summarize(&mut t, 1);
        assert_eq!((s.median_ns, s.p99_ns), (2.0, 3.0));
    }

    #[test]
    fn human() {
        assert_eq!(human_ns(85.0), "85.0 ns");
        assert_eq!(human_ns(1250.0), "1.25 µs");
        assert_eq!(human_ns(771_000.0), "771 µs");
        assert_eq!(human_ns(3.9e9), "3.90 s");
    }
}
