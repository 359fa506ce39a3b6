"""POT's unbalanced Sinkhorn as the peer of the tour's unbalanced section.

usage: unbalanced_pot.py DATA_DIR N REG REG_M ITERS

Reads the problem the Rust side wrote (raw little-endian f64: DATA_DIR/unb_C.bin,
N x N; unb_a.bin, unb_b.bin, N each), solves it with
ot.unbalanced.sinkhorn_unbalanced(a, b, C, REG, REG_M, reg_type='kl') to
stopThr = 1e-15 and writes the plan to DATA_DIR/unb_plan.bin (raw f64), then times
ITERS iterations (stopThr = 0, the best of 3). Prints one JSON object:
{"niter": k, "sec_per_iter": s}. BLAS threads are limited by the caller.
"""
import json
import sys
import time
import warnings

import numpy as np
import ot


def main():
    data_dir, n = sys.argv[1], int(sys.argv[2])
    reg, reg_m, iters = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    load = lambda name: np.fromfile(f"{data_dir}/{name}", dtype="<f8")
    c, a, b = load("unb_C.bin").reshape(n, n), load("unb_a.bin"), load("unb_b.bin")
    solve = lambda k, thr: ot.unbalanced.sinkhorn_unbalanced(
        a, b, c, reg, reg_m, method="sinkhorn", reg_type="kl", numItermax=k, stopThr=thr, log=True
    )
    plan, log = solve(1_000_000, 1e-15)
    np.ascontiguousarray(plan, dtype="<f8").tofile(f"{data_dir}/unb_plan.bin")
    warnings.simplefilter("ignore")
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        solve(iters, 0.0)
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"niter": len(log["err"]), "sec_per_iter": best / iters}), flush=True)


if __name__ == "__main__":
    main()
