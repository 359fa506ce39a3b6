//! Small problems of a batch side by side: one problem per vector lane.
//!
//! At small sizes a row of the cost matrix is a few vectors long, and a separate
//! [`run`](super::solve_log::run) per problem spends much of its time around the
//! exponentials: a call and a horizontal sum per row, a logarithm per row and per
//! column, the per-half-step bookkeeping. Here `lanes` problems (the kernels'
//! [`batch_lanes`](SinkhornKernels::batch_lanes)) go through the iteration together,
//! their data interleaved in the workspace (element `k` of problem `p` at
//! `k lanes + p`), so that every vector operation serves `lanes` problems.
//!
//! Each problem stays bit-identical to its own call. The kernels
//! ([`lanes_exp_rows`](SinkhornKernels::lanes_exp_rows),
//! [`lanes_axpy`](SinkhornKernels::lanes_axpy)) repeat a separate call's row
//! arithmetic per lane, logarithms go through the same
//! [`ln_in_place`](SinkhornKernels::ln_in_place), and everything else below is the
//! separate call's scalar code applied lane by lane. Only the common case runs here:
//! one row tile (`n <= MIN_TILE_ROWS`), every row and column sum usable and every
//! plan row rescaled (the balanced update's fast path), finite potentials. A problem
//! that leaves it at any step (a far-from-balanced start at a small `reg`, an
//! overflow) is dropped from the group and solved again from its inputs by the
//! separate call's code, which takes its slow paths and its errors exactly as a
//! separate call would.

use super::log_steps::{marginal_error, transport_cost, usable};
use super::opts::SinkhornOpts;
use super::tiles::MIN_TILE_ROWS;
use super::{LANES_AXPY_ROWS, SinkhornKernels};
use crate::{Dense, Real, Report};

/// The most problems side by side (16 `f32` lanes of a 512-bit vector).
pub(crate) const MAX_LANES: usize = 16;

/// The largest `m` run side by side (bounds the workspace).
const MAX_COLS: usize = 64;

/// Whether problems of `n x m` may run side by side: one row tile, and small
/// enough that [`work_len`] for [`MAX_LANES`] stays near the problems' own size.
pub(crate) fn eligible(n: usize, m: usize) -> bool {
    n <= MIN_TILE_ROWS && m <= MAX_COLS
}

/// Workspace values for `lanes` problems of `n x m` side by side: the interleaved
/// costs (`n m` per lane), `6 + LANES_AXPY_ROWS` `m`-vectors and six `n`-vectors
/// per lane.
pub(crate) fn work_len(n: usize, m: usize, lanes: usize) -> Option<usize> {
    n.checked_mul(m)?
        .checked_add(m.checked_mul(6 + LANES_AXPY_ROWS)?)?
        .checked_add(n.checked_mul(6)?)?
        .checked_mul(lanes)
}

/// `lanes` consecutive problems of a batch: their costs, marginals, potentials (in
/// and out) and plans, each problem's slices as the batch lays them out.
pub(crate) struct Group<'a, T> {
    pub(crate) c: &'a [T],
    pub(crate) a: &'a [T],
    pub(crate) b: &'a [T],
    pub(crate) f: &'a mut [T],
    pub(crate) g: &'a mut [T],
    pub(crate) plan: Option<&'a mut [T]>,
}

/// The interleaved state of a group, carved from the workspace.
struct State<'a, T> {
    /// `C_p[i][j]` at `(i m + j) lanes + p`.
    c: &'a mut [T],
    /// [`LANES_AXPY_ROWS`] plan rows per lane; later the column sums' logarithms.
    row: &'a mut [T],
    col_sums: &'a mut [T],
    g: &'a mut [T],
    g_scaled: &'a mut [T],
    log_b: &'a mut [T],
    b: &'a mut [T],
    f: &'a mut [T],
    /// The row sums, then the candidate `f`.
    f_next: &'a mut [T],
    a: &'a mut [T],
    log_a: &'a mut [T],
    /// `a_i / r_i` of the current pass.
    ratio: &'a mut [T],
}

