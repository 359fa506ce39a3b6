//! Real transport problems from two classic data sets, shipped in `tests/data`:
//! Fisher's iris (150 flowers, 4 measurements in cm with one decimal, 3 species) and
//! the UCI handwritten digits as scikit-learn ships them (1797 images of 8 x 8 pixels,
//! values 0..=16, digits 0..=9). Format of both files: `u32` rows, `u32` columns
//! (little-endian), then per row its values as bytes (iris: tenths of a cm) and its
//! class as one byte.

use std::path::PathBuf;

/// A balanced transport problem: `c` is `n x m` row-major.
pub struct OtProblem {
    /// What the problem is, for reports.
    pub name: String,
    /// Source points.
    pub n: usize,
    /// Target points.
    pub m: usize,
    /// The cost, `n x m` row-major.
    pub c: Vec<f64>,
    /// Source weights (`n`, summing to 1).
    pub a: Vec<f64>,
    /// Target weights (`m`, summing to 1).
    pub b: Vec<f64>,
}

/// The rows of a data file: (values, class).
fn load(file: &str, scale: f64) -> Vec<(Vec<f64>, u8)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
    let (rows, cols) = (word(0), word(4));
    assert_eq!(bytes.len(), 8 + rows * (cols + 1), "{file}: size");
    bytes[8..]
        .chunks_exact(cols + 1)
        .map(|r| {
            let values = r[..cols].iter().map(|&v| f64::from(v) / scale).collect();
            (values, r[cols])
        })
        .collect()
}

/// Uniform weights between two point sets, squared Euclidean cost divided by its
/// maximum.
fn between(name: String, x: &[Vec<f64>], y: &[Vec<f64>]) -> OtProblem {
    let (n, m) = (x.len(), y.len());
    let mut c: Vec<f64> = x
        .iter()
        .flat_map(|p| {
            y.iter()
                .map(move |q| p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum())
        })
        .collect();
    let max = c.iter().copied().fold(0.0, f64::max);
    c.iter_mut().for_each(|v| *v /= max);
    OtProblem {
        name,
        n,
        m,
        c,
        a: vec![1.0 / n as f64; n],
        b: vec![1.0 / m as f64; m],
    }
}

/// Iris: setosa and versicolor (100 flowers) to virginica (50).
pub fn iris() -> OtProblem {
    let rows = load("iris.bin", 10.0);
    let (x, y): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, class)| *class < 2);
    let strip = |v: Vec<(Vec<f64>, u8)>| v.into_iter().map(|(p, _)| p).collect::<Vec<_>>();
    between(
        "iris (setosa + versicolor to virginica)".into(),
        &strip(x),
        &strip(y),
    )
}

/// Digits: the first `per_side` images of digits 0..=4 to the first `per_side` of
/// 5..=9.
pub fn digits(per_side: usize) -> OtProblem {
    let rows = load("digits.bin", 1.0);
    let side = |low: bool| {
        rows.iter()
            .filter(|(_, class)| (*class < 5) == low)
            .take(per_side)
            .map(|(p, _)| p.clone())
            .collect::<Vec<_>>()
    };
    between(
        format!("digits (0-4 to 5-9, {per_side} images each)"),
        &side(true),
        &side(false),
    )
}

/// Two densities on a `k x k` grid of the unit square (a bump and a ring-shaped
/// bump, each with a floor of 1e-3 before normalising), squared Euclidean cost
/// scaled to max 1: a W2 problem whose plain Sinkhorn converges slowly at small `reg`
/// (the tour's epsilon-scaling and over-relaxation rows use `k = 64`).
pub fn grid_densities(k: usize) -> OtProblem {
    let pts: Vec<(f64, f64)> = (0..k * k)
        .map(|i| {
            let side = (k.max(2) - 1) as f64;
            ((i / k) as f64 / side, (i % k) as f64 / side)
        })
        .collect();
    let bump = |(x, y): (f64, f64)| (-((x - 0.3).powi(2) + (y - 0.35).powi(2)) / 0.02).exp() + 1e-3;
    let ring = |(x, y): (f64, f64)| {
        let r = ((x - 0.6).powi(2) + (y - 0.6).powi(2)).sqrt();
        (-(r - 0.25).powi(2) / 0.005).exp() + 1e-3
    };
    let norm = |v: Vec<f64>| {
        let s: f64 = v.iter().sum();
        v.into_iter().map(|x| x / s).collect::<Vec<_>>()
    };
    let mut c: Vec<f64> = pts
        .iter()
        .flat_map(|p| {
            pts.iter()
                .map(move |q| (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2))
        })
        .collect();
    let c_max = c.iter().copied().fold(0.0, f64::max);
    c.iter_mut().for_each(|x| *x /= c_max);
    OtProblem {
        name: format!("bump to ring on a {k} x {k} grid"),
        n: k * k,
        m: k * k,
        c,
        a: norm(pts.iter().map(|&p| bump(p)).collect()),
        b: norm(pts.iter().map(|&p| ring(p)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_sets_load_as_published() {
        let p = iris();
        assert_eq!((p.n, p.m), (100, 50));
        // The first iris flower: 5.1, 3.5, 1.4, 0.2.
        let first = &load("iris.bin", 10.0)[0];
        assert_eq!(first, &(vec![5.1, 3.5, 1.4, 0.2], 0));
        let all = load("digits.bin", 1.0);
        assert_eq!(all.len(), 1797);
        assert!(
            all.iter()
                .all(|(p, c)| p.len() == 64 && *c < 10 && p.iter().all(|&v| v <= 16.0))
        );
        let d = digits(300);
        assert_eq!((d.n, d.m), (300, 300));
        assert!(d.c.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
}
