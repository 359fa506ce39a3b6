//! Log-domain Sinkhorn at kernel-mode cost by absorption (B. Schmitzer, "Stabilized
//! sparse scaling algorithms for entropy regularized transport problems", SIAM J.
//! Sci. Comput. 2019).
//!
//! The iterate is the potentials `f`, `g` with scalings `u`, `v` on the stabilised
//! kernel `Kt_ij = exp((f_i + g_j - C_ij) / eps)`, kept in the caller's plan buffer:
//! the plan is `diag(u) Kt diag(v)`, the log-domain potentials are `f + eps ln u`,
//! `g + eps ln v`, and an iteration updates `u`, `v` as kernel mode does (one fused
//! pass over `Kt`, no exponential). When a scaling leaves `[1 / B, B]` ([`bound`]) it is
//! absorbed into the potentials and `Kt` is rebuilt (one exponential per entry);
//! near convergence that is rare. In exact arithmetic the iterates are those of the
//! log-domain half-steps, which run instead whenever the kernel is not valid: the
//! first iteration (so that `Kt` is built from potentials one log iteration has
//! balanced, not from a cold start whose `exp(-C / eps)` may underflow), and any
//! step where a sum over `Kt` is too small to be accurate.

use super::driver::HostSteps;
use super::log_steps::{plan_row, scaled, transport_cost};
use super::overrelax::blend_scaling;
use super::scale::divide_rows_then_transpose;
use super::solve_log::LogSteps;
use super::{SinkhornKernels, tiles};
use crate::{Dense, Error, Exec, Real, Result};

/// A scaling outside `[1 / B, B]` is absorbed, with `B = 1 / epsilon` of `T` (2^52 in
/// f64, 2^23 in f32). The entries of `Kt` that matter to the plan at rounding level
/// (`P_ij >= epsilon max P`, and `max P >= 1 / (n m)`) are then at least `epsilon /
/// (n m B^2)`: 2^-196 in f64 and 2^-109 in f32 for any `n m <= 2^40`, normal numbers
/// in both types, so the bound costs no accuracy. POT's `sinkhorn_stabilized` absorbs
/// at 1e3, which at small `reg` rebuilds the kernel (one exponential per entry) every
/// few iterations while the potentials travel from a cold start: on a 64 x 64 grid
/// at `reg = 1e-3` (f64) 28 rebuilds in 450 iterations, against 7 at `1 / epsilon`.
fn bound<T: Real>() -> T {
    T::epsilon().recip()
}

/// The absorption half-steps over the log-domain ones: `u` from `v` (rows, fused
/// with `Kt^T u`), then `v` from `Kt^T u` (columns).
pub(super) struct AbsorbSteps<'a, T, P, E> {
    /// The log-domain half-steps over `f`, `g`; their scratch serves the kernel
    /// steps too (`f_next`: the candidate `u`, `col_sum`: `Kt^T u`, `tiles`: the row
    /// tiles' partial sums).
    log: LogSteps<'a, T, P, E, Dense<'a, T>>,
    /// `Kt` (n x m, row-major): the caller's plan buffer.
    kt: &'a mut [T],
    u: &'a mut [T],
    v: &'a mut [T],
    /// Whether `Kt` is built from the current `f`, `g` (else the log steps run).
    kernel: bool,
    /// Whether the last [`HostSteps::first`] ran on the kernel.
    kernel_step: bool,
}

impl<'a, T: Real, P: SinkhornKernels<T>, E: Exec> AbsorbSteps<'a, T, P, E> {
    /// Starts with the log-domain half-steps (no kernel yet).
    pub(super) fn new(
        log: LogSteps<'a, T, P, E, Dense<'a, T>>,
        kt: &'a mut [T],
        u: &'a mut [T],
        v: &'a mut [T],
    ) -> Self {
        u.fill(T::one());
        v.fill(T::one());
        AbsorbSteps {
            log,
            kt,
            u,
            v,
            kernel: false,
            kernel_step: false,
        }
    }

    /// `f += eps ln u`, `g += eps ln v`, then `u = v = 1`: the same iterate.
    /// [`Error::Numerical`] with nothing changed if a potential would not be finite,
    /// so that `f`, `g` keep the last finite iterate absorbed.
    fn absorb(&mut self) -> Result<()> {
        let eps = self.log.eps;
        let finite = |p: &[T], s: &[T]| {
            p.iter()
                .zip(s)
                .all(|(&p, &s)| (p + eps * s.ln()).is_finite())
        };
        if !finite(self.log.f, self.u) || !finite(self.log.g, self.v) {
            return Err(Error::Numerical);
        }
        let pairs = self.log.f.iter_mut().zip(self.u.iter_mut());
        for (p, s) in pairs.chain(self.log.g.iter_mut().zip(self.v.iter_mut())) {
            *p = *p + eps * s.ln();
            *s = T::one();
        }
        Ok(())
    }

