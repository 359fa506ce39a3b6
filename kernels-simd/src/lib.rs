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
//! # Instruction sets: compile time and run time
//!
//! `wide` picks its instruction set at compile time: a portable x86_64 build uses
//! SSE2 (an `f32x8` is two 128-bit registers); build with `-C target-cpu=native` to
//! get AVX2 and FMA where the machine has them. [`SIMD_ISA`] names what was compiled.
//!
//! The primitives that dominate the run time of the kernels (`axpy`, `gemm`,
//! `exp_shift` and the exponential loops of Sinkhorn: `lse_affine`, `exp_affine`,
//! `sum_exp_affine`, `exp_affine_accumulate`, `exp_affine_sum`) do not depend on
//! how the crate was compiled: they are written once against an internal vector
//! interface and built for SSE2 (`wide`), AVX2+FMA and AVX-512, and each call runs
//! the highest level the CPU supports ([`isa`]). So a portable build gets AVX-512 where
//! the machine has it, and the `KN_SIMD` environment variable (with the `std`
//! feature) or [`isa::set_cap`] lowers the level.
//!
//! # Agreement with the scalar reference
//!
//! The vector loops sum in a different order (several accumulators, lanes reduced at
//! the end), and `mul_add` is fused with FMA (always at the AVX2 and AVX-512 levels;
//! for `wide`, when the build enables it), so results differ from
//! [`Scalar`](kernels_core::Scalar) within these bounds (`u` = unit roundoff of the
//! type, `n` = length), given as functions in [`bounds`] and checked by the
//! cross-crate tests and the tour:
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
//! | `csr_row_split` (sor) | 0 today (the scalar loop: short rows gain nothing from lanes); documented as `2(n + 2) u sum_k |a_k x_k|` so a vector form may come |
//! | `rb_row` (sor) | 0 (identical: same operations in the same order, no FMA) |
//! | `exp_affine_sum` (sinkhorn) | the `exp_affine` bound per written element; the result: the `sum_exp_affine` bound |
//! | `dot_axpy` (sinkhorn) | the result: the `dot` bound; `y`: the `axpy` bound per element |
//! | `csr_dot` (cg) | 0 today (the scalar loop: five-entry rows gain nothing from lanes); documented as the `dot` bound over the row |
//! | `cg_update` (cg) | `x`, `r`: the `axpy` bound per element; the sum of squares: the `dot` bound `+ sum_i e_i (2 |r_i| + e_i)`, `e_i` the bound on `r_i` |
//! | `mul_dot` (cg) | `z`: 0 (one rounded product in both); the result: the `dot` bound on `sum |r_i z_i|` |
//! | `xpby` (cg) | the `axpy` bound with `a x_i = beta p_i`, `y_i = z_i` (0 without FMA) |
#![no_std]

mod axpy;
pub mod bounds;
mod dispatch;
mod exp_loops;
mod gemm;
pub mod isa;
mod lanes;
mod math;
mod primitives;

// The kernel families, mirroring kernels-core: each folder implements its family's
// kernel trait for `Simd`.
pub mod cg;
pub mod h2o;
pub mod linattn;
pub mod sinkhorn;
pub mod sns;
pub mod sor;

pub use math::{exp_f32x8, exp_f64x4, ln_f32x8, ln_f64x4};
pub use primitives::Simd;

/// The instruction set `wide` was compiled for in this build.
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

/// Whether fused multiply-add is compiled in for the `wide` primitives (then `mul_add`
/// rounds once); the dispatched ones fuse at the AVX2 and AVX-512 levels regardless.
pub const FMA: bool = cfg!(target_feature = "fma");
