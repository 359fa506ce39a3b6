// linattn.cu: chunked causal linear attention with a per-head decay or a gate per head
// and token, f32.
//
// Layouts are the host's (kernels-core linattn): q, k [n_heads][len][dk]; v, out
// [n_heads][len][dv]; states [n_heads][dk][dv]. With decay g per head,
//   S_t = g S_{t-1} + k_t^T v_t,   o_t = scale q_t S_t   (token t included).
// The sequence is cut into chunks of L tokens (the last may be shorter). For chunk c
// starting at token cs (positions i, j counted from the sequence start):
//   U_c      = K_c^T diag(g^(ce-1-j)) V_c                 la_chunk_states_f32
//   S[c + 1] = g^(L_c) S[c] + U_c,  S[0] = state_in or 0   la_scan_f32
//   O_c      = scale g^(i-cs+1) Q_c S[c]
//            + ((Q_c K_c^T) .* scale g^(i-j) [j <= i]) V_c   la_output_f32
// The states S[c] live in the caller's workspace as [n_chunks + 1][n_heads][dk][dv],
// the layout of kn_linattn_state_scan's arrays, so one scan kernel serves the forward
// pass, the chunk state and the LASP-2 prefix scan.
//
// la_check_f32 is read-only on the caller's arrays: it ORs failure bits into one
// workspace word (integer atomics: the verdict does not depend on their order).
//
// Tiles: a block computes a 64 x 64 output tile, thread (ty = tid / 16, tx = tid % 16)
// owning rows ty + 16 r and columns tx + 16 s (r, s < 4), so a warp's shared-memory
// reads are broadcasts or consecutive words. Products run over slices of 32 staged in
// shared memory. No floating-point atomics: every sum has an order fixed by the sizes.
//
// Decay powers are the host's (core linattn/powers.rs): factor * exp(n ln g) in
// double, rounded once to float, flushed to 0 below the smallest normal float.
//
// Gates (has_gates; then has_decay is 0): log gates gates[h][t] <= 0, the decay before
// token t being exp(gates[h][t]). With G_i the cumulative gates of a chunk from its
// first token to i inclusive (in double), the weights are the host's (core
// linattn/decay.rs), exponentials of differences, rounded once and flushed:
//   U_c      = K_c^T diag(exp(G_last - G_j)) V_c              la_chunk_states_f32
//   S[c + 1] = exp(G_last) S[c] + U_c                          la_scan_f32 (factors)
//   O_c      = scale exp(G_i) Q_c S[c]
//            + ((Q_c K_c^T) .* scale exp(G_i - G_j) [j <= i]) V_c   la_output_f32
// Every kernel computes G by one warp, 32 tokens at a time from the chunk's first
// token (la_cum32), so the same position gets the same bits wherever it is computed
// (G_i - G_i is 0, the weight of the last token 1). la_chunk_states_f32 also writes
// each chunk's factor exp(G_last) for the scan; la_log_totals_f32 writes the log
// decay of a whole sequence per head (kn_linattn_gated_chunk_state's log_decay).

#define LA_TILE 64     // output rows and columns per block
#define LA_SLICE 32    // depth of one staged slice of a product
#define LA_QPITCH 33   // Q slice [64][33]: rows ty, ty + 1 in different banks
#define LA_KPITCH 65   // K^T, S, V slices [32][65]
#define LA_APITCH 80   // score tile [64][80]: rows ty, ty + 1 are 16 banks apart

#define LA_DECAY_NONFINITE 1u
#define LA_DECAY_RANGE 2u
#define LA_NONFINITE 4u
#define LA_BAD_LENS 8u
#define LA_GATE_RANGE 16u

#if KN_BLOCK_SIZE != 256
#error "linattn.cu assumes 256 threads per block"
#endif
#if KN_WARP_SIZE != LA_SLICE || LA_TILE != 2 * LA_SLICE
#error "linattn.cu assumes slices of one warp's width and tiles of two slices"
#endif