/// Interleaves `lanes` vectors of `len` (concatenated in `src`) into `dst`.
fn interleave<T: Copy>(lanes: usize, len: usize, src: &[T], dst: &mut [T]) {
    for (p, v) in src.chunks_exact(len).enumerate() {
        for (k, &x) in v.iter().enumerate() {
            dst[k * lanes + p] = x;
        }
    }
}

/// Lane `p` of the interleaved `src` into `dst`.
fn lane<T: Copy>(lanes: usize, p: usize, src: &[T], dst: &mut [T]) {
    for (k, d) in dst.iter_mut().enumerate() {
        *d = src[k * lanes + p];
    }
}

/// The lanes (as bits) of the interleaved `v` where `bad` holds for some element.
fn lanes_where<T: Copy>(lanes: usize, v: &[T], bad: impl Fn(T) -> bool) -> u64 {
    lanes_where2(lanes, v, v, |x, _| bad(x))
}

/// The lanes (as bits) of the interleaved `v` and `w` where `bad` holds for some
/// pair of elements.
fn lanes_where2<T: Copy>(lanes: usize, v: &[T], w: &[T], bad: impl Fn(T, T) -> bool) -> u64 {
    // With the lane count a constant, the check of a whole interleaved vector
    // compiles to vector compares without branches (1.05-1.25x the batch's speed).
    match lanes {
        4 => flagged_lanes(4, v, w, bad),
        8 => flagged_lanes(8, v, w, bad),
        16 => flagged_lanes(16, v, w, bad),
        _ => flagged_lanes(lanes, v, w, bad),
    }
}

/// [`lanes_where2`], one flag per lane or-ed over the vectors.
#[inline(always)]
fn flagged_lanes<T: Copy>(lanes: usize, v: &[T], w: &[T], bad: impl Fn(T, T) -> bool) -> u64 {
    let mut flags = [false; MAX_LANES];
    for (vs, ws) in v.chunks_exact(lanes).zip(w.chunks_exact(lanes)) {
        for (flag, (&x, &y)) in flags.iter_mut().zip(vs.iter().zip(ws)) {
            *flag |= bad(x, y);
        }
    }
    flags
        .iter()
        .enumerate()
        .fold(0, |mask, (p, &flag)| mask | u64::from(flag) << p)
}

/// Solves the group's problems side by side, each as
/// [`sinkhorn_log`](super::sinkhorn_log) would with `opts` (already checked, every
/// problem's values too; `eps` from them). Returns the mask of the problems solved
/// here: their potentials, plans and `reports` are written; the others' are
/// untouched, for the caller to solve one by one. `work` holds [`work_len`] values.
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve<T: Real, P: SinkhornKernels<T>>(
    lanes: usize,
    (n, m): (usize, usize),
    group: Group<'_, T>,
    eps: T,
    opts: &SinkhornOpts,
    work: &mut [T],
    reports: &mut [Report; MAX_LANES],
) -> u64 {
    let (nl, ml) = (n * lanes, m * lanes);
    let (c, rest) = work.split_at_mut(n * ml);
    let (row, rest) = rest.split_at_mut(LANES_AXPY_ROWS * ml);
    let (col_sums, rest) = rest.split_at_mut(ml);
    let (g, rest) = rest.split_at_mut(ml);
    let (g_scaled, rest) = rest.split_at_mut(ml);
    let (log_b, rest) = rest.split_at_mut(ml);
    let (b, rest) = rest.split_at_mut(ml);
    let (f, rest) = rest.split_at_mut(nl);
    let (f_next, rest) = rest.split_at_mut(nl);
    let (a, rest) = rest.split_at_mut(nl);
    let (log_a, rest) = rest.split_at_mut(nl);
    let (ratio, _) = rest.split_at_mut(nl);
    let mut s = State {
        c,
        row,
        col_sums,
        g,
        g_scaled,
        log_b,
        b,
        f,
        f_next,
        a,
        log_a,
        ratio,
    };
    interleave(lanes, n * m, group.c, s.c);
    interleave(lanes, n, group.a, s.a);
    interleave(lanes, m, group.b, s.b);
    interleave(lanes, n, group.f, s.f);
    interleave(lanes, m, group.g, s.g);
    for (l, &w) in s.log_a.iter_mut().zip(s.a.iter()) {
        *l = w.ln();
    }
    for (l, &w) in s.log_b.iter_mut().zip(s.b.iter()) {
        *l = w.ln();
    }
    let all = if lanes >= 64 {
        u64::MAX
    } else {
        (1u64 << lanes) - 1
    };
    // Lanes finished (converged or at the cap) and lanes dropped.
    let (mut done, mut dropped) = (0u64, 0u64);
    let mut first_error = [T::zero(); MAX_LANES];
    let mut second_error = [T::zero(); MAX_LANES];
    let period = opts.period();
    let mut it = 0u32;
    loop {
        // `iterate`'s loop, lane by lane.
        let check = it > 0 && (it >= opts.max_iter || it.is_multiple_of(period));
        // A lane already finished keeps its results whatever its lane computes later.
        dropped |= first::<T, P>(lanes, (n, m), &mut s, eps, check, &mut first_error) & !done;
        if check {
            for p in 0..lanes {
                if (done | dropped) & (1 << p) != 0 {
                    continue;
                }
                let error = (first_error[p] + second_error[p]).to_f64_lossless();
                let converged = error <= opts.tol;
                if converged || it >= opts.max_iter {
                    reports[p] = Report {
                        iterations: it,
                        inner_iterations: 0,
                        error,
                        value: 0.0,
                        converged,
                    };
                    lane(lanes, p, s.f, &mut group.f[p * n..(p + 1) * n]);
                    lane(lanes, p, s.g, &mut group.g[p * m..(p + 1) * m]);
                    done |= 1 << p;
                }
            }
        }
        if (done | dropped) & all == all {
            break;
        }
        s.f.copy_from_slice(s.f_next);
        let next = it + 1;
        let measure = next >= opts.max_iter || next.is_multiple_of(period);
        dropped |= second::<T, P>(lanes, m, &mut s, eps, measure, &mut second_error) & !done;
        it = next;
    }
    finish::<T, P>(lanes, (n, m), group, eps, done, s, reports)
}

