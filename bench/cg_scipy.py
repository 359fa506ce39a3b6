"""Peer for the CG benchmark: scipy.sparse.linalg.cg on a CSR matrix.

Usage: python bench/cg_scipy.py DIR K1 K2 REPEATS CLOCK
Reads DIR/{indptr.u64,indices.u32,values.f64,b.f64}. For each preconditioner (none;
Jacobi as the sparse matrix diags(1/d); Jacobi as a LinearOperator multiplying by
1/d) it runs cg from x = 0 for exactly K1 and K2 iterations (rtol and atol far below
reach), REPEATS times each, and prints one line
`precond=<name> seconds_per_iteration=<(t(K2) - t(K1)) / (K2 - K1)>`, each t the
fastest of the REPEATS runs (on a shared machine other work only adds time), on
CLOCK: `cpu` (the thread's CPU time, time.thread_time) or `wall`: the setup and the
final steps cancel. x after K2 iterations goes to DIR/scipy_<name>_x.f64
for the agreement check.
"""

import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, cg


def fastest_seconds(a, b, m, iterations, repeats, clock):
    times, x = [], None
    for _ in range(repeats):
        t = clock()
        x, info = cg(a, b, rtol=1e-300, atol=0.0, maxiter=iterations, M=m)
        times.append(clock() - t)
        assert info == iterations, f"cg stopped early: info {info}"
    return min(times), x


def main() -> None:
    folder, k1, k2, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    clock = {"cpu": time.thread_time, "wall": time.perf_counter}[sys.argv[5]]
    # scipy's CSR matvec takes int32 indices: 12 bytes per nonzero, as ours.
    indptr = np.fromfile(f"{folder}/indptr.u64", dtype=np.uint64).astype(np.int32)
    indices = np.fromfile(f"{folder}/indices.u32", dtype=np.uint32).astype(np.int32)
    values = np.fromfile(f"{folder}/values.f64", dtype=np.float64)
    b = np.fromfile(f"{folder}/b.f64", dtype=np.float64)
    n = b.size
    a = sp.csr_array((values, indices, indptr), shape=(n, n))
    d_inv = 1.0 / a.diagonal()
    preconditioners = {
        "none": None,
        "jacobi_diags": sp.diags_array(d_inv).tocsr(),
        "jacobi_operator": LinearOperator((n, n), matvec=lambda r: d_inv * r, dtype=np.float64),
    }
    for name, m in preconditioners.items():
        t1, _ = fastest_seconds(a, b, m, k1, repeats, clock)
        t2, x = fastest_seconds(a, b, m, k2, repeats, clock)
        x.tofile(f"{folder}/scipy_{name}_x.f64")
        print(f"precond={name} seconds_per_iteration={(t2 - t1) / (k2 - k1):.9f}", flush=True)


if __name__ == "__main__":
    main()
