//! The plain scalar implementation of [`Primitives`]: the reference every faster
//! implementation is tested against, and the fallback on any target.

use crate::sor::{rb_len, rb_point};
use crate::{Dense, Primitives, Real, Strided, StridedMut};

/// Scalar primitives: one element at a time, summing left to right.
///
/// Products and sums are separate roundings (no `mul_add`): without a hardware FMA
/// `mul_add` becomes a slow software call, and this is the loop a C programmer would
/// write, which makes it the honest baseline for speedups.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scalar;

impl<T: Real> Primitives<T> for Scalar {
    fn name() -> &'static str {
        "scalar"
    }

    fn dot(x: &[T], y: &[T]) -> T {
        debug_assert_eq!(x.len(), y.len());
        x.iter().zip(y).fold(T::zero(), |acc, (&a, &b)| acc + a * b)
    }

    fn axpy(a: T, x: &[T], y: &mut [T]) {
        debug_assert_eq!(x.len(), y.len());
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = *yi + a * xi;
        }
    }

    fn scale(a: T, x: &mut [T]) {
        for xi in x {
            *xi = *xi * a;
        }
    }

    fn sum(x: &[T]) -> T {
        x.iter().fold(T::zero(), |acc, &v| acc + v)
    }

    fn max(x: &[T]) -> T {
        x.iter()
            .fold(T::neg_infinity(), |m, &v| if v > m { v } else { m })
    }

    fn lse(x: &[T]) -> T {
        let m = <Scalar as Primitives<T>>::max(x);
        if !m.is_finite() {
            // All -inf (or empty): -inf. Some +inf: +inf. Shifting would give NaN.
            return m;
        }
        let s = x.iter().fold(T::zero(), |acc, &v| acc + (v - m).exp());
        m + s.ln()
    }

    fn lse_accumulate(alpha: T, x: &[T], beta: T, max: &mut [T], sum: &mut [T]) {
        debug_assert!(x.len() == max.len() && x.len() == sum.len());
        for ((&xj, m), s) in x.iter().zip(max.iter_mut()).zip(sum.iter_mut()) {
            let v = alpha * xj + beta;
            if v > *m {
                // New maximum: rescale the old sum to it; the new term is exp(0) = 1.
                *s = *s * (*m - v).exp() + T::one();
                *m = v;
            } else if v > T::neg_infinity() {
                *s = *s + (v - *m).exp();
            }
        }
    }

    fn gemv(a: Dense<'_, T>, x: &[T], y: &mut [T]) {
        debug_assert!(x.len() == a.cols() && y.len() == a.rows());
        for (yi, row) in y.iter_mut().zip(a.row_iter()) {
            *yi = <Scalar as Primitives<T>>::dot(row, x);
        }
    }

    fn gemv_t(a: Dense<'_, T>, x: &[T], y: &mut [T]) {
        debug_assert!(x.len() == a.rows() && y.len() == a.cols());
        y.fill(T::zero());
        for (&xi, row) in x.iter().zip(a.row_iter()) {
            <Scalar as Primitives<T>>::axpy(xi, row, y);
        }
    }

    // h2o primitives

    fn exp_shift(shift: T, x: &mut [T]) -> T {
        x.iter_mut().fold(T::zero(), |acc, xi| {
            *xi = (*xi - shift).exp();
            acc + *xi
        })
    }

    // sinkhorn primitives

    fn lse_affine(alpha: T, x: &[T], y: &[T]) -> T {
        debug_assert_eq!(x.len(), y.len());
        let term = |(&xj, &yj): (&T, &T)| alpha * xj + yj;
        let m = x
            .iter()
            .zip(y)
            .map(term)
            .fold(T::neg_infinity(), |m, v| if v > m { v } else { m });
        if !m.is_finite() {
            return m;
        }
        let s = x
            .iter()
            .zip(y)
            .map(term)
            .fold(T::zero(), |acc, v| acc + (v - m).exp());
        m + s.ln()
    }

    fn exp_affine(alpha: T, x: &[T], beta: T, y: &[T], out: &mut [T]) {
        debug_assert!(x.len() == y.len() && x.len() == out.len());
        for ((o, &xj), &yj) in out.iter_mut().zip(x).zip(y) {
            *o = (alpha * xj + yj + beta).exp();
        }
    }

    fn sum_exp_affine(alpha: T, x: &[T], beta: T, y: &[T]) -> T {
        debug_assert_eq!(x.len(), y.len());
        x.iter().zip(y).fold(T::zero(), |acc, (&xj, &yj)| {
            acc + (alpha * xj + yj + beta).exp()
        })
    }

    fn exp_affine_accumulate(alpha: T, x: &[T], beta: T, y: &[T], sum: &mut [T]) {
        debug_assert!(x.len() == y.len() && x.len() == sum.len());
        for ((s, &xj), &yj) in sum.iter_mut().zip(x).zip(y) {
            *s = *s + (alpha * xj + yj + beta).exp();
        }
    }

    // linattn primitives

    fn gemm(
        alpha: T,
        a: Strided<'_, T>,
        w: Option<&[T]>,
        b: Strided<'_, T>,
        mut c: StridedMut<'_, T>,
    ) {
        let (m, n, k) = crate::product_dims(&a, w, &b, &c);
        for i in 0..m {
            for p in 0..k {
                let weight = w.map_or(T::one(), |w| w[p]);
                let aip = alpha * *a.at(i, p) * weight;
                for j in 0..n {
                    let cij = c.at_mut(i, j);
                    *cij = *cij + aip * *b.at(p, j);
                }
            }
        }
    }

    // sor primitives

    #[inline]
    fn csr_row_split(cols: &[u32], vals: &[T], x: &[T], diag: usize, recent: usize) -> (T, T, T) {
        debug_assert_eq!(cols.len(), vals.len());
        let (mut off, mut d, mut r) = (T::zero(), T::zero(), T::zero());
        for (&c, &v) in cols.iter().zip(vals) {
            let c = c as usize;
            if c == diag {
                d = v;
            } else if c == recent {
                r = v;
            } else if let Some(&xc) = x.get(c) {
                off = off + v * xc;
            }
        }
        (off, d, r)
    }

    fn rb_row(
        parity: usize,
        keep: T,
        gain: T,
        b: &[T],
        up: Option<&[T]>,
        down: Option<&[T]>,
        row: &mut [T],
    ) {
        let n = rb_len(b, up, down, row);
        let at = |s: Option<&[T]>, j: usize| s.and_then(|s| s.get(j)).copied().unwrap_or(T::zero());
        let mut j = parity;
        while j < n {
            let l = if j > 0 { row[j - 1] } else { T::zero() };
            let r = if j + 1 < n { row[j + 1] } else { T::zero() };
            row[j] = rb_point(keep, gain, row[j], l, r, at(up, j), at(down, j), b[j]);
            j += 2;
        }
    }

    // sinkhorn primitives (one-pass iterations)

    fn exp_affine_sum(alpha: T, x: &[T], beta: T, y: &[T], out: &mut [T]) -> T {
        debug_assert!(x.len() == y.len() && x.len() == out.len());
        out.iter_mut()
            .zip(x)
            .zip(y)
            .fold(T::zero(), |acc, ((o, &xj), &yj)| {
                *o = (alpha * xj + yj + beta).exp();
                acc + *o
            })
    }

    fn dot_axpy(x: &[T], v: &[T], a: T, w: &[T], y: &mut [T]) -> T {
        debug_assert!(x.len() == v.len() && x.len() == w.len() && x.len() == y.len());
        <Scalar as Primitives<T>>::axpy(a, w, y);
        <Scalar as Primitives<T>>::dot(x, v)
    }

    // cg primitives

    fn csr_dot(cols: &[u32], vals: &[T], x: &[T]) -> T {
        debug_assert_eq!(cols.len(), vals.len());
        cols.iter()
            .zip(vals)
            .fold(T::zero(), |acc, (&c, &v)| match x.get(c as usize) {
                Some(&xc) => acc + v * xc,
                None => acc,
            })
    }

    fn cg_update(alpha: T, p: &[T], q: &[T], x: &mut [T], r: &mut [T]) -> T {
        debug_assert!(p.len() == q.len() && p.len() == x.len() && p.len() == r.len());
        let mut rr = T::zero();
        for (((&pi, &qi), xi), ri) in p.iter().zip(q).zip(x.iter_mut()).zip(r.iter_mut()) {
            *xi = *xi + alpha * pi;
            *ri = *ri - alpha * qi;
            rr = rr + *ri * *ri;
        }
        rr
    }

    fn mul_dot(d: &[T], r: &[T], z: &mut [T]) -> T {
        debug_assert!(d.len() == r.len() && d.len() == z.len());
        let mut rz = T::zero();
        for ((&di, &ri), zi) in d.iter().zip(r).zip(z.iter_mut()) {
            *zi = di * ri;
            rz = rz + ri * *zi;
        }
        rz
    }

    fn xpby(z: &[T], beta: T, p: &mut [T]) {
        debug_assert_eq!(z.len(), p.len());
        for (&zi, pi) in z.iter().zip(p.iter_mut()) {
            *pi = zi + beta * *pi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type S = Scalar;

    #[test]
    fn small_closed_forms() {
        let x = [1.0f64, 2.0, 3.0];
        let y = [4.0f64, -5.0, 6.0];
        assert_eq!(<S as Primitives<f64>>::dot(&x, &y), 12.0);
        assert_eq!(<S as Primitives<f64>>::sum(&x), 6.0);
        assert_eq!(<S as Primitives<f64>>::max(&y), 6.0);
        assert_eq!(<S as Primitives<f64>>::max(&[]), f64::NEG_INFINITY);
        let mut z = y;
        <S as Primitives<f64>>::axpy(2.0, &x, &mut z);
        assert_eq!(z, [6.0, -1.0, 12.0]);
        <S as Primitives<f64>>::scale(0.5, &mut z);
        assert_eq!(z, [3.0, -0.5, 6.0]);
    }

    #[test]
    fn lse_is_stable_and_handles_infinities() {
        let lse = <S as Primitives<f64>>::lse;
        assert!((lse(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!((lse(&[-1000.0, -1000.0]) - (-1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(lse(&[]), f64::NEG_INFINITY);
        assert_eq!(lse(&[f64::NEG_INFINITY; 3]), f64::NEG_INFINITY);
        assert_eq!(lse(&[0.0, f64::INFINITY]), f64::INFINITY);
        assert!((lse(&[0.0, f64::NEG_INFINITY]) - 0.0).abs() < 1e-15);
    }

    #[test]
    fn column_lse_matches_per_column_lse() {
        // 3 x 2 matrix, columns [1, 3, -2] and [700, -700, 0], with alpha = -2, beta = 1.
        let rows = [[1.0f64, 700.0], [3.0, -700.0], [-2.0, 0.0]];
        let (alpha, beta) = (-2.0, 1.0);
        let mut m = [f64::NEG_INFINITY; 2];
        let mut s = [0.0; 2];
        for r in &rows {
            <S as Primitives<f64>>::lse_accumulate(alpha, r, beta, &mut m, &mut s);
        }
        for j in 0..2 {
            let col: [f64; 3] = core::array::from_fn(|i| alpha * rows[i][j] + beta);
            let want = <S as Primitives<f64>>::lse(&col);
            let got = m[j] + s[j].ln();
            assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0));
        }
    }

    #[test]
    fn gemv_and_transpose() {
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let a = Dense::new(&a, 2, 3).unwrap();
        let mut y = [0.0f32; 2];
        <S as Primitives<f32>>::gemv(a, &[1.0, 0.0, -1.0], &mut y);
        assert_eq!(y, [-2.0, -2.0]);
        let mut z = [9.0f32; 3];
        <S as Primitives<f32>>::gemv_t(a, &[1.0, -1.0], &mut z);
        assert_eq!(z, [-3.0, -3.0, -3.0]);
    }
}
