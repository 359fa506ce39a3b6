"""POT's lazy empirical Sinkhorn as the peer of the tour's point-cloud section.

usage: points_pot.py DATA_DIR N M D REG ITERS

Reads the clouds the Rust side wrote (raw little-endian f64: DATA_DIR/pts_x.bin,
N x D; pts_y.bin, M x D; uniform weights), runs
ot.bregman.empirical_sinkhorn(x, y, REG, isLazy=True) (squared Euclidean cost in
row batches of 100, POT's default) for ITERS iterations from a cold start
(stopThr = 0), writes the potentials times REG (the kernels' units) to
DATA_DIR/pts_f.bin and pts_g.bin, and times ITERS iterations (the best of 2).
Prints one JSON object: {"iters": k, "sec_per_iter": s}. BLAS threads are
limited by the caller.
"""
import json
import sys
import time
import warnings

import numpy as np
import ot


def main():
    data_dir, n, m, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    reg, iters = float(sys.argv[5]), int(sys.argv[6])
    load = lambda name, k: np.fromfile(f"{data_dir}/{name}", dtype="<f8").reshape(k, d)
    x, y = load("pts_x.bin", n), load("pts_y.bin", m)
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    warnings.simplefilter("ignore")
    solve = lambda: ot.bregman.empirical_sinkhorn(
        x, y, reg, a=a, b=b, numIterMax=iters, stopThr=0.0, isLazy=True
    )
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        f, g = solve()
        best = min(best, time.perf_counter() - t)
    np.ascontiguousarray(reg * f, dtype="<f8").tofile(f"{data_dir}/pts_f.bin")
    np.ascontiguousarray(reg * g, dtype="<f8").tofile(f"{data_dir}/pts_g.bin")
    print(json.dumps({"iters": iters, "sec_per_iter": best / iters}), flush=True)


if __name__ == "__main__":
    main()
