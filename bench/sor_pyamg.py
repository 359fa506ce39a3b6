"""Peer for the SOR benchmark: pyamg's `sor` (one forward sweep) on a CSR matrix.

Usage: python bench/sor_pyamg.py DIR OMEGA REPEATS
Reads DIR/{indptr.u64,indices.u32,values.f64,b.f64}, writes DIR/pyamg_x.f64 (x after
one sweep from x = 0, for the agreement check) and prints `seconds=<median>` for one
sweep, timed over REPEATS runs.
"""

import sys
import time

import numpy as np
import scipy.sparse as sp
from pyamg.relaxation.relaxation import sor


def main() -> None:
    folder, omega, repeats = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    indptr = np.fromfile(f"{folder}/indptr.u64", dtype=np.uint64).astype(np.int32)
    indices = np.fromfile(f"{folder}/indices.u32", dtype=np.uint32).astype(np.int32)
    values = np.fromfile(f"{folder}/values.f64", dtype=np.float64)
    b = np.fromfile(f"{folder}/b.f64", dtype=np.float64)
    n = b.size
    a = sp.csr_array((values, indices, indptr), shape=(n, n))
    x = np.zeros(n)
    sor(a, x, b, omega, iterations=1, sweep="forward")
    x.tofile(f"{folder}/pyamg_x.f64")
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sor(a, x, b, omega, iterations=1, sweep="forward")
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"seconds={times[len(times) // 2]:.9f}")


if __name__ == "__main__":
    main()
