//! The building blocks of log-domain Sinkhorn, public for solvers built on it.
//!
//! Notation: `C` is `n x m` row-major, `eps > 0`, potentials `f` (n) and `g` (m),
//! plan `P_ij = exp((f_i + g_j - C_ij) / eps)`. With the row log-sum-exps
//! `L_i = LSE_j((g_j - C_ij) / eps)` and the column ones
//! `M_j = LSE_i((f_i - C_ij) / eps)`:
//! - row marginals `(P 1)_i = exp(f_i / eps + L_i)`, column marginals
//!   `(P^T 1)_j = exp(g_j / eps + M_j)`;
//! - the Sinkhorn updates are `f_i = eps (log a_i - L_i)` and
//!   `g_j = eps (log b_j - M_j)`.
//!
//! Each pass over `C` costs `n m` exponentials; everything else is `O(n + m)`.

use crate::sinkhorn::overrelax::blend_potential;
use crate::sinkhorn::{CostRows, SinkhornKernels, tiles};
use crate::{Dense, Error, Exec, Real, Result};

/// `L_i = LSE_j((g_j - C_ij) / eps)` for every row `i`, into `out` (n).
///
/// `g_scaled` (m) is scratch; it receives `g / eps`.
pub fn row_lse<T: Real, P: SinkhornKernels<T>>(
    c: Dense<'_, T>,
    g: &[T],
    eps: T,
    g_scaled: &mut [T],
    out: &mut [T],
) {
    scaled(g, eps, g_scaled);
    let alpha = -eps.recip();
    for (l, row) in out.iter_mut().zip(c.row_iter()) {
        *l = P::lse_affine(alpha, row, g_scaled);
    }
}

/// `M_j = LSE_i((f_i - C_ij) / eps)` for every column `j`, into `max` (m).
///
/// Streams `C` once, row by row, with an online (max, sum) per column; `sum` (m) is
/// scratch.
pub fn col_lse<T: Real, P: SinkhornKernels<T>>(
    c: Dense<'_, T>,
    f: &[T],
    eps: T,
    max: &mut [T],
    sum: &mut [T],
) {
    col_lse_of::<T, P>(c, f, eps, max, sum, &mut []);
}

/// [`col_lse`] on any [`CostRows`]; `buf` holds `c.row_scratch()` values.
fn col_lse_of<T: Real, P: SinkhornKernels<T>>(
    c: impl CostRows<T>,
    f: &[T],
    eps: T,
    max: &mut [T],
    sum: &mut [T],
    buf: &mut [T],
) {
    max.fill(T::neg_infinity());
    sum.fill(T::zero());
    let inv = eps.recip();
    for (i, &fi) in f.iter().enumerate() {
        P::lse_accumulate(-inv, c.cost_row::<P>(i, buf), fi * inv, max, sum);
    }
    for (m, &s) in max.iter_mut().zip(sum.iter()) {
        *m = *m + s.ln();
    }
}

/// Whether a plain sum of exponentials can stand in for its log-sum-exp: finite,
/// and so far above the underflow threshold that terms lost to underflow (each
/// below the smallest normal number) change it by less than a rounding.
pub(crate) fn usable<T: Real>(s: T) -> bool {
    s.is_finite() && s >= T::min_positive_value() / T::epsilon()
}

/// [`row_lse`] using the current `f` as the shift: `L_i = ln r_i - f_i / eps`
/// with the plan's row sums `r_i = sum_j exp((f_i + g_j - C_ij) / eps)`, one pass
/// and one exponential per entry instead of a maximum pass first. Right after a
/// column update every plan entry is at most `b_j`, so `r_i` is representable
/// unless the potentials are far from balanced; rows where it is not usable fall
/// back to the max-shifted form. The results agree with [`row_lse`] to rounding.
pub fn row_lse_shifted<T: Real, P: SinkhornKernels<T>>(
    c: Dense<'_, T>,
    f: &[T],
    g: &[T],
    eps: T,
    g_scaled: &mut [T],
    out: &mut [T],
) {
    scaled(g, eps, g_scaled);
    let inv = eps.recip();
    for ((l, &fi), row) in out.iter_mut().zip(f).zip(c.row_iter()) {
        let shift = fi * inv;
        let r = P::sum_exp_affine(-inv, row, shift, g_scaled);
        *l = if usable(r) {
            r.ln() - shift
        } else {
            P::lse_affine(-inv, row, g_scaled)
        };
    }
}

