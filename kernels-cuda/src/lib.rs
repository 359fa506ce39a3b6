//! CUDA backend of the kernels library: CUDA C compiled at run time by NVRTC, and Rust
//! drivers that launch it on device buffers.
//!
//! Nothing here is linked against CUDA. The driver (`libcuda`) and NVRTC
//! (`libnvrtc.so.12`) are loaded when first needed through `cudarc`'s dynamic loading,
//! so a program using this crate builds and runs on machines without a GPU: every entry
//! point then returns [`Error::Unsupported`] instead of panicking.
//!
//! # Is CUDA usable here?
//!
//! - [`available`]: the driver loads, `cuInit` succeeds and a device exists.
//! - [`nvrtc_available`]: NVRTC loads (it must be on the dynamic library search path,
//!   e.g. `LD_LIBRARY_PATH` pointing at the `nvidia/cuda_nvrtc/lib` folder of the
//!   `nvidia-cuda-nvrtc-cu12` wheel).
//! - [`probe`]: what was found (versions, device count, why not), for logs.
//!
//! A [`Context`] needs both; [`Context::new`] returns [`Error::Unsupported`] otherwise.
//!
//! # How sources are compiled
//!
//! The CUDA C lives in `kernels-cuda/src/cuda/`: one `.cu` file per kernel family and
//! the shared header `common.cuh` (warp and block reductions, grid-stride helpers). The
//! files are embedded with `include_str!` ([`sources`]). Because NVRTC is given no
//! include directories, [`Source::program_text`] prepends the header's text to each
//! source, with `#line` markers so NVRTC's diagnostics name the real file and line.
//!
//! [`nvrtc::compile`] turns a source into PTX for a virtual architecture
//! (`compute_90`); [`nvrtc::compile_cubin`] into machine code for a real one
//! (`sm_90`). Both use [`nvrtc::compile_options`]: C++17, IEEE arithmetic (no fast
//! math, no flush-to-zero, correctly rounded division and square root), line info, and
//! `-DKN_BLOCK_SIZE=`[`nvrtc::BLOCK_SIZE`], the block size of every launch. A failure
//! is a [`nvrtc::CompileError`] that keeps NVRTC's log and converts to
//! [`kernels_core::Error`].
//!
//! A [`Context`] compiles each source the first time one of its kernels is launched,
//! then keeps the loaded module: as a cubin for the device's own architecture when
//! NVRTC supports it (no JIT, and loadable by a driver older than NVRTC), else as PTX
//! for the newest architecture NVRTC knows below the device's, JIT-compiled by the
//! driver ([`Target`]).
//!
//! `tests/compile_all.rs` compiles every entry of [`SOURCES`] for `compute_70`,
//! `compute_80` and `compute_90`, assembles the PTX with `ptxas -v`, prints the
//! registers of every kernel and fails on any register spill or a kernel over its
//! register cap; it needs no GPU.
//!
//! # Adding a kernel
//!
//! 1. Write the device code in `src/cuda/<family>.cu` (or add to an existing file): a
//!    template over the element type in `namespace kn`, and one
//!    `extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE) name_f32(...)` /
//!    `name_f64(...)` wrapper per type, so the names are stable and unmangled. Use
//!    grid-stride loops (any grid is valid) and the helpers of `common.cuh`; avoid
//!    floating-point atomics, so results are reproducible.
//! 2. For a new file, add a [`Source`] constant to `src/sources.rs` (name, file,
//!    `include_str!` text, the list of kernel names) and list it in [`SOURCES`]. For a
//!    new kernel in an existing file, add its names to that source's `kernels`.
//! 3. Write the driver in a module named for the family: validate every argument
//!    first (lengths, workspace, [`Context`] ownership), then get the kernel with
//!    `ctx.function(&SOURCE, "name_f32")`, push arguments in the kernel's order and
//!    launch, with a `// SAFETY:` comment tying the arguments to the kernel signature.
//! 4. Run `cargo test -p kernels-cuda` with NVRTC and ptxas available: the new kernel
//!    is compiled, assembled and checked for spills. Its GPU checks go in a
//!    `tests/gpu_<family>.rs` of their own (against a CPU reference; `tests/common`
//!    gives a context or a loud SKIPPED line), run on a GPU machine by
//!    `scripts/gpu-check.sh`.
//!
//! # Drivers
//!
//! Drivers take device buffers as [`DeviceRead`] / [`DeviceWrite`]: a `cudarc`
//! [`CudaSlice`](cudarc::driver::CudaSlice), a view of part of one, or a [`Borrowed`]
//! buffer of the caller's.
//!
//! [`blas1`]: [`blas1::axpy`], [`blas1::scale`], [`blas1::dot`] / [`blas1::dot_into`]
//! for `f32` and `f64`.
//!
//! [`h2o`]: [`h2o::decode`], the H2O decode step on a [`h2o::DeviceH2oCache`] (f32).
//!
//! [`linattn`]: [`linattn::forward`], [`linattn::chunk_state`] and [`linattn::state_scan`],
//! chunked linear attention with a per-head decay or a log gate per head and token
//! ([`linattn::DeviceDecay`]) and the LASP-2 state scan (f32).
//!
//! [`sinkhorn`]: kernel-mode matrix scaling ([`sinkhorn::scale`]) and log-domain
//! Sinkhorn ([`sinkhorn::sinkhorn`]), f32 and f64.
//!
//! [`sor`]: [`sor::sor_grid2d`], red-black SOR sweeps on the 5-point grid (f32, f64),
//! bit-identical to `kernels_core::sor::sor_grid2d`.

mod borrowed;
mod caller;
mod context;
mod detect;

pub mod blas1;
pub mod h2o;
pub mod linattn;
pub mod nvrtc;
pub mod sinkhorn;
pub mod sor;
pub mod sources;

pub use borrowed::{Borrowed, DeviceRead, DeviceWrite};
pub use caller::{CallerContext, for_caller};
pub use context::{Context, Target, choose_target, driver_error_code};
pub use detect::{
    Probe, available, device_count, nvrtc_available, nvrtc_supported_archs, nvrtc_version, probe,
};
pub use sources::{SOURCES, Source};

pub use cudarc;
pub use kernels_core::{Error, Result};

/// The element types the CUDA kernels exist for: `f32` and `f64` (the
/// [`kernels_core::Real`] types, which are also `cudarc` device types).
pub trait CudaReal:
    kernels_core::Real + cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits
{
}

impl<T> CudaReal for T where
    T: kernels_core::Real + cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits
{
}
