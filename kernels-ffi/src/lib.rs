//! The C ABI of the kernels library: `include/kernels.h`.
//!
//! Every exported function returns a [`kn_status`] for every input: NULL pointers,
//! sizes whose products overflow and misaligned arrays are status codes, never
//! undefined behaviour, and no panic crosses the boundary (with the `std` feature a
//! panic, which would be a bug, becomes `KN_ERR_INTERNAL`). Arguments are validated
//! by `kernels-core` before anything is written, so the caller's buffers are untouched
//! on any argument error.
//!
//! The header is generated from this crate by cbindgen and committed; the test
//! `header` regenerates it and fails on any difference (`KN_BLESS=1` rewrites it).
//!
//! Features: `std` (default) for hosted builds; without it the crate is `no_std` for
//! firmware, and `panic-handler` supplies the panic handler such a build needs.
#![cfg_attr(not(feature = "std"), no_std)]
// C names: the header's style is lower-case `kn_` types, as in API.md.
#![allow(non_camel_case_types)]

mod args;
mod cg;
mod csr;
mod cuda;
mod guard;
mod h2o;
mod linattn;
mod opts;
mod paging;
mod report;
mod sinkhorn;
mod sns;
mod sor;
mod status;
mod storage;
mod threads;

pub use cg::*;
pub use csr::*;
pub use cuda::*;
pub use h2o::*;
pub use linattn::*;
pub use paging::*;
pub use report::kn_report;
pub use sinkhorn::*;
pub use sns::*;
pub use sor::*;
pub use status::*;
pub use storage::{kn_bf16, kn_f16};
pub use threads::*;

#[cfg(all(not(feature = "std"), feature = "panic-handler", not(test)))]
mod panic_handler {
    /// Firmware has nowhere to unwind to: stop here. Kernels validate their input and
    /// are not meant to panic; a debugger attached to the target sees this loop.
    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
        loop {
            core::hint::spin_loop();
        }
    }
}
