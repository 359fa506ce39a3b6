//! Where the log-domain solver's cost rows come from: a stored matrix ([`Dense`]), or
//! the squared distances between two point clouds ([`Points`]), computed one row at a
//! time into scratch and never stored. The half-steps are written once against
//! [`CostRows`].

use crate::sinkhorn::{SinkhornKernels, tiles};
use crate::{Dense, Real};

/// The rows of an `n x m` cost matrix, as the log-domain passes read them.
pub trait CostRows<T: Real>: Copy + Sync {
    /// `n`.
    fn rows(&self) -> usize;

    /// `m`.
    fn cols(&self) -> usize;

    /// Values of scratch [`cost_row`](CostRows::cost_row) writes a row into: 0 when
    /// the rows are stored.
    fn row_scratch(&self) -> usize;

    /// Row tiles of a pass over the rows (see [`tiles::run_in`]).
    fn tiles(&self) -> usize {
        tiles::row_tiles(self.rows())
    }

    /// Row `i` (`m` values): the stored row, or the row computed into `buf`
    /// ([`row_scratch`](CostRows::row_scratch) values).
    fn cost_row<'s, P: SinkhornKernels<T>>(&'s self, i: usize, buf: &'s mut [T]) -> &'s [T];
}

impl<T: Real> CostRows<T> for Dense<'_, T> {
    fn rows(&self) -> usize {
        Dense::rows(self)
    }

    fn cols(&self) -> usize {
        Dense::cols(self)
    }

    fn row_scratch(&self) -> usize {
        0
    }

    fn cost_row<'s, P: SinkhornKernels<T>>(&'s self, i: usize, _buf: &'s mut [T]) -> &'s [T] {
        self.row(i)
    }
}

/// Bytes of scratch the point-cloud passes may spend on their row tiles: each tile
/// but the first holds a cost row, a plan row and partial column sums (`3 m`
/// values), so with many columns the number of tiles (and of threads a pass uses)
/// is cut to keep the workspace `O((n + m) (d + 1))` plus this much (with it, `n = m
/// = 100,000`, `d = 3` fits in under 16 MiB in `f32` and in `f64`).
pub const POINT_TILE_BYTES: usize = 8 << 20;

/// The cost `C_ij = |x_i - y_j|^2` of two point clouds in `d` dimensions (POT's
/// `ot.dist` default), one row at a time.
///
/// Each entry is the direct sum of squared coordinate differences (`d`
/// subtractions and multiply-adds, vectorised over `j` with the second cloud stored
/// coordinate by coordinate): it is never negative and carries no cancellation,
/// which the `|x|^2 + |y|^2 - 2 x.y` form does for nearby points far from the
/// origin (its error is `u |x|^2`, not `u |x - y|^2`). For the small `d` of point
/// clouds it costs no more than a product would.
#[derive(Clone, Copy, Debug)]
pub struct Points<'a, T> {
    /// `x` row-major, `n x d`.
    x: &'a [T],
    /// `y` transposed: coordinate `k` of every `y_j` at `k m + j`.
    yt: &'a [T],
    n: usize,
    m: usize,
    d: usize,
}

impl<'a, T: Real> Points<'a, T> {
    /// The clouds `x` (`n x d`, row-major) and `y` transposed (`d x m`: coordinate
    /// `k` of `y_j` at `yt[k m + j]`). `None` unless the lengths agree and `d > 0`.
    pub fn new(x: &'a [T], yt: &'a [T], d: usize) -> Option<Self> {
        if d == 0 || !x.len().is_multiple_of(d) || !yt.len().is_multiple_of(d) {
            return None;
        }
        Some(Points {
            x,
            yt,
            n: x.len() / d,
            m: yt.len() / d,
            d,
        })
    }

    /// `yt <- y^T`: `y` (`m x d`, row-major) coordinate by coordinate, as
    /// [`Points::new`] takes it. `yt` has `y.len()` values.
    pub fn transpose(y: &[T], d: usize, yt: &mut [T]) {
        let m = y.len() / d.max(1);
        for (j, yj) in y.chunks_exact(d.max(1)).enumerate() {
            for (k, &v) in yj.iter().enumerate() {
                yt[k * m + j] = v;
            }
        }
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }
}

impl<T: Real> CostRows<T> for Points<'_, T> {
    fn rows(&self) -> usize {
        self.n
    }

    fn cols(&self) -> usize {
        self.m
    }

    fn row_scratch(&self) -> usize {
        self.m
    }

    fn tiles(&self) -> usize {
        point_tiles::<T>(self.n, self.m)
    }

    fn cost_row<'s, P: SinkhornKernels<T>>(&'s self, i: usize, buf: &'s mut [T]) -> &'s [T] {
        let out = &mut buf[..self.m];
        P::sq_dist_row(&self.x[i * self.d..][..self.d], self.yt, out);
        out
    }
}

/// The row tiles of the point-cloud passes: [`tiles::row_tiles`], cut so that the
/// tiles after the first spend at most [`POINT_TILE_BYTES`] on their `3 m` values.
pub fn point_tiles<T>(n: usize, m: usize) -> usize {
    let per_tile = m.saturating_mul(3).saturating_mul(size_of::<T>()).max(1);
    tiles::row_tiles(n).min(POINT_TILE_BYTES / per_tile + 1)
}

/// An upper bound of `max_ij |x_i - y_j|^2` in `f64` from the clouds' bounding
/// boxes, `sum_k max(max x_k - min y_k, max y_k - min x_k)^2` (twice that, for the
/// rounding of the entries computed in `T`). `x` is `n x d` and `y` `m x d`,
/// row-major, finite and nonempty.
pub fn cost_bound<T: Real>(x: &[T], y: &[T], d: usize) -> f64 {
    let range = |p: &[T], k: usize| {
        p.chunks_exact(d)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), q| {
                let v = q[k].to_f64_lossless();
                (lo.min(v), hi.max(v))
            })
    };
    let sum: f64 = (0..d)
        .map(|k| {
            let ((xlo, xhi), (ylo, yhi)) = (range(x, k), range(y, k));
            let spread = (xhi - ylo).max(yhi - xlo);
            spread * spread
        })
        .sum();
    2.0 * sum
}
