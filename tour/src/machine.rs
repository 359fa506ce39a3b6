//! What the tour runs on: CPU, compiled SIMD, and the measured memory bandwidth every
//! memory-bound kernel is compared against.

use crate::Mode;
use crate::bench::seconds_per_call;
use std::fmt;
use std::time::Duration;

/// The machine facts printed at the top of the tour and the report.
#[derive(Clone, Debug)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs (the tour itself runs on one thread).
    pub threads: usize,
    /// SIMD instruction set compiled into kernels-simd.
    pub isa: &'static str,
    /// Whether mul_add is fused in this build (the `wide` primitives).
    pub fma: bool,
    /// The instruction set level the dispatched hot kernels run at.
    pub dispatched: kernels_simd::isa::Level,
    /// Single-thread copy bandwidth, GB/s (bytes read + bytes written).
    pub copy_gbs: f64,
    /// Single-thread STREAM triad bandwidth, GB/s (two reads + one write).
    pub triad_gbs: f64,
}

impl Machine {
    /// Reads the CPU and measures bandwidth on arrays well beyond the caches.
    pub fn probe(mode: Mode) -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (len, budget) = match mode {
            Mode::Full => (1 << 24, Duration::from_millis(600)), // 128 MiB per array
            Mode::Quick => (1 << 21, Duration::from_millis(50)),
        };
        let (copy_gbs, triad_gbs) = stream_bandwidth(len, budget);
        Machine {
            cpu,
            threads,
            isa: kernels_simd::SIMD_ISA,
            fma: kernels_simd::FMA,
            dispatched: kernels_simd::isa::active(),
            copy_gbs,
            triad_gbs,
        }
    }

    /// The bandwidth memory-bound kernels are judged against.
    pub fn stream_gbs(&self) -> f64 {
        self.copy_gbs.max(self.triad_gbs)
    }
}

/// STREAM-style copy and triad on f64 arrays of `len`, single thread, in GB/s.
fn stream_bandwidth(len: usize, budget: Duration) -> (f64, f64) {
    let b = vec![1.0f64; len];
    let c = vec![2.0f64; len];
    let mut a = vec![0.0f64; len];
    let bytes = (len * 8) as f64;
    let copy = seconds_per_call(budget, || a.copy_from_slice(&b));
    let triad = seconds_per_call(budget, || {
        for ((ai, &bi), &ci) in a.iter_mut().zip(&b).zip(&c) {
            *ai = bi + 3.0 * ci;
        }
    });
    std::hint::black_box(&a);
    (2.0 * bytes / copy / 1e9, 3.0 * bytes / triad / 1e9)
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "kernels {} tour", env!("CARGO_PKG_VERSION"))?;
        writeln!(
            f,
            "cpu:      {} ({} threads; the tour uses one)",
            self.cpu, self.threads
        )?;
        writeln!(
            f,
            "simd:     compiled {} (f32x8, f64x4), fused mul_add: {}; hot kernels at \
             run time: {} (KN_SIMD caps it)",
            self.isa,
            if self.fma { "yes" } else { "no" },
            self.dispatched.name()
        )?;
        write!(
            f,
            "memory:   copy {:.1} GB/s, triad {:.1} GB/s (single thread, measured now)",
            self.copy_gbs, self.triad_gbs
        )
    }
}
