//! The register-tiled small matrix product behind `Primitives::gemm`.
//!
//! `C += alpha A diag(w) B` is computed one `R x (NV * lanes)` tile of `C` at a time:
//! the tile lives in registers while the inner dimension streams past, each step
//! broadcasting `R` values of `A` and loading `NV` vectors of one row of `B` (scaled
//! by `w_p`). The column loop is outermost, so the `k x NR` panel of `B` stays in L1
//! while every row block of `A` passes over it. No packing: the matrices of chunked
//! attention (a chunk of 64 tokens, heads of 64-256) fit in L1/L2 as they are.
//!
//! The vectors are the wide types (`f32x16`, `f64x8`): one register with AVX-512,
//! two with AVX2, four with SSE2. Tile heights are chosen per instruction set to
//! keep the accumulators, the `B` vectors and one broadcast in the register file:
//! AVX-512 (32 registers) 8 rows x 2 vectors; AVX (16) 6 x 1; otherwise 3 x 1.

/// Tile height and vectors per tile row for this build.
const TILE: (usize, usize) = if cfg!(target_feature = "avx512f") {
    (8, 2)
} else if cfg!(target_feature = "avx") {
    (6, 1)
} else {
    (3, 1)
};

macro_rules! gemm_impl {
    ($module:ident, $t:ty, $v:ident, $lanes:literal) => {
        pub(crate) mod $module {
            use super::TILE;
            use kernels_core::{Primitives, Scalar, Strided, StridedMut};
            use wide::$v;

            const MR: usize = TILE.0;
            const NV: usize = TILE.1;

            /// How the `R` values of `A` for one inner index are found.
            #[derive(Clone, Copy)]
            enum Layout {
                /// `A` has contiguous rows.
                Rows,
                /// `A` has contiguous columns (a transpose).
                Cols,
            }

            /// Everything a tile needs, borrowed once.
            struct Operands<'a> {
                alpha: $t,
                a: &'a [$t],
                a_rs: usize,
                a_cs: usize,
                layout: Layout,
                w: Option<&'a [$t]>,
                b: &'a [$t],
                b_rs: usize,
                k: usize,
            }

            pub(crate) fn gemm(
                alpha: $t,
                a: Strided<'_, $t>,
                w: Option<&[$t]>,
                b: Strided<'_, $t>,
                mut c: StridedMut<'_, $t>,
            ) {
                let m = a.n_rows().min(c.n_rows());
                let n = b.n_cols().min(c.n_cols());
                let k = a
                    .n_cols()
                    .min(b.n_rows())
                    .min(w.map_or(usize::MAX, <[$t]>::len));
                debug_assert!(a.n_rows() == c.n_rows() && b.n_cols() == c.n_cols());
                debug_assert!(a.n_cols() == b.n_rows() && w.is_none_or(|w| w.len() == a.n_cols()));
                let layout = if a.col_stride() == 1 {
                    Some(Layout::Rows)
                } else if a.row_stride() == 1 {
                    Some(Layout::Cols)
                } else {
                    None
                };
                let rows_ok = b.col_stride() == 1 && c.col_stride() == 1;
                let (Some(layout), true) = (layout, rows_ok) else {
                    return <Scalar as Primitives<$t>>::gemm(alpha, a, w, b, c);
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
                while j0 + NV * $lanes <= n {
                    row_blocks::<NV>(&ops, m, j0, c_data, c_rs);
                    j0 += NV * $lanes;
                }
                while j0 + $lanes <= n {
                    row_blocks::<1>(&ops, m, j0, c_data, c_rs);
                    j0 += $lanes;
                }
                if j0 < n {
                    // Fewer columns than one vector: the scalar rule on that strip.
                    let strip = (
                        Strided::new(&ops.b[j0..], k, n - j0, ops.b_rs, 1),
                        StridedMut::new(&mut c_data[j0..], m, n - j0, c_rs, 1),
                    );
                    if let (Ok(bs), Ok(cs)) = strip {
                        <Scalar as Primitives<$t>>::gemm(alpha, a, w, bs, cs);
                    }
                }
            }

            /// Every row block of the column strip starting at `j0`.
            fn row_blocks<const V: usize>(
                ops: &Operands<'_>,
                m: usize,
                j0: usize,
                c: &mut [$t],
                c_rs: usize,
            ) {
                let mut i0 = 0;
                while i0 + MR <= m {
                    tile::<MR, V>(ops, i0, j0, c, c_rs);
                    i0 += MR;
                }
                match m - i0 {
                    1 => tile::<1, V>(ops, i0, j0, c, c_rs),
                    2 => tile::<2, V>(ops, i0, j0, c, c_rs),
                    3 => tile::<3, V>(ops, i0, j0, c, c_rs),
                    4 => tile::<4, V>(ops, i0, j0, c, c_rs),
                    5 => tile::<5, V>(ops, i0, j0, c, c_rs),
                    6 => tile::<6, V>(ops, i0, j0, c, c_rs),
                    7 => tile::<7, V>(ops, i0, j0, c, c_rs),
                    _ => {}
                }
            }

            /// One `R x (V * lanes)` tile of `C` at (`i0`, `j0`).
            #[inline(always)]
            fn tile<const R: usize, const V: usize>(
                ops: &Operands<'_>,
                i0: usize,
                j0: usize,
                c: &mut [$t],
                c_rs: usize,
            ) {
                let k = ops.k;
                let mut acc = [[$v::ZERO; V]; R];
                match ops.layout {
                    Layout::Rows => {
                        // Each row of the block cut to exactly k values, so the
                        // indexing below needs no bounds checks in the loop.
                        let rows: [&[$t]; R] = core::array::from_fn(|r| {
                            let start = (i0 + r) * ops.a_rs;
                            &ops.a[start..start + k]
                        });
                        inner::<R, V>(ops, j0, &mut acc, |p| core::array::from_fn(|r| rows[r][p]));
                    }
                    Layout::Cols => {
                        inner::<R, V>(ops, j0, &mut acc, |p| {
                            let start = p * ops.a_cs + i0;
                            let col = &ops.a[start..start + R];
                            core::array::from_fn(|r| col[r])
                        });
                    }
                }
                let alpha = $v::splat(ops.alpha);
                for (r, acc_row) in acc.iter().enumerate() {
                    let start = (i0 + r) * c_rs + j0;
                    let c_row = c[start..start + V * $lanes].as_chunks_mut::<$lanes>().0;
                    for (cv, a) in c_row.iter_mut().zip(acc_row) {
                        *cv = alpha.mul_add(*a, $v::new(*cv)).to_array();
                    }
                }
            }

            /// The inner-dimension loop of one tile; `a_at(p)` gives `A[i0.., p]`.
            #[inline(always)]
            fn inner<const R: usize, const V: usize>(
                ops: &Operands<'_>,
                j0: usize,
                acc: &mut [[$v; V]; R],
                a_at: impl Fn(usize) -> [$t; R],
            ) {
                for p in 0..ops.k {
                    let start = p * ops.b_rs + j0;
                    let b_row = ops.b[start..start + V * $lanes].as_chunks::<$lanes>().0;
                    let mut bv: [$v; V] = core::array::from_fn(|v| $v::new(b_row[v]));
                    if let Some(w) = ops.w {
                        let wp = $v::splat(w[p]);
                        for x in &mut bv {
                            *x *= wp;
                        }
                    }
                    let a = a_at(p);
                    for r in 0..R {
                        let ar = $v::splat(a[r]);
                        for v in 0..V {
                            acc[r][v] = ar.mul_add(bv[v], acc[r][v]);
                        }
                    }
                }
            }
        }
    };
}

gemm_impl!(f32_gemm, f32, f32x16, 16);
gemm_impl!(f64_gemm, f64, f64x8, 8);
