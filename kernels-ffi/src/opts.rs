//! Option structs that can grow: each `kn_*_opts` begins with `uint32_t size`, the
//! `sizeof` of the struct the caller compiled against, and the library reads only
//! the fields that fit in `size` bytes; the others take their defaults. A caller
//! built against an older header keeps working when fields are appended.
//!
//! `size` below the first version of a struct (every field of version 0.2.0) or above
//! what this library knows (a newer header, whose extra fields this library would
//! silently ignore) is `KN_ERR_ARGUMENT`, found before anything is written.
//!
//! Appending a field: put it at an offset at or after the `sizeof` of every earlier
//! version (add explicit padding where a smaller field would fall into an earlier
//! version's tail padding), so that an older caller's `size` never covers part of a
//! field it does not know, and keep `V1_SIZE`.

use core::mem::size_of;
use kernels_core::{Error, Result};

/// A C option struct that begins with `size: u32`.
///
/// # Safety
/// The implementing type must be `#[repr(C)]`, begin with a `u32` field holding the
/// caller's `sizeof`, and have only integer and floating-point fields (any bytes are
/// a valid value), so that bytes copied from a caller's struct make a valid value.
pub(crate) unsafe trait Opts: Copy + Default {
    /// The `sizeof` of the first version of the struct: the smallest `size` accepted.
    const V1_SIZE: usize;
}

/// `size` as the library writes it into a struct it fills (`sizeof` of its version).
pub(crate) const fn size_of_u32<T>() -> u32 {
    // Option structs are a few dozen bytes.
    size_of::<T>() as u32
}

