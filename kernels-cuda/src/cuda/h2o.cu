// h2o.cu: one H2O decode step on a fixed-budget KV cache in device memory, f32.
//
// The cache is the host one's layout: slot s of kv head g has its K and V rows at
// (g * budget + s) * d, its score and position at g * budget + s. A step is seven
// launches on one stream (the Rust driver in src/h2o.rs sequences them):
//
//   h2o_decode_check_f32    read-only, one block per (kv head, chunk of H2O_CHECK_CHUNK
//                           slots): finiteness of q, k_new, v_new (chunk 0); stored
//                           positions below next_pos; the chunk's best eviction
//                           candidate and first candidate. Writes only its record in
//                           the workspace.
//   h2o_decode_check_reduce_f32  one block per kv head: merges the chunk records in
//                           chunk order into the verdict and the slot token t takes (the
//                           victim when full). The host reads the verdicts back before
//                           anything else is launched.
//   h2o_decode_insert_f32   one block per kv head: writes k_new, v_new, score 0 and
//                           position t into the chosen slot, so the tile pass below
//                           loads every row of a tile the same way.
//   h2o_decode_partial_f32  one block per (kv head, tile of H2O_TILE slots): stages K
//                           (then V) in shared memory with 16-byte loads issued in
//                           batches before they are stored, computes the logits of
//                           the group's heads (kept in the workspace for the scores),
//                           the tile's max, sum of exp and exp-weighted sum of V. At
//                           most 64 registers (__launch_bounds__ minimum 4 blocks).
//   h2o_decode_combine_f32  one block per (query head, H2O_COLS columns): merges the
//                           tiles (two-pass softmax: global max, then rescaled sums),
//                           with each tile's weight exp(m_t - M) computed once into
//                           shared memory; writes out, keeps (max, sum) and a per-head
//                           failure flag.
//   h2o_decode_scores_f32   one block per (kv head, 256 slots): unless some head
//                           failed, adds each slot's probability summed over the group.
//
// Determinism: no atomics; every sum has a fixed order depending only on the sizes.
// Workspace words are 32-bit; slots and positions are stored as two words (lo, hi),
// so the workspace needs only 4-byte alignment.

#define H2O_TILE 64      // slots per block of the partial pass
#define H2O_DCHUNK 128   // columns of K (or V) staged in shared memory at a time
#define H2O_HEADS 8      // query heads handled per pass over a tile
#define H2O_KPITCH (H2O_DCHUNK + 4)  // padded row pitch: conflict-free float4 reads
#define H2O_CHECK_CHUNK 1024  // slots per block of the check pass
#define H2O_CHECK_WORDS 8     // words per (kv head, chunk) record of the check pass
#define H2O_COLS 32      // output columns per block of the combine pass
#define H2O_WCHUNK 1024  // tile weights held in shared memory at a time (combine)
#define H2O_BATCH 4      // 16-byte loads each thread issues before storing them

#define H2O_INF __int_as_float(0x7f800000)
#define H2O_NAN __int_as_float(0x7fc00000)

#define H2O_NONFINITE 1u
#define H2O_BAD_POS 2u
#define H2O_NO_VICTIM 4u

#if KN_BLOCK_SIZE != 256
#error "h2o.cu assumes 256 threads per block"
#endif
#if H2O_CHECK_CHUNK % KN_BLOCK_SIZE != 0 || (H2O_TILE * H2O_DCHUNK / 4) % (KN_BLOCK_SIZE * H2O_BATCH) != 0
#error "h2o.cu: chunk and tile sizes must be multiples of the block's loads"
#endif

