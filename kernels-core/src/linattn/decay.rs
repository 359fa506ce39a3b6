//! How the state decays from one token to the next: not at all, by a constant per
//! head, or by a gate per head and token.
//!
//! A constant decay `g` is the gate `ln g` at every token, but the two are kept apart:
//! the constant form's weights are powers `g^n` that depend only on distances, so a
//! head computes them once (no exponential per entry), while a gated chunk builds its
//! weights from the cumulative log gates of its own tokens.

use super::power;
use super::powers::scaled_power;
use crate::{Error, Real, Result, check_finite, checked_product};
use num_traits::Float;

/// How the state decays between tokens.
#[derive(Clone, Copy, Debug, Default)]
pub enum Decay<'a, T> {
    /// No decay: plain linear attention, `S_t = S_{t-1} + k_t^T v_t`.
    #[default]
    None,
    /// A constant decay per head in `(0, 1]`, `[n_heads]` (RetNet, Lightning
    /// Attention): `S_t = g S_{t-1} + k_t^T v_t`.
    Heads(&'a [T]),
    /// A log gate per head and token, `g[h][t] <= 0`, `[n_heads][len]` (simple GLA,
    /// Mamba-2): `S_t = exp(g_t) S_{t-1} + k_t^T v_t`.
    Gates(&'a [T]),
}

impl<'a, T> From<Option<&'a [T]>> for Decay<'a, T> {
    /// `Some(decay)` is a constant decay per head; `None` is no decay.
    fn from(decay: Option<&'a [T]>) -> Self {
        decay.map_or(Decay::None, Decay::Heads)
    }
}

impl<'a, T: Real> Decay<'a, T> {
    /// Checks the decay of `n_heads` heads over `len` tokens: [`Error::Dimension`]
    /// for a wrong length, [`Error::NonFinite`] for NaN or infinity,
    /// [`Error::Argument`] for a constant outside `(0, 1]` or a positive gate.
    pub fn check(&self, n_heads: usize, len: usize) -> Result<()> {
        let (values, in_range): (&[T], fn(T) -> bool) = match *self {
            Decay::None => return Ok(()),
            Decay::Heads(d) if d.len() == n_heads => (d, |g| g > T::zero() && g <= T::one()),
            Decay::Gates(g) if g.len() == checked_product(&[n_heads, len])? => {
                (g, |g| g <= T::zero())
            }
            _ => return Err(Error::Dimension),
        };
        check_finite(values)?;
        if values.iter().all(|&g| in_range(g)) {
            Ok(())
        } else {
            Err(Error::Argument)
        }
    }

    /// Whether the decay varies from token to token.
    pub fn is_gated(&self) -> bool {
        matches!(self, Decay::Gates(_))
    }

    /// Head `h`'s decay over tokens `[t0, t0 + len)` of sequences `stride` tokens long.
    pub(crate) fn head(&self, h: usize, stride: usize, t0: usize, len: usize) -> HeadDecay<'a, T> {
        match *self {
            Decay::None => HeadDecay::Constant(T::one()),
            Decay::Heads(d) => HeadDecay::Constant(d[h]),
            Decay::Gates(g) => {
                let at = h * stride + t0;
                HeadDecay::Gates(&g[at..at + len])
            }
        }
    }
}

/// One head's decay over a run of tokens.
#[derive(Clone, Copy, Debug)]
pub(crate) enum HeadDecay<'a, T> {
    /// The same factor at every token (1: no decay).
    Constant(T),
    /// The log gate of each token of the run.
    Gates(&'a [T]),
}

impl<'a, T: Real> HeadDecay<'a, T> {
    /// The same decay over `len` tokens from token `t0` of the run.
    pub(crate) fn part(&self, t0: usize, len: usize) -> Self {
        match *self {
            HeadDecay::Constant(g) => HeadDecay::Constant(g),
            HeadDecay::Gates(g) => HeadDecay::Gates(&g[t0..t0 + len]),
        }
    }

    /// Whether the factors vary from token to token.
    pub(crate) fn is_gated(&self) -> bool {
        matches!(self, HeadDecay::Gates(_))
    }

    /// Whether every factor is 1 (nothing to multiply).
    pub(crate) fn is_one(&self) -> bool {
        matches!(*self, HeadDecay::Constant(g) if g == T::one())
    }

    /// The factor token `t` applies to the state before it: `g` or `exp(g_t)`.
    pub(crate) fn factor(&self, t: usize) -> T {
        match *self {
            HeadDecay::Constant(g) => g,
            HeadDecay::Gates(g) => T::of(Float::exp(g[t].to_f64_lossless())),
        }
    }