namespace kn {

__device__ __forceinline__ float la_power(float factor, float g, index_t n) {
    if (g == 1.0f) return factor;
    const float p = (float)((double)factor * exp((double)n * log((double)g)));
    return fabsf(p) < __int_as_float(0x00800000) ? 0.0f : p;
}

__device__ __forceinline__ float la_flush(float p) {
    return fabsf(p) < __int_as_float(0x00800000) ? 0.0f : p;
}

// Whole warp: returns base + sum of g[t] for t from x0 to x0 + lane (positions at or
// past end count 0), in double; *carry receives that value at the last position below
// end (x0 < end), the base of the next 32 positions. A function of its arguments
// only, so every kernel gets the same bits for the same position.
__device__ __forceinline__ double la_cum32(const float* __restrict__ g, index_t x0, index_t end,
                                           double base, double* carry) {
    const unsigned lane = threadIdx.x % KN_WARP_SIZE;
    const index_t p = x0 + lane;
    double x = (p < end) ? (double)g[p] : 0.0;
#pragma unroll
    for (int off = 1; off < KN_WARP_SIZE; off <<= 1) {
        const double y = __shfl_up_sync(KN_FULL_MASK, x, off);
        if ((int)lane >= off) x += y;
    }
    x += base;
    const index_t last = (end - x0 < (index_t)KN_WARP_SIZE) ? end - 1 - x0 : KN_WARP_SIZE - 1;
    *carry = __shfl_sync(KN_FULL_MASK, x, (int)last);
    return x;
}

__device__ __forceinline__ unsigned warp_or(unsigned bits) {
#pragma unroll
    for (int off = KN_WARP_SIZE / 2; off > 0; off >>= 1) {
        bits |= __shfl_xor_sync(KN_FULL_MASK, bits, off);
    }
    return bits;
}

__device__ __forceinline__ unsigned nonfinite_bits(const float* __restrict__ x, index_t n) {
    bool bad = false;
    for (index_t i = global_thread_index(); i < n; i += grid_stride()) bad |= !isfinite(x[i]);
    return bad ? LA_NONFINITE : 0u;
}

// Decay values (finite, in (0, 1]; with `gated`, log gates: finite, <= 0), four arrays
// (finite), and chunk lengths (block 0: none zero, the sum below 2^64). *verdict must be
// zero before the launch.
__device__ __forceinline__ void la_check(const float* __restrict__ decay, index_t n_decay,
                                         int gated,
                                         const float* __restrict__ a, index_t na,
                                         const float* __restrict__ b, index_t nb,
                                         const float* __restrict__ c, index_t nc,
                                         const float* __restrict__ d, index_t nd,
                                         const unsigned long long* __restrict__ lens,
                                         index_t n_lens, unsigned* __restrict__ verdict) {
    __shared__ unsigned long long sums[KN_BLOCK_SIZE];
    __shared__ unsigned lens_bits;
    unsigned bits = 0;
    for (index_t i = global_thread_index(); i < n_decay; i += grid_stride()) {
        const float g = decay[i];
        if (!isfinite(g)) {
            bits |= LA_DECAY_NONFINITE;
        } else if (gated) {
            if (!(g <= 0.0f)) bits |= LA_GATE_RANGE;
        } else if (!(g > 0.0f && g <= 1.0f)) {
            bits |= LA_DECAY_RANGE;
        }
    }
    bits |= nonfinite_bits(a, na) | nonfinite_bits(b, nb) | nonfinite_bits(c, nc) |
            nonfinite_bits(d, nd);
    if (blockIdx.x == 0 && n_lens > 0) {  // uniform in the block
        unsigned long long s = 0;
        bool bad = false;
        for (index_t i = threadIdx.x; i < n_lens; i += KN_BLOCK_SIZE) {
            const unsigned long long x = lens[i];
            const unsigned long long t = s + x;
            bad |= x == 0 || t < s;
            s = t;
        }
        sums[threadIdx.x] = bad ? ~0ull : s;
        if (threadIdx.x == 0) lens_bits = 0;
        const int any_bad = __syncthreads_or(bad);
        if (threadIdx.x == 0) {
            unsigned long long total = 0;
            bool over = any_bad != 0;
            for (unsigned t = 0; t < KN_BLOCK_SIZE; ++t) {
                const unsigned long long n = total + sums[t];
                over |= n < total;
                total = n;
            }
            lens_bits = over ? LA_BAD_LENS : 0u;
        }
        __syncthreads();
        bits |= lens_bits;
    }
    bits = warp_or(bits);
    if (threadIdx.x % KN_WARP_SIZE == 0 && bits != 0u) atomicOr(verdict, bits);
}

// Block: (chunk c, head h, 64 rows a of dk, 64 columns b of dv). Writes
// dst[c][h][a][b] = sum over the chunk's tokens j of g^(ce-1-j) k_j[a] v_j[b] (gated:
// exp(G_last - G_j) in place of g^(ce-1-j)), and with gates and has_factors, the
// blocks of a = b = 0 write factors[c][h] = exp(G_last).
__device__ __forceinline__ void la_chunk_states(index_t n_heads, index_t len, index_t dk,
                                                index_t dv, index_t chunk, index_t n_chunks,
                                                const float* __restrict__ decay, int has_decay,
                                                const float* __restrict__ gates, int has_gates,
                                                float* __restrict__ factors, int has_factors,
                                                const float* __restrict__ k,
                                                const float* __restrict__ v,
                                                float* __restrict__ dst) {
    __shared__ float ks[LA_SLICE * LA_TILE];
    __shared__ float vs[LA_SLICE * LA_TILE];
    __shared__ float w[LA_SLICE];
    const unsigned tid = threadIdx.x;
    const unsigned ty = tid / 16, tx = tid % 16;
    const index_t ta = (dk + LA_TILE - 1) / LA_TILE, tb = (dv + LA_TILE - 1) / LA_TILE;
    for (index_t blk = blockIdx.x; blk < n_chunks * n_heads * ta * tb; blk += gridDim.x) {
        index_t rest = blk;
        const index_t bt = rest % tb;
        rest /= tb;
        const index_t at = rest % ta;
        rest /= ta;
        const index_t h = rest % n_heads;
        const index_t c = rest / n_heads;
        const index_t cs = c * chunk;
        const index_t ce = (cs + chunk < len) ? cs + chunk : len;
        const index_t a0 = at * LA_TILE, b0 = bt * LA_TILE;
        const float g = has_decay ? decay[h] : 1.0f;
        const float* kh = k + h * len * dk;
        const float* vh = v + h * len * dv;
        const float* gh = gates + h * len;
        // Gated: warp 0 holds G_last and the running base of the cumulative gates.
        double g_last = 0.0, g_base = 0.0, carry;
        if (has_gates && tid < KN_WARP_SIZE) {
            for (index_t j0 = cs; j0 < ce; j0 += LA_SLICE) {
                la_cum32(gh, j0, ce, g_last, &carry);
                g_last = carry;
            }
            if (has_factors && at == 0 && bt == 0 && tid == 0) {
                factors[c * n_heads + h] = la_flush((float)exp(g_last));
            }
        }
        float acc[4][4];
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int s = 0; s < 4; ++s) acc[r][s] = 0.0f;
        for (index_t j0 = cs; j0 < ce; j0 += LA_SLICE) {
            __syncthreads();  // the previous slice's readers are done
            if (has_gates) {
                if (tid < LA_SLICE) {
                    const index_t j = j0 + tid;
                    const double gj = la_cum32(gh, j0, ce, g_base, &carry);
                    g_base = carry;
                    w[tid] = (j < ce) ? la_flush((float)exp(g_last - gj)) : 0.0f;
                }
            } else if (tid < LA_SLICE) {
                const index_t j = j0 + tid;
                w[tid] = (j < ce) ? la_power(1.0f, g, ce - 1 - j) : 0.0f;
            }
            __syncthreads();
            for (unsigned e = tid; e < LA_SLICE * LA_TILE; e += KN_BLOCK_SIZE) {
                const unsigned jj = e / LA_TILE, x = e % LA_TILE;
                const index_t j = j0 + jj;
                ks[e] = (j < ce && a0 + x < dk) ? w[jj] * kh[j * dk + a0 + x] : 0.0f;
                vs[e] = (j < ce && b0 + x < dv) ? vh[j * dv + b0 + x] : 0.0f;
            }
            __syncthreads();
#pragma unroll 8
            for (unsigned jj = 0; jj < LA_SLICE; ++jj) {
                float kv[4], vv[4];
#pragma unroll
                for (int r = 0; r < 4; ++r) kv[r] = ks[jj * LA_TILE + ty + 16 * r];
#pragma unroll
                for (int s = 0; s < 4; ++s) vv[s] = vs[jj * LA_TILE + tx + 16 * s];
#pragma unroll
                for (int r = 0; r < 4; ++r)
#pragma unroll
                    for (int s = 0; s < 4; ++s) acc[r][s] = fmaf(kv[r], vv[s], acc[r][s]);
            }
        }
        float* out = dst + (c * n_heads + h) * dk * dv;
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const index_t a = a0 + ty + 16 * r;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                const index_t b = b0 + tx + 16 * s;
                if (a < dk && b < dv) out[a * dv + b] = acc[r][s];
            }
        }
    }
}

