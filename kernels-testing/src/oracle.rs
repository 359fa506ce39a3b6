//! The scalar reference solvers as oracles: each runs `kernels-core`'s one
//! implementation of the algorithm with the scalar [`Primitives`](kernels_core::Primitives)
//! (`Scalar`), allocating what it needs, on an input from this crate's strategies.
//!
//! A kernel under test (a SIMD or GPU port, a [`Primitives`](kernels_core::Primitives)
//! override, a rewrite of a whole solver) should agree with these within the rounding
//! its changes allow: the SIMD backend of this library is held to that by the same
//! properties.

use crate::attention::Attention;
use crate::csr::SpdCsr;
use crate::transport::Transport;
use kernels_core::cg::{self, CgOpts};
use kernels_core::h2o::{self, H2oOpts};
use kernels_core::sinkhorn::{self, SinkhornOpts};
use kernels_core::{Real, Report, Result, Scalar, Sequential, paging};

/// A transport solution: the dual potentials, the plan and the solver's report.
#[derive(Clone, Debug, PartialEq)]
pub struct TransportSolution<T> {
    /// Row potential (n).
    pub f: Vec<T>,
    /// Column potential (m).
    pub g: Vec<T>,
    /// The plan `P_ij = exp((f_i + g_j - C_ij) / reg)`, row-major `n * m`.
    pub plan: Vec<T>,
    /// Iterations, marginal error, transport cost `<P, C>`, convergence.
    pub report: Report,
}

/// Log-domain Sinkhorn (`sinkhorn::sinkhorn_log`) from a cold start, in `T`.
pub fn sinkhorn<T: Real>(p: &Transport, opts: &SinkhornOpts) -> Result<TransportSolution<T>> {
    let cost = Transport::cast::<T>(&p.cost);
    let (a, b) = (Transport::cast::<T>(&p.a), Transport::cast::<T>(&p.b));
    let mut s = TransportSolution {
        f: vec![T::of(0.0); p.n],
        g: vec![T::of(0.0); p.m],
        plan: vec![T::of(0.0); p.n * p.m],
        report: Report::default(),
    };
    let mut work = vec![0u8; sinkhorn::sinkhorn_work_size::<T>(p.n, p.m)?.bytes()];
    s.report = sinkhorn::sinkhorn_log::<T, Scalar>(
        &Sequential,
        p.matrix(&cost),
        &a,
        &b,
        opts,
        &mut s.f,
        &mut s.g,
        Some(&mut s.plan),
        &mut work,
    )?;
    Ok(s)
}

/// Preconditioned CG (`cg::cg`) on `a x = b` from `x = 0`, in `T`: the solution and
/// the report.
pub fn cg<T: Real>(a: &SpdCsr, b: &[T], opts: &CgOpts) -> Result<(Vec<T>, Report)> {
    let values = a.values_as::<T>();
    let mut x = vec![T::of(0.0); a.n];
    let mut work = vec![0u8; cg::cg_work_size::<T>(a.n)?.bytes()];
    let report = cg::cg::<T, Scalar>(&Sequential, &a.view(&values), b, &mut x, opts, &mut work)?;
    Ok((x, report))
}

/// What H2O prefill returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Prefill {
    /// Attention outputs, `[n_heads][seq][d]`.
    pub out: Vec<f32>,
    /// Each token's accumulated score, `[n_kv_heads][seq]`.
    pub scores: Vec<f32>,
    /// 1 for the tokens the cache holds after the last row, `[n_kv_heads][seq]`.
    pub keep: Vec<u8>,
}

/// H2O prefill (`h2o::prefill`) of `x` under `opts`.
pub fn h2o_prefill(x: &Attention, opts: &H2oOpts) -> Result<Prefill> {
    let per_token = x.n_kv_heads * x.seq;
    let mut p = Prefill {
        out: vec![0.0; x.q.len()],
        scores: vec![0.0; per_token],
        keep: vec![0; per_token],
    };
    let size = h2o::prefill_work_size(x.n_heads, x.n_kv_heads, x.seq, x.d)?;
    let mut work = vec![0u8; size.bytes()];
    h2o::prefill::<Scalar>(
        &Sequential,
        x.n_heads,
        x.n_kv_heads,
        x.seq,
        x.d,
        &x.q,
        &x.k,
        &x.v,
        opts,
        &mut p.out,
        Some(&mut p.scores),
        Some(&mut p.keep),
        &mut work,
    )?;
    Ok(p)
}

/// Belady's offline optimum (`paging::offline`) for `pages` with `capacity` slots:
/// its fault count, the discard bits and the phase bits.
pub fn belady(capacity: usize, pages: &[u64]) -> Result<(u64, Vec<u8>, Vec<u8>)> {
    let mut discard = vec![0u8; pages.len()];
    let mut phase = vec![0u8; pages.len()];
    let mut work = vec![0u8; paging::offline_work_size(capacity, pages.len())?.bytes()];
    let faults = paging::offline(
        capacity,
        pages,
        Some(&mut discard),
        Some(&mut phase),
        &mut work,
    )?;
    Ok((faults, discard, phase))
}
