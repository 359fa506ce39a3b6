//! The fused vector passes of preconditioned conjugate gradients (the CSR product
//! itself is the base primitive `csr_dot`).

use crate::sor::SorKernels;
use crate::{Real, Scalar};

/// The CG family's loops, with the scalar reference as the default bodies. The SSOR
/// preconditioner is SOR's sweep, hence the supertrait.
pub trait CgKernels<T: Real>: SorKernels<T> {
    /// The CG update `x <- x + alpha p`, `r <- r - alpha q` in one pass, returning
    /// `sum_i r_i^2` of the new `r`. All four slices have the same length.
    fn cg_update(alpha: T, p: &[T], q: &[T], x: &mut [T], r: &mut [T]) -> T {
        debug_assert!(p.len() == q.len() && p.len() == x.len() && p.len() == r.len());
        let mut rr = T::zero();
        for (((&pi, &qi), xi), ri) in p.iter().zip(q).zip(x.iter_mut()).zip(r.iter_mut()) {
            *xi = *xi + alpha * pi;
            *ri = *ri - alpha * qi;
            rr = rr + *ri * *ri;
        }
        rr
    }

    /// `z_i <- d_i r_i`, returning `sum_i r_i z_i` (a diagonal preconditioner and the
    /// inner product CG needs next, in one pass). All three have the same length.
    fn mul_dot(d: &[T], r: &[T], z: &mut [T]) -> T {
        debug_assert!(d.len() == r.len() && d.len() == z.len());
        let mut rz = T::zero();
        for ((&di, &ri), zi) in d.iter().zip(r).zip(z.iter_mut()) {
            *zi = di * ri;
            rz = rz + ri * *zi;
        }
        rz
    }

    /// `p <- z + beta p` (CG's new search direction). Same lengths.
    fn xpby(z: &[T], beta: T, p: &mut [T]) {
        debug_assert_eq!(z.len(), p.len());
        for (&zi, pi) in z.iter().zip(p.iter_mut()) {
            *pi = zi + beta * *pi;
        }
    }
}

impl<T: Real> CgKernels<T> for Scalar {}