/// Reads a caller's option struct: the first `size` bytes over the defaults. Returns
/// the options and the address range read (for overlap checks).
///
/// [`Error::Null`] for NULL; [`Error::Argument`] for a misaligned pointer or a `size`
/// that is not the `sizeof` of a version (`T::V1_SIZE` or `size_of::<T>()`).
///
/// # Safety
/// `p` must be NULL or point to a struct whose first field is `uint32_t size` and
/// which spans `size` readable bytes, valid for the call.
pub(crate) unsafe fn read<T: Opts>(p: *const T) -> Result<(T, (usize, usize))> {
    if p.is_null() {
        return Err(Error::Null);
    }
    if !p.is_aligned() {
        return Err(Error::Argument);
    }
    // SAFETY: p is non-null, aligned for T (so for u32), and every version of the
    // struct begins with `uint32_t size` (the caller's contract).
    let size = unsafe { p.cast::<u32>().read() } as usize;
    // Only the sizeof of a version: a size in between would cover part of a field.
    // (Every struct has at most two versions so far: the first and this one. A
    // third version adds its predecessor's size here.)
    if size != T::V1_SIZE && size != size_of::<T>() {
        return Err(Error::Argument);
    }
    let mut value = T::default();
    // SAFETY: the caller's struct spans `size` readable bytes; `value` is a local T
    // of `size_of::<T>() >= size` bytes, not overlapping it; any bytes make valid
    // fields (the `Opts` contract).
    unsafe {
        core::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut value).cast::<u8>(), size);
    }
    let start = p as usize;
    Ok((value, (start, start + size)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kn_cg_opts, kn_h2o_opts, kn_sinkhorn_opts, kn_sns_opts, kn_unbalanced_opts};
    use core::mem::offset_of;

    /// The first version of each struct is what this library knows today.
    #[test]
    fn v1_sizes_are_todays_sizes() {
        // kn_sinkhorn_opts grew in 0.3 (method, eps_scaling, reg_start, overrelax),
        // after the 0.2 struct's 32 bytes.
        assert_eq!(kn_sinkhorn_opts::V1_SIZE, 32);
        assert_eq!(size_of::<kn_sinkhorn_opts>(), 64);
        assert!(offset_of!(kn_sinkhorn_opts, method) >= kn_sinkhorn_opts::V1_SIZE);
        assert_eq!(kn_sns_opts::V1_SIZE, size_of::<kn_sns_opts>());
        assert_eq!(kn_cg_opts::V1_SIZE, size_of::<kn_cg_opts>());
        assert_eq!(kn_h2o_opts::V1_SIZE, size_of::<kn_h2o_opts>());
        assert_eq!(kn_unbalanced_opts::V1_SIZE, size_of::<kn_unbalanced_opts>());
        assert_eq!(offset_of!(kn_sinkhorn_opts, size), 0);
        assert_eq!(offset_of!(kn_sns_opts, size), 0);
        assert_eq!(offset_of!(kn_cg_opts, size), 0);
        assert_eq!(offset_of!(kn_h2o_opts, size), 0);
    }

    /// A newer struct: the sinkhorn options with one more field.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Grown {
        old: kn_sinkhorn_opts,
        extra: f64,
    }

    impl Default for Grown {
        fn default() -> Self {
            Grown {
                old: kn_sinkhorn_opts::default(),
                extra: 7.0,
            }
        }
    }

    // SAFETY: repr(C), begins with kn_sinkhorn_opts (so with `size: u32`), numbers only.
    unsafe impl Opts for Grown {
        const V1_SIZE: usize = size_of::<kn_sinkhorn_opts>();
    }

    #[test]
    fn an_older_caller_gets_defaults_for_the_new_fields() {
        let old = kn_sinkhorn_opts {
            tol: 1e-3,
            ..Default::default()
        };
        // SAFETY: `old` is a whole v1 struct whose size is its sizeof.
        let (got, span) = unsafe { read::<Grown>((&raw const old).cast::<Grown>()) }.unwrap();
        assert_eq!(got.old.tol, 1e-3);
        assert_eq!(got.extra, 7.0);
        assert_eq!(span.1 - span.0, size_of::<kn_sinkhorn_opts>());
    }

    #[test]
    fn sizes_out_of_range_are_refused() {
        for size in [
            0,
            4,
            kn_sinkhorn_opts::V1_SIZE - 1,
            kn_sinkhorn_opts::V1_SIZE + 1,
            size_of::<kn_sinkhorn_opts>() - 1,
            size_of::<kn_sinkhorn_opts>() + 1,
        ] {
            let mut o = [kn_sinkhorn_opts::default(); 2];
            o[0].size = size as u32;
            // SAFETY: o spans two structs, more than any size tried.
            let got = unsafe { read(o.as_ptr()) };
            assert_eq!(got.unwrap_err(), Error::Argument, "size {size}");
        }
        // SAFETY: NULL is checked first.
        let got = unsafe { read::<kn_cg_opts>(core::ptr::null()) };
        assert_eq!(got.unwrap_err(), Error::Null);
    }

    #[test]
    fn defaults_have_their_size_and_documented_values() {
        use crate::{
            KN_PRECOND_JACOBI, kn_cg_opts_default, kn_h2o_opts_default, kn_sinkhorn_opts_default,
            kn_sns_opts_default,
        };
        let s = kn_sinkhorn_opts_default();
        assert_eq!(s.size as usize, size_of::<kn_sinkhorn_opts>());
        assert_eq!(
            (s.reg, s.tol, s.max_iter, s.check_every),
            (0.05, 1e-9, 1000, 10)
        );
        assert_eq!(
            (s.method, s.eps_scaling, s.reg_start, s.overrelax),
            (crate::KN_SINKHORN_AUTO, 0.0, 0.0, 0.0)
        );
        let n = kn_sns_opts_default();
        assert_eq!(n.size as usize, size_of::<kn_sns_opts>());
        assert_eq!(
            (n.reg, n.tol, n.sinkhorn_iters, n.max_newton),
            (0.05, 1e-9, 20, 100)
        );
        assert_eq!((n.density, n.cg_max_iter, n.cg_tol), (0.0, 0, 0.0));
        let c = kn_cg_opts_default();
        assert_eq!(c.size as usize, size_of::<kn_cg_opts>());
        assert_eq!(
            (c.tol, c.max_iter, c.precond, c.omega),
            (1e-8, 1000, KN_PRECOND_JACOBI, 1.0)
        );
        let h = kn_h2o_opts_default();
        assert_eq!(h.size as usize, size_of::<kn_h2o_opts>());
        assert_eq!((h.sink, h.heavy, h.recent, h.scale), (4, 60, 64, 0.0));
    }

    /// The sizes every family refuses: 0, too small for the first version, too large.
    fn bad_sizes<T>() -> [u32; 4] {
        let s = size_of::<T>() as u32;
        [0, 4, s - 1, s + 8]
    }

    #[test]
    fn bad_sizes_are_refused_untouched() {
        use crate::{
            KN_ERR_ARGUMENT, KN_OK, kn_cg_csr_f64, kn_h2o_prefill_f32, kn_report, kn_sinkhorn_f64,
            kn_sns_f64,
        };
        let c = [0.0, 1.0, 1.0, 0.0];
        let half = [0.5, 0.5];
        let mut work = vec![0u8; 1 << 16];
        let (w, wb) = (work.as_mut_ptr().cast(), work.len());
        let mut rep = kn_report {
            iterations: 77,
            ..kn_report::default()
        };
        let (indptr, indices, values, b) = (
            [0usize, 2, 4],
            [0u32, 1, 0, 1],
            [4.0, 1.0, 1.0, 3.0],
            [1.0, 2.0],
        );
        let (q, k, v) = (
            [1.0f32, 0.0, 0.0, 1.0],
            [1.0f32, 2.0, 0.0, 1.0],
            [1.0f32, 0.0, 0.0, 1.0],
        );
        for i in 0..4 {
            let (mut f, mut g, mut plan, mut out) = ([7.0; 2], [7.0; 2], [7.0; 4], [7.0f32; 4]);
            let s = kn_sinkhorn_opts {
                size: bad_sizes::<kn_sinkhorn_opts>()[i],
                ..Default::default()
            };
            let n = kn_sns_opts {
                size: bad_sizes::<kn_sns_opts>()[i],
                ..Default::default()
            };
            let o = kn_cg_opts {
                size: bad_sizes::<kn_cg_opts>()[i],
                ..Default::default()
            };
            let h = kn_h2o_opts {
                size: bad_sizes::<kn_h2o_opts>()[i],
                ..Default::default()
            };
            // SAFETY: every pointer is a live buffer of the length its sizes imply.
            let got = unsafe {
                [
                    kn_sinkhorn_f64(
                        2,
                        2,
                        c.as_ptr(),
                        half.as_ptr(),
                        half.as_ptr(),
                        &s,
                        f.as_mut_ptr(),
                        g.as_mut_ptr(),
                        plan.as_mut_ptr(),
                        w,
                        wb,
                        &mut rep,
                    ),
                    kn_sns_f64(
                        2,
                        2,
                        c.as_ptr(),
                        half.as_ptr(),
                        half.as_ptr(),
                        &n,
                        f.as_mut_ptr(),
                        g.as_mut_ptr(),
                        plan.as_mut_ptr(),
                        w,
                        wb,
                        &mut rep,
                    ),
                    kn_cg_csr_f64(
                        2,
                        indptr.as_ptr(),
                        indices.as_ptr(),
                        values.as_ptr(),
                        b.as_ptr(),
                        f.as_mut_ptr(),
                        &o,
                        w,
                        wb,
                        &mut rep,
                    ),
                    kn_h2o_prefill_f32(
                        1,
                        1,
                        2,
                        2,
                        q.as_ptr(),
                        k.as_ptr(),
                        v.as_ptr(),
                        &h,
                        out.as_mut_ptr(),
                        core::ptr::null_mut(),
                        core::ptr::null_mut(),
                        w,
                        wb,
                    ),
                ]
            };
            assert_eq!(got, [KN_ERR_ARGUMENT; 4], "sizes {}", i);
            assert_eq!(
                (f, g, plan, out, rep.iterations),
                ([7.0; 2], [7.0; 2], [7.0; 4], [7.0; 4], 77)
            );
        }
        // The caller's own sizeof, set by hand: accepted.
        let o = kn_cg_opts {
            size: size_of::<kn_cg_opts>() as u32,
            tol: 1e-12,
            max_iter: 100,
            precond: 0,
            omega: 0.0,
        };
        let mut x = [0.0; 2];
        // SAFETY: as above.
        let got = unsafe {
            kn_cg_csr_f64(
                2,
                indptr.as_ptr(),
                indices.as_ptr(),
                values.as_ptr(),
                b.as_ptr(),
                x.as_mut_ptr(),
                &o,
                w,
                wb,
                &mut rep,
            )
        };
        assert_eq!(got, KN_OK);
    }
}
