//! What every GPU test file shares: a context when a GPU and NVRTC are present, and
//! otherwise the no-device contract checked and a loud SKIPPED line.
#![allow(dead_code)] // each test file uses its own subset

use kernels_cuda::{Context, Error, available, nvrtc_available};
use std::io::Write as _;

pub fn env_is_1(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.trim() == "1")
}

/// [`gpu_context`] for a test over 2^31 elements (gigabytes of host and device
/// memory): `None`, with a SKIPPED line, also when `KN_SKIP_LARGE=1`.
pub fn large_gpu_context(test: &str) -> Option<Context> {
    let ctx = gpu_context(test)?;
    if env_is_1("KN_SKIP_LARGE") {
        loud(&format!("SKIPPED: GPU check {test}: KN_SKIP_LARGE=1"));
        return None;
    }
    Some(ctx)
}

/// Repetitions of each timing measurement (the best is reported): `KN_TIMING_REPS`,
/// default 3, at least 1.
pub fn timing_reps() -> usize {
    std::env::var("KN_TIMING_REPS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(3usize)
        .max(1)
}

/// The least of `timing_reps()` runs of `measure` (seconds, or any cost).
pub fn best_of(mut measure: impl FnMut() -> f64) -> f64 {
    (0..timing_reps())
        .map(|_| measure())
        .fold(f64::INFINITY, f64::min)
}

pub fn loud(line: &str) {
    // Directly to the streams: the harness's capture would hide println! output.
    let _ = writeln!(std::io::stdout(), "{line}");
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A context when a GPU and NVRTC are present; otherwise checks the no-device
/// contract, prints a SKIPPED line and returns `None`.
pub fn gpu_context(test: &str) -> Option<Context> {
    match (available(), nvrtc_available()) {
        (true, true) => match Context::new() {
            Ok(ctx) => {
                loud(&format!(
                    "kernels-cuda [{test}]: {ctx:?}; {}",
                    kernels_cuda::probe()
                ));
                Some(ctx)
            }
            Err(e) => panic!(
                "a device and NVRTC are present but Context::new failed: {e:?} ({})",
                kernels_cuda::probe()
            ),
        },
        (device, _) => {
            assert_eq!(Context::new().unwrap_err(), Error::Unsupported);
            let reason = if device {
                "NVRTC not found (install nvidia-cuda-nvrtc-cu12 and put its lib dir on \
                 LD_LIBRARY_PATH)"
            } else {
                "no CUDA driver or device"
            };
            let line = format!(
                "SKIPPED: GPU check {test}: {reason} ({})",
                kernels_cuda::probe()
            );
            assert!(
                !env_is_1("KN_REQUIRE_GPU"),
                "{line}; KN_REQUIRE_GPU=1 is set, so this is a failure"
            );
            assert!(
                !(device && env_is_1("KN_REQUIRE_NVRTC")),
                "{line}; KN_REQUIRE_NVRTC=1 is set, so this is a failure"
            );
            loud(&line);
            None
        }
    }
}
