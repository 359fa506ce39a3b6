// blas1.cu: level-1 BLAS on device vectors, f32 and f64.
//
//   axpy_T(n, a, x, y)                       y[i] = fma(a, x[i], y[i])
//   scale_T(n, a, x)                         x[i] = a * x[i]
//   dot_partial_T(n, x, y, partials)         partials[b] = sum over block b's share
//   dot_finish_T(num_partials, partials, out) out[0] = sum of partials
//
// All kernels are 1-D grid-stride loops (coalesced: consecutive threads touch
// consecutive elements), launched with blockDim.x == KN_BLOCK_SIZE and any grid.
//
// Determinism: dot is two launches and uses no atomics. Each thread's share, the
// order of its four accumulators, the shuffle tree and the final reduction are fixed
// functions of (n, gridDim.x), and the Rust driver picks gridDim.x from n alone, so the
// result is bit-identical run to run and from one GPU model to another.
//
// axpy uses an explicit fused multiply-add (__fma_rn), so each element is correctly
// rounded once whatever --fmad says: the CPU reference is a.mul_add(x, y), bit for bit.

namespace kn {

__device__ __forceinline__ float fma_rn(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ double fma_rn(double a, double b, double c) { return __fma_rn(a, b, c); }

template <typename T>
__device__ __forceinline__ void axpy(index_t n, T a, const T* x, T* y) {
    const index_t stride = grid_stride();
#pragma unroll 4
    for (index_t i = global_thread_index(); i < n; i += stride) {
        y[i] = fma_rn(a, x[i], y[i]);
    }
}

template <typename T>
__device__ __forceinline__ void scale(index_t n, T a, T* x) {
    const index_t stride = grid_stride();
#pragma unroll 4
    for (index_t i = global_thread_index(); i < n; i += stride) {
        x[i] = a * x[i];
    }
}

// One partial sum per block. Four independent accumulators keep four loads of each
// vector in flight per thread (memory-level parallelism), then fold in a fixed order.
// x and y may be the same vector (dot(x, x)): both are only read.
template <typename T>
__device__ __forceinline__ void dot_partial(index_t n, const T* __restrict__ x,
                                            const T* __restrict__ y, T* __restrict__ partials) {
    const index_t stride = grid_stride();
    index_t i = global_thread_index();
    T acc0 = T(0), acc1 = T(0), acc2 = T(0), acc3 = T(0);
    for (; i + 3 * stride < n; i += 4 * stride) {
        acc0 = fma_rn(x[i], y[i], acc0);
        acc1 = fma_rn(x[i + stride], y[i + stride], acc1);
        acc2 = fma_rn(x[i + 2 * stride], y[i + 2 * stride], acc2);
        acc3 = fma_rn(x[i + 3 * stride], y[i + 3 * stride], acc3);
    }
    for (; i < n; i += stride) {
        acc0 = fma_rn(x[i], y[i], acc0);
    }
    T acc = block_reduce_sum((acc0 + acc1) + (acc2 + acc3));
    if (threadIdx.x == 0) {
        partials[blockIdx.x] = acc;
    }
}

// Launched as a single block: sums num_partials values in a fixed order.
template <typename T>
__device__ __forceinline__ void dot_finish(unsigned num_partials, const T* __restrict__ partials,
                                           T* __restrict__ out) {
    T acc = T(0);
    for (unsigned i = threadIdx.x; i < num_partials; i += KN_BLOCK_SIZE) {
        acc += partials[i];
    }
    acc = block_reduce_sum(acc);
    if (threadIdx.x == 0) {
        out[0] = acc;
    }
}

}  // namespace kn

// Stable, unmangled entry points. Keep this list in sync with BLAS1.kernels in
// src/sources.rs (a test checks that ptxas sees every listed name).

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
axpy_f32(kn::index_t n, float a, const float* x, float* y) { kn::axpy<float>(n, a, x, y); }
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
axpy_f64(kn::index_t n, double a, const double* x, double* y) { kn::axpy<double>(n, a, x, y); }

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
scale_f32(kn::index_t n, float a, float* x) { kn::scale<float>(n, a, x); }
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
scale_f64(kn::index_t n, double a, double* x) { kn::scale<double>(n, a, x); }

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
dot_partial_f32(kn::index_t n, const float* x, const float* y, float* partials) {
    kn::dot_partial<float>(n, x, y, partials);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
dot_partial_f64(kn::index_t n, const double* x, const double* y, double* partials) {
    kn::dot_partial<double>(n, x, y, partials);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
dot_finish_f32(unsigned num_partials, const float* partials, float* out) {
    kn::dot_finish<float>(num_partials, partials, out);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
dot_finish_f64(unsigned num_partials, const double* partials, double* out) {
    kn::dot_finish<double>(num_partials, partials, out);
}
