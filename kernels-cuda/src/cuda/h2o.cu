// h2o.cu: one H2O decode step on a fixed-budget KV cache in device memory, f32.
//
// The cache is the host one's layout: slot s of kv head g has its K and V rows at
// (g * budget + s) * d, its score and position at g * budget + s. A step is four
// launches on one stream (the Rust driver in src/h2o.rs sequences them):
//
//   h2o_decode_check_f32    read-only: finiteness of q, k_new, v_new; stored positions
//                           below next_pos; the slot the new token takes (the victim
//                           when full). Writes only the workspace (slots, verdict).
//   h2o_decode_partial_f32  one block per (kv head, tile of H2O_TILE slots): inserts the
//                           new token (the block owning its slot), computes the logits
//                           of the group's heads (kept in the workspace for the scores),
//                           the tile's max, sum of exp and exp-weighted sum of V.
//   h2o_decode_combine_f32  one block per query head: merges the tiles (two-pass
//                           softmax: global max, then rescaled sums), writes out, keeps
//                           (max, sum) and a per-head failure flag.
//   h2o_decode_scores_f32   one block per (kv head, 256 slots): unless some head
//                           failed, adds each slot's probability summed over the group.
//
// Determinism: no atomics; every sum has a fixed order depending only on the sizes.
// Workspace words are 32-bit; slots are stored as two words (lo, hi), so the
// workspace needs only 4-byte alignment.

#define H2O_TILE 64      // slots per block of the partial pass
#define H2O_DCHUNK 128   // columns of K staged in shared memory at a time
#define H2O_HEADS 8      // query heads handled per pass over a tile
#define H2O_KPITCH (H2O_DCHUNK + 4)  // padded row pitch: conflict-free float4 reads

#define H2O_INF __int_as_float(0x7f800000)
#define H2O_NAN __int_as_float(0x7fc00000)

#define H2O_NONFINITE 1u
#define H2O_BAD_POS 2u
#define H2O_NO_VICTIM 4u

#if KN_BLOCK_SIZE != 256
#error "h2o.cu assumes 256 threads per block"
#endif

