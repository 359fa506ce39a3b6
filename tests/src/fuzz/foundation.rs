//! Checks of the conventions every entry point relies on: status sentences, CSR
//! validation, workspace carving.

use kernels_core::{Csr, Error, Workspace, WorkspaceSize};
use std::ffi::CStr;

/// kn_status_str returns a static, NUL-terminated, non-empty ASCII sentence for every
/// 32-bit value.
pub fn status_str(data: &[u8]) {
    let mut code = [0u8; 4];
    for (c, d) in code.iter_mut().zip(data) {
        *c = *d;
    }
    let p = kernels::kn_status_str(i32::from_le_bytes(code));
    assert!(!p.is_null());
    // SAFETY: kn_status_str documents a static NUL-terminated string.
    let s = unsafe { CStr::from_ptr(p) };
    assert!(!s.to_bytes().is_empty() && s.to_bytes().is_ascii());
}

/// Csr::new, the validation behind every CSR entry point, accepts exactly the valid
/// structures and names the right error for a malformed one, without panicking.
///
/// Input layout: n_rows, n_cols and an indptr length adjustment (one byte each), then
/// indptr entries (one byte each), then column indices (one byte each).
pub fn csr_view(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let n_rows = usize::from(data[0] % 16);
    let n_cols = usize::from(data[1] % 16);
    let indptr_len = (n_rows + 1 + usize::from(data[2] % 3)).saturating_sub(1);
    let rest = &data[3..];
    let indptr: Vec<usize> = rest
        .iter()
        .take(indptr_len)
        .map(|&b| usize::from(b % 32))
        .collect();
    let rest = &rest[indptr.len()..];
    let indices: Vec<u32> = rest.iter().map(|&b| u32::from(b % 20)).collect();
    let values = vec![0.0f64; indices.len()];

    let got = Csr::new(n_rows, n_cols, &indptr, &indices, &values).map(|_| ());
    assert_eq!(
        got,
        csr_rules(n_rows, n_cols, &indptr, &indices, values.len())
    );
}

/// The rules of a valid CSR matrix, stated plainly, in the order Csr::new checks them
/// (the first broken rule decides the error).
fn csr_rules(
    n_rows: usize,
    n_cols: usize,
    indptr: &[usize],
    indices: &[u32],
    n_values: usize,
) -> Result<(), Error> {
    if indptr.len() != n_rows + 1 {
        return Err(Error::Dimension);
    }
    if indptr[0] != 0 {
        return Err(Error::Argument);
    }
    if (0..n_rows).any(|r| indptr[r + 1] < indptr[r]) {
        return Err(Error::Argument);
    }
    let nnz = indptr[n_rows];
    if indices.len() != nnz || n_values != nnz {
        return Err(Error::Dimension);
    }
    for r in 0..n_rows {
        let row = &indices[indptr[r]..indptr[r + 1]];
        for k in 0..row.len() {
            if row[k] as usize >= n_cols || (k > 0 && row[k - 1] >= row[k]) {
                return Err(Error::Argument);
            }
        }
    }
    Ok(())
}

/// A workspace of exactly the queried size, at any address, holds every array the
/// query listed, each aligned and inside the buffer.
///
/// Input layout: a buffer offset (one byte), then pairs (element type, length).
pub fn workspace(data: &[u8]) {
    let Some((&offset, spec)) = data.split_first() else {
        return;
    };
    let arrays: Vec<(u8, usize)> = spec
        .chunks_exact(2)
        .take(16)
        .map(|c| (c[0] % 4, usize::from(c[1])))
        .collect();
    let mut size = WorkspaceSize::new();
    for &(kind, len) in &arrays {
        size = match kind {
            0 => size.array::<u8>(len),
            1 => size.array::<u32>(len),
            2 => size.array::<f32>(len),
            _ => size.array::<f64>(len),
        }
        .expect("small sizes cannot overflow");
    }
    let offset = usize::from(offset % 8);
    let mut storage = vec![0u64; size.bytes() / 8 + 2];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut storage);
    let buf = &mut bytes[offset..offset + size.bytes()];
    let (lo, hi) = (buf.as_ptr() as usize, buf.as_ptr() as usize + buf.len());
    let mut ws = Workspace::new(buf);
    for &(kind, len) in &arrays {
        let (p, bytes, align) = match kind {
            0 => span(ws.take::<u8>(len).expect("the queried size suffices")),
            1 => span(ws.take::<u32>(len).expect("the queried size suffices")),
            2 => span(ws.take::<f32>(len).expect("the queried size suffices")),
            _ => span(ws.take::<f64>(len).expect("the queried size suffices")),
        };
        assert_eq!(p % align, 0);
        assert!(p >= lo && p + bytes <= hi);
    }
}

fn span<T>(s: &mut [T]) -> (usize, usize, usize) {
    (
        s.as_ptr() as usize,
        std::mem::size_of_val(s),
        std::mem::align_of::<T>(),
    )
}
