// sinkhorn.cu: matrix scaling (Sinkhorn-Knopp, kernel mode) and log-domain Sinkhorn,
// f32 and f64. The host (src/sinkhorn.rs) drives the iteration; every pass over the
// matrix is one of these kernels.
//
// Layout: the matrix is n x m, row-major. Two kinds of pass:
// - row passes (one block per row, grid-stride over rows): the block streams its row
//   with 16-byte vector loads when the row and the vector are 16-byte aligned (else
//   element loads in the same order: see row_visit), folds it into per-thread
//   accumulators, reduces them in a fixed tree, and thread 0 writes the row's results;
// - column passes in two launches, no atomics: a 2-D grid of (column strip, row tile)
//   blocks, each thread owning VEC consecutive columns of its strip (coalesced: a warp
//   reads 512 contiguous bytes of a row), loops over its tile's rows and writes one
//   partial per (tile, column); then a finish kernel folds the tiles of each column in
//   tile order. The number of tiles is a function of n alone (the Rust driver picks it),
//   so results are bit-identical from run to run and across GPUs.
//
// Status words (a few T values in the workspace): status[0] is the sticky "a candidate
// update was not finite (and positive)" flag, set with a plain store by any thread
// that sees one; the apply kernels copy a candidate into the caller's vector only
// while it is 0. So the caller's vectors keep the last finite iterate however many
// launches the host queued before it next looks. status[1] is the error sum,
// status[2] the transport cost.
//
// Per-element terms (one T per row or column) are the L1 marginal error terms of the
// half-step; the one-block reduce kernel sums them (in double) when the host checks.

namespace kn {

#define KN_SK_UNROLL 4

template <typename T> struct Vec16;
template <> struct Vec16<float> {
    typedef float4 type;
    static constexpr int N = 4;
};
template <> struct Vec16<double> {
    typedef double2 type;
    static constexpr int N = 2;
};

__device__ __forceinline__ float neg_inf(float) { return __int_as_float(0xff800000); }
__device__ __forceinline__ double neg_inf(double) {
    return __longlong_as_double(0xfff0000000000000ULL);
}
__device__ __forceinline__ float fma_(float a, float b, float c) { return fmaf(a, b, c); }
__device__ __forceinline__ double fma_(double a, double b, double c) { return fma(a, b, c); }
__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }
__device__ __forceinline__ bool finite_(float x) { return isfinite(x); }
__device__ __forceinline__ bool finite_(double x) { return isfinite(x); }

template <typename T> __device__ __forceinline__ bool aligned16(const T* p) {
    return (reinterpret_cast<unsigned long long>(p) & 15ULL) == 0;
}

// Component-wise visit of a 16-byte vector pair.
template <typename Op> __device__ __forceinline__ void visit(Op& op, float4 a, float4 b) {
    op(a.x, b.x);
    op(a.y, b.y);
    op(a.z, b.z);
    op(a.w, b.w);
}
template <typename Op> __device__ __forceinline__ void visit(Op& op, double2 a, double2 b) {
    op(a.x, b.x);
    op(a.y, b.y);
}