// Thread per state element e < per_chunk (head e / per_head):
//   acc = init[e] or 0; prefix[0][e] = acc;
//   for c < n_steps: acc = g^(len_c) acc + src[c][e]; prefix[c + 1][e] = acc;
//   final_out[e] = acc.
// len_c is lens[c] when has_lens, else `uniform` (the last step: `last`); with
// step_kind 1 the factor g^(len_c) is steps[c][h] instead (the gated chunks' factors
// from la_chunk_states), with step_kind 2 exp(steps[c][h]) (log decays, exponentiated
// in double, rounded once and flushed as the host's state scan does). With
// src_in_prefix the states are read from prefix + per_chunk (the forward pass scans in
// place: each element is read, then written, by its own thread), so neither pointer
// carries __restrict__.
__device__ __forceinline__ void la_scan(index_t n_steps, index_t per_chunk, index_t per_head,
                                        const float* __restrict__ decay, int has_decay,
                                        const unsigned long long* __restrict__ lens,
                                        int has_lens, index_t uniform, index_t last,
                                        const float* __restrict__ steps, int step_kind,
                                        const float* __restrict__ init, int has_init,
                                        const float* src, int src_in_prefix, float* prefix,
                                        int has_prefix, float* __restrict__ final_out,
                                        int has_final) {
    const float* states = src_in_prefix ? prefix + per_chunk : src;
    const index_t n_heads = per_chunk / per_head;
    for (index_t e = global_thread_index(); e < per_chunk; e += grid_stride()) {
        const index_t hd = e / per_head;
        const float g = has_decay ? decay[e / per_head] : 1.0f;
        const float g_uniform = la_power(1.0f, g, uniform);
        const float g_last = la_power(1.0f, g, last);
        float acc = has_init ? init[e] : 0.0f;
        if (has_prefix) prefix[e] = acc;
        for (index_t c = 0; c < n_steps; ++c) {
            float p;
            if (step_kind == 1) {
                p = steps[c * n_heads + hd];
            } else if (step_kind == 2) {
                p = la_flush((float)exp((double)steps[c * n_heads + hd]));
            } else {
                p = has_lens ? la_power(1.0f, g, lens[c])
                             : (c + 1 == n_steps ? g_last : g_uniform);
            }
            // The host's order: scale the running state, then add (no contraction).
            acc = __fadd_rn(__fmul_rn(p, acc), states[c * per_chunk + e]);
            if (has_prefix) prefix[(c + 1) * per_chunk + e] = acc;
        }
        if (has_final) final_out[e] = acc;
    }
}

