//! The register-tiled small matrix product behind `Primitives::gemm`.
//!
//! `C += alpha A diag(w) B` is computed one `MR x (NV * lanes)` tile of `C` at a time:
//! the tile lives in registers while the inner dimension streams past, each step
//! broadcasting `MR` values of `A` and loading `NV` vectors of one row of `B` (scaled
//! by `w_p`). The column loop is outermost, so the `k x NR` panel of `B` stays in L1
//! while every row block of `A` passes over it. No packing: the matrices of chunked
//! attention (a chunk of 64 tokens, heads of 64-256) fit in L1/L2 as they are.
//!
//! The tile shape is chosen per instruction set ([`Tiled`]) to keep the accumulators,
//! the `B` vectors and one broadcast in the register file: AVX-512 (32 registers)
//! 8 rows x 2 vectors; AVX2 (16) 6 x 2; SSE2 `wide` vectors (two registers each)
//! 3 x 2.

use crate::lanes::{Element, Lanes, Portable};
use kernels_core::{Primitives, Real, Scalar, Strided, StridedMut};

/// A token with a tile shape for the product; `gemm` runs [`product`] with it.
pub(crate) trait Tiled<T: Element>: Lanes<T> {
    fn gemm(
        self,
        alpha: T,
        a: Strided<'_, T>,
        w: Option<&[T]>,
        b: Strided<'_, T>,
        c: StridedMut<'_, T>,
    );
}

/// The entry point [`dispatch`](crate::dispatch) instantiates per level.
#[inline(always)]
pub(crate) fn gemm<T: Element, L: Tiled<T>>(
    l: L,
    alpha: T,
    a: Strided<'_, T>,
    w: Option<&[T]>,
    b: Strided<'_, T>,
    c: StridedMut<'_, T>,
) {
    l.gemm(alpha, a, w, b, c);
}

macro_rules! tiled {
    ($token:ty, $mr:literal, $nv:literal) => {
        impl<T: Element + Real> Tiled<T> for $token
        where
            Scalar: Primitives<T>,
            $token: Lanes<T>,
        {
            #[inline(always)]
            fn gemm(
                self,
                alpha: T,
                a: Strided<'_, T>,
                w: Option<&[T]>,
                b: Strided<'_, T>,
                c: StridedMut<'_, T>,
            ) {
                product::<T, Self, $mr, $nv>(self, alpha, a, w, b, c);
            }
        }
    };
}

// With AVX the wide vectors are one register each, and twice as many fit.
#[cfg(target_feature = "avx")]
tiled!(Portable, 6, 2);
#[cfg(not(target_feature = "avx"))]
tiled!(Portable, 3, 2);
#[cfg(target_arch = "x86_64")]
tiled!(crate::lanes::x86::Avx2, 6, 2);
#[cfg(target_arch = "x86_64")]
tiled!(crate::lanes::x86::Avx512, 8, 2);

/// How the `R` values of `A` for one inner index are found.
#[derive(Clone, Copy)]
enum Layout {
    /// `A` has contiguous rows.
    Rows,
    /// `A` has contiguous columns (a transpose).
    Cols,
}

/// Everything a tile needs, borrowed once.
struct Operands<'a, T> {
    alpha: T,
    a: &'a [T],
    a_rs: usize,
    a_cs: usize,
    layout: Layout,
    w: Option<&'a [T]>,
    b: &'a [T],
    b_rs: usize,
    k: usize,
}

/// The product with `MR x NV` tiles; layouts without unit strides, and the columns
/// past the last whole vector, take the scalar rule.
#[inline(always)]
fn product<T: Element + Real, L: Lanes<T>, const MR: usize, const NV: usize>(
    l: L,
    alpha: T,
    a: Strided<'_, T>,
    w: Option<&[T]>,
    b: Strided<'_, T>,
    mut c: StridedMut<'_, T>,
) where
    Scalar: Primitives<T>,
{
    let (m, n, k) = kernels_core::product_dims(&a, w, &b, &c);
    let layout = if a.col_stride() == 1 {
        Some(Layout::Rows)
    } else if a.row_stride() == 1 {
        Some(Layout::Cols)
    } else {
        None
    };
    let rows_ok = b.col_stride() == 1 && c.col_stride() == 1;
    let (Some(layout), true) = (layout, rows_ok) else {
        return <Scalar as Primitives<T>>::gemm(alpha, a, w, b, c);
    };
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let ops = Operands {
        alpha,
        a: a.data(),
        a_rs: a.row_stride(),
        a_cs: a.col_stride(),
        layout,
        w: w.map(|w| &w[..k]),
        b: b.data(),
        b_rs: b.row_stride(),
        k,
    };
    let (c_rs, c_data) = (c.row_stride(), c.data_mut());
    let mut j0 = 0;
    while j0 + NV * L::N <= n {
        row_blocks::<T, L, MR, NV>(l, &ops, m, j0, c_data, c_rs);
        j0 += NV * L::N;
    }
    while j0 + L::N <= n {
        row_blocks::<T, L, MR, 1>(l, &ops, m, j0, c_data, c_rs);
        j0 += L::N;
    }
    if j0 < n {
        // Fewer columns than one vector: the scalar rule on that strip.
        let strip = (
            Strided::new(&ops.b[j0..], k, n - j0, ops.b_rs, 1),
            StridedMut::new(&mut c_data[j0..], m, n - j0, c_rs, 1),
        );
        if let (Ok(bs), Ok(cs)) = strip {
            <Scalar as Primitives<T>>::gemm(alpha, a, w, bs, cs);
        }
    }
}

