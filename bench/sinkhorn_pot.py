"""POT (Python Optimal Transport) as the peer of the sinkhorn benchmark.

usage: sinkhorn_pot.py DATA_DIR REG TIMING_SIZES AGREE_SIZE

Reads the cost matrices the Rust benchmark wrote (raw little-endian f64,
DATA_DIR/sinkhorn_C_{n}.bin, n x n, uniform weights), and prints one JSON object
per line:
- {"kind": "time", "method": ..., "n": n, "sec_per_iter": s} for ot.sinkhorn
  (method 'sinkhorn', kernel mode) and ot.bregman.sinkhorn_log, from the difference
  of two runs with different iteration caps (stopThr = 0, so neither stops early);
- {"kind": "agree", "method": ..., "n": n, "niter": k, "path": p}: the plan after
  running to stopThr = 1e-12, written to p (raw f64) for the Rust side to compare.
BLAS threads are limited by the caller (OMP/OPENBLAS/MKL_NUM_THREADS=1).
"""
import json
import sys
import time
import warnings

import numpy as np
import ot


def load(data_dir, n):
    c = np.fromfile(f"{data_dir}/sinkhorn_C_{n}.bin", dtype="<f8").reshape(n, n)
    w = np.full(n, 1.0 / n)
    return c, w


def best_time(fn, reps):
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def per_iteration(run, k1, k2, reps):
    return (best_time(lambda: run(k2), reps) - best_time(lambda: run(k1), reps)) / (k2 - k1)


def main():
    data_dir, reg = sys.argv[1], float(sys.argv[2])
    sizes = [int(s) for s in sys.argv[3].split(",")]
    agree_n = int(sys.argv[4])
    warnings.simplefilter("ignore")  # "did not converge" is the point of stopThr = 0
    for n in sizes:
        c, w = load(data_dir, n)
        knopp = lambda k: ot.sinkhorn(w, w, c, reg, method="sinkhorn", numItermax=k, stopThr=0.0)
        logd = lambda k: ot.bregman.sinkhorn_log(w, w, c, reg, numItermax=k, stopThr=0.0)
        big = n >= 2000
        for name, run, (k1, k2) in [
            ("sinkhorn", knopp, (10, 40) if big else (20, 220)),
            ("sinkhorn_log", logd, (1, 3) if big else (2, 12)),
        ]:
            s = per_iteration(run, k1, k2, reps=2 if big else 3)
            print(json.dumps({"kind": "time", "method": name, "n": n, "sec_per_iter": s}), flush=True)
    c, w = load(data_dir, agree_n)
    for name, method in [("sinkhorn", "sinkhorn"), ("sinkhorn_log", "sinkhorn_log")]:
        plan, log = ot.sinkhorn(w, w, c, reg, method=method, numItermax=200000, stopThr=1e-12, log=True)
        path = f"{data_dir}/sinkhorn_pot_plan_{name}_{agree_n}.bin"
        np.ascontiguousarray(plan, dtype="<f8").tofile(path)
        niter = int(log.get("niter", -1)) if isinstance(log, dict) else -1
        print(json.dumps({"kind": "agree", "method": name, "n": agree_n, "niter": niter, "path": path}), flush=True)


if __name__ == "__main__":
    main()