// Block: (chunk c, 64-row tile t of the chunk, head h, 64 columns b of dv). Rows
// r0 .. r_end of the chunk [cs, ce):
//   O = scale g^(i-cs+1) (Q S[c]) + sum over 64-column tiles j0 of the chunk up to
//       the rows' end of ((Q K^T) .* scale g^(i-j) [j <= i]) V,
// gated: scale exp(G_i) and scale exp(G_i - G_j) in place of the powers, from the
// cumulative gates of the rows (gr) and of each column tile (gc).
__device__ __forceinline__ void la_output(index_t n_heads, index_t len, index_t dk, index_t dv,
                                          index_t chunk, index_t n_chunks,
                                          index_t tiles_per_chunk,
                                          const float* __restrict__ decay, int has_decay,
                                          const float* __restrict__ gates, int has_gates,
                                          float scale, int has_init,
                                          const float* __restrict__ q,
                                          const float* __restrict__ k,
                                          const float* __restrict__ v,
                                          const float* __restrict__ states,
                                          float* __restrict__ out) {
    __shared__ float qs[LA_TILE * LA_QPITCH];
    __shared__ float ks[LA_SLICE * LA_KPITCH];  // K^T slice, S slice or V slice
    __shared__ float as[LA_TILE * LA_APITCH];
    __shared__ float pw[2 * LA_TILE];
    __shared__ float fi[LA_TILE];
    __shared__ double gr[LA_TILE];
    __shared__ double gc[LA_TILE];
    const unsigned tid = threadIdx.x;
    const unsigned ty = tid / 16, tx = tid % 16;
    const index_t tb = (dv + LA_TILE - 1) / LA_TILE;
    const index_t blocks = n_chunks * tiles_per_chunk * n_heads * tb;
    for (index_t blk = blockIdx.x; blk < blocks; blk += gridDim.x) {
        index_t rest = blk;
        const index_t bt = rest % tb;
        rest /= tb;
        const index_t h = rest % n_heads;
        rest /= n_heads;
        const index_t t = rest % tiles_per_chunk;
        const index_t c = rest / tiles_per_chunk;
        const index_t cs = c * chunk;
        const index_t ce = (cs + chunk < len) ? cs + chunk : len;
        const index_t r0 = cs + t * LA_TILE;
        if (r0 >= ce) continue;  // the last chunk's missing tiles; uniform in the block
        const index_t r_end = (r0 + LA_TILE < ce) ? r0 + LA_TILE : ce;
        const index_t b0 = bt * LA_TILE;
        const float g = has_decay ? decay[h] : 1.0f;
        const float* qh = q + h * len * dk;
        const float* kh = k + h * len * dk;
        const float* vh = v + h * len * dv;
        const float* gh = gates + h * len;
        if (has_gates) {
            __syncthreads();  // the previous tile's readers of gr are done
            if (tid < KN_WARP_SIZE) {
                // The slices before the rows, then the rows' 64, as the columns get them.
                double base = 0.0, carry;
                for (index_t x0 = cs; x0 < r0; x0 += LA_SLICE) {
                    la_cum32(gh, x0, ce, base, &carry);
                    base = carry;
                }
                for (unsigned half = 0; half < LA_TILE / LA_SLICE; ++half) {
                    const index_t x0 = r0 + half * LA_SLICE;
                    if (x0 < ce) {  // uniform in the warp
                        gr[half * LA_SLICE + tid] = la_cum32(gh, x0, ce, base, &carry);
                        base = carry;
                    } else {
                        gr[half * LA_SLICE + tid] = base;  // rows past the chunk: unused
                    }
                }
            }
            __syncthreads();
        }
        float acc[4][4];
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int s = 0; s < 4; ++s) acc[r][s] = 0.0f;

        // Inter-chunk: the state before the chunk (zero for the first without state_in).
        if (c > 0 || has_init) {
            const float* sh = states + (c * n_heads + h) * dk * dv;
            __syncthreads();  // the previous tile's readers of fi are done
            if (tid < LA_TILE) {
                fi[tid] = has_gates ? la_flush((float)((double)scale * exp(gr[tid])))
                                    : la_power(scale, g, r0 - cs + tid + 1);
            }
            for (index_t a0 = 0; a0 < dk; a0 += LA_SLICE) {
                __syncthreads();
                for (unsigned e = tid; e < LA_TILE * LA_SLICE; e += KN_BLOCK_SIZE) {
                    const unsigned i = e / LA_SLICE, x = e % LA_SLICE;
                    const index_t row = r0 + i, col = a0 + x;
                    qs[i * LA_QPITCH + x] = (row < r_end && col < dk) ? qh[row * dk + col] : 0.0f;
                }
                for (unsigned e = tid; e < LA_SLICE * LA_TILE; e += KN_BLOCK_SIZE) {
                    const unsigned x = e / LA_TILE, y = e % LA_TILE;
                    const index_t a = a0 + x, b = b0 + y;
                    ks[x * LA_KPITCH + y] = (a < dk && b < dv) ? sh[a * dv + b] : 0.0f;
                }
                __syncthreads();
#pragma unroll 8
                for (unsigned x = 0; x < LA_SLICE; ++x) {
                    float qv[4], sv[4];
#pragma unroll
                    for (int r = 0; r < 4; ++r) qv[r] = qs[(ty + 16 * r) * LA_QPITCH + x];
#pragma unroll
                    for (int s = 0; s < 4; ++s) sv[s] = ks[x * LA_KPITCH + tx + 16 * s];
#pragma unroll
                    for (int r = 0; r < 4; ++r)
#pragma unroll
                        for (int s = 0; s < 4; ++s) acc[r][s] = fmaf(qv[r], sv[s], acc[r][s]);
                }
            }
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const float f = fi[ty + 16 * r];
#pragma unroll
                for (int s = 0; s < 4; ++s) acc[r][s] *= f;
            }
        }

        // Intra-chunk: 64 x 64 score tiles from the chunk start to the rows' end.
        double col_base = 0.0;  // gated, warp 0: the cumulative gates before column j0
        for (index_t j0 = cs; j0 < r_end; j0 += LA_TILE) {
            __syncthreads();  // the previous tile's readers of pw, gc and as are done
            if (has_gates) {
                if (tid < KN_WARP_SIZE) {
                    double carry;
                    for (unsigned half = 0; half < LA_TILE / LA_SLICE; ++half) {
                        const index_t x0 = j0 + half * LA_SLICE;
                        if (x0 < ce) {  // uniform in the warp
                            gc[half * LA_SLICE + tid] = la_cum32(gh, x0, ce, col_base, &carry);
                            col_base = carry;
                        } else {
                            gc[half * LA_SLICE + tid] = col_base;  // past the chunk: masked
                        }
                    }
                }
            } else if (tid < 2 * LA_TILE - 1) {
                // pw[m] = scale g^(i - j) for i - j = (r0 - j0) + m - 63 (j0 <= r0).
                const long long n = (long long)(r0 - j0) + (long long)tid - (LA_TILE - 1);
                pw[tid] = (n >= 0) ? la_power(scale, g, (index_t)n) : 0.0f;
            }
            float sc[4][4];
#pragma unroll
            for (int r = 0; r < 4; ++r)
#pragma unroll
                for (int s = 0; s < 4; ++s) sc[r][s] = 0.0f;
            for (index_t a0 = 0; a0 < dk; a0 += LA_SLICE) {
                __syncthreads();
                for (unsigned e = tid; e < LA_TILE * LA_SLICE; e += KN_BLOCK_SIZE) {
                    const unsigned i = e / LA_SLICE, x = e % LA_SLICE;
                    const index_t row = r0 + i, col = a0 + x;
                    qs[i * LA_QPITCH + x] = (row < r_end && col < dk) ? qh[row * dk + col] : 0.0f;
                    const index_t j = j0 + i;
                    ks[x * LA_KPITCH + i] = (j < r_end && col < dk) ? kh[j * dk + col] : 0.0f;
                }
                __syncthreads();
#pragma unroll 8
                for (unsigned x = 0; x < LA_SLICE; ++x) {
                    float qv[4], kv[4];
#pragma unroll
                    for (int r = 0; r < 4; ++r) qv[r] = qs[(ty + 16 * r) * LA_QPITCH + x];
#pragma unroll
                    for (int s = 0; s < 4; ++s) kv[s] = ks[x * LA_KPITCH + tx + 16 * s];
#pragma unroll
                    for (int r = 0; r < 4; ++r)
#pragma unroll
                        for (int s = 0; s < 4; ++s) sc[r][s] = fmaf(qv[r], kv[s], sc[r][s]);
                }
            }
            // The causal mask with the decay and the output scale folded in.
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const unsigned ti = ty + 16 * r;
#pragma unroll
                for (int s = 0; s < 4; ++s) {
                    const unsigned tj = tx + 16 * s;
                    float x = 0.0f;
                    if (j0 + tj <= r0 + ti) {
                        const float wgt =
                            has_gates ? la_flush((float)((double)scale * exp(gr[ti] - gc[tj])))
                                      : pw[ti + (LA_TILE - 1) - tj];
                        x = sc[r][s] * wgt;
                    }
                    as[ti * LA_APITCH + tj] = x;
                }
            }
            for (unsigned half = 0; half < LA_TILE / LA_SLICE; ++half) {
                __syncthreads();  // as is complete; the previous V slice is consumed
                for (unsigned e = tid; e < LA_SLICE * LA_TILE; e += KN_BLOCK_SIZE) {
                    const unsigned x = e / LA_TILE, y = e % LA_TILE;
                    const index_t j = j0 + half * LA_SLICE + x, b = b0 + y;
                    ks[x * LA_KPITCH + y] = (j < r_end && b < dv) ? vh[j * dv + b] : 0.0f;
                }
                __syncthreads();
#pragma unroll 8
                for (unsigned x = 0; x < LA_SLICE; ++x) {
                    float av[4], vv[4];
#pragma unroll
                    for (int r = 0; r < 4; ++r) {
                        av[r] = as[(ty + 16 * r) * LA_APITCH + half * LA_SLICE + x];
                    }
#pragma unroll
                    for (int s = 0; s < 4; ++s) vv[s] = ks[x * LA_KPITCH + tx + 16 * s];
#pragma unroll
                    for (int r = 0; r < 4; ++r)
#pragma unroll
                        for (int s = 0; s < 4; ++s) acc[r][s] = fmaf(av[r], vv[s], acc[r][s]);
                }
            }
        }

        float* oh = out + h * len * dv;
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const index_t i = r0 + ty + 16 * r;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                const index_t b = b0 + tx + 16 * s;
                if (i < r_end && b < dv) oh[i * dv + b] = acc[r][s];
            }
        }
    }
}