/// Every row block of the column strip starting at `j0`.
#[inline(always)]
fn row_blocks<T: Element + Real, L: Lanes<T>, const MR: usize, const V: usize>(
    l: L,
    ops: &Operands<'_, T>,
    m: usize,
    j0: usize,
    c: &mut [T],
    c_rs: usize,
) {
    let mut i0 = 0;
    while i0 + MR <= m {
        tile::<T, L, MR, V>(l, ops, i0, j0, c, c_rs);
        i0 += MR;
    }
    match m - i0 {
        1 => tile::<T, L, 1, V>(l, ops, i0, j0, c, c_rs),
        2 => tile::<T, L, 2, V>(l, ops, i0, j0, c, c_rs),
        3 => tile::<T, L, 3, V>(l, ops, i0, j0, c, c_rs),
        4 => tile::<T, L, 4, V>(l, ops, i0, j0, c, c_rs),
        5 => tile::<T, L, 5, V>(l, ops, i0, j0, c, c_rs),
        6 => tile::<T, L, 6, V>(l, ops, i0, j0, c, c_rs),
        7 => tile::<T, L, 7, V>(l, ops, i0, j0, c, c_rs),
        _ => {}
    }
}

/// One `R x (V * lanes)` tile of `C` at (`i0`, `j0`).
#[inline(always)]
fn tile<T: Element + Real, L: Lanes<T>, const R: usize, const V: usize>(
    l: L,
    ops: &Operands<'_, T>,
    i0: usize,
    j0: usize,
    c: &mut [T],
    c_rs: usize,
) {
    let k = ops.k;
    let mut acc = [[l.zero(); V]; R];
    match ops.layout {
        Layout::Rows => {
            // Each row of the block cut to exactly k values, so the indexing below
            // needs no bounds checks in the loop.
            let rows: [&[T]; R] = core::array::from_fn(|r| {
                let start = (i0 + r) * ops.a_rs;
                &ops.a[start..start + k]
            });
            inner::<T, L, R, V>(l, ops, j0, &mut acc, |p| {
                core::array::from_fn(|r| rows[r][p])
            });
        }
        Layout::Cols => {
            inner::<T, L, R, V>(l, ops, j0, &mut acc, |p| {
                let start = p * ops.a_cs + i0;
                let col = &ops.a[start..start + R];
                core::array::from_fn(|r| col[r])
            });
        }
    }
    let alpha = l.splat(ops.alpha);
    for (r, acc_row) in acc.iter().enumerate() {
        let start = (i0 + r) * c_rs + j0;
        let c_row = &mut c[start..start + V * L::N];
        for (cv, a) in c_row.chunks_exact_mut(L::N).zip(acc_row) {
            l.store(l.mul_add(alpha, *a, l.load(cv)), cv);
        }
    }
}

/// The inner-dimension loop of one tile; `a_at(p)` gives `A[i0.., p]`.
#[inline(always)]
fn inner<T: Element + Real, L: Lanes<T>, const R: usize, const V: usize>(
    l: L,
    ops: &Operands<'_, T>,
    j0: usize,
    acc: &mut [[L::V; V]; R],
    a_at: impl Fn(usize) -> [T; R],
) {
    for p in 0..ops.k {
        let start = p * ops.b_rs + j0;
        let b_row = &ops.b[start..start + V * L::N];
        let mut bv: [L::V; V] = core::array::from_fn(|v| l.load(&b_row[v * L::N..]));
        if let Some(w) = ops.w {
            let wp = l.splat(w[p]);
            for x in &mut bv {
                *x = l.mul(*x, wp);
            }
        }
        let a = a_at(p);
        for r in 0..R {
            let ar = l.splat(a[r]);
            for v in 0..V {
                acc[r][v] = l.mul_add(ar, bv[v], acc[r][v]);
            }
        }
    }
}