    /// `Kt` from the current `f`, `g` (one exponential per entry), in row tiles
    /// through the executor.
    fn rebuild(&mut self) {
        let l = &mut self.log;
        let (c, eps) = (l.c, l.eps);
        let (n, m) = (c.rows(), c.cols());
        scaled(l.g, eps, l.g_scaled);
        let (f, g_scaled) = (&*l.f, &*l.g_scaled);
        let rows = n.div_ceil(tiles::row_tiles(n)).max(1);
        let ops = n.saturating_mul(m).saturating_mul(16);
        let built = l
            .exec
            .for_each(ops, self.kt.chunks_mut(rows * m), |t, block| {
                for (r, out) in block.chunks_exact_mut(m).enumerate() {
                    let i = t * rows + r;
                    plan_row::<T, P>(c.row(i), f[i], g_scaled, eps, out);
                }
                Ok(())
            });
        debug_assert!(built.is_ok(), "the tiles do not fail");
        self.kernel = true;
    }

    /// Leaves the kernel: the potentials take the scalings, the log steps run next.
    fn leave(&mut self) -> Result<()> {
        self.absorb()?;
        self.kernel = false;
        Ok(())
    }

    /// Writes the plan at the current iterate into the plan buffer, leaves the
    /// log-domain potentials in `f`, `g`, and returns the transport cost `<P, C>`.
    pub(super) fn finish(mut self) -> Result<f64> {
        let c = self.log.c;
        if !self.kernel {
            let l = self.log;
            return Ok(transport_cost::<T, P>(
                c,
                l.f,
                l.g,
                l.eps,
                l.g_scaled,
                Some(self.kt),
                l.row,
            ));
        }
        let m = c.cols();
        let mut value = 0.0;
        for ((row, &ui), c_row) in self
            .kt
            .chunks_exact_mut(m)
            .zip(self.u.iter())
            .zip(c.row_iter())
        {
            for (p, &vj) in row.iter_mut().zip(self.v.iter()) {
                *p = *p * ui * vj;
            }
            value += P::dot(row, c_row).to_f64_lossless();
        }
        self.absorb()?;
        Ok(value)
    }
}

/// The smallest sum over `Kt` used as is: far enough above underflow that the
/// terms lost to it change the sum by less than a rounding.
fn floor<T: Real>() -> T {
    T::min_positive_value() / T::epsilon()
}

/// Whether every scaling is within `[1 / B, B]` (see [`bound`]).
fn bounded<T: Real>(s: &[T]) -> bool {
    let (hi, lo) = (bound::<T>(), T::epsilon());
    s.iter().all(|&x| x <= hi && x >= lo)
}

impl<T: Real, P: SinkhornKernels<T>, E: Exec> HostSteps<T> for AbsorbSteps<'_, T, P, E> {
    fn first(&mut self, measure: bool) -> Result<T> {
        if self.kernel {
            let l = &mut self.log;
            let (n, m) = (l.c.rows(), l.c.cols());
            let kt = Dense::new(&*self.kt, n, m)?;
            // The fused pass's scratch is the head of the log steps' (a plan row
            // and partial sums per tile).
            let partial = tiles::scratch_len(n, m, 0)
                .and_then(|len| l.tiles.get_mut(..len))
                .unwrap_or_default();
            let rows = divide_rows_then_transpose::<T, P>(
                l.exec,
                kt,
                self.v,
                l.a,
                Some(self.u),
                l.relax,
                floor(),
                l.f_next,
                l.col_sum,
                partial,
            );
            if let Ok(error) = rows {
                self.kernel_step = true;
                return Ok(error);
            }
            // A row sum too small to trust: this step runs in the log domain.
            self.leave()?;
        }
        self.kernel_step = false;
        self.log.first(measure)
    }

    fn apply_first(&mut self) {
        if self.kernel_step {
            self.u.copy_from_slice(self.log.f_next);
        } else {
            self.log.apply_first();
        }
    }

    fn second(&mut self, measure: bool) -> Result<T> {
        let sums = &*self.log.col_sum;
        if self.kernel_step && sums.iter().all(|&s| s.is_finite() && s >= floor()) {
            let (mut error, relax) = (T::zero(), self.log.relax);
            for ((vj, &s), &bj) in self.v.iter_mut().zip(sums).zip(self.log.b) {
                *vj = blend_scaling(*vj, bj / s, relax);
                error = error + (*vj * s - bj).abs();
            }
            if !bounded(self.u) || !bounded(self.v) {
                self.absorb()?;
                self.rebuild();
            }
            return Ok(error);
        }
        if self.kernel_step {
            // A column sum too small to trust: the g-update in the log domain from
            // the new f. No zero sum is usable, so the log step recomputes every
            // column's log-sum-exp from f with its running maximum.
            self.leave()?;
            self.log.col_sum.fill(T::zero());
        }
        let error = self.log.second(measure)?;
        self.rebuild();
        self.u.fill(T::one());
        self.v.fill(T::one());
        Ok(error)
    }

    fn relax(&mut self, omega: T) -> Result<()> {
        self.log.relax(omega)
    }
}