/// The f-update fused with the column sums ([`f_update_fused`](super::log_steps::f_update_fused)
/// on its fast path), lane by lane: leaves the candidate `f` in `f_next`, the column
/// sums in `col_sums`, `g / eps` in `g_scaled` and, when `measure`, each lane's row
/// marginal error in `error`. Returns the lanes that left the fast path.
fn first<T: Real, P: SinkhornKernels<T>>(
    lanes: usize,
    (n, m): (usize, usize),
    s: &mut State<'_, T>,
    eps: T,
    measure: bool,
    error: &mut [T; MAX_LANES],
) -> u64 {
    let inv = eps.recip();
    let max_ratio = T::epsilon().recip();
    let ml = m * lanes;
    for (gs, &gv) in s.g_scaled.iter_mut().zip(s.g.iter()) {
        *gs = gv * inv;
    }
    s.col_sums.fill(T::zero());
    // [`LANES_AXPY_ROWS`] rows at a time: their plan rows gather in `row` and go
    // into the column sums together; the row sums go to `f_next`, `a_i / r_i` to
    // `ratio`.
    let mut shift = [T::zero(); LANES_AXPY_ROWS * MAX_LANES];
    for first_row in (0..n).step_by(LANES_AXPY_ROWS) {
        let rows = first_row..n.min(first_row + LANES_AXPY_ROWS);
        let lanes_of_rows = rows.start * lanes..rows.end * lanes;
        for (sh, &fv) in shift.iter_mut().zip(&s.f[lanes_of_rows.clone()]) {
            *sh = fv * inv;
        }
        let plan_rows = &mut s.row[..rows.len() * ml];
        let ran = P::lanes_exp_rows(
            lanes,
            -inv,
            &s.c[rows.start * ml..rows.end * ml],
            &shift[..lanes_of_rows.len()],
            s.g_scaled,
            &s.a[lanes_of_rows.clone()],
            plan_rows,
            &mut s.f_next[lanes_of_rows.clone()],
            &mut s.ratio[lanes_of_rows.clone()],
        );
        if !ran || !P::lanes_axpy(&s.ratio[lanes_of_rows], plan_rows, s.col_sums) {
            return u64::MAX;
        }
    }
    let dropped = lanes_where2(lanes, s.f_next, s.ratio, |r, ratio| {
        !(usable(r) & (ratio <= max_ratio))
    });
    if measure {
        // Row by row from zero, then the tiles' errors folded from zero, as
        // `fused_rows` and `tiles::run` do.
        let mut errors = [T::zero(); MAX_LANES];
        for (sums, a) in s.f_next.chunks_exact(lanes).zip(s.a.chunks_exact(lanes)) {
            for ((e, &r), &ai) in errors.iter_mut().zip(sums).zip(a) {
                *e = *e + (r - ai).abs();
            }
        }
        for (e, &te) in error.iter_mut().zip(&errors[..lanes]) {
            *e = T::zero() + te;
        }
    }
    P::ln_in_place(s.f_next);
    for ((fnew, &fv), &la) in s.f_next.iter_mut().zip(s.f.iter()).zip(s.log_a.iter()) {
        let l = *fnew - fv * inv;
        *fnew = eps * (la - T::one() * l);
    }
    dropped | lanes_where(lanes, s.f_next, |v| !v.is_finite())
}