// op(row[j], x[j]) for this thread's share of j in [0, m), in an order that depends on
// m only: the row is cut into groups of N = Vec16<T>::N consecutive elements (the last
// may be short); thread t takes groups t, t + KN_BLOCK_SIZE, ..., each element of a
// group in turn. vec (row and x 16-byte aligned, m % N == 0) loads a group as one
// 16-byte vector; otherwise element by element, so the same data at another address
// is summed in the same order (bit for bit the same result). KN_SK_UNROLL groups of
// each array are loaded before they are used, to keep enough bytes in flight.
template <typename T, typename Op>
__device__ __forceinline__ void row_visit(const T* __restrict__ row, const T* __restrict__ x,
                                          index_t m, bool vec, Op& op) {
    typedef typename Vec16<T>::type V;
    constexpr int N = Vec16<T>::N;
    const index_t bs = KN_BLOCK_SIZE;
    const index_t groups = (m + N - 1) / N;
    index_t k = threadIdx.x;
    if (vec) {
        const V* rv = reinterpret_cast<const V*>(row);
        const V* xv = reinterpret_cast<const V*>(x);
        for (; k + (KN_SK_UNROLL - 1) * bs < groups; k += KN_SK_UNROLL * bs) {
            V a[KN_SK_UNROLL], b[KN_SK_UNROLL];
#pragma unroll
            for (int u = 0; u < KN_SK_UNROLL; ++u) {
                a[u] = rv[k + u * bs];
                b[u] = xv[k + u * bs];
            }
#pragma unroll
            for (int u = 0; u < KN_SK_UNROLL; ++u) {
                visit(op, a[u], b[u]);
            }
        }
        for (; k < groups; k += bs) {
            visit(op, rv[k], xv[k]);
        }
    } else {
        // Whole groups while the last group of the step is whole.
        for (; (k + (KN_SK_UNROLL - 1) * bs + 1) * N <= m; k += KN_SK_UNROLL * bs) {
            T a[KN_SK_UNROLL][N], b[KN_SK_UNROLL][N];
#pragma unroll
            for (int u = 0; u < KN_SK_UNROLL; ++u) {
#pragma unroll
                for (int c = 0; c < N; ++c) {
                    a[u][c] = row[(k + u * bs) * N + c];
                    b[u][c] = x[(k + u * bs) * N + c];
                }
            }
#pragma unroll
            for (int u = 0; u < KN_SK_UNROLL; ++u) {
#pragma unroll
                for (int c = 0; c < N; ++c) op(a[u][c], b[u][c]);
            }
        }
        for (; k < groups; k += bs) {
#pragma unroll
            for (int c = 0; c < N; ++c) {
                const index_t j = k * N + c;
                if (j < m) op(row[j], x[j]);
            }
        }
    }
}

// Maximum of v over the block, returned to every thread. Contains barriers: every
// thread of the block must call it.
template <typename T> __device__ __forceinline__ T block_max_all(T v) {
    __shared__ T warp_max[KN_BLOCK_SIZE / KN_WARP_SIZE];
#pragma unroll
    for (int offset = KN_WARP_SIZE / 2; offset > 0; offset >>= 1) {
        v = fmax(v, __shfl_xor_sync(KN_FULL_MASK, v, offset));
    }
    if (threadIdx.x % KN_WARP_SIZE == 0) {
        warp_max[threadIdx.x / KN_WARP_SIZE] = v;
    }
    __syncthreads();
    T r = warp_max[0];
#pragma unroll
    for (int w = 1; w < KN_BLOCK_SIZE / KN_WARP_SIZE; ++w) {
        r = fmax(r, warp_max[w]);
    }
    __syncthreads();
    return r;
}

// Online log-sum-exp state: the sum of exp(x - mx) over the values seen, mx their
// maximum. One exponential per value (the rescale happens only when mx grows).
template <typename T> struct Lse {
    T mx, s;
    __device__ __forceinline__ void init() {
        mx = neg_inf(T(0));
        s = T(0);
    }
    __device__ __forceinline__ void add(T x) {
        if (x > mx) {
            s = fma_(s, exp_(mx - x), T(1));  // exp(-inf) = 0 on the first value
            mx = x;
        } else if (x > neg_inf(T(0))) {
            s += exp_(x - mx);
        }
    }
    // Merges another state (fixed order: this one, then o).
    __device__ __forceinline__ void merge(T omx, T os) {
        if (omx > mx) {
            s = fma_(s, exp_(mx - omx), os);
            mx = omx;
        } else if (omx > neg_inf(T(0))) {
            s = fma_(os, exp_(omx - mx), s);
        }
    }
};

// LSE over the block, result (mx + log s) in thread 0.
template <typename T> __device__ __forceinline__ T block_lse(Lse<T> st) {
    const T mx = block_max_all(st.mx);
    const T scaled = (st.mx > neg_inf(T(0))) ? st.s * exp_(st.mx - mx) : T(0);
    const T s = block_reduce_sum(scaled);
    return mx + log_(s);
}

