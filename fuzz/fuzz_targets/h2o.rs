//! Fuzz target: see `kernels_tests::fuzz::h2o::h2o` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kernels_tests::fuzz::h2o::h2o(data));