namespace kn {

__device__ __forceinline__ bool finite_f32(float x) { return isfinite(x); }

__device__ __forceinline__ unsigned long long load_slot(const unsigned* slots, index_t g) {
    return (unsigned long long)slots[2 * g] | ((unsigned long long)slots[2 * g + 1] << 32);
}

// Candidate for eviction: smaller score wins, then older position, then lower slot
// (the host's sequential scan keeps the first of equal (score, pos) pairs).
struct Cand {
    float score;
    unsigned long long pos;
    unsigned long long slot;  // ~0ull: none
};

__device__ __forceinline__ bool better(const Cand& a, const Cand& b) {
    if (a.slot == ~0ull) return false;
    if (b.slot == ~0ull) return true;
    if (a.score < b.score) return true;
    if (a.score == b.score) {
        if (a.pos < b.pos) return true;
        if (a.pos == b.pos) return a.slot < b.slot;
    }
    return false;
}

__device__ __forceinline__ Cand shfl_cand(const Cand& c, int offset) {
    Cand o;
    o.score = __shfl_down_sync(KN_FULL_MASK, c.score, offset);
    o.pos = __shfl_down_sync(KN_FULL_MASK, c.pos, offset);
    o.slot = __shfl_down_sync(KN_FULL_MASK, c.slot, offset);
    return o;
}

__device__ __forceinline__ Cand warp_best(Cand c) {
#pragma unroll
    for (int offset = KN_WARP_SIZE / 2; offset > 0; offset >>= 1) {
        Cand o = shfl_cand(c, offset);
        if (better(o, c)) c = o;
    }
    return c;
}

__device__ __forceinline__ unsigned long long warp_min_u64(unsigned long long v) {
#pragma unroll
    for (int offset = KN_WARP_SIZE / 2; offset > 0; offset >>= 1) {
        unsigned long long o = __shfl_down_sync(KN_FULL_MASK, v, offset);
        v = o < v ? o : v;
    }
    return v;
}

// Block b = kv head g. verdict[g] gets the failure bits; slots[g] the slot token t takes.
// The victim rule is the host's (core h2o/evict.rs): among slots whose position p has
// p >= sink, p <= t and t - p >= recent, the smallest score, ties to the oldest
// position. The host scans in slot order and replaces its pick only on a strictly
// better candidate, so a NaN score wins exactly when it is the first candidate and is
// never picked otherwise: reproduced by taking the first candidate when its score is
// NaN, else the best of the non-NaN candidates.
__device__ __forceinline__ void decode_check(index_t n_kv, index_t group, index_t d,
                                             index_t budget, index_t len,
                                             unsigned long long t, unsigned long long sink,
                                             unsigned long long recent,
                                             const float* __restrict__ q,
                                             const float* __restrict__ k_new,
                                             const float* __restrict__ v_new,
                                             const unsigned long long* __restrict__ pos,
                                             const float* __restrict__ score,
                                             unsigned* __restrict__ slots,
                                             unsigned* __restrict__ verdict) {
    __shared__ Cand warp_cands[KN_BLOCK_SIZE / KN_WARP_SIZE];
    __shared__ unsigned long long warp_first[KN_BLOCK_SIZE / KN_WARP_SIZE];
    const unsigned lane = threadIdx.x % KN_WARP_SIZE;
    const unsigned warp = threadIdx.x / KN_WARP_SIZE;
    for (index_t g = blockIdx.x; g < n_kv; g += gridDim.x) {
        bool bad_value = false;
        const float* qg = q + g * group * d;
        for (index_t i = threadIdx.x; i < group * d; i += KN_BLOCK_SIZE) {
            bad_value |= !finite_f32(qg[i]);
        }
        for (index_t i = threadIdx.x; i < d; i += KN_BLOCK_SIZE) {
            bad_value |= !finite_f32(k_new[g * d + i]) || !finite_f32(v_new[g * d + i]);
        }
        const unsigned long long* pg = pos + g * budget;
        const float* sg = score + g * budget;
        bool bad_pos = false;
        for (index_t s = threadIdx.x; s < len; s += KN_BLOCK_SIZE) {
            bad_pos |= pg[s] >= t;
        }
        const bool full = len >= budget;
        Cand best;
        best.score = 0.0f;
        best.pos = 0;
        best.slot = ~0ull;
        unsigned long long first = ~0ull;
        if (full) {
            for (index_t s = threadIdx.x; s < budget; s += KN_BLOCK_SIZE) {
                const unsigned long long p = pg[s];
                if (p < sink || p > t || t - p < recent) continue;
                if (first == ~0ull) first = s;  // s increases: the thread's first
                Cand c;
                c.score = sg[s];
                c.pos = p;
                c.slot = s;
                if (!isnan(c.score) && better(c, best)) best = c;
            }
            best = warp_best(best);
            first = warp_min_u64(first);
            if (lane == 0) {
                warp_cands[warp] = best;
                warp_first[warp] = first;
            }
        }
        const int any_value = __syncthreads_or(bad_value);
        const int any_pos = __syncthreads_or(bad_pos);
        if (threadIdx.x == 0) {
            unsigned bits = (any_value ? H2O_NONFINITE : 0u) | (any_pos ? H2O_BAD_POS : 0u);
            unsigned long long slot = len;
            if (full) {
                Cand b = warp_cands[0];
                unsigned long long f = warp_first[0];
                for (unsigned w = 1; w < KN_BLOCK_SIZE / KN_WARP_SIZE; ++w) {
                    if (better(warp_cands[w], b)) b = warp_cands[w];
                    f = warp_first[w] < f ? warp_first[w] : f;
                }
                if (f == ~0ull) {
                    bits |= H2O_NO_VICTIM;
                    slot = 0;
                } else if (isnan(sg[f])) {
                    slot = f;
                } else {
                    slot = b.slot;
                }
            }
            slots[2 * g] = (unsigned)(slot & 0xffffffffull);
            slots[2 * g + 1] = (unsigned)(slot >> 32);
            verdict[g] = bits;
        }
        __syncthreads();
    }
}

// Block b: kv head g = b / n_tiles, tile b % n_tiles of the len slots in use (len after
// the insertion). For each chunk of up to H2O_HEADS heads of the group:
//  1. logits: K is staged in shared memory H2O_DCHUNK columns at a time; thread
//     (j = tid % 64, r = tid / 64) accumulates the dot products of slot j with heads r
//     and r + 4 of the chunk. Logits go to logits[head][slot] (for the scores).
//  2. warp h of the chunk takes head h: tile max m (a NaN or +inf logit makes m NaN:
//     the combine pass reports it), p_j = exp(l_j - m), s = sum p_j.
//  3. thread (x = tid % 128, half = tid / 128) sums p_j v_j[x] over its half of the
//     slots for every head of the chunk; the halves meet in shared memory.
// The block owning the new token's slot reads k_new / v_new for it and writes them,
// its score (0) and position (t) into the cache; no other block reads that slot.
__device__ __forceinline__ void decode_partial(
    index_t n_kv, index_t group, index_t d, index_t budget, index_t len, index_t n_tiles,
    float scale, unsigned long long t, const unsigned* __restrict__ slots,
    const float* __restrict__ q, const float* __restrict__ k_new,
    const float* __restrict__ v_new, float* __restrict__ kc, float* __restrict__ vc,
    float* __restrict__ score, unsigned long long* __restrict__ pos,
    float* __restrict__ logits, float* __restrict__ part_m, float* __restrict__ part_s,
    float* __restrict__ part_o) {
    __shared__ __align__(16) float ks[H2O_TILE * H2O_KPITCH];
    __shared__ __align__(16) float qs[H2O_HEADS * H2O_DCHUNK];
    __shared__ float ps[H2O_HEADS * H2O_TILE];
    __shared__ float half_o[H2O_HEADS * H2O_DCHUNK];
    const unsigned tid = threadIdx.x;
    const unsigned lane = tid % KN_WARP_SIZE;
    const unsigned warp = tid / KN_WARP_SIZE;
    for (index_t b = blockIdx.x; b < n_kv * n_tiles; b += gridDim.x) {
        const index_t g = b / n_tiles;
        const index_t tile = b % n_tiles;
        const index_t start = tile * H2O_TILE;
        const index_t n = (len - start < H2O_TILE) ? len - start : H2O_TILE;
        const unsigned long long new_slot = load_slot(slots, g);
        const bool owner = new_slot >= start && new_slot < start + n;
        const index_t new_j = owner ? new_slot - start : H2O_TILE;  // H2O_TILE: none
        const float* kg = kc + (g * budget + start) * d;
        const float* vg = vc + (g * budget + start) * d;
        if (owner && tid == 0) {
            score[g * budget + new_slot] = 0.0f;
            pos[g * budget + new_slot] = t;
        }
        for (index_t h0 = 0; h0 < group; h0 += H2O_HEADS) {
            const unsigned hn = (unsigned)((group - h0 < H2O_HEADS) ? group - h0 : H2O_HEADS);
            const index_t head0 = g * group + h0;  // first query head of the chunk
            // 1. logits
            const unsigned j = tid % H2O_TILE;
            const unsigned r = tid / H2O_TILE;  // 0..3
            float acc0 = 0.0f, acc1 = 0.0f;
            for (index_t c0 = 0; c0 < d; c0 += H2O_DCHUNK) {
                const unsigned cw = (unsigned)((d - c0 < H2O_DCHUNK) ? d - c0 : H2O_DCHUNK);
                __syncthreads();  // previous users of ks / qs are done
                for (unsigned e = tid; e < H2O_TILE * H2O_DCHUNK; e += KN_BLOCK_SIZE) {
                    const unsigned row = e / H2O_DCHUNK, col = e % H2O_DCHUNK;
                    float val = 0.0f;
                    if (row < n && col < cw) {
                        if (row == new_j) {
                            val = k_new[g * d + c0 + col];
                            if (h0 == 0) kc[(g * budget + new_slot) * d + c0 + col] = val;
                        } else {
                            val = kg[row * d + c0 + col];
                        }
                    }
                    ks[row * H2O_KPITCH + col] = val;
                }
                for (unsigned e = tid; e < H2O_HEADS * H2O_DCHUNK; e += KN_BLOCK_SIZE) {
                    const unsigned h = e / H2O_DCHUNK, col = e % H2O_DCHUNK;
                    qs[e] = (h < hn && col < cw) ? q[(head0 + h) * d + c0 + col] : 0.0f;
                }
                __syncthreads();
                const float4* krow = reinterpret_cast<const float4*>(ks + j * H2O_KPITCH);
                const float4* qa = reinterpret_cast<const float4*>(qs + r * H2O_DCHUNK);
                const float4* qb = reinterpret_cast<const float4*>(qs + (r + 4) * H2O_DCHUNK);
#pragma unroll 8
                for (unsigned c = 0; c < H2O_DCHUNK / 4; ++c) {
                    const float4 kv = krow[c];
                    const float4 a = qa[c];
                    const float4 bq = qb[c];
                    acc0 = fmaf(a.x, kv.x, acc0);
                    acc0 = fmaf(a.y, kv.y, acc0);
                    acc0 = fmaf(a.z, kv.z, acc0);
                    acc0 = fmaf(a.w, kv.w, acc0);
                    acc1 = fmaf(bq.x, kv.x, acc1);
                    acc1 = fmaf(bq.y, kv.y, acc1);
                    acc1 = fmaf(bq.z, kv.z, acc1);
                    acc1 = fmaf(bq.w, kv.w, acc1);
                }
            }
            // Padding slots (j >= n) get -inf: exp gives 0, the max ignores them.
            const float l0 = (j < n) ? scale * acc0 : -H2O_INF;
            const float l1 = (j < n) ? scale * acc1 : -H2O_INF;
            if (r < hn) {
                ps[r * H2O_TILE + j] = l0;
                if (j < n) logits[(head0 + r) * budget + start + j] = l0;
            }
            if (r + 4 < hn) {
                ps[(r + 4) * H2O_TILE + j] = l1;
                if (j < n) logits[(head0 + r + 4) * budget + start + j] = l1;
            }
            __syncthreads();
            // 2. tile max and sum, warp per head
            if (warp < hn) {
                float* row = ps + warp * H2O_TILE;
                const float a = row[lane], c = row[lane + 32];
                bool bad = isnan(a) || isnan(c) || a == H2O_INF || c == H2O_INF;
                float m = fmaxf(a, c);
#pragma unroll
                for (int off = 16; off > 0; off >>= 1) {
                    m = fmaxf(m, __shfl_xor_sync(KN_FULL_MASK, m, off));
                }
                bad = __any_sync(KN_FULL_MASK, bad);
                float pa = 0.0f, pc = 0.0f;
                if (m != -H2O_INF && !bad) {
                    pa = expf(a - m);
                    pc = expf(c - m);
                }
                row[lane] = pa;
                row[lane + 32] = pc;
                const float s = warp_reduce_sum(pa + pc);
                if (lane == 0) {
                    const index_t at = (head0 + warp) * n_tiles + tile;
                    part_m[at] = bad ? H2O_NAN : m;
                    part_s[at] = s;
                }
            }
            __syncthreads();
            // 3. exp-weighted sum of V
            const unsigned x = tid % H2O_DCHUNK;
            const unsigned half = tid / H2O_DCHUNK;
            const unsigned j0 = half * (H2O_TILE / 2);
            for (index_t c0 = 0; c0 < d; c0 += H2O_DCHUNK) {
                const index_t col = c0 + x;
                float o[H2O_HEADS];
#pragma unroll
                for (unsigned h = 0; h < H2O_HEADS; ++h) o[h] = 0.0f;
                if (col < d) {
#pragma unroll 4
                    for (unsigned jj = j0; jj < j0 + H2O_TILE / 2; ++jj) {
                        if (jj >= n) break;
                        float v;
                        if (jj == new_j) {
                            v = v_new[g * d + col];
                            if (h0 == 0) vc[(g * budget + new_slot) * d + col] = v;
                        } else {
                            v = vg[jj * d + col];
                        }
#pragma unroll
                        for (unsigned h = 0; h < H2O_HEADS; ++h) {
                            o[h] = fmaf(ps[h * H2O_TILE + jj], v, o[h]);
                        }
                    }
                }
                if (half == 1) {
#pragma unroll
                    for (unsigned h = 0; h < H2O_HEADS; ++h) half_o[h * H2O_DCHUNK + x] = o[h];
                }
                __syncthreads();
                if (half == 0 && col < d) {
#pragma unroll
                    for (unsigned h = 0; h < H2O_HEADS; ++h) {
                        if (h < hn) {
                            part_o[((head0 + h) * n_tiles + tile) * d + col] =
                                o[h] + half_o[h * H2O_DCHUNK + x];
                        }
                    }
                }
                __syncthreads();
            }
        }
    }
}

// Block b = query head h: M = max over tiles, S = sum_t s_t exp(m_t - M),
// out[h] = sum_t o_t exp(m_t - M) / S. A NaN or +inf tile max (a NaN or overflowing
// logit), M = -inf (no finite logit) or a sum that is not finite and positive set
// bad[h] (the host's KN_ERR_NUMERICAL); out is then unspecified.
__device__ __forceinline__ void decode_combine(index_t n_heads, index_t d, index_t n_tiles,
                                               const float* __restrict__ part_m,
                                               const float* __restrict__ part_s,
                                               const float* __restrict__ part_o,
                                               float* __restrict__ out,
                                               float* __restrict__ stats,
                                               unsigned* __restrict__ bad) {
    __shared__ float red[KN_BLOCK_SIZE / KN_WARP_SIZE];
    __shared__ float shared_ms[2];
    const unsigned lane = threadIdx.x % KN_WARP_SIZE;
    const unsigned warp = threadIdx.x / KN_WARP_SIZE;
    for (index_t h = blockIdx.x; h < n_heads; h += gridDim.x) {
        const float* mh = part_m + h * n_tiles;
        const float* sh = part_s + h * n_tiles;
        float m = -H2O_INF;
        bool broken = false;
        for (index_t i = threadIdx.x; i < n_tiles; i += KN_BLOCK_SIZE) {
            const float mi = mh[i];
            broken |= isnan(mi) || mi == H2O_INF;
            m = fmaxf(m, mi);
        }
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(KN_FULL_MASK, m, off));
        if (lane == 0) red[warp] = m;
        const int any_broken = __syncthreads_or(broken);
        if (threadIdx.x == 0) {
            float mm = red[0];
            for (unsigned w = 1; w < KN_BLOCK_SIZE / KN_WARP_SIZE; ++w) mm = fmaxf(mm, red[w]);
            shared_ms[0] = mm;
        }
        __syncthreads();
        const float big_m = shared_ms[0];
        float s = 0.0f;
        if (!any_broken && big_m != -H2O_INF) {
            for (index_t i = threadIdx.x; i < n_tiles; i += KN_BLOCK_SIZE) {
                s += sh[i] * expf(mh[i] - big_m);
            }
        }
        s = block_reduce_sum(s);
        if (threadIdx.x == 0) shared_ms[1] = s;
        __syncthreads();
        const float big_s = shared_ms[1];
        const bool fail = any_broken || !isfinite(big_m) || !isfinite(big_s) || !(big_s > 0.0f);
        const float inv = fail ? 0.0f : 1.0f / big_s;
        for (index_t x = threadIdx.x; x < d; x += KN_BLOCK_SIZE) {
            float acc = 0.0f;
            if (!fail) {
                for (index_t i = 0; i < n_tiles; ++i) {
                    acc = fmaf(part_o[(h * n_tiles + i) * d + x], expf(mh[i] - big_m), acc);
                }
            }
            out[h * d + x] = acc * inv;
        }
        if (threadIdx.x == 0) {
            stats[2 * h] = big_m;
            stats[2 * h + 1] = big_s;
            bad[h] = fail ? 1u : 0u;
        }
        __syncthreads();
    }
}

