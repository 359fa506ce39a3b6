"""Writes unbalanced-pot.bin: unbalanced transport problems and POT 0.9.7's plans.

usage: python unbalanced_pot.py OUT  (needs numpy, pot==0.9.7, scikit-learn)

Each problem is solved by ot.unbalanced.sinkhorn_unbalanced(a, b, C, reg,
(reg_m1, reg_m2), reg_type='kl', method='sinkhorn') run to stopThr = 1e-15. The file
is a sequence of records, every number a little-endian f64:
n, m, reg, reg_m1, reg_m2 (inf for a hard marginal), C (n*m, row-major), a (n),
b (m), plan (n*m), <plan, C>.
"""
import sys

import numpy as np
import ot
from sklearn.datasets import load_digits


def random_problem(rng, n, m, mass_b):
    c = rng.uniform(0.0, 1.0, (n, m))
    a = rng.uniform(0.5, 1.5, n)
    b = rng.uniform(0.5, 1.5, m)
    return c, a / a.sum(), mass_b * b / b.sum()


def digits_problem():
    """Two 8x8 digit images as masses on the pixel grid (floored at 0.01 so every
    pixel has mass; each scaled by the first one's ink, so the masses differ), the
    squared pixel distance over its maximum as the cost."""
    images = load_digits().images
    x, y = images[0].ravel() + 0.01, images[1].ravel() + 0.01
    grid = np.array([(i, j) for i in range(8) for j in range(8)], dtype=float)
    c = ot.dist(grid, grid)
    return c / c.max(), x / x.sum(), y / x.sum()


def main():
    rng = np.random.default_rng(18)
    inf = float("inf")
    problems = [
        (random_problem(rng, 12, 9, 1.3), 0.05, 1.0, 1.0),
        (random_problem(rng, 7, 15, 0.6), 0.1, 0.5, inf),
        (random_problem(rng, 10, 10, 1.0), 0.05, 0.0, 2.0),
        (digits_problem(), 0.05, 0.5, 0.5),
        (digits_problem(), 0.02, 5.0, 1.0),
    ]
    out = []
    for (c, a, b), reg, m1, m2 in problems:
        plan = ot.unbalanced.sinkhorn_unbalanced(
            a, b, c, reg, (m1, m2), method="sinkhorn", reg_type="kl",
            numItermax=1_000_000, stopThr=1e-15,
        )
        n, m = c.shape
        out += [n, m, reg, m1, m2, *c.ravel(), *a, *b, *plan.ravel(), float((plan * c).sum())]
    np.asarray(out, dtype="<f8").tofile(sys.argv[1])


if __name__ == "__main__":
    main()
