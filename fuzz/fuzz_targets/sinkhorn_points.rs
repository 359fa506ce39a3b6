//! Fuzz target: see `kernels_tests::fuzz::sinkhorn::points` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kernels_tests::fuzz::sinkhorn::points(data));
