//! Csr::new, the validation behind every CSR entry point, accepts exactly the valid
//! structures and says which error a malformed one has, without panicking.
#![no_main]

use kernels_core::{Csr, Error};
use libfuzzer_sys::fuzz_target;

/// Input layout: n_rows, n_cols (one byte each), then indptr entries (one byte each,
/// as many as the byte count allows, up to n_rows + 1 or one more or less), then
/// column indices (one byte each); values are zeros of the right or a wrong length.
fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
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

    let got = Csr::new(n_rows, n_cols, &indptr, &indices, &values);
    let expected = reference(n_rows, n_cols, &indptr, &indices, values.len());
    assert_eq!(got.map(|_| ()), expected);
});

/// The rules of a valid CSR matrix, stated plainly and in the order Csr::new checks
/// them (the first violated rule decides the error).
fn reference(
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
    for r in 0..n_rows {
        if indptr[r + 1] < indptr[r] {
            return Err(Error::Argument);
        }
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
