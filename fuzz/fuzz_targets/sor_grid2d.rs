//! Fuzz target: see `kernels_tests::fuzz::sor::sor_grid2d` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kernels_tests::fuzz::sor::sor_grid2d(data));
