"""Peers of the tour's threads section at one thread count (set by the caller through
OMP/OPENBLAS/MKL_NUM_THREADS): POT's kernel-mode Sinkhorn (ot.sinkhorn, method
'sinkhorn') per iteration, and plain causal softmax attention in numpy.

usage: threads_peers.py N HEADS SEQ D

Generates its own data of the tour's shapes (uniform costs in [0, 1), reg 0.1, so the
kernel exp(-C / 0.1) matches the tour's; attention inputs uniform in [-1, 1)): the
timings do not depend on the values. Prints one JSON object per line:
{"peer": "pot_sinkhorn", "sec_per_iter": s} and {"peer": "numpy_attention", "sec": s}.
"""
import json
import sys
import time
import warnings

import numpy as np
import ot

from h2o_peer import causal_attention


def best(fn, reps):
    t_best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best


def main():
    n, heads, seq, d = map(int, sys.argv[1:5])
    rng = np.random.default_rng(5)
    warnings.simplefilter("ignore")  # "did not converge" is the point of stopThr = 0
    c = rng.random((n, n))
    w = np.full(n, 1.0 / n)
    run = lambda k: ot.sinkhorn(w, w, c, 0.1, method="sinkhorn", numItermax=k, stopThr=0.0)
    k1, k2 = 10, 40
    per_iter = (best(lambda: run(k2), 2) - best(lambda: run(k1), 2)) / (k2 - k1)
    print(json.dumps({"peer": "pot_sinkhorn", "sec_per_iter": per_iter}), flush=True)
    q, k, v = (rng.uniform(-1, 1, (heads, seq, d)).astype(np.float32) for _ in range(3))
    print(json.dumps({"peer": "numpy_attention", "sec": best(lambda: causal_attention(q, k, v), 3)}))


if __name__ == "__main__":
    main()