/// [`col_lse`] using the current `g` as the shift: `M_j = ln s_j - g_j / eps` with
/// the plan's column sums `s_j = sum_i exp((f_i + g_j - C_ij) / eps)`, streaming
/// `C` once with one exponential per entry and no running maximum. Right after a
/// row update every plan entry is at most `a_i`; if any column sum is not usable
/// (far from balanced potentials, e.g. the first steps from a cold start at small
/// eps) the whole pass is redone with [`col_lse`]. `g_scaled` (m) is scratch.
pub fn col_lse_shifted<T: Real, P: SinkhornKernels<T>>(
    c: Dense<'_, T>,
    f: &[T],
    g: &[T],
    eps: T,
    g_scaled: &mut [T],
    max: &mut [T],
    sum: &mut [T],
) {
    scaled(g, eps, g_scaled);
    let inv = eps.recip();
    sum.fill(T::zero());
    for (&fi, row) in f.iter().zip(c.row_iter()) {
        P::exp_affine_accumulate(-inv, row, fi * inv, g_scaled, sum);
    }
    if sum.iter().all(|&s| usable(s)) {
        for ((m, &s), &gs) in max.iter_mut().zip(sum.iter()).zip(g_scaled.iter()) {
            *m = s.ln() - gs;
        }
    } else {
        col_lse::<T, P>(c, f, eps, max, sum);
    }
}

/// Length of the `tiles` scratch [`f_update_fused`] takes for `n x m` (a plan row
/// and partial column sums per row tile but the first). [`Error::Dimension`] if it
/// overflows.
pub fn fused_scratch_len(n: usize, m: usize) -> Result<usize> {
    tiles::scratch_len(n, m, m).ok_or(Error::Dimension)
}

/// [`fused_scratch_len`] for a cost whose rows need `row_scratch` values of scratch
/// and whose passes run in `tiles` row tiles (see [`CostRows`]): a plan row, a cost
/// row and partial column sums per tile but the first.
pub fn fused_scratch_len_of(tiles: usize, m: usize, row_scratch: usize) -> Result<usize> {
    let row = m.checked_add(row_scratch).ok_or(Error::Dimension)?;
    tiles::scratch_len_of(tiles, m, row).ok_or(Error::Dimension)
}

/// The f-update fused with the column sums of the g-update that follows, so that
/// `C` streams from memory once per iteration with one exponential per entry: for
/// each row, the plan row at the current potentials, `E_ij = exp((f_i + g_j -
/// C_ij) / eps)`, goes into `row` while its sum `r_i` accumulates; then `f_new_i =
/// f_i + eps ln(a_i / r_i)` (that is `eps (log a_i - L_i)` with `L_i` as in
/// [`row_lse_shifted`]), and since the plan row at `f_new` is `(a_i / r_i) E_i`,
/// `col_sums += (a_i / r_i) E_i` from cache. Finish the g-update with
/// [`col_lse_from_sums`].
///
/// `exponent` scales the log-sum-exp in the update: `f_new_i = eps (log a_i -
/// exponent L_i)`. It is 1 for balanced transport; unbalanced transport with a KL
/// penalty `reg_m` on the row marginal uses `reg_m / (reg_m + eps)` (then the plan row
/// at `f_new` is `exp((f_new_i - f_i) / eps) E_i`). With 1 the arithmetic is exactly
/// the balanced update's.
///
/// `relax` over-relaxes the update: `f_new_i = f_i + relax (u_i - f_i)` with `u_i`
/// the update above (1: `u_i` itself, with exactly the plain arithmetic).
///
/// The rescaling is used only while it keeps the terms' accuracy: `r_i` usable (see
/// [`row_lse_shifted`]) and `a_i / r_i <= 1 / epsilon`, so that a term that lost
/// bits to underflow in `E` stays within a rounding of the column sums that
/// [`col_lse_from_sums`] accepts. Otherwise that row falls back to the max-shifted
/// row log-sum-exp (if needed) and recomputes its plan row at `f_new` (a second
/// exponential per entry).
///
/// The rows are cut into [`tiles::row_tiles`] tiles run by `exec`: each tile sums its own
/// column sums (and marginal error), and the partial sums are added in tile order, so
/// the result does not depend on the executor.
///
/// The cost comes from `c` (a stored matrix or rows computed on the fly, see
/// [`CostRows`]), in `c.tiles()` row tiles.
///
/// `g_scaled` (m) receives `g / eps` and must stay untouched until then; `row` (`m +
/// c.row_scratch()`) and `tiles` ([`fused_scratch_len_of`]) are scratch. Returns the L1 error of the row
/// marginals at the current `(f, g)` when `measure` (else 0), and whether every
/// `f_new_i` is finite.
#[allow(clippy::too_many_arguments)]
pub fn f_update_fused<T: Real, P: SinkhornKernels<T>>(
    exec: &impl Exec,
    c: impl CostRows<T>,
    f: &[T],
    g: &[T],
    a: &[T],
    log_a: &[T],
    eps: T,
    (exponent, relax): (T, T),
    measure: bool,
    g_scaled: &mut [T],
    f_new: &mut [T],
    col_sums: &mut [T],
    row: &mut [T],
    tiles: &mut [T],
) -> (T, bool) {
    scaled(g, eps, g_scaled);
    let g_scaled = &*g_scaled;
    let ops = c.rows().saturating_mul(c.cols()).saturating_mul(8);
    tiles::run_in(
        exec,
        c.tiles(),
        ops,
        f_new,
        col_sums,
        row,
        tiles,
        |rows, f_new, sums, row| {
            fused_rows::<T, P>(
                c,
                rows,
                f,
                a,
                log_a,
                eps,
                (exponent, relax),
                measure,
                g_scaled,
                f_new,
                sums,
                row,
            )
        },
    )
}

