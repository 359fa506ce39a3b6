//! proptest strategies for the inputs of the `kernels` library, and its scalar
//! reference solvers as oracles: for property-testing a kernel you write (a SIMD or GPU
//! port of a loop, a [`Primitives`](kernels_core::Primitives) implementation, a solver
//! of your own) against the library's reference on many generated inputs, with
//! proptest's shrinking to a minimal failing case.
//!
//! Strategies, one per family, each generating valid input with the structure that
//! makes the family's properties checkable:
//! - [`spd_csr`]: symmetric positive definite CSR matrices of a chosen size and
//!   condition-number bound (CG, SOR, the SNS Newton systems);
//! - [`transport`](mod@transport): entropic optimal transport problems (cost, marginals, `reg`)
//!   for Sinkhorn, matrix scaling and SNS;
//! - [`attention`](mod@attention): causal attention inputs with planted heavy hitters (H2O);
//! - [`page_trace`]: page request traces with Belady's optimum and its perfect
//!   discard and phase bits (paging with predictions).
//!
//! Oracles ([`oracle`]): `kernels-core`'s one implementation of each algorithm with the
//! scalar primitives (`Scalar`), taking these inputs and allocating what they need.
//! The library's own tests use the same strategies and oracles for its SIMD backend.
//!
//! # Example: your own kernel against the oracle
//!
//! The algorithms are generic over their inner loops, so a kernel you write can be a
//! backend: here the sparse row dot product with two accumulators, run inside the
//! library's CG and compared with the scalar reference on SPD matrices with condition
//! numbers up to 1000. `tests/user_kernel.rs` in this crate is the same test
//! written with the `proptest!` macro.
//!
//! ```
//! use kernels_core::cg::{self, CgKernels, CgOpts};
//! use kernels_core::sor::SorKernels;
//! use kernels_core::{Primitives, Real, Sequential};
//! use kernels_testing::{oracle, spd_csr};
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//!
//! /// The kernel under test: one CSR row times `x` (the inner loop of every sparse
//! /// matrix-vector product) with two partial sums, as a SIMD port would; every other
//! /// loop is the trait's default (the scalar reference).
//! struct TwoLanes;
//! impl<T: Real> Primitives<T> for TwoLanes {
//!     fn csr_dot(cols: &[u32], vals: &[T], x: &[T]) -> T {
//!         let mut acc = [T::of(0.0); 2];
//!         let (cc, vc) = (cols.chunks_exact(2), vals.chunks_exact(2));
//!         let rest = cc.remainder().iter().zip(vc.remainder());
//!         let tail = rest.fold(T::of(0.0), |s, (c, v)| s + *v * x[*c as usize]);
//!         for (c, v) in cc.zip(vc) {
//!             acc[0] = acc[0] + v[0] * x[c[0] as usize];
//!             acc[1] = acc[1] + v[1] * x[c[1] as usize];
//!         }
//!         acc[0] + acc[1] + tail
//!     }
//! }
//! impl<T: Real> SorKernels<T> for TwoLanes {}
//! impl<T: Real> CgKernels<T> for TwoLanes {}
//!
//! let mut runner = TestRunner::new(Config::with_cases(64));
//! runner
//!     .run(&(spd_csr(1..30, 1e3), any::<u64>()), |(a, seed)| {
//!         let b: Vec<f64> = (0..a.n).map(|i| ((seed >> (i % 64)) & 7) as f64 - 3.5).collect();
//!         let opts = CgOpts::default().tol(1e-10).max_iter(10 * a.n as u32 + 50);
//!         let (want, _) = oracle::cg(&a, &b, &opts).unwrap();
//!
//!         let values = a.values_as::<f64>();
//!         let mut x = vec![0.0; a.n];
//!         let mut work = vec![0u8; cg::cg_work_size::<f64>(a.n).unwrap().bytes()];
//!         let rep = cg::cg::<f64, TwoLanes>(&Sequential, &a.view(&values), &b, &mut x, &opts, &mut work).unwrap();
//!
//!         // Both reach the tolerance; they differ by the rounding of a different
//!         // summation order, amplified by at most the condition number.
//!         prop_assert!(rep.converged && a.residual(&b, &x) <= 1e-9);
//!         let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
//!         for (got, want) in x.iter().zip(&want) {
//!             prop_assert!((got - want).abs() <= 1e-8 * a.cond_bound * scale);
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

pub mod attention;
pub mod csr;
pub mod oracle;
pub mod paging;
pub mod transport;

pub use attention::{Attention, attention};
pub use csr::{SpdCsr, spd_csr};
pub use paging::{PageTrace, page_trace};
pub use transport::{Transport, transport};
