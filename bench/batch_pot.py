"""POT's batch solver as the peer of the batched Sinkhorn benchmark.

usage: batch_pot.py DATA_DIR BATCH N REG ITERS

Reads the costs the Rust benchmark wrote (raw little-endian f32,
DATA_DIR/batch_C.bin, BATCH x N x N) and the marginals (DATA_DIR/batch_a.bin,
batch_b.bin, BATCH x N), and times ot.batch.solve_batch on numpy arrays with
method 'log_sinkhorn' (what method='auto' picks for reg > 0) and 'sinkhorn' (kernel
mode), tol = 0 so that each runs exactly ITERS iterations (the best of 3). Prints
one JSON object per method: {"method": ..., "sec_per_iter": s}. BLAS threads are
limited by the caller (OMP/OPENBLAS/MKL_NUM_THREADS=1).
"""
import json
import sys
import time

import numpy as np
from ot.batch import solve_batch


def main():
    data_dir, batch, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    reg, iters = float(sys.argv[4]), int(sys.argv[5])
    load = lambda name, shape: np.fromfile(f"{data_dir}/{name}", dtype="<f4").reshape(shape)
    c = load("batch_C.bin", (batch, n, n))
    a, b = load("batch_a.bin", (batch, n)), load("batch_b.bin", (batch, n))
    for method in ["log_sinkhorn", "sinkhorn"]:
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            solve_batch(c, reg=reg, a=a, b=b, max_iter=iters, tol=0.0, method=method)
            best = min(best, time.perf_counter() - t)
        print(json.dumps({"method": method, "sec_per_iter": best / iters}), flush=True)


if __name__ == "__main__":
    main()