// ---------------------------------------------------------------------------------
// Shared by both solvers.
// ---------------------------------------------------------------------------------

// Read-only check of x[0..count): per block b, out[3b] = 1 if a value is NaN or
// infinite, out[3b+1] = 1 if a value is negative, out[3b+2] = max |x| over finite
// values (0 if none).
template <typename T>
__device__ __forceinline__ void sk_check(index_t count, const T* __restrict__ x,
                                         T* __restrict__ out) {
    T nonfinite = T(0), negative = T(0), mx = T(0);
    for (index_t i = global_thread_index(); i < count; i += grid_stride()) {
        const T v = x[i];
        if (finite_(v)) {
            mx = fmax(mx, fabs(v));
            if (v < T(0)) negative = T(1);
        } else {
            nonfinite = T(1);
        }
    }
    nonfinite = block_max_all(nonfinite);
    negative = block_max_all(negative);
    mx = block_max_all(mx);
    if (threadIdx.x == 0) {
        out[3 * (index_t)blockIdx.x] = nonfinite;
        out[3 * (index_t)blockIdx.x + 1] = negative;
        out[3 * (index_t)blockIdx.x + 2] = mx;
    }
}

// target[i] = cand[i] unless the sticky flag status[0] is set.
template <typename T>
__device__ __forceinline__ void sk_apply(index_t count, const T* __restrict__ cand,
                                         T* __restrict__ target, const T* __restrict__ status) {
    if (status[0] != T(0)) return;
    for (index_t i = global_thread_index(); i < count; i += grid_stride()) {
        target[i] = cand[i];
    }
}

template <typename T>
__device__ __forceinline__ void sk_fill(index_t count, T value, T* __restrict__ x) {
    for (index_t i = global_thread_index(); i < count; i += grid_stride()) {
        x[i] = value;
    }
}

// One block: status[slot] = sum of a[0..count_a) and b[0..count_b), accumulated in
// double in a fixed order.
template <typename T>
__device__ __forceinline__ void sk_reduce(index_t count_a, const T* __restrict__ a,
                                          index_t count_b, const T* __restrict__ b,
                                          T* __restrict__ status, unsigned slot) {
    double acc = 0.0;
    for (index_t i = threadIdx.x; i < count_a; i += KN_BLOCK_SIZE) acc += (double)a[i];
    for (index_t i = threadIdx.x; i < count_b; i += KN_BLOCK_SIZE) acc += (double)b[i];
    acc = block_reduce_sum(acc);
    if (threadIdx.x == 0) status[slot] = (T)acc;
}

// Rows [first, last) of row tile `tile` of rows_per_tile rows.
__device__ __forceinline__ void tile_rows(index_t n, index_t rows_per_tile, index_t* first,
                                          index_t* last) {
    *first = (index_t)blockIdx.y * rows_per_tile;
    const index_t end = *first + rows_per_tile;
    *last = end < n ? end : n;
}

// ---------------------------------------------------------------------------------
// Kernel mode (scale).
// ---------------------------------------------------------------------------------

template <typename T> struct DotOp {
    T acc;
    __device__ __forceinline__ void operator()(T k, T x) { acc = fma_(k, x, acc); }
};
template <typename T> struct SumOp {
    T acc;
    __device__ __forceinline__ void operator()(T k, T) { acc += k; }
};

// Row half-step: s_i = (K x)_i; q_i = w_i / s_i into cand, |q_i s_i - w_i| into terms,
// and the flag when q_i is not finite and positive. init: x is ignored (taken as
// ones) and only s_i > 0 is checked (a zero row can never be scaled).
template <typename T>
__device__ __forceinline__ void scale_rows(index_t n, index_t m, const T* __restrict__ K,
                                           const T* __restrict__ x, const T* __restrict__ w,
                                           int init, T* __restrict__ cand, T* __restrict__ terms,
                                           T* __restrict__ status) {
    const bool vec = aligned16(K) && aligned16(x) && (m % Vec16<T>::N == 0);
    for (index_t i = blockIdx.x; i < n; i += gridDim.x) {
        const T* row = K + i * m;
        T s;
        if (init) {
            SumOp<T> op{T(0)};
            row_visit(row, x, m, vec, op);
            s = block_reduce_sum(op.acc);
        } else {
            DotOp<T> op{T(0)};
            row_visit(row, x, m, vec, op);
            s = block_reduce_sum(op.acc);
        }
        if (threadIdx.x == 0) {
            bool bad;
            if (init) {
                bad = !(s > T(0));
            } else {
                const T q = w[i] / s;
                cand[i] = q;
                terms[i] = fabs(q * s - w[i]);
                bad = !(finite_(q) && q > T(0));
            }
            if (bad) status[0] = T(1);
        }
    }
}

