//! SIMD kernels for the kernels crates, and the Rust API that runs on them.
//!
//! [`Simd`] implements the base [`Primitives`](kernels_core::Primitives) and every
//! family's kernel trait (`SinkhornKernels`, `CgKernels`, ...) for `f32` and `f64`. No
//! algorithm lives here: the folders mirror kernels-core's families, each overriding
//! the loops SIMD speeds up, and each offering that family's solvers with `Simd`
//! chosen, so a Rust caller does not name a backend:
//!
//! ```
//! use kernels_core::Dense;
//! use kernels_simd::sinkhorn::{SinkhornOpts, sinkhorn_log, sinkhorn_work_size};
//!
//! let (c, a, b) = ([0.0f64, 1.0, 1.0, 0.0], [0.5, 0.5], [0.5, 0.5]);
//! let (mut f, mut g) = ([0.0; 2], [0.0; 2]);
//! let mut work = vec![0u8; sinkhorn_work_size::<f64>(2, 2)?.bytes()];
//! let rep = sinkhorn_log(Dense::new(&c, 2, 2)?, &a, &b, &SinkhornOpts::default(),
//!     &mut f, &mut g, None, &mut work)?;
//! assert!(rep.converged);
//! # Ok::<(), kernels_core::Error>(())
//! ```
//!
//! The vectorised [`exp_f32x8`]/[`ln_f32x8`] and [`exp_f64x4`]/[`ln_f64x4`] the
//! log-domain kernels live on are public too.
//!
//! # Instruction sets: chosen at run time
//!
//! Every vector loop (the base primitives `dot`, `axpy`, `scale`, `sum`, `max`,
//! `lse`, `gemv`, `gemv_t`, `gemm`, and each family's loops: the exponential loops and
//! row passes of Sinkhorn, `exp_shift` of H2O, the CG vector passes, the red-black
//! `rb_row`) is written once against an internal vector interface and built for three
//! [`isa::Level`]s:
//!
//! | level | vectors (f32 / f64) | FMA |
//! | --- | --- | --- |
//! | portable | `wide`'s `f32x8` / `f64x4` at the compile-time instruction set (SSE2 on a plain x86_64 build: two registers per vector; NEON on aarch64) | when the build enables it ([`FMA`]) |
//! | AVX2+FMA (x86_64) | 8 / 4 lanes, one 256-bit register | always |
//! | AVX-512 (x86_64) | 16 / 8 lanes, one 512-bit register | always |
//!
//! Each call runs the highest level the CPU supports ([`isa`]), so a portable build
//! runs AVX-512 code where the machine has it, and other targets (aarch64, ...) run
//! the portable level. The `KN_SIMD` environment variable (with the `std` feature) or
//! [`isa::set_cap`] lowers the level. [`SIMD_ISA`] names what the portable level was
//! compiled for. The CSR row primitives (`csr_dot`, `csr_row_split`) are the scalar
//! reference with prefetching at every level (short rows gain nothing from lanes).
//!
//! # Agreement with the scalar reference
//!
//! The vector loops sum in a different order (several accumulators, lanes reduced at
//! the end; the order depends on the level's lane count), and `mul_add` is fused with
//! FMA (always at the AVX2 and AVX-512 levels; at the portable level, when the build
//! enables it), so results differ from
//! [`Scalar`](kernels_core::Scalar) within these bounds (`u` = unit roundoff of the
//! type, `n` = length), given as functions in [`bounds`] and checked by the
//! cross-crate tests and the tour. The bounds hold at every level:
//!
//! | primitive | bound on `|simd - scalar|` |
//! | --- | --- |
//! | `scale`, `max` | 0 (identical) |
//! | `axpy` | `2u (|a x_i| + |y_i|)` per element |
//! | `dot`, `sum`, `gemv` | `2(n + 2) u sum_i |x_i y_i|` (resp. `sum |x_i|`) |
//! | `gemv_t` | `2(rows + 2) u sum_i |a_ij x_i|` per element |
//! | `lse`, `lse_accumulate` | `4(n + 4) u + 2u |result|` |
//! | `exp_shift` (h2o) | `8u |e_i| + min_normal` per element; the sum: the `sum` bound `+ 8u sum` |
//! | `lse_affine` (sinkhorn) | the `lse` bound `+ 4u max_j(|alpha x_j| + |y_j|)` |
//! | `exp_affine` (sinkhorn) | `|result| (8u + 6u (|alpha x_j| + |y_j| + |beta|))` + 4 subnormal ulps, per element |
//! | `sum_exp_affine` (sinkhorn) | `2(n + 2)u |result|` + the `exp_affine` bound on `|result|` + `4n` subnormal ulps |
//! | `exp_affine_accumulate` (sinkhorn) | the `exp_affine` bound on the term `+ 2u |sum|` per element |
//! | `gemm` (linattn) | `2(k + 4) u (|c_ij| + sum_p |alpha a_ip w_p b_pj|)` per element |
//! | `scale_exp` (linattn) | `10u |x_j| + min_normal` per element |
//! | `csr_row_split` (sor) | 0 today (the scalar loop: short rows gain nothing from lanes); documented as `2(n + 2) u sum_k |a_k x_k|` so a vector form may come |
//! | `rb_row` (sor) | 0 at every level (identical: same operations in the same order, no FMA) |
//! | `exp_affine_sum` (sinkhorn) | the `exp_affine` bound per written element; the result: the `sum_exp_affine` bound |
//! | `dots_axpys` (sinkhorn) | each result: the `dot` bound; `y`: the `axpy` bound per call (the same bits as `dot` and `axpy` at the same level) |
//! | `csr_dot` (cg) | 0 today (the scalar loop: five-entry rows gain nothing from lanes); documented as the `dot` bound over the row |
//! | `cg_update` (cg) | `x`, `r`: the `axpy` bound per element; the sum of squares: the `dot` bound `+ sum_i e_i (2 |r_i| + e_i)`, `e_i` the bound on `r_i` |
//! | `mul_dot` (cg) | `z`: 0 (one rounded product in both); the result: the `dot` bound on `sum |r_i z_i|` |
//! | `xpby` (cg) | the `axpy` bound with `a x_i = beta p_i`, `y_i = z_i` (0 without FMA) |
#![no_std]

