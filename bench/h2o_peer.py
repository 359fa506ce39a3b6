"""Peer for the H2O benchmark: plain causal softmax attention in numpy (BLAS, one
thread), on the data the tour wrote. Usage:
    h2o_peer.py DIR N_HEADS SEQ D REPEATS
reads DIR/q.f32, k.f32, v.f32 ([heads][seq][d], little-endian float32), writes
DIR/out.f32 and prints the median seconds of REPEATS runs."""
import sys
import time

import numpy as np


def causal_attention(q, k, v):
    seq, d = q.shape[1], q.shape[2]
    mask = np.triu(np.ones((seq, seq), dtype=bool), 1)
    out = np.empty_like(q)
    scale = np.float32(1.0 / np.sqrt(d))
    for h in range(q.shape[0]):
        s = (q[h] @ k[h].T) * scale
        s[mask] = -np.inf
        s -= s.max(axis=1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=1, keepdims=True)
        out[h] = s @ v[h]
    return out


def main():
    folder, heads, seq, d, repeats = sys.argv[1], *map(int, sys.argv[2:6])
    load = lambda name: np.fromfile(f"{folder}/{name}.f32", dtype="<f4").reshape(heads, seq, d)
    q, k, v = load("q"), load("k"), load("v")
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = causal_attention(q, k, v)
        times.append(time.perf_counter() - t)
    out.astype("<f4").tofile(f"{folder}/out.f32")
    print(sorted(times)[len(times) // 2])


if __name__ == "__main__":
    main()