// Column partials: partials[tile * m + j] = sum over the tile's rows of K_ij u_i
// (u taken as ones when init).
template <typename T>
__device__ __forceinline__ void scale_cols_partial(index_t n, index_t m, const T* __restrict__ K,
                                                   const T* __restrict__ u, int init,
                                                   index_t rows_per_tile,
                                                   T* __restrict__ partials) {
    typedef typename Vec16<T>::type V;
    constexpr int N = Vec16<T>::N;
    const index_t j0 = ((index_t)blockIdx.x * KN_BLOCK_SIZE + threadIdx.x) * N;
    if (j0 >= m) return;
    index_t first, last;
    tile_rows(n, rows_per_tile, &first, &last);
    const bool vec = aligned16(K) && (m % N == 0);
    T acc[N];
#pragma unroll
    for (int c = 0; c < N; ++c) acc[c] = T(0);
    index_t i = first;
    if (vec) {
        for (; i + KN_SK_UNROLL <= last; i += KN_SK_UNROLL) {
            V a[KN_SK_UNROLL];
            T ui[KN_SK_UNROLL];
#pragma unroll
            for (int r = 0; r < KN_SK_UNROLL; ++r) {
                a[r] = *reinterpret_cast<const V*>(K + (i + r) * m + j0);
                ui[r] = init ? T(1) : u[i + r];
            }
#pragma unroll
            for (int r = 0; r < KN_SK_UNROLL; ++r) {
                const T* e = reinterpret_cast<const T*>(&a[r]);
#pragma unroll
                for (int c = 0; c < N; ++c) acc[c] = fma_(e[c], ui[r], acc[c]);
            }
        }
        for (; i < last; ++i) {
            const V a = *reinterpret_cast<const V*>(K + i * m + j0);
            const T ui = init ? T(1) : u[i];
            const T* e = reinterpret_cast<const T*>(&a);
#pragma unroll
            for (int c = 0; c < N; ++c) acc[c] = fma_(e[c], ui, acc[c]);
        }
    } else {
        for (; i < last; ++i) {
            const T ui = init ? T(1) : u[i];
            const T* row = K + i * m;
#pragma unroll
            for (int c = 0; c < N; ++c) {
                if (j0 + c < m) acc[c] = fma_(row[j0 + c], ui, acc[c]);
            }
        }
    }
    T* out = partials + (index_t)blockIdx.y * m;
#pragma unroll
    for (int c = 0; c < N; ++c) {
        if (j0 + c < m) out[j0 + c] = acc[c];
    }
}

// Column half-step: z_j = sum of the tiles' partials (tile order); q_j = w_j / z_j into
// cand, |v_j z_j - w_j| (the error at the current v) into terms, and the flag when
// q_j is not finite and positive. init: only z_j > 0 is checked.
template <typename T>
__device__ __forceinline__ void scale_cols_finish(index_t m, unsigned tiles,
                                                  const T* __restrict__ partials,
                                                  const T* __restrict__ w,
                                                  const T* __restrict__ v, int init,
                                                  T* __restrict__ cand, T* __restrict__ terms,
                                                  T* __restrict__ status) {
    for (index_t j = global_thread_index(); j < m; j += grid_stride()) {
        T z = T(0);
        for (unsigned t = 0; t < tiles; ++t) z += partials[(index_t)t * m + j];
        bool bad;
        if (init) {
            bad = !(z > T(0));
        } else {
            const T q = w[j] / z;
            cand[j] = q;
            terms[j] = fabs(v[j] * z - w[j]);
            bad = !(finite_(q) && q > T(0));
        }
        if (bad) status[0] = T(1);
    }
}