    /// The log of the decay over the first `len` tokens: `len ln g` or the sum of the
    /// gates, summed in `f64`.
    pub(crate) fn log_total(&self, len: usize) -> f64 {
        match *self {
            HeadDecay::Constant(g) => len as f64 * Float::ln(g.to_f64_lossless()),
            HeadDecay::Gates(g) => g[..len].iter().map(|x| x.to_f64_lossless()).sum(),
        }
    }

    /// The decay over the first `len` tokens: `g^len` ([`power`]) or the exponential
    /// of the gates' sum, rounded once and flushed to zero below the smallest normal
    /// number, as `power` does.
    pub(crate) fn total(&self, len: usize) -> T {
        match *self {
            HeadDecay::Constant(g) => power(g, len),
            HeadDecay::Gates(_) => flushed(Float::exp(self.log_total(len))),
        }
    }

    /// `out[i] = factor *` the decay through token `i` inclusive, for the first
    /// `out.len()` tokens: `factor g^(i+1)`, or `factor exp(cum[i])` from the
    /// [`cumulative`](Self::cumulative) log gates of the same tokens.
    pub(crate) fn through(&self, factor: T, cum: &[f64], out: &mut [T]) {
        match *self {
            HeadDecay::Constant(g) => {
                for (i, x) in out.iter_mut().enumerate() {
                    *x = scaled_power(factor, g, i + 1);
                }
            }
            HeadDecay::Gates(_) => {
                let f = factor.to_f64_lossless();
                for (x, &c) in out.iter_mut().zip(cum) {
                    *x = flushed(f * Float::exp(c));
                }
            }
        }
    }

    /// `w[j]` = the decay after token `j` to the end of the first `n = w.len()`
    /// tokens: `g^(n-1-j)`, or `exp(cum[n-1] - cum[j])` from the
    /// [`cumulative`](Self::cumulative) log gates of the same tokens. These weight
    /// the tokens' contributions to the state at the end of the run.
    pub(crate) fn after(&self, cum: &[f64], w: &mut [T]) {
        let n = w.len();
        match *self {
            HeadDecay::Constant(g) => {
                for (j, x) in w.iter_mut().enumerate() {
                    *x = power(g, n - 1 - j);
                }
            }
            HeadDecay::Gates(_) => {
                let Some(&last) = cum[..n].last() else { return };
                for (x, &c) in w.iter_mut().zip(cum) {
                    *x = flushed(Float::exp(last - c));
                }
            }
        }
    }

    /// The inclusive cumulative log gates `cum[i] = sum_{t <= i} g_t` of the first
    /// `cum.len()` tokens, in `f64`: the differences `cum[i] - cum[j]` are the log
    /// weights inside a chunk, never a large positive exponent. Constant decays have
    /// no gates (`cum` is left as it is).
    pub(crate) fn cumulative(&self, cum: &mut [f64]) {
        if let HeadDecay::Gates(g) = *self {
            let mut acc = 0.0;
            for (c, x) in cum.iter_mut().zip(g) {
                acc += x.to_f64_lossless();
                *c = acc;
            }
        }
    }
}

/// `x` rounded to `T`, flushed to zero below `T`'s smallest normal number (the terms
/// such a weight multiplies are below any meaningful tolerance, and subnormal
/// arithmetic is slow).
pub(crate) fn flushed<T: Real>(x: f64) -> T {
    let r = T::of(x);
    if r.abs() < T::min_positive_value() {
        T::zero()
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_follow_the_documented_order() {
        let gates = [-0.5f32, 0.0, -30.0, -1.0];
        assert!(Decay::Gates(&gates[..]).check(2, 2).is_ok());
        assert_eq!(Decay::Gates(&gates[..]).check(2, 3), Err(Error::Dimension));
        assert_eq!(
            Decay::Gates(&[-1.0f32, 0.5][..]).check(1, 2),
            Err(Error::Argument)
        );
        assert_eq!(
            Decay::Gates(&[-1.0f32, f32::NEG_INFINITY][..]).check(1, 2),
            Err(Error::NonFinite)
        );
        assert_eq!(
            Decay::Heads(&[1.5f32][..]).check(1, 9),
            Err(Error::Argument)
        );
        assert!(Decay::<f32>::None.check(3, 3).is_ok());
    }

    #[test]
    fn gates_and_constants_agree_on_totals() {
        let g = 0.9f64;
        let gates = [g.ln(); 10];
        let (c, d) = (HeadDecay::Constant(g), HeadDecay::Gates(&gates[..]));
        assert!((c.total(10) - d.total(10)).abs() <= 1e-15);
        assert!((c.log_total(10) - d.log_total(10)).abs() <= 1e-14);
        let mut cum = [0.0; 4];
        HeadDecay::Gates(&[-1.0f64, -2.0, -0.5, 0.0][..]).cumulative(&mut cum);
        assert_eq!(cum, [-1.0, -3.0, -3.5, -3.5]);
        assert_eq!(HeadDecay::Gates(&[-800.0f64][..]).total(1), 0.0);
    }
}