// Block b: kv head g = b / n_stiles, slots (b % n_stiles) * 256 + tid. Nothing is
// written when any head (of any group) failed, so the scores stay as they were.
__device__ __forceinline__ void decode_scores(index_t n_kv, index_t n_heads, index_t group,
                                              index_t budget, index_t len, index_t n_stiles,
                                              const float* __restrict__ logits,
                                              const float* __restrict__ stats,
                                              const unsigned* __restrict__ bad,
                                              float* __restrict__ score) {
    bool failed = false;
    for (index_t h = threadIdx.x; h < n_heads; h += KN_BLOCK_SIZE) failed |= bad[h] != 0u;
    if (__syncthreads_or(failed)) return;  // uniform: the whole block leaves
    for (index_t b = blockIdx.x; b < n_kv * n_stiles; b += gridDim.x) {
        const index_t g = b / n_stiles;
        const index_t s = (b % n_stiles) * KN_BLOCK_SIZE + threadIdx.x;
        if (s >= len) continue;
        float acc = score[g * budget + s];
        for (index_t i = 0; i < group; ++i) {
            const index_t h = g * group + i;
            acc += expf(logits[h * budget + s] - stats[2 * h]) / stats[2 * h + 1];
        }
        score[g * budget + s] = acc;
    }
}

}  // namespace kn

