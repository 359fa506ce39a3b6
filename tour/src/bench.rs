//! Timing: the median of repeated batches, each long enough to dwarf the clock.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Seconds per call of `f`: the median over batches run for about `budget`.
pub fn seconds_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm caches and page in buffers
    let mut inner = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..inner {
            f();
        }
        if t.elapsed() >= Duration::from_micros(200) || inner >= 1 << 20 {
            break;
        }
        inner *= 2;
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 3 || (start.elapsed() < budget && samples.len() < 10_000) {
        let t = Instant::now();
        for _ in 0..inner {
            f();
        }
        samples.push(t.elapsed().as_secs_f64() / f64::from(inner));
    }
    samples.sort_by(f64::total_cmp);
    black_box(samples[samples.len() / 2])
}
