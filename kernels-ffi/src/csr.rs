//! Square CSR matrices as the SOR and CG entry points take them: either as three
//! arrays checked on every call, or through a `kn_csr` handle checked once.

use crate::args;
use crate::guard::{Done, status};
use crate::status::kn_status;
use kernels_core::{Error, Real, Result, SquareCsr, checksum};

/// Number of words of a [`kn_csr`].
pub const KN_CSR_WORDS: usize = 8;

/// First word of a handle's words: "kn_csr" in ASCII, then the element size.
const MAGIC: u64 = u64::from_be_bytes(*b"kn_csr\0\0");
/// Words: magic | element bytes, n, indptr, indices, values, nnz, zero, checksum.
const CHECK: usize = KN_CSR_WORDS - 1;

/// A validated square CSR matrix: the caller's `indptr`, `indices` and `values`
/// arrays, checked once by `kn_csr_init_f32`/`_f64` (structure, a nonzero diagonal
/// entry in every row, finite values) so that the `*_csr_h_*` functions, called many
/// times, do not read the whole matrix again to check it. Opaque, fixed size, owned
/// by the caller; it holds the three pointers, not copies: the arrays must stay
/// valid and unchanged while the handle is used (after changing them, call init
/// again). A handle whose arrays changed after init is the caller's responsibility,
/// as with `kn_h2o_cache`: the library then computes garbage or returns
/// `KN_ERR_INTERNAL`, but still never writes outside the arrays it is given. Every
/// call checks the handle itself (magic word, element type, checksum) and answers
/// `KN_ERR_ARGUMENT` for anything `kn_csr_init_*` did not write.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct kn_csr {
    /// Private to the library.
    pub opaque: [u64; KN_CSR_WORDS],
}

/// The CSR arrays of an `n x n` matrix, and whether they were validated already
/// (they came from a handle).
pub(crate) struct CsrArgs<'a, T> {
    n: usize,
    indptr: &'a [usize],
    indices: &'a [u32],
    values: &'a [T],
    validated: bool,
}

/// # Safety
/// The pointers must satisfy the contracts of [`args::input`] for `n + 1`,
/// `indptr[n]` and `indptr[n]` values.
pub(crate) unsafe fn csr_args<'a, T>(
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const T,
) -> Result<CsrArgs<'a, T>> {
    let rows = n.checked_add(1).ok_or(Error::Dimension)?;
    // SAFETY: forwarded contract.
    let indptr = unsafe { args::input(indptr, rows) }?;
    let nnz = indptr.last().copied().ok_or(Error::Dimension)?;
    // SAFETY: forwarded contract; nnz comes from the caller's own indptr.
    let indices = unsafe { args::input(indices, nnz) }?;
    // SAFETY: as above.
    let values = unsafe { args::input(values, nnz) }?;
    Ok(CsrArgs {
        n,
        indptr,
        indices,
        values,
        validated: false,
    })
}

/// The arrays of a handle, after checking the handle's words.
///
/// # Safety
/// `h` must be NULL or point to a readable `kn_csr`; if `kn_csr_init_*` wrote it,
/// the arrays it names must still be valid (the handle's contract).
pub(crate) unsafe fn handle_args<'a, T>(h: *const kn_csr) -> Result<CsrArgs<'a, T>> {
    // SAFETY: forwarded contract.
    let w = unsafe { args::input(h, 1) }?[0].opaque;
    let sealed =
        w[0] == MAGIC | size_of::<T>() as u64 && w[6] == 0 && w[CHECK] == checksum(&w[..CHECK]);
    if !sealed {
        return Err(Error::Argument);
    }
    let word = |i: usize| usize::try_from(w[i]).map_err(|_| Error::Argument);
    let (n, nnz) = (word(1)?, word(5)?);
    let rows = n.checked_add(1).ok_or(Error::Argument)?;
    // SAFETY: the handle was written by init from arrays of these lengths, which the
    // caller keeps valid while using it.
    let (indptr, indices, values) = unsafe {
        (
            args::input(word(2)? as *const usize, rows)?,
            args::input(word(3)? as *const u32, nnz)?,
            args::input(word(4)? as *const T, nnz)?,
        )
    };
    Ok(CsrArgs {
        n,
        indptr,
        indices,
        values,
        validated: true,
    })
}

impl<'a, T: Real> CsrArgs<'a, T> {
    /// The matrix: validated now, or trusted when it came from a handle.
    pub(crate) fn matrix(&self) -> Result<SquareCsr<'a, T>> {
        if self.validated {
            Ok(SquareCsr::from_validated_parts(
                self.n,
                self.indptr,
                self.indices,
                self.values,
            ))
        } else {
            SquareCsr::new(self.n, self.indptr, self.indices, self.values)
        }
    }

    /// The order `n`.
    pub(crate) fn n(&self) -> usize {
        self.n
    }

    /// The arrays' spans, for the overlap checks of the outputs.
    pub(crate) fn spans(&self) -> [(usize, usize); 3] {
        [
            args::span(self.indptr),
            args::span(self.indices),
            args::span(self.values),
        ]
    }
}

/// # Safety
/// See the exported functions.
unsafe fn init<T: Real>(
    h: *mut kn_csr,
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const T,
) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract (see the exported function).
        let m = unsafe { csr_args(n, indptr, indices, values) }?;
        // SAFETY: h is NULL or one kn_csr; it is written, the arrays are only read.
        let out = unsafe { args::out_value(h) }?;
        args::disjoint(&[args::span(core::slice::from_ref(out))], &m.spans())?;
        m.matrix()?;
        let addr = |p: usize| p as u64;
        let mut w = [
            MAGIC | size_of::<T>() as u64,
            n as u64,
            addr(m.indptr.as_ptr() as usize),
            addr(m.indices.as_ptr() as usize),
            addr(m.values.as_ptr() as usize),
            m.values.len() as u64,
            0,
            0,
        ];
        w[CHECK] = checksum(&w[..CHECK]);
        out.opaque = w;
        Ok(Done::Ok)
    })
}

/// Checks the `n x n` CSR matrix (f32) once and writes a handle to it for
/// `kn_sor_csr_h_f32`, `kn_sor_solve_csr_h_f32` and `kn_cg_csr_h_f32`.
///
/// Arguments: `indptr` (n + 1), `indices` (`indptr[n]`, strictly increasing within a
/// row, < n) and `values` (`indptr[n]`), as `kn_sor_csr_f32` takes them; they must
/// stay valid and unchanged while the handle is used.
///
/// Status: `KN_OK`; `KN_ERR_NULL` (a NULL array or `h`); `KN_ERR_DIMENSION` (n = 0,
/// or sizes that overflow); `KN_ERR_ARGUMENT` (a malformed structure, a zero or
/// missing diagonal entry, misaligned arrays); `KN_ERR_NON_FINITE` (NaN or infinity
/// in values): on all of these `*h` is untouched.
///
/// # Safety
/// Each non-NULL pointer must point to the number of values given above; `h` to one
/// writable `kn_csr`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_csr_init_f32(
    h: *mut kn_csr,
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const f32,
) -> kn_status {
    // SAFETY: the caller's contract.
    unsafe { init(h, n, indptr, indices, values) }
}

/// `kn_csr_init_f32` for f64 values (a handle for the `_f64` functions).
///
/// # Safety
/// As for `kn_csr_init_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_csr_init_f64(
    h: *mut kn_csr,
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const f64,
) -> kn_status {
    // SAFETY: the caller's contract.
    unsafe { init(h, n, indptr, indices, values) }
}