namespace kn {

__device__ __forceinline__ bool finite_f32(float x) { return isfinite(x); }

__device__ __forceinline__ unsigned long long load_u64(const unsigned* w, index_t i) {
    return (unsigned long long)w[2 * i] | ((unsigned long long)w[2 * i + 1] << 32);
}

__device__ __forceinline__ void store_u64(unsigned* w, index_t i, unsigned long long v) {
    w[2 * i] = (unsigned)(v & 0xffffffffull);
    w[2 * i + 1] = (unsigned)(v >> 32);
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

// The verdict bits, best candidate and first candidate slot of every thread, merged
// over the block (a fixed tree: warp shuffles, then warps in order); thread 0 holds
// the result. Every thread of the block must call it (it contains barriers). `better`
// is a total order on candidates (slots are distinct), so the result is the best
// candidate whatever the order.
__device__ __forceinline__ void block_merge(Cand& best, unsigned long long& first,
                                            unsigned& bits) {
    __shared__ Cand warp_cands[KN_BLOCK_SIZE / KN_WARP_SIZE];
    __shared__ unsigned long long warp_first[KN_BLOCK_SIZE / KN_WARP_SIZE];
    __shared__ unsigned warp_bits[KN_BLOCK_SIZE / KN_WARP_SIZE];
    const unsigned lane = threadIdx.x % KN_WARP_SIZE;
    const unsigned warp = threadIdx.x / KN_WARP_SIZE;
#pragma unroll
    for (int offset = KN_WARP_SIZE / 2; offset > 0; offset >>= 1) {
        Cand o;
        o.score = __shfl_down_sync(KN_FULL_MASK, best.score, offset);
        o.pos = __shfl_down_sync(KN_FULL_MASK, best.pos, offset);
        o.slot = __shfl_down_sync(KN_FULL_MASK, best.slot, offset);
        if (better(o, best)) best = o;
        const unsigned long long f = __shfl_down_sync(KN_FULL_MASK, first, offset);
        first = f < first ? f : first;
        bits |= __shfl_down_sync(KN_FULL_MASK, bits, offset);
    }
    if (lane == 0) {
        warp_cands[warp] = best;
        warp_first[warp] = first;
        warp_bits[warp] = bits;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (unsigned w = 1; w < KN_BLOCK_SIZE / KN_WARP_SIZE; ++w) {
            if (better(warp_cands[w], best)) best = warp_cands[w];
            first = warp_first[w] < first ? warp_first[w] : first;
            bits |= warp_bits[w];
        }
    }
    __syncthreads();  // the buffers may be reused by the next call
}

// Block b: kv head g = b / n_chunks, slots [c * H2O_CHECK_CHUNK, +H2O_CHECK_CHUNK) of
// chunk c = b % n_chunks. Record (g, c) of `rec` gets: word 0 the failure bits
// (non-finite q, k_new or v_new: chunk 0 only; a stored position >= t), word 1 the
// best candidate's score bits, words 2-3 its position, 4-5 its slot (~0: none), 6-7
// the chunk's first candidate slot (~0: none). Candidates only when the cache is full.
// The victim rule is the host's (core h2o/evict.rs): among slots whose position p has
// p >= sink, p <= t and t - p >= recent, the smallest score, ties to the oldest
// position; a NaN score is never the best (see decode_check_reduce for when it wins).
__device__ __forceinline__ void decode_check(index_t n_kv, index_t group, index_t d,
                                             index_t budget, index_t len, index_t n_chunks,
                                             unsigned long long t, unsigned long long sink,
                                             unsigned long long recent,
                                             const float* __restrict__ q,
                                             const float* __restrict__ k_new,
                                             const float* __restrict__ v_new,
                                             const unsigned long long* __restrict__ pos,
                                             const float* __restrict__ score,
                                             unsigned* __restrict__ rec) {
    for (index_t b = blockIdx.x; b < n_kv * n_chunks; b += gridDim.x) {
        const index_t g = b / n_chunks;
        const index_t chunk = b % n_chunks;
        bool bad_value = false;
        if (chunk == 0) {
            const float* qg = q + g * group * d;
            for (index_t i = threadIdx.x; i < group * d; i += KN_BLOCK_SIZE) {
                bad_value |= !finite_f32(qg[i]);
            }
            for (index_t i = threadIdx.x; i < d; i += KN_BLOCK_SIZE) {
                bad_value |= !finite_f32(k_new[g * d + i]) || !finite_f32(v_new[g * d + i]);
            }
        }
        const unsigned long long* pg = pos + g * budget;
        const float* sg = score + g * budget;
        const index_t s0 = chunk * H2O_CHECK_CHUNK;
        const bool full = len >= budget;
        bool bad_pos = false;
        Cand best;
        best.score = 0.0f;
        best.pos = 0;
        best.slot = ~0ull;
        unsigned long long first = ~0ull;
        // Every load of the thread is issued before any is used; s increases, so the
        // thread's first candidate is the first one it finds.
        unsigned long long p[H2O_CHECK_CHUNK / KN_BLOCK_SIZE];
        float sc[H2O_CHECK_CHUNK / KN_BLOCK_SIZE];
#pragma unroll
        for (unsigned u = 0; u < H2O_CHECK_CHUNK / KN_BLOCK_SIZE; ++u) {
            const index_t s = s0 + threadIdx.x + u * KN_BLOCK_SIZE;
            p[u] = s < len ? pg[s] : 0ull;
            sc[u] = (full && s < budget) ? sg[s] : 0.0f;
        }
#pragma unroll
        for (unsigned u = 0; u < H2O_CHECK_CHUNK / KN_BLOCK_SIZE; ++u) {
            const index_t s = s0 + threadIdx.x + u * KN_BLOCK_SIZE;
            if (s >= len) continue;  // len == budget when full
            bad_pos |= p[u] >= t;
            if (!full || p[u] < sink || p[u] > t || t - p[u] < recent) continue;
            if (first == ~0ull) first = s;
            Cand c;
            c.score = sc[u];
            c.pos = p[u];
            c.slot = s;
            if (!isnan(c.score) && better(c, best)) best = c;
        }
        unsigned bits = (bad_value ? H2O_NONFINITE : 0u) | (bad_pos ? H2O_BAD_POS : 0u);
        block_merge(best, first, bits);
        if (threadIdx.x == 0) {
            unsigned* r = rec + b * H2O_CHECK_WORDS;
            r[0] = bits;
            r[1] = __float_as_uint(best.score);
            store_u64(r + 2, 0, best.pos);
            store_u64(r + 4, 0, best.slot);
            store_u64(r + 6, 0, first);
        }
    }
}

// Block b = kv head g: merges the n_chunks records of g in chunk order. verdict[g] gets
// the failure bits (and H2O_NO_VICTIM when full with no candidate); slots[g] the slot
// token t takes: len when not full, else the victim. The host scans in slot order and
// replaces its pick only on a strictly better candidate, so a NaN score wins exactly
// when it is the first candidate and is never picked otherwise: reproduced by taking
// the first candidate when its score is NaN, else the best of the non-NaN candidates.
__device__ __forceinline__ void decode_check_reduce(index_t n_kv, index_t budget, index_t len,
                                                    index_t n_chunks,
                                                    const float* __restrict__ score,
                                                    const unsigned* __restrict__ rec,
                                                    unsigned* __restrict__ slots,
                                                    unsigned* __restrict__ verdict) {
    for (index_t g = blockIdx.x; g < n_kv; g += gridDim.x) {
        Cand best;
        best.score = 0.0f;
        best.pos = 0;
        best.slot = ~0ull;
        unsigned long long first = ~0ull;
        unsigned bits = 0;
        for (index_t c = threadIdx.x; c < n_chunks; c += KN_BLOCK_SIZE) {
            const unsigned* r = rec + (g * n_chunks + c) * H2O_CHECK_WORDS;
            bits |= r[0];
            Cand o;
            o.score = __uint_as_float(r[1]);
            o.pos = load_u64(r + 2, 0);
            o.slot = load_u64(r + 4, 0);
            if (better(o, best)) best = o;
            const unsigned long long f = load_u64(r + 6, 0);
            first = f < first ? f : first;
        }
        block_merge(best, first, bits);
        if (threadIdx.x == 0) {
            unsigned long long slot = len;
            if (len >= budget) {
                if (first == ~0ull) {
                    bits |= H2O_NO_VICTIM;
                    slot = 0;
                } else if (isnan(score[g * budget + first])) {
                    slot = first;
                } else {
                    slot = best.slot;
                }
            }
            store_u64(slots, g, slot);
            verdict[g] = bits;
        }
    }
}

// Block b = kv head g: the new token goes into slot slots[g] (validated by the check:
// < budget): its K and V rows, score 0, position t.
__device__ __forceinline__ void decode_insert(index_t n_kv, index_t d, index_t budget,
                                              unsigned long long t,
                                              const unsigned* __restrict__ slots,
                                              const float* __restrict__ k_new,
                                              const float* __restrict__ v_new,
                                              float* __restrict__ kc, float* __restrict__ vc,
                                              float* __restrict__ score,
                                              unsigned long long* __restrict__ pos) {
    for (index_t g = blockIdx.x; g < n_kv; g += gridDim.x) {
        const index_t row = g * budget + load_u64(slots, g);
        for (index_t i = threadIdx.x; i < d; i += KN_BLOCK_SIZE) {
            kc[row * d + i] = k_new[g * d + i];
            vc[row * d + i] = v_new[g * d + i];
        }
        if (threadIdx.x == 0) {
            score[row] = 0.0f;
            pos[row] = t;
        }
    }
}

// dst[row * H2O_KPITCH + col] = src[row * d + c0 + col] for rows < n and columns < cw,
// 0 elsewhere (rows < H2O_TILE, columns < H2O_DCHUNK). Every thread of the block takes
// part. vec (src 16-byte aligned, d % 4 == 0, so cw % 4 == 0): each thread issues
// H2O_BATCH 16-byte loads, with no branch between them, before storing them; a warp
// reads 512 contiguous bytes of a row. Otherwise the same with 4-byte loads, in
// batches of half as many rows (2 * H2O_BATCH loads). The batches are not unrolled
// into one another, so the block's loads in flight stay within 64 registers.
__device__ __forceinline__ void stage_tile(const float* __restrict__ src, index_t d, index_t c0,
                                           unsigned cw, unsigned n, bool vec,
                                           float* __restrict__ dst) {
    constexpr unsigned V4 = H2O_DCHUNK / 4;  // float4 per staged row
    constexpr unsigned PER = H2O_TILE * V4 / KN_BLOCK_SIZE;  // float4 per thread
    constexpr unsigned ROWS = KN_BLOCK_SIZE / V4;  // rows between a thread's loads
    const unsigned c4 = threadIdx.x % V4;
    const unsigned row0 = threadIdx.x / V4;
    // Loads are unconditional (no branch between them): a row or column outside the
    // tile reads the last valid one instead (n >= 1, cw >= 1), and stores 0.
    const unsigned last_c = (4 * c4 < cw) ? 4 * c4 : ((cw - 1) & ~3u);
    const bool col_ok = 4 * c4 < cw;
    float* to = dst + row0 * H2O_KPITCH + 4 * c4;
    if (vec) {
#pragma unroll 1
        for (unsigned b0 = 0; b0 < PER; b0 += H2O_BATCH) {
            float4 r[H2O_BATCH];
#pragma unroll
            for (unsigned u = 0; u < H2O_BATCH; ++u) {
                const unsigned row = row0 + (b0 + u) * ROWS;
                const unsigned rr = row < n ? row : n - 1;
                r[u] = *reinterpret_cast<const float4*>(src + (index_t)rr * d + c0 + last_c);
            }
#pragma unroll
            for (unsigned u = 0; u < H2O_BATCH; ++u) {
                const unsigned row = row0 + (b0 + u) * ROWS;
                const float4 z = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                *reinterpret_cast<float4*>(to + (b0 + u) * ROWS * H2O_KPITCH) =
                    (row < n && col_ok) ? r[u] : z;
            }
        }
    } else {
#pragma unroll 1
        for (unsigned b0 = 0; b0 < PER; b0 += H2O_BATCH / 2) {
            float r[H2O_BATCH / 2][4];
#pragma unroll
            for (unsigned u = 0; u < H2O_BATCH / 2; ++u) {
                const unsigned row = row0 + (b0 + u) * ROWS;
                const float* p = src + (index_t)(row < n ? row : n - 1) * d + c0;
#pragma unroll
                for (unsigned e = 0; e < 4; ++e) {
                    r[u][e] = p[(4 * c4 + e < cw) ? 4 * c4 + e : cw - 1];
                }
            }
#pragma unroll
            for (unsigned u = 0; u < H2O_BATCH / 2; ++u) {
                const unsigned row = row0 + (b0 + u) * ROWS;
#pragma unroll
                for (unsigned e = 0; e < 4; ++e) {
                    to[(b0 + u) * ROWS * H2O_KPITCH + e] =
                        (row < n && 4 * c4 + e < cw) ? r[u][e] : 0.0f;
                }
            }
        }
    }
}

// Block b: kv head g = b / n_tiles, tile b % n_tiles of the len slots in use (len after
// the insertion, which h2o_decode_insert_f32 has written). For each chunk of up to
// H2O_HEADS heads of the group:
//  1. logits: K is staged in shared memory H2O_DCHUNK columns at a time; thread
//     (j = tid % 64, r = tid / 64) accumulates the dot products of slot j with heads r
//     and r + 4 of the chunk. Logits go to logits[head][slot] (for the scores).
//  2. warp h of the chunk takes head h: tile max m (a NaN or +inf logit makes m NaN:
//     the combine pass reports it), p_j = exp(l_j - m), s = sum p_j.
//  3. V is staged like K; thread (x = tid % 128, k = tid / 128) sums p_j v_j[x] over
//     the tile's slots (in slot order) for heads 4k .. 4k + 3 of the chunk.
__device__ __forceinline__ void decode_partial(
    index_t n_kv, index_t group, index_t d, index_t budget, index_t len, index_t n_tiles,
    float scale, const float* __restrict__ q, const float* __restrict__ kc,
    const float* __restrict__ vc, float* __restrict__ logits, float* __restrict__ part_m,
    float* __restrict__ part_s, float* __restrict__ part_o) {
    __shared__ __align__(16) float ks[H2O_TILE * H2O_KPITCH];
    __shared__ __align__(16) float qs[H2O_HEADS * H2O_DCHUNK];
    __shared__ float ps[H2O_HEADS * H2O_TILE];
    const unsigned tid = threadIdx.x;
    const unsigned lane = tid % KN_WARP_SIZE;
    const unsigned warp = tid / KN_WARP_SIZE;
    const bool vec = (d % 4 == 0) &&
                     ((reinterpret_cast<unsigned long long>(kc) |
                       reinterpret_cast<unsigned long long>(vc)) & 15ull) == 0;
    for (index_t b = blockIdx.x; b < n_kv * n_tiles; b += gridDim.x) {
        const index_t g = b / n_tiles;
        const index_t tile = b % n_tiles;
        const index_t start = tile * H2O_TILE;
        const unsigned n = (unsigned)((len - start < H2O_TILE) ? len - start : H2O_TILE);
        const float* kg = kc + (g * budget + start) * d;
        const float* vg = vc + (g * budget + start) * d;
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
                stage_tile(kg, d, c0, cw, n, vec, ks);
                for (unsigned e = tid; e < H2O_HEADS * H2O_DCHUNK; e += KN_BLOCK_SIZE) {
                    const unsigned h = e / H2O_DCHUNK, col = e % H2O_DCHUNK;
                    qs[e] = (h < hn && col < cw) ? q[(head0 + h) * d + c0 + col] : 0.0f;
                }
                __syncthreads();
                const float4* krow = reinterpret_cast<const float4*>(ks + j * H2O_KPITCH);
                const float4* qa = reinterpret_cast<const float4*>(qs + r * H2O_DCHUNK);
                const float4* qb = reinterpret_cast<const float4*>(qs + (r + 4) * H2O_DCHUNK);
#pragma unroll 2
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
            // 3. exp-weighted sum of V
            const unsigned x = tid % H2O_DCHUNK;
            const unsigned hq = (tid / H2O_DCHUNK) * (H2O_HEADS / 2);  // first head of 4
            for (index_t c0 = 0; c0 < d; c0 += H2O_DCHUNK) {
                const unsigned cw = (unsigned)((d - c0 < H2O_DCHUNK) ? d - c0 : H2O_DCHUNK);
                __syncthreads();  // ps is final; previous users of ks are done
                stage_tile(vg, d, c0, cw, n, vec, ks);
                __syncthreads();
                if (hq < hn && x < cw) {
                    float o[H2O_HEADS / 2];
#pragma unroll
                    for (unsigned h = 0; h < H2O_HEADS / 2; ++h) o[h] = 0.0f;
                    const float* p = ps + hq * H2O_TILE;
#pragma unroll 4
                    for (unsigned jj = 0; jj < n; ++jj) {
                        const float v = ks[jj * H2O_KPITCH + x];
#pragma unroll
                        for (unsigned h = 0; h < H2O_HEADS / 2; ++h) {
                            o[h] = fmaf(p[h * H2O_TILE + jj], v, o[h]);
                        }
                    }
                    float* po = part_o + ((head0 + hq) * n_tiles + tile) * d + c0 + x;
#pragma unroll
                    for (unsigned h = 0; h < H2O_HEADS / 2; ++h) {
                        if (hq + h < hn) po[(index_t)h * n_tiles * d] = o[h];
                    }
                }
            }
        }
    }
}

// Block b: query head h = b / n_cchunks, columns [cc * H2O_COLS, +H2O_COLS) of
// cc = b % n_cchunks. M = max over tiles, S = sum_t s_t exp(m_t - M) (every block of
// the head computes both the same way), then the weights w_t = exp(m_t - M) go to
// shared memory H2O_WCHUNK at a time and thread (x = tid % 32, k = tid / 32) sums
// o_t[x] w_t over the tiles t = k mod 8; the eight sums meet in order:
// out[h][x] = sum / S. A NaN or +inf tile max (a NaN or overflowing logit), M = -inf
// (no finite logit) or a sum that is not finite and positive set bad[h] (the host's
// KN_ERR_NUMERICAL); out is then 0. The block of columns 0 writes stats and bad.
__device__ __forceinline__ void decode_combine(index_t n_heads, index_t d, index_t n_tiles,
                                               index_t n_cchunks,
                                               const float* __restrict__ part_m,
                                               const float* __restrict__ part_s,
                                               const float* __restrict__ part_o,
                                               float* __restrict__ out,
                                               float* __restrict__ stats,
                                               unsigned* __restrict__ bad) {
    constexpr unsigned GROUPS = KN_BLOCK_SIZE / H2O_COLS;
    __shared__ float red[KN_BLOCK_SIZE / KN_WARP_SIZE];
    __shared__ float shared_ms[2];
    __shared__ float w[H2O_WCHUNK];
    __shared__ float sums[GROUPS * H2O_COLS];
    const unsigned lane = threadIdx.x % KN_WARP_SIZE;
    const unsigned warp = threadIdx.x / KN_WARP_SIZE;
    const unsigned xc = threadIdx.x % H2O_COLS;
    const unsigned k = threadIdx.x / H2O_COLS;
    for (index_t b = blockIdx.x; b < n_heads * n_cchunks; b += gridDim.x) {
        const index_t h = b / n_cchunks;
        const index_t cc = b % n_cchunks;
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
            for (unsigned v = 1; v < KN_BLOCK_SIZE / KN_WARP_SIZE; ++v) mm = fmaxf(mm, red[v]);
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
        const index_t x = cc * H2O_COLS + xc;
        float acc = 0.0f;
        if (!fail) {  // uniform over the block
            for (index_t t0 = 0; t0 < n_tiles; t0 += H2O_WCHUNK) {
                const unsigned tw =
                    (unsigned)((n_tiles - t0 < H2O_WCHUNK) ? n_tiles - t0 : H2O_WCHUNK);
                __syncthreads();  // previous readers of w are done
                for (unsigned i = threadIdx.x; i < tw; i += KN_BLOCK_SIZE) {
                    w[i] = expf(mh[t0 + i] - big_m);
                }
                __syncthreads();
                if (x < d) {
                    const float* po = part_o + (h * n_tiles + t0) * d + x;
                    for (unsigned i = k; i < tw; i += GROUPS) {
                        acc = fmaf(po[(index_t)i * d], w[i], acc);
                    }
                }
            }
        }
        sums[k * H2O_COLS + xc] = acc;
        __syncthreads();
        if (k == 0 && x < d) {
            float total = sums[xc];
#pragma unroll
            for (unsigned i = 1; i < GROUPS; ++i) total += sums[i * H2O_COLS + xc];
            out[h * d + x] = total * inv;
        }
        if (cc == 0 && threadIdx.x == 0) {
            stats[2 * h] = big_m;
            stats[2 * h + 1] = big_s;
            bad[h] = fail ? 1u : 0u;
        }
        __syncthreads();  // sums and shared_ms are reused by the next head
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
                     kn::index_t len, kn::index_t n_chunks, unsigned long long t,
                     unsigned long long sink, unsigned long long recent, const float* q,
                     const float* k_new, const float* v_new, const unsigned long long* pos,
                     const float* score, unsigned* rec) {
    kn::decode_check(n_kv, group, d, budget, len, n_chunks, t, sink, recent, q, k_new, v_new,
                     pos, score, rec);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
h2o_decode_check_reduce_f32(kn::index_t n_kv, kn::index_t budget, kn::index_t len,
                            kn::index_t n_chunks, const float* score, const unsigned* rec,
                            unsigned* slots, unsigned* verdict) {
    kn::decode_check_reduce(n_kv, budget, len, n_chunks, score, rec, slots, verdict);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
h2o_decode_insert_f32(kn::index_t n_kv, kn::index_t d, kn::index_t budget, unsigned long long t,
                      const unsigned* slots, const float* k_new, const float* v_new,
                      float* kc, float* vc, float* score, unsigned long long* pos) {
    kn::decode_insert(n_kv, d, budget, t, slots, k_new, v_new, kc, vc, score, pos);
}

// At least 4 blocks per multiprocessor: at most 64 registers per thread.
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE, 4)
h2o_decode_partial_f32(kn::index_t n_kv, kn::index_t group, kn::index_t d, kn::index_t budget,
                       kn::index_t len, kn::index_t n_tiles, float scale, const float* q,
                       const float* kc, const float* vc, float* logits, float* part_m,
                       float* part_s, float* part_o) {
    kn::decode_partial(n_kv, group, d, budget, len, n_tiles, scale, q, kc, vc, logits, part_m,
                       part_s, part_o);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
h2o_decode_combine_f32(kn::index_t n_heads, kn::index_t d, kn::index_t n_tiles,
                       kn::index_t n_cchunks, const float* part_m, const float* part_s,
                       const float* part_o, float* out, float* stats, unsigned* bad) {
    kn::decode_combine(n_heads, d, n_tiles, n_cchunks, part_m, part_s, part_o, out, stats, bad);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
h2o_decode_scores_f32(kn::index_t n_kv, kn::index_t n_heads, kn::index_t group,
                      kn::index_t budget, kn::index_t len, kn::index_t n_stiles,
                      const float* logits, const float* stats, const unsigned* bad,
                      float* score) {
    kn::decode_scores(n_kv, n_heads, group, budget, len, n_stiles, logits, stats, bad, score);
}
