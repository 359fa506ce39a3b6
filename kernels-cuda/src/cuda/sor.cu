// sor.cu: red-black SOR on the shifted 5-point grid operator, f32 and f64.
//
//   sor_rb_T(nx, ny, colour, keep, gain, b, x)
//       one colour of one sweep, in place: every point (i, j) with (i + j) % 2 == colour
//       gets x = keep * x + gain * (((l + r) + (u + d)) + b)
//   sor_nonfinite_T(n, v, flag)
//       flag[0] = 1 if some v[i] is NaN or infinite (flag is never cleared here)
//
// The matrix is (4 + shift) I - (sum of the four neighbours) on an nx-by-ny interior grid
// with zero Dirichlet boundary, x[i * nx + j] for row i < ny and column j < nx; the host
// passes keep = 1 - omega and gain = omega / (4 + shift). A sweep is two launches, red
// (colour 0) then black (colour 1): each colour reads only the other colour's values, so
// within a launch no point is both read and written by different threads, and two
// launches give exactly the host's sweep (which fuses the colours row by row).
//
// Bit-identical to the host: each point is computed with the same operations in the
// same order as kernels_core::sor::rb_point, a missing neighbour being +0 there too, and
// every product and sum is an explicitly rounded intrinsic (__fmul_rn / __fadd_rn,
// __dmul_rn / __dadd_rn), which the compiler never contracts into a fused multiply-add
// whatever --fmad says. No flush-to-zero (--ftz=false), as on the host.
//
// Layout: blockDim = (bx, KN_BLOCK_SIZE / bx), chosen by the driver: threadIdx.x runs
// along a row over column pairs (2p, 2p + 1), of which exactly one has the launch's
// colour, so a warp touches 64 consecutive values of each of its rows (coalesced; the
// left/right neighbour loads hit the lines the warp's own loads brought into L1), and
// threadIdx.y spreads narrow grids over several rows per block. Both directions are
// grid-stride loops, so any grid is valid.

namespace kn {

__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }

// True for NaN and +-infinity: the exponent bits are all ones.
__device__ __forceinline__ bool non_finite(float v) {
    return (__float_as_uint(v) & 0x7f800000u) == 0x7f800000u;
}
__device__ __forceinline__ bool non_finite(double v) {
    return ((unsigned long long)__double_as_longlong(v) & 0x7ff0000000000000ull) ==
           0x7ff0000000000000ull;
}

template <typename T>
__device__ __forceinline__ void sor_rb(index_t nx, index_t ny, unsigned colour, T keep, T gain,
                                       const T* __restrict__ b, T* __restrict__ x) {
    const index_t pairs = (nx + 1) / 2;
    const index_t p0 = (index_t)blockIdx.x * blockDim.x + threadIdx.x;
    const index_t p_stride = (index_t)gridDim.x * blockDim.x;
    const index_t i_stride = (index_t)gridDim.y * blockDim.y;
    for (index_t i = (index_t)blockIdx.y * blockDim.y + threadIdx.y; i < ny; i += i_stride) {
        // The first column of this colour in row i: (i + j) % 2 == colour.
        const index_t first = (i + colour) & 1;
        T* row = x + i * nx;
        const T* brow = b + i * nx;
        const bool has_up = i > 0;
        const bool has_down = i + 1 < ny;
        // Only dereferenced when the neighbour row exists.
        const T* up = has_up ? row - nx : row;
        const T* down = has_down ? row + nx : row;
        for (index_t p = p0; p < pairs; p += p_stride) {
            const index_t j = 2 * p + first;
            if (j >= nx) {
                break;
            }
            // Same operands and order as rb_point: missing neighbours are +0.
            const T l = j > 0 ? row[j - 1] : T(0);
            const T r = j + 1 < nx ? row[j + 1] : T(0);
            const T u = has_up ? up[j] : T(0);
            const T d = has_down ? down[j] : T(0);
            const T s = add_rn(add_rn(add_rn(l, r), add_rn(u, d)), brow[j]);
            row[j] = add_rn(mul_rn(keep, row[j]), mul_rn(gain, s));
        }
    }
}

// Read-only: raises flag[0] when some value is not finite. Every thread that sees one
// stores the same value (lane 0 of its warp, after a vote), so the result does not
// depend on timing; the caller zeroes the flag before and reads it after.
template <typename T>
__device__ __forceinline__ void sor_nonfinite(index_t n, const T* __restrict__ v,
                                              T* __restrict__ flag) {
    const index_t stride = grid_stride();
    bool bad = false;
    index_t i = global_thread_index();
    for (; i + 3 * stride < n; i += 4 * stride) {
        const bool b0 = non_finite(v[i]);
        const bool b1 = non_finite(v[i + stride]);
        const bool b2 = non_finite(v[i + 2 * stride]);
        const bool b3 = non_finite(v[i + 3 * stride]);
        bad = bad || b0 || b1 || b2 || b3;
    }
    for (; i < n; i += stride) {
        bad = bad || non_finite(v[i]);
    }
    if (__any_sync(KN_FULL_MASK, bad) && threadIdx.x % KN_WARP_SIZE == 0) {
        flag[0] = T(1);
    }
}

}  // namespace kn

// Stable, unmangled entry points. Keep this list in sync with SOR.kernels in
// src/sources.rs (a test checks that ptxas sees every listed name).

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sor_rb_f32(kn::index_t nx, kn::index_t ny, unsigned colour, float keep, float gain,
           const float* b, float* x) {
    kn::sor_rb<float>(nx, ny, colour, keep, gain, b, x);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sor_rb_f64(kn::index_t nx, kn::index_t ny, unsigned colour, double keep, double gain,
           const double* b, double* x) {
    kn::sor_rb<double>(nx, ny, colour, keep, gain, b, x);
}

extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sor_nonfinite_f32(kn::index_t n, const float* v, float* flag) {
    kn::sor_nonfinite<float>(n, v, flag);
}
extern "C" __global__ void __launch_bounds__(KN_BLOCK_SIZE)
sor_nonfinite_f64(kn::index_t n, const double* v, double* flag) {
    kn::sor_nonfinite<double>(n, v, flag);
}