// Block per head h (grid-stride): logs[h] = the log of the head's decay over len
// tokens: 0 (kind 0, no decay), len ln decay[h] (kind 1) or the sum of gates[h][t]
// (kind 2, the gates in decay), summed in double in a fixed order, rounded once.
__device__ __forceinline__ void la_log_totals(index_t n_heads, index_t len,
                                              const float* __restrict__ decay, int kind,
                                              float* __restrict__ logs) {
    __shared__ double part[KN_BLOCK_SIZE];
    const unsigned tid = threadIdx.x;
    for (index_t h = blockIdx.x; h < n_heads; h += gridDim.x) {
        if (kind != 2) {  // uniform in the grid
            if (tid == 0) logs[h] = kind == 1 ? (float)((double)len * log((double)decay[h])) : 0.0f;
            continue;
        }
        const float* gh = decay + h * len;
        double s = 0.0;
        for (index_t t = tid; t < len; t += KN_BLOCK_SIZE) s += (double)gh[t];
        __syncthreads();  // the previous head's readers of part are done
        part[tid] = s;
        __syncthreads();
        for (unsigned width = KN_BLOCK_SIZE / 2; width > 0; width >>= 1) {
            if (tid < width) part[tid] += part[tid + width];
            __syncthreads();
        }
        if (tid == 0) logs[h] = (float)part[0];
    }
}

}  // namespace kn

