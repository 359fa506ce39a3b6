//! One Newton direction: sparsify, assemble, solve.

use super::hessian::{NewtonCsr, assemble};
use super::objective::{PlanBuffers, Problem};
use super::select::Keep;
use crate::SquareCsr;
use crate::cg::{CgOpts, cg};
use crate::sns::SnsKernels;
use crate::{Exec, Real};

/// The fraction of the plan's mass that may be left out of the Hessian below the
/// cap on kept entries.
const NEGLIGIBLE: f64 = 1e-15;

/// The scratch of the Newton system, carved once per solve.
pub(crate) struct NewtonSystem<'a, T> {
    /// Plan entries kept in the Hessian.
    pub kept: usize,
    pub cg_opts: CgOpts,
    pub hist: &'a mut [usize],
    pub cursor: &'a mut [usize],
    pub csr: NewtonCsr<'a, T>,
    /// `eps` times the gradient (`a - P 1`, then `b - P^T 1` without its last
    /// entry).
    pub rhs: &'a mut [T],
    /// The direction: `df`, then `dg` without its last entry (held at 0).
    pub dir: &'a mut [T],
    pub cg_work: &'a mut [u8],
}

impl<T: Real> NewtonSystem<'_, T> {
    /// The Newton direction at the point whose plan and marginals `buf` holds, into
    /// `self.dir`: keeps the largest `kept` plan entries, assembles the matrix and
    /// solves `H d = eps grad` by Jacobi-PCG. Returns the predicted slope
    /// `grad . d`, the CG iterations and the entries of the system's matrix, or
    /// `None` when the system cannot be solved
    /// (a marginal underflowed to zero, CG broke down) or the direction does not
    /// ascend.
    pub(crate) fn direction<P: SnsKernels<T>>(
        &mut self,
        exec: &impl Exec,
        problem: &Problem<'_, T>,
        buf: &PlanBuffers<'_, T>,
    ) -> Option<(f64, u32, usize)> {
        // Entries holding together less than NEGLIGIBLE of the plan's mass change
        // the Hessian by less than the rounding of its diagonal: leave them out
        // even under the cap, which keeps CG cheap where the plan is sparse.
        let mass: f64 = buf.rows.iter().map(|r| r.to_f64_lossless()).sum();
        let keep = Keep::largest(buf.plan, self.kept, NEGLIGIBLE * mass, self.hist);
        let nnz = assemble(
            buf.plan,
            buf.rows,
            buf.cols,
            keep,
            self.cursor,
            &mut self.csr,
        )
        .ok()?;
        let eps = problem.eps;
        let marginals = problem.a.iter().chain(problem.b);
        let sums = buf.rows.iter().chain(buf.cols.iter());
        for (r, (&w, &s)) in self.rhs.iter_mut().zip(marginals.zip(sums)) {
            *r = eps * (w - s);
        }
        let (indices, values) = (self.csr.indices.get(..nnz)?, self.csr.values.get(..nnz)?);
        let h = SquareCsr::new(self.rhs.len(), self.csr.indptr, indices, values).ok()?;
        self.dir.fill(T::zero());
        let report = cg::<T, P>(exec, &h, self.rhs, self.dir, &self.cg_opts, self.cg_work).ok()?;
        // rhs = eps grad, so grad . d = rhs . d / eps.
        let slope = P::dot(self.rhs, self.dir).to_f64_lossless() / eps.to_f64_lossless();
        (slope > 0.0 && slope.is_finite()).then_some((slope, report.iterations, nnz))
    }
}
