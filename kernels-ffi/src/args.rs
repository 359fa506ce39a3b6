//! Turning C pointers and sizes into Rust slices, with every check a C caller's
//! mistake needs: NULL, a byte length that overflows, misalignment, and outputs that
//! overlap inputs. Exported functions build all their slices through these helpers
//! before they validate values or write anything.

use core::ffi::c_void;
use core::mem::size_of;
use kernels_core::{Error, Result, checked_product};

/// The byte length of `len` values of `T`, if a slice of it may exist (at most
/// `isize::MAX` bytes).
fn byte_len<T>(len: usize) -> Result<usize> {
    let bytes = checked_product(&[len, size_of::<T>()])?;
    if bytes > isize::MAX as usize {
        return Err(Error::Dimension);
    }
    Ok(bytes)
}

/// Checks a required pointer to `len` values of `T`.
fn check<T>(p: *const T, len: usize) -> Result<()> {
    if p.is_null() {
        return Err(Error::Null);
    }
    byte_len::<T>(len)?;
    if !p.is_aligned() {
        return Err(Error::Argument);
    }
    Ok(())
}

/// A required input array of `len` values.
///
/// # Safety
/// If `p` is not NULL it must point to `len` initialised values of `T` that stay
/// valid and unmodified for `'a`.
pub(crate) unsafe fn input<'a, T>(p: *const T, len: usize) -> Result<&'a [T]> {
    check(p, len)?;
    // SAFETY: p is non-null and aligned, the byte length fits isize, and the caller
    // guarantees `len` initialised values live for 'a.
    Ok(unsafe { core::slice::from_raw_parts(p, len) })
}

/// An optional input array: NULL gives `None`.
///
/// # Safety
/// As for [`input`].
pub(crate) unsafe fn input_opt<'a, T>(p: *const T, len: usize) -> Result<Option<&'a [T]>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { input(p, len) }.map(Some)
}

/// A required output or in/out array of `len` values.
///
/// # Safety
/// If `p` is not NULL it must point to `len` initialised values of `T`, valid for
/// reads and writes for `'a` and not accessed through any other pointer meanwhile
/// (callers check overlap with [`disjoint`]).
pub(crate) unsafe fn output<'a, T>(p: *mut T, len: usize) -> Result<&'a mut [T]> {
    check(p.cast_const(), len)?;
    // SAFETY: as in `input`, plus the caller's exclusivity guarantee.
    Ok(unsafe { core::slice::from_raw_parts_mut(p, len) })
}

/// An optional output array: NULL gives `None`.
///
/// # Safety
/// As for [`output`].
pub(crate) unsafe fn output_opt<'a, T>(p: *mut T, len: usize) -> Result<Option<&'a mut [T]>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { output(p, len) }.map(Some)
}

/// A required single value written by the function (e.g. `size_t *bytes`).
///
/// # Safety
/// If `p` is not NULL it must be valid for writes of one `T` for `'a`.
pub(crate) unsafe fn out_value<'a, T>(p: *mut T) -> Result<&'a mut T> {
    check(p.cast_const(), 1)?;
    // SAFETY: non-null and aligned; the caller guarantees validity.
    Ok(unsafe { &mut *p })
}

/// The caller's workspace: any alignment; NULL only together with zero bytes.
///
/// # Safety
/// If `p` is not NULL it must be valid for reads and writes of `bytes` bytes for
/// `'a`, not overlapping any other argument.
pub(crate) unsafe fn workspace<'a>(p: *mut c_void, bytes: usize) -> Result<&'a mut [u8]> {
    if p.is_null() {
        return if bytes == 0 {
            Ok(&mut [])
        } else {
            Err(Error::Null)
        };
    }
    byte_len::<u8>(bytes)?;
    // SAFETY: non-null, u8 needs no alignment, the caller guarantees validity.
    Ok(unsafe { core::slice::from_raw_parts_mut(p.cast::<u8>(), bytes) })
}

/// The address range a slice covers, for [`disjoint`].
pub(crate) fn span<T>(s: &[T]) -> (usize, usize) {
    let start = s.as_ptr() as usize;
    (start, start + core::mem::size_of_val(s))
}

/// [`Error::Argument`] unless each output range overlaps no other range.
///
/// Writing through a pointer while reading the same memory through another breaks
/// Rust's aliasing rules, so overlapping C arguments are refused, not tolerated.
pub(crate) fn disjoint(outputs: &[(usize, usize)], others: &[(usize, usize)]) -> Result<()> {
    let overlap = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    for (i, &o) in outputs.iter().enumerate() {
        let clash = outputs[i + 1..]
            .iter()
            .chain(others)
            .any(|&r| overlap(o, r));
        if clash {
            return Err(Error::Argument);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_misaligned_and_oversized_pointers_are_refused() {
        let data = [1.0f64, 2.0];
        // SAFETY: every call either fails its checks or points into `data`.
        unsafe {
            assert_eq!(input::<f64>(core::ptr::null(), 2).unwrap_err(), Error::Null);
            assert_eq!(input(data.as_ptr(), 2).unwrap(), &data);
            let odd = data.as_ptr().cast::<u8>().add(1).cast::<f64>();
            assert_eq!(input(odd, 1).unwrap_err(), Error::Argument);
            assert_eq!(
                input(data.as_ptr(), usize::MAX / 4).unwrap_err(),
                Error::Dimension
            );
            assert_eq!(input_opt::<f64>(core::ptr::null(), 5).unwrap(), None);
            assert_eq!(
                workspace(core::ptr::null_mut(), 0).unwrap(),
                &mut [] as &mut [u8]
            );
            assert_eq!(
                workspace(core::ptr::null_mut(), 1).unwrap_err(),
                Error::Null
            );
        }
    }

    #[test]
    fn overlap_is_detected() {
        let a = [0u8; 16];
        let whole = span(&a);
        let left = span(&a[..8]);
        let right = span(&a[8..]);
        assert!(disjoint(&[left], &[right]).is_ok());
        assert!(disjoint(&[left, right], &[]).is_ok());
        assert_eq!(disjoint(&[left], &[whole]).unwrap_err(), Error::Argument);
        assert_eq!(disjoint(&[whole, right], &[]).unwrap_err(), Error::Argument);
        assert!(disjoint(&[span(&a[..0])], &[whole]).is_ok());
    }
}