// Stable, unmangled entry points. Keep this list in sync with LINATTN.kernels in
// src/sources.rs.

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
la_check_f32(const float* decay, kn::index_t n_decay, int gated, const float* a,
             kn::index_t na, const float* b, kn::index_t nb, const float* c, kn::index_t nc,
             const float* d, kn::index_t nd, const unsigned long long* lens,
             kn::index_t n_lens, unsigned* verdict) {
    kn::la_check(decay, n_decay, gated, a, na, b, nb, c, nc, d, nd, lens, n_lens, verdict);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
la_chunk_states_f32(kn::index_t n_heads, kn::index_t len, kn::index_t dk, kn::index_t dv,
                    kn::index_t chunk, kn::index_t n_chunks, const float* decay, int has_decay,
                    const float* gates, int has_gates, float* factors, int has_factors,
                    const float* k, const float* v, float* dst) {
    kn::la_chunk_states(n_heads, len, dk, dv, chunk, n_chunks, decay, has_decay, gates,
                        has_gates, factors, has_factors, k, v, dst);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
la_scan_f32(kn::index_t n_steps, kn::index_t per_chunk, kn::index_t per_head,
            const float* decay, int has_decay, const unsigned long long* lens, int has_lens,
            kn::index_t uniform, kn::index_t last, const float* steps, int step_kind,
            const float* init, int has_init, const float* src, int src_in_prefix,
            float* prefix, int has_prefix, float* final_out, int has_final) {
    kn::la_scan(n_steps, per_chunk, per_head, decay, has_decay, lens, has_lens, uniform, last,
                steps, step_kind, init, has_init, src, src_in_prefix, prefix, has_prefix,
                final_out, has_final);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
la_output_f32(kn::index_t n_heads, kn::index_t len, kn::index_t dk, kn::index_t dv,
              kn::index_t chunk, kn::index_t n_chunks, kn::index_t tiles_per_chunk,
              const float* decay, int has_decay, const float* gates, int has_gates,
              float scale, int has_init, const float* q, const float* k, const float* v,
              const float* states, float* out) {
    kn::la_output(n_heads, len, dk, dv, chunk, n_chunks, tiles_per_chunk, decay, has_decay,
                  gates, has_gates, scale, has_init, q, k, v, states, out);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
la_log_totals_f32(kn::index_t n_heads, kn::index_t len, const float* decay, int kind,
                  float* logs) {
    kn::la_log_totals(n_heads, len, decay, kind, logs);
}