// ---------------------------------------------------------------------------------
// Log domain.
// ---------------------------------------------------------------------------------

// Online LSE of (g_j - C_ij) / eps = fma(-inv, C_ij, g_j * inv) over a row.
template <typename T> struct RowLseOp {
    Lse<T> st;
    T ninv, inv;
    __device__ __forceinline__ void operator()(T c, T g) { st.add(fma_(ninv, c, g * inv)); }
};

// Row half-step (f from g): L_i = LSE_j((g_j - C_ij) / eps); f_new_i = eps (log a_i -
// L_i) into cand; the row marginal error at the current f, |exp(f_i / eps + L_i) -
// a_i|, into terms; the flag when f_new_i is not finite.
template <typename T>
__device__ __forceinline__ void lse_rows(index_t n, index_t m, const T* __restrict__ C,
                                         const T* __restrict__ f, const T* __restrict__ g,
                                         const T* __restrict__ a, T eps, T inv,
                                         T* __restrict__ cand, T* __restrict__ terms,
                                         T* __restrict__ status) {
    const bool vec = aligned16(C) && aligned16(g) && (m % Vec16<T>::N == 0);
    for (index_t i = blockIdx.x; i < n; i += gridDim.x) {
        RowLseOp<T> op;
        op.st.init();
        op.ninv = -inv;
        op.inv = inv;
        row_visit(C + i * m, g, m, vec, op);
        const T L = block_lse(op.st);
        if (threadIdx.x == 0) {
            const T fn = eps * (log_(a[i]) - L);
            cand[i] = fn;
            terms[i] = fabs(exp_(fma_(f[i], inv, L)) - a[i]);
            if (!finite_(fn)) status[0] = T(1);
        }
    }
}

// Column partials of M_j = LSE_i((f_i - C_ij) / eps): per (tile, column) the online
// state (max, sum) over the tile's rows.
template <typename T>
__device__ __forceinline__ void lse_cols_partial(index_t n, index_t m, const T* __restrict__ C,
                                                 const T* __restrict__ f, T inv,
                                                 index_t rows_per_tile, T* __restrict__ pmax,
                                                 T* __restrict__ psum) {
    typedef typename Vec16<T>::type V;
    constexpr int N = Vec16<T>::N;
    const index_t j0 = ((index_t)blockIdx.x * KN_BLOCK_SIZE + threadIdx.x) * N;
    if (j0 >= m) return;
    index_t first, last;
    tile_rows(n, rows_per_tile, &first, &last);
    const bool vec = aligned16(C) && (m % N == 0);
    const T ninv = -inv;
    Lse<T> st[N];
#pragma unroll
    for (int c = 0; c < N; ++c) st[c].init();
    index_t i = first;
    if (vec) {
        for (; i + KN_SK_UNROLL <= last; i += KN_SK_UNROLL) {
            V a[KN_SK_UNROLL];
            T fs[KN_SK_UNROLL];
#pragma unroll
            for (int r = 0; r < KN_SK_UNROLL; ++r) {
                a[r] = *reinterpret_cast<const V*>(C + (i + r) * m + j0);
                fs[r] = f[i + r] * inv;
            }
#pragma unroll
            for (int r = 0; r < KN_SK_UNROLL; ++r) {
                const T* e = reinterpret_cast<const T*>(&a[r]);
#pragma unroll
                for (int c = 0; c < N; ++c) st[c].add(fma_(ninv, e[c], fs[r]));
            }
        }
        for (; i < last; ++i) {
            const V a = *reinterpret_cast<const V*>(C + i * m + j0);
            const T fs = f[i] * inv;
            const T* e = reinterpret_cast<const T*>(&a);
#pragma unroll
            for (int c = 0; c < N; ++c) st[c].add(fma_(ninv, e[c], fs));
        }
    } else {
        for (; i < last; ++i) {
            const T fs = f[i] * inv;
            const T* row = C + i * m;
#pragma unroll
            for (int c = 0; c < N; ++c) {
                if (j0 + c < m) st[c].add(fma_(ninv, row[j0 + c], fs));
            }
        }
    }
    const index_t base = (index_t)blockIdx.y * m;
#pragma unroll
    for (int c = 0; c < N; ++c) {
        if (j0 + c < m) {
            pmax[base + j0 + c] = st[c].mx;
            psum[base + j0 + c] = st[c].s;
        }
    }
}