/// [`f_update_fused`] on the rows `rows` of one tile: `f_new` holds their new
/// potentials, `col_sums` (zero) receives their column sums.
#[allow(clippy::too_many_arguments)]
fn fused_rows<T: Real, P: SinkhornKernels<T>>(
    c: impl CostRows<T>,
    rows: core::ops::Range<usize>,
    f: &[T],
    a: &[T],
    log_a: &[T],
    eps: T,
    (exponent, relax): (T, T),
    measure: bool,
    g_scaled: &[T],
    f_new: &mut [T],
    col_sums: &mut [T],
    row: &mut [T],
) -> (T, bool) {
    let inv = eps.recip();
    let max_ratio = T::epsilon().recip();
    let (row, buf) = row.split_at_mut(c.cols());
    let (mut error, mut finite) = (T::zero(), true);
    // The rows that keep their plan row (balanced, `r_i` usable, ratio in range) need
    // `ln r_i` only for `f_new_i`: their sums wait in `sums` (a bit in `deferred`) and
    // take their logarithms in one pass per chunk of rows. The other rows need
    // `f_new_i` at once and take theirs alone (the same value: see
    // `SinkhornKernels::ln_in_place`).
    let mut sums = [T::zero(); LOG_CHUNK];
    let mut start = rows.start;
    while start < rows.end {
        let chunk = start..rows.end.min(start + LOG_CHUNK);
        let mut deferred = 0u64;
        for i in chunk.clone() {
            let (fi, ai, la) = (f[i], a[i], log_a[i]);
            let fn_i = &mut f_new[i - rows.start];
            let c_row = c.cost_row::<P>(i, buf);
            let shift = fi * inv;
            let r = P::exp_affine_sum(-inv, c_row, shift, g_scaled, row);
            let exact = usable(r);
            let ratio = ai / r;
            if measure {
                let marginal = if exact {
                    r
                } else {
                    (shift + P::lse_affine(-inv, c_row, g_scaled)).exp()
                };
                error = error + (marginal - ai).abs();
            }
            let plain = exponent == T::one() && relax == T::one();
            if plain && exact && ratio <= max_ratio {
                P::axpy(ratio, row, col_sums);
                sums[i - start] = r;
                deferred |= 1 << (i - start);
                continue;
            }
            let l = if exact {
                ln_one::<T, P>(r) - shift
            } else {
                P::lse_affine(-inv, c_row, g_scaled)
            };
            let update = eps * (la - exponent * l);
            *fn_i = blend_potential(fi, update, relax);
            let ratio = if plain {
                ratio
            } else {
                ((*fn_i - fi) * inv).exp()
            };
            if exact && ratio <= max_ratio {
                P::axpy(ratio, row, col_sums);
            } else {
                P::exp_affine_accumulate(-inv, c_row, *fn_i * inv, g_scaled, col_sums);
            }
            finite &= fn_i.is_finite();
        }
        let logs = &mut sums[..chunk.len()];
        P::ln_in_place(logs);
        for (k, i) in chunk.clone().enumerate() {
            if deferred & (1 << k) != 0 {
                let fn_i = &mut f_new[i - rows.start];
                *fn_i = eps * (log_a[i] - exponent * (logs[k] - f[i] * inv));
                finite &= fn_i.is_finite();
            }
        }
        start = chunk.end;
    }
    (error, finite)
}

/// Rows per pass of [`SinkhornKernels::ln_in_place`] in [`fused_rows`] (the bits of
/// a `u64`).
const LOG_CHUNK: usize = 64;

/// `ln x` as [`SinkhornKernels::ln_in_place`] computes it.
pub(crate) fn ln_one<T: Real, P: SinkhornKernels<T>>(x: T) -> T {
    let mut v = [x];
    P::ln_in_place(&mut v);
    v[0]
}

