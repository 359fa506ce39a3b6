//! Allocation-free numerical kernels: the core layer.
//!
//! `kernels-core` holds the types, the argument validation and every algorithm of the
//! library, written once and generic over the element type ([`Real`]: `f32`, `f64`)
//! and over the hot inner loops ([`Primitives`]). It is `#![no_std]` and never uses an
//! allocator: every kernel works on slices the caller owns, and a kernel that needs
//! scratch memory takes a byte [`Workspace`] whose size it reports beforehand.
//!
//! Layers above this one add speed and reach, never logic: `kernels-simd` implements
//! [`Primitives`] with portable SIMD, `kernels-cuda` runs the data-parallel kernels on
//! NVIDIA GPUs, and `kernels-ffi` is the C ABI.
//!
//! Conventions every kernel follows:
//! - every argument is validated before the first write, so on error the caller's
//!   buffers hold exactly what they held before;
//! - errors are [`Error`] values whose numeric codes are the C status codes;
//! - iterative kernels return a [`Report`]; not converging is not an error.
#![no_std]
#![forbid(unsafe_code)]

pub mod cg;
mod checksum;
mod error;
mod exec;
pub mod h2o;
pub mod paging;
mod primitives;
mod real;
mod report;
mod scalar;
pub mod sinkhorn;
pub mod sns;
pub mod sor;
pub mod stencil;
pub mod storage;
mod strided;
mod view;
mod workspace;

pub use checksum::checksum;
pub use error::{Error, Result};
pub use exec::{
    Exec, MAX_SUM_TILES, STREAM_OPS, Sequential, sum_tiles, sum_tiles_n, tiles_per_slot,
};
pub use primitives::Primitives;
pub use real::Real;
pub use report::{History, Report};
pub use scalar::Scalar;
pub use storage::{Storage, bf16, f16};
pub use strided::{Strided, StridedMut, product_dims};
pub use view::{Csr, Dense, SquareCsr, check_finite, checked_product};
pub use workspace::{Workspace, WorkspaceSize};

// linattn
pub mod linattn;

/// The crate README's example runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