// First: its `dispatched!` macro builds every dispatch table, the families' too.
#[macro_use]
mod dispatch;

mod base;
pub mod bounds;
mod exp_loops;
mod gemm;
pub mod isa;
mod lanes;
mod math;
mod primitives;

// The kernel families, mirroring kernels-core: each folder implements its family's
// kernel trait for `Simd`, with the dispatch table of its own loops.
pub mod cg;
pub mod h2o;
pub mod linattn;
pub mod sinkhorn;
pub mod sns;
pub mod sor;

#[cfg(feature = "std")]
pub mod threads;

/// The executor the Rust API of each family runs on: the shared thread pool
/// ([`threads::Threads`]) with the `std` feature, the calling thread without it.
#[cfg(feature = "std")]
pub type DefaultExec = threads::Threads;
/// The executor the Rust API of each family runs on: the shared thread pool
/// (`threads::Threads`) with the `std` feature, the calling thread without it.
#[cfg(not(feature = "std"))]
pub type DefaultExec = kernels_core::Sequential;

pub use math::{exp_f32x8, exp_f64x4, ln_f32x8, ln_f64x4};
pub use primitives::Simd;

/// The instruction set `wide`, the portable level, was compiled for in this build.
pub const SIMD_ISA: &str = if cfg!(target_feature = "avx512f") {
    "AVX-512"
} else if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
    "AVX2+FMA"
} else if cfg!(target_feature = "avx") {
    "AVX"
} else if cfg!(target_feature = "sse4.1") {
    "SSE4.1"
} else if cfg!(target_feature = "sse2") {
    "SSE2"
} else if cfg!(target_feature = "neon") {
    "NEON"
} else if cfg!(target_feature = "simd128") {
    "WASM SIMD128"
} else {
    "none (scalar emulation)"
};

/// Whether fused multiply-add is compiled in for the portable level (then `mul_add`
/// rounds once there); the AVX2 and AVX-512 levels fuse regardless.
pub const FMA: bool = cfg!(target_feature = "fma");

/// The crate README's example runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