/// Column log-sum-exps `M_j` (into `max`) from the sums [`f_update_fused`] left in
/// `sum`, computed with the shift `g_scaled = g / eps`; when a sum is not safely
/// representable, recomputes every `M_j` with [`col_lse`] from `f` (the new one).
/// `buf` holds `c.row_scratch()` values.
pub fn col_lse_from_sums<T: Real, P: SinkhornKernels<T>>(
    c: impl CostRows<T>,
    f: &[T],
    eps: T,
    g_scaled: &[T],
    max: &mut [T],
    sum: &mut [T],
    buf: &mut [T],
) {
    if sum.iter().all(|&s| usable(s)) {
        max.copy_from_slice(sum);
        P::ln_in_place(max);
        for (m, &gs) in max.iter_mut().zip(g_scaled) {
            *m = *m - gs;
        }
    } else {
        col_lse_of::<T, P>(c, f, eps, max, sum, buf);
    }
}

/// The Sinkhorn update from log-sum-exps: `out_k = eps (log w_k - exponent lse_k)`,
/// with `log_w` holding `log w` (`exponent` as in [`f_update_fused`]: 1 for
/// balanced transport). [`Error::Numerical`] (and `out` unspecified) if a result is
/// not finite.
pub fn potential_from_lse<T: Real>(
    eps: T,
    exponent: T,
    log_w: &[T],
    lse: &[T],
    out: &mut [T],
) -> Result<()> {
    let mut finite = true;
    for ((o, &lw), &l) in out.iter_mut().zip(log_w).zip(lse) {
        *o = eps * (lw - exponent * l);
        finite &= o.is_finite();
    }
    if finite {
        Ok(())
    } else {
        Err(Error::Numerical)
    }
}

/// Marginals from log-sum-exps: `out_k = exp(p_k / eps + lse_k)` (row marginals
/// from `f` and `L`, column marginals from `g` and `M`).
pub fn marginals_from_lse<T: Real>(eps: T, p: &[T], lse: &[T], out: &mut [T]) {
    let inv = eps.recip();
    for ((o, &pk), &l) in out.iter_mut().zip(p).zip(lse) {
        *o = (pk * inv + l).exp();
    }
}

/// `sum_k |exp(p_k / eps + lse_k) - w_k|`: the L1 error of one marginal.
pub fn marginal_error<T: Real>(eps: T, p: &[T], lse: &[T], w: &[T]) -> T {
    let inv = eps.recip();
    p.iter()
        .zip(lse)
        .zip(w)
        .fold(T::zero(), |acc, ((&pk, &l), &wk)| {
            acc + ((pk * inv + l).exp() - wk).abs()
        })
}

/// One row of the plan: `out_j = exp((f_i + g_j - C_ij) / eps)`, given
/// `g_scaled = g / eps`.
pub fn plan_row<T: Real, P: SinkhornKernels<T>>(
    c_row: &[T],
    f_i: T,
    g_scaled: &[T],
    eps: T,
    out: &mut [T],
) {
    let inv = eps.recip();
    P::exp_affine(-inv, c_row, f_i * inv, g_scaled, out);
}

/// The transport cost `<P, C>`, accumulated in `f64`, writing the plan into `plan`
/// (n*m, row-major) when given.
///
/// `g_scaled` (m) is scratch and receives `g / eps`; `row` (`m + c.row_scratch()`)
/// is scratch for a plan row when `plan` is `None` and for a computed cost row.
pub fn transport_cost<T: Real, P: SinkhornKernels<T>>(
    c: impl CostRows<T>,
    f: &[T],
    g: &[T],
    eps: T,
    g_scaled: &mut [T],
    mut plan: Option<&mut [T]>,
    row: &mut [T],
) -> f64 {
    scaled(g, eps, g_scaled);
    let m = c.cols();
    if m == 0 {
        return 0.0;
    }
    let g_scaled = &*g_scaled;
    let (row, buf) = row.split_at_mut(m);
    let mut total = 0.0;
    for (i, &fi) in f.iter().enumerate() {
        let c_row = c.cost_row::<P>(i, buf);
        let out = match plan.as_deref_mut() {
            Some(p) => &mut p[i * m..][..m],
            None => &mut *row,
        };
        plan_row::<T, P>(c_row, fi, g_scaled, eps, out);
        total += P::dot(out, c_row).to_f64_lossless();
    }
    total
}

/// `out <- x / eps` (potentials in units of `eps`, as the exponentials take them).
pub fn scaled<T: Real>(x: &[T], eps: T, out: &mut [T]) {
    let inv = eps.recip();
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v * inv;
    }
}
