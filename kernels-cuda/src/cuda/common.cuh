// common.cuh: shared device code of every kernels-cuda source.
//
// NVRTC is given no include directories: the Rust side prepends this file's text to
// every source (with #line markers so diagnostics name the right file and line).
// Nothing here may #include a system header.
//
// The Rust side also passes -DKN_BLOCK_SIZE=<threads per block>; every launch of a
// kernel that uses block_reduce_sum uses exactly that block size, and kernels declare
// __launch_bounds__(KN_BLOCK_SIZE) so ptxas budgets registers for it.
#ifndef KN_COMMON_CUH
#define KN_COMMON_CUH

#ifndef KN_BLOCK_SIZE
#error "KN_BLOCK_SIZE must be defined by the compile pipeline (-DKN_BLOCK_SIZE=...)"
#endif

#define KN_WARP_SIZE 32
#define KN_FULL_MASK 0xffffffffu

#if (KN_BLOCK_SIZE % KN_WARP_SIZE) != 0 || KN_BLOCK_SIZE > 1024 || KN_BLOCK_SIZE < KN_WARP_SIZE
#error "KN_BLOCK_SIZE must be a multiple of 32 in [32, 1024]"
#endif

namespace kn {

// Index type for element counts: 64-bit, matches Rust's usize / C's size_t.
typedef unsigned long long index_t;

// First index and stride of a 1-D grid-stride loop, in 64-bit arithmetic so that
// blockIdx.x * blockDim.x cannot overflow for huge grids.
__device__ __forceinline__ index_t global_thread_index() {
    return (index_t)blockIdx.x * (index_t)blockDim.x + (index_t)threadIdx.x;
}
__device__ __forceinline__ index_t grid_stride() {
    return (index_t)gridDim.x * (index_t)blockDim.x;
}

// Sum of v over the 32 lanes of a full warp, by shuffles in a fixed tree order (so the
// result is deterministic). Every lane of the warp must call it; lane 0 holds the sum
// (the other lanes hold partial sums).
template <typename T>
__device__ __forceinline__ T warp_reduce_sum(T v) {
#pragma unroll
    for (int offset = KN_WARP_SIZE / 2; offset > 0; offset >>= 1) {
        v += __shfl_down_sync(KN_FULL_MASK, v, offset);
    }
    return v;
}

// Sum of v over the whole block (blockDim.x == KN_BLOCK_SIZE), in a fixed order:
// a warp reduction, then warp 0 reduces the per-warp sums. Every thread of the block
// must call it (it contains __syncthreads). Thread 0 holds the block's sum.
// Calling it twice in one kernel is safe: the trailing barrier protects the buffer.
template <typename T>
__device__ __forceinline__ T block_reduce_sum(T v) {
    __shared__ T warp_sums[KN_BLOCK_SIZE / KN_WARP_SIZE];
    const unsigned lane = threadIdx.x % KN_WARP_SIZE;
    const unsigned warp = threadIdx.x / KN_WARP_SIZE;
    v = warp_reduce_sum(v);
    if (lane == 0) {
        warp_sums[warp] = v;
    }
    __syncthreads();
    if (warp == 0) {
        v = (lane < KN_BLOCK_SIZE / KN_WARP_SIZE) ? warp_sums[lane] : T(0);
        v = warp_reduce_sum(v);
    }
    __syncthreads();
    return v;
}

}  // namespace kn

#endif  // KN_COMMON_CUH
