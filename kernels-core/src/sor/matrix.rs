//! A square CSR matrix that SOR can sweep: validated once.

use crate::{Csr, Error, Real, Result, check_finite};

/// A CSR view for SOR: square, `n > 0`, well formed, every diagonal entry stored and
/// nonzero, every value finite.
#[derive(Clone, Copy, Debug)]
pub struct SorCsr<'a, T> {
    csr: Csr<'a, T>,
}

impl<'a, T: Real> SorCsr<'a, T> {
    /// Validates an `n x n` CSR matrix.
    ///
    /// Errors: `n == 0` or lengths that disagree, [`Error::Dimension`]; a malformed
    /// structure or a zero or missing diagonal entry, [`Error::Argument`]; a NaN or
    /// infinite value, [`Error::NonFinite`].
    pub fn new(n: usize, indptr: &'a [usize], indices: &'a [u32], values: &'a [T]) -> Result<Self> {
        if n == 0 {
            return Err(Error::Dimension);
        }
        let csr = Csr::new(n, n, indptr, indices, values)?;
        for i in 0..n {
            match csr.get(i, i) {
                Some(d) if *d != T::zero() => {}
                _ => return Err(Error::Argument),
            }
        }
        check_finite(values)?;
        Ok(SorCsr { csr })
    }

    /// The order `n`.
    pub fn n(&self) -> usize {
        self.csr.n_rows()
    }

    /// The underlying CSR view.
    pub fn csr(&self) -> Csr<'a, T> {
        self.csr
    }
}