// Column half-step (g from f): merges the tiles' states in tile order into M_j;
// g_new_j = eps (log b_j - M_j) into cand; the column marginal error at the new g,
// |exp(g_new_j / eps + M_j) - b_j|, into terms; the flag when g_new_j is not finite.
template <typename T>
__device__ __forceinline__ void lse_cols_finish(index_t m, unsigned tiles,
                                                const T* __restrict__ pmax,
                                                const T* __restrict__ psum,
                                                const T* __restrict__ b, T eps, T inv,
                                                T* __restrict__ cand, T* __restrict__ terms,
                                                T* __restrict__ status) {
    for (index_t j = global_thread_index(); j < m; j += grid_stride()) {
        Lse<T> st;
        st.init();
        for (unsigned t = 0; t < tiles; ++t) {
            st.merge(pmax[(index_t)t * m + j], psum[(index_t)t * m + j]);
        }
        const T M = st.mx + log_(st.s);
        const T gn = eps * (log_(b[j]) - M);
        cand[j] = gn;
        terms[j] = fabs(exp_(fma_(gn, inv, M)) - b[j]);
        if (!finite_(gn)) status[0] = T(1);
    }
}

// The plan P_ij = exp((f_i + g_j - C_ij) / eps) (written when write_plan) and the
// row costs sum_j P_ij C_ij (accumulated in double) into costs[i].
template <typename T>
__device__ __forceinline__ void plan_rows(index_t n, index_t m, const T* __restrict__ C,
                                          const T* __restrict__ f, const T* __restrict__ g,
                                          T inv, int write_plan, T* __restrict__ plan,
                                          T* __restrict__ costs) {
    const T ninv = -inv;
    for (index_t i = blockIdx.x; i < n; i += gridDim.x) {
        const T fs = f[i] * inv;
        const T* row = C + i * m;
        double acc = 0.0;
        for (index_t j = threadIdx.x; j < m; j += KN_BLOCK_SIZE) {
            const T c = row[j];
            const T p = exp_(fma_(ninv, c, fma_(g[j], inv, fs)));
            if (write_plan) plan[i * m + j] = p;
            acc = fma((double)p, (double)c, acc);
        }
        acc = block_reduce_sum(acc);
        if (threadIdx.x == 0) costs[i] = (T)acc;
    }
}

}  // namespace kn