// Stable, unmangled entry points. Keep this list in sync with H2O.kernels in
// src/sources.rs.

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
h2o_decode_check_f32(kn::index_t n_kv, kn::index_t group, kn::index_t d, kn::index_t budget,
                     kn::index_t len, unsigned long long t, unsigned long long sink,
                     unsigned long long recent, const float* q, const float* k_new,
                     const float* v_new, const unsigned long long* pos, const float* score,
                     unsigned* slots, unsigned* verdict) {
    kn::decode_check(n_kv, group, d, budget, len, t, sink, recent, q, k_new, v_new, pos, score,
                     slots, verdict);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
h2o_decode_partial_f32(kn::index_t n_kv, kn::index_t group, kn::index_t d, kn::index_t budget,
                       kn::index_t len, kn::index_t n_tiles, float scale, unsigned long long t,
                       const unsigned* slots, const float* q, const float* k_new,
                       const float* v_new, float* kc, float* vc, float* score,
                       unsigned long long* pos, float* logits, float* part_m, float* part_s,
                       float* part_o) {
    kn::decode_partial(n_kv, group, d, budget, len, n_tiles, scale, t, slots, q, k_new, v_new,
                       kc, vc, score, pos, logits, part_m, part_s, part_o);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
h2o_decode_combine_f32(kn::index_t n_heads, kn::index_t d, kn::index_t n_tiles,
                       const float* part_m, const float* part_s, const float* part_o,
                       float* out, float* stats, unsigned* bad) {
    kn::decode_combine(n_heads, d, n_tiles, part_m, part_s, part_o, out, stats, bad);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
h2o_decode_scores_f32(kn::index_t n_kv, kn::index_t n_heads, kn::index_t group,
                      kn::index_t budget, kn::index_t len, kn::index_t n_stiles,
                      const float* logits, const float* stats, const unsigned* bad,
                      float* score) {
    kn::decode_scores(n_kv, n_heads, group, budget, len, n_stiles, logits, stats, bad, score);
}
