"""Peers for the linattn benchmark: numpy's single-thread sgemm rate, and numpy doing
the same chunked linear-attention computations as the library, with a constant decay
per head and with a log gate per head and token.

usage: python linattn_numpy.py DIR H N DK DV CHUNK SCALE DECAY[,DECAY...]
Reads DIR/{q,k,v}.f32 (raw little-endian float32, [H][N][D]) and DIR/g.f32 (log gates,
[H][N]), writes DIR/out_numpy.f32 and DIR/out_gated_numpy.f32, prints "key value"
lines. Run with one BLAS thread (OPENBLAS_NUM_THREADS=1 etc.).
"""
import sys
import time

import numpy as np


def best_time(f, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def sgemm_rate(n=2048):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up
    return 2.0 * n**3 / best_time(lambda: a @ b, 5)


def chunked(q, k, v, decay, scale, chunk):
    """O = scale [ g^(i+1) Q S + ((Q K^T) .* D) V ], S = g^L S + K^T diag(g^(L-1-j)) V."""
    h_count, n, dk = q.shape
    dv = v.shape[2]
    out = np.empty((h_count, n, dv), dtype=np.float32)
    idx = np.arange(chunk)
    diff = idx[:, None] - idx[None, :]
    for h in range(h_count):
        g = float(decay[h])
        pw = (g ** np.arange(chunk + 1, dtype=np.float64)).astype(np.float32)
        mask = np.where(diff >= 0, scale * g ** np.maximum(diff, 0), 0.0).astype(np.float32)
        s = np.zeros((dk, dv), dtype=np.float32)
        for t0 in range(0, n, chunk):
            qc, kc, vc = q[h, t0:t0 + chunk], k[h, t0:t0 + chunk], v[h, t0:t0 + chunk]
            lc = qc.shape[0]
            o = (scale * pw[1:lc + 1])[:, None] * (qc @ s)
            o += ((qc @ kc.T) * mask[:lc, :lc]) @ vc
            out[h, t0:t0 + lc] = o
            s = pw[lc] * s + (kc * pw[lc - 1::-1][:, None]).T @ vc
    return out


def gated(q, k, v, g, scale, chunk):
    """The simple-GLA chunked form: with G the cumulative log gates of a chunk,
    O = scale [ exp(G_i) Q S + ((Q K^T) .* exp(G_i - G_j) [j <= i]) V ],
    S = exp(G_last) S + K^T diag(exp(G_last - G_j)) V (flash-linear-attention's
    reference chunk_simple_gla, in numpy)."""
    h_count, n, dk = q.shape
    dv = v.shape[2]
    out = np.empty((h_count, n, dv), dtype=np.float32)
    for h in range(h_count):
        s = np.zeros((dk, dv), dtype=np.float32)
        for t0 in range(0, n, chunk):
            qc, kc, vc = q[h, t0:t0 + chunk], k[h, t0:t0 + chunk], v[h, t0:t0 + chunk]
            lc = qc.shape[0]
            cum = np.cumsum(g[h, t0:t0 + lc].astype(np.float64))
            diff = cum[:, None] - cum[None, :]
            mask = np.where(np.tril(np.ones((lc, lc), dtype=bool)), np.exp(np.minimum(diff, 0.0)), 0.0)
            o = (scale * np.exp(cum)).astype(np.float32)[:, None] * (qc @ s)
            o += ((qc @ kc.T) * (scale * mask).astype(np.float32)) @ vc
            out[h, t0:t0 + lc] = o
            w = np.exp(cum[-1] - cum).astype(np.float32)
            s = np.float32(np.exp(cum[-1])) * s + (kc * w[:, None]).T @ vc
    return out


def main():
    d, h, n, dk, dv, chunk = sys.argv[1], *map(int, sys.argv[2:7])
    scale = float(sys.argv[7])
    decay = [float(x) for x in sys.argv[8].split(",")]
    q = np.fromfile(f"{d}/q.f32", dtype="<f4").reshape(h, n, dk)
    k = np.fromfile(f"{d}/k.f32", dtype="<f4").reshape(h, n, dk)
    v = np.fromfile(f"{d}/v.f32", dtype="<f4").reshape(h, n, dv)
    print(f"numpy {np.__version__}")
    print(f"sgemm_flops {sgemm_rate():.6e}")
    out = chunked(q, k, v, decay, scale, chunk)
    print(f"chunked_seconds {best_time(lambda: chunked(q, k, v, decay, scale, chunk), 3):.6e}")
    out.astype("<f4").tofile(f"{d}/out_numpy.f32")
    g = np.fromfile(f"{d}/g.f32", dtype="<f4").reshape(h, n)
    out = gated(q, k, v, g, scale, chunk)
    print(f"gated_seconds {best_time(lambda: gated(q, k, v, g, scale, chunk), 3):.6e}")
    out.astype("<f4").tofile(f"{d}/out_gated_numpy.f32")


if __name__ == "__main__":
    main()