/// The g-update from the column sums ([`col_lse_from_sums`](super::log_steps::col_lse_from_sums)
/// on its fast path, then [`potential_from_lse`](super::log_steps::potential_from_lse)),
/// lane by lane, and, when `measure`, each lane's column marginal error (else zero).
/// Returns the lanes that left the fast path.
fn second<T: Real, P: SinkhornKernels<T>>(
    lanes: usize,
    m: usize,
    s: &mut State<'_, T>,
    eps: T,
    measure: bool,
    error: &mut [T; MAX_LANES],
) -> u64 {
    let mut dropped = lanes_where(lanes, s.col_sums, |v| !usable(v));
    // `row` holds the column log-sum-exps `M` from here.
    let mlog = &mut s.row[..s.col_sums.len()];
    mlog.copy_from_slice(s.col_sums);
    P::ln_in_place(mlog);
    for (mx, &gs) in mlog.iter_mut().zip(s.g_scaled.iter()) {
        *mx = *mx - gs;
    }
    for ((gv, &lb), &mx) in s.g.iter_mut().zip(s.log_b.iter()).zip(s.row.iter()) {
        *gv = eps * (lb - T::one() * mx);
    }
    dropped |= lanes_where(lanes, s.g, |v| !v.is_finite());
    let mut gp = [T::zero(); MAX_COLS];
    let mut mp = [T::zero(); MAX_COLS];
    let mut bp = [T::zero(); MAX_COLS];
    for (p, e) in error.iter_mut().enumerate().take(lanes) {
        *e = if measure {
            lane(lanes, p, s.g, &mut gp[..m]);
            lane(lanes, p, s.row, &mut mp[..m]);
            lane(lanes, p, s.b, &mut bp[..m]);
            marginal_error(eps, &gp[..m], &mp[..m], &bp[..m])
        } else {
            T::zero()
        };
    }
    dropped
}

/// The transport cost and plan of each lane in `solved` (its `f`, `g` already in
/// the group), as [`run`](super::solve_log::run) ends. Returns `solved`.
fn finish<T: Real, P: SinkhornKernels<T>>(
    lanes: usize,
    (n, m): (usize, usize),
    group: Group<'_, T>,
    eps: T,
    solved: u64,
    s: State<'_, T>,
    reports: &mut [Report; MAX_LANES],
) -> u64 {
    let nm = n * m;
    let (g_scaled, row) = (&mut s.g_scaled[..m], &mut s.row[..m]);
    let mut plans = group.plan.map(|p| p.chunks_exact_mut(nm));
    for (p, report) in reports.iter_mut().enumerate().take(lanes) {
        let plan = plans.as_mut().and_then(Iterator::next);
        if solved & (1 << p) == 0 {
            continue;
        }
        let Ok(c) = Dense::new(&group.c[p * nm..(p + 1) * nm], n, m) else {
            continue;
        };
        let (f, g) = (&group.f[p * n..(p + 1) * n], &group.g[p * m..(p + 1) * m]);
        report.value = transport_cost::<T, P>(c, f, g, eps, g_scaled, plan, row);
    }
    solved
}