// Stable, unmangled entry points. Keep this list in sync with SINKHORN.kernels in
// src/sources.rs (a test checks that ptxas sees every listed name).
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sk_check_f32(kn::index_t count, const float* x, float* out) {
    kn::sk_check<float>(count, x, out);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sk_check_f64(kn::index_t count, const double* x, double* out) {
    kn::sk_check<double>(count, x, out);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sk_apply_f32(kn::index_t count, const float* cand, float* target, const float* status) {
    kn::sk_apply<float>(count, cand, target, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sk_apply_f64(kn::index_t count, const double* cand, double* target, const double* status) {
    kn::sk_apply<double>(count, cand, target, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sk_fill_f32(kn::index_t count, float value, float* x) {
    kn::sk_fill<float>(count, value, x);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sk_fill_f64(kn::index_t count, double value, double* x) {
    kn::sk_fill<double>(count, value, x);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sk_reduce_f32(kn::index_t count_a, const float* a, kn::index_t count_b, const float* b,
              float* status, unsigned slot) {
    kn::sk_reduce<float>(count_a, a, count_b, b, status, slot);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sk_reduce_f64(kn::index_t count_a, const double* a, kn::index_t count_b, const double* b,
              double* status, unsigned slot) {
    kn::sk_reduce<double>(count_a, a, count_b, b, status, slot);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
scale_rows_f32(kn::index_t n, kn::index_t m, const float* K, const float* x, const float* w,
               int init, float* cand, float* terms, float* status) {
    kn::scale_rows<float>(n, m, K, x, w, init, cand, terms, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
scale_rows_f64(kn::index_t n, kn::index_t m, const double* K, const double* x, const double* w,
               int init, double* cand, double* terms, double* status) {
    kn::scale_rows<double>(n, m, K, x, w, init, cand, terms, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
scale_cols_partial_f32(kn::index_t n, kn::index_t m, const float* K, const float* u, int init,
                       kn::index_t rows_per_tile, float* partials) {
    kn::scale_cols_partial<float>(n, m, K, u, init, rows_per_tile, partials);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
scale_cols_partial_f64(kn::index_t n, kn::index_t m, const double* K, const double* u, int init,
                       kn::index_t rows_per_tile, double* partials) {
    kn::scale_cols_partial<double>(n, m, K, u, init, rows_per_tile, partials);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
scale_cols_finish_f32(kn::index_t m, unsigned tiles, const float* partials, const float* w,
                      const float* v, int init, float* cand, float* terms, float* status) {
    kn::scale_cols_finish<float>(m, tiles, partials, w, v, init, cand, terms, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
scale_cols_finish_f64(kn::index_t m, unsigned tiles, const double* partials, const double* w,
                      const double* v, int init, double* cand, double* terms, double* status) {
    kn::scale_cols_finish<double>(m, tiles, partials, w, v, init, cand, terms, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
lse_rows_f32(kn::index_t n, kn::index_t m, const float* C, const float* f, const float* g,
             const float* a, float eps, float inv, float* cand, float* terms, float* status) {
    kn::lse_rows<float>(n, m, C, f, g, a, eps, inv, cand, terms, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
lse_rows_f64(kn::index_t n, kn::index_t m, const double* C, const double* f, const double* g,
             const double* a, double eps, double inv, double* cand, double* terms,
             double* status) {
    kn::lse_rows<double>(n, m, C, f, g, a, eps, inv, cand, terms, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
lse_cols_partial_f32(kn::index_t n, kn::index_t m, const float* C, const float* f, float inv,
                     kn::index_t rows_per_tile, float* pmax, float* psum) {
    kn::lse_cols_partial<float>(n, m, C, f, inv, rows_per_tile, pmax, psum);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
lse_cols_partial_f64(kn::index_t n, kn::index_t m, const double* C, const double* f, double inv,
                     kn::index_t rows_per_tile, double* pmax, double* psum) {
    kn::lse_cols_partial<double>(n, m, C, f, inv, rows_per_tile, pmax, psum);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
lse_cols_finish_f32(kn::index_t m, unsigned tiles, const float* pmax, const float* psum,
                    const float* b, float eps, float inv, float* cand, float* terms,
                    float* status) {
    kn::lse_cols_finish<float>(m, tiles, pmax, psum, b, eps, inv, cand, terms, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
lse_cols_finish_f64(kn::index_t m, unsigned tiles, const double* pmax, const double* psum,
                    const double* b, double eps, double inv, double* cand, double* terms,
                    double* status) {
    kn::lse_cols_finish<double>(m, tiles, pmax, psum, b, eps, inv, cand, terms, status);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
plan_rows_f32(kn::index_t n, kn::index_t m, const float* C, const float* f, const float* g,
              float inv, int write_plan, float* plan, float* costs) {
    kn::plan_rows<float>(n, m, C, f, g, inv, write_plan, plan, costs);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
plan_rows_f64(kn::index_t n, kn::index_t m, const double* C, const double* f, const double* g,
              double inv, int write_plan, double* plan, double* costs) {
    kn::plan_rows<double>(n, m, C, f, g, inv, write_plan, plan, costs);
}
