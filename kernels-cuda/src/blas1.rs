//! Level-1 BLAS on device vectors: [`axpy`], [`scale`], [`dot`] (kernels in
//! `src/cuda/blas1.cu`).
//!
//! Every function checks all its arguments before queuing any work, so on an error
//! no buffer has been touched. Lengths that disagree are [`Error::Dimension`]; a buffer
//! from another CUDA context is [`Error::Argument`]. Empty vectors are allowed (no-ops;
//! the dot product of empty vectors is 0). NaN and infinity propagate as IEEE
//! arithmetic says; they are not rejected.
//!
//! Results:
//! - `axpy` computes each `y[i]` as one fused multiply-add, `a.mul_add(x[i], y[i])` bit
//!   for bit; `scale` computes `a * x[i]` bit for bit.
//! - `dot` sums in a fixed tree order that depends only on `n`, so it is bit-identical
//!   from run to run and across GPUs; it differs from a sequential CPU sum by rounding
//!   only (at most `n * eps * sum |x_i y_i|`, far less in practice).

use crate::CudaReal;
use crate::borrowed::{DeviceRead, DeviceWrite};
use crate::context::Context;
use crate::nvrtc::BLOCK_SIZE;
use crate::sources::BLAS1;
use cudarc::driver::PushKernelArg;
use kernels_core::{Error, Result, WorkspaceSize};

// The kernels take element counts as `unsigned long long`; the drivers pass `usize`.
const _: () = assert!(size_of::<usize>() == 8, "kernels-cuda needs a 64-bit host");

/// The most blocks the first pass of [`dot`] launches, hence the most partial sums.
pub const DOT_MAX_BLOCKS: usize = 1024;

/// Grid size of the elementwise kernels, per multiprocessor: two waves of 8 resident
/// blocks of 256 threads (the Hopper maximum of 2048 threads per SM).
const ELEMENTWISE_BLOCKS_PER_SM: usize = 16;

const BLOCK: usize = BLOCK_SIZE as usize;

/// The number of blocks (and partial sums) of the first pass of [`dot`] for vectors
/// of length `n`: a function of `n` alone, which is what makes `dot` reproducible
/// across GPUs. At least 1.
pub fn dot_blocks(n: usize) -> usize {
    n.div_ceil(BLOCK).clamp(1, DOT_MAX_BLOCKS)
}

/// The device workspace [`dot_into`] needs for vectors of length `n`: [`dot_blocks`]
/// values of `T` ([`WorkspaceSize::len_of`] gives the length to allocate).
pub fn dot_work_size<T: CudaReal>(n: usize) -> Result<WorkspaceSize> {
    WorkspaceSize::new().array::<T>(dot_blocks(n))
}

/// Grid of a grid-stride elementwise kernel: enough blocks to cover `n` once, capped at
/// a few waves of the device (the loop covers the rest).
fn elementwise_blocks(n: usize, multiprocessors: u32) -> u32 {
    let cap = (multiprocessors as usize).saturating_mul(ELEMENTWISE_BLOCKS_PER_SM);
    let blocks = n.div_ceil(BLOCK).clamp(1, cap.max(1));
    u32::try_from(blocks).unwrap_or(u32::MAX)
}

fn kernel_name<T: CudaReal>(base: &str) -> String {
    format!("{base}_{}", T::NAME)
}

/// `y <- a * x + y` (each element one fused multiply-add). Asynchronous on
/// [`Context::stream`].
pub fn axpy<T: CudaReal>(
    ctx: &Context,
    a: T,
    x: &impl DeviceRead<T>,
    y: &mut impl DeviceWrite<T>,
) -> Result<()> {
    let (x, mut y) = (x.view(), y.view_mut());
    if x.len() != y.len() {
        return Err(Error::Dimension);
    }
    ctx.check_slice(&x)?;
    ctx.check_slice(&y)?;
    let n = x.len();
    if n == 0 {
        return Ok(());
    }
    let f = ctx.function(&BLAS1, &kernel_name::<T>("axpy"))?;
    let cfg = Context::config(elementwise_blocks(n, ctx.multiprocessors()));
    let mut launch = ctx.stream().launch_builder(&f);
    launch.arg(&n).arg(&a).arg(&x).arg(&mut y);
    // SAFETY: axpy_T(index_t n, T a, const T* x, T* y): the arguments pushed are a
    // usize (= unsigned long long, checked above), a T, and two device buffers of T in
    // this context, each of length n (checked); the kernel touches indices < n only.
    // x and y cannot overlap: they are a shared and an exclusive Rust borrow.
    unsafe { launch.launch(cfg) }.map_err(|e| ctx.driver_error("axpy launch", e))?;
    Ok(())
}

/// `x <- a * x`. Asynchronous on [`Context::stream`].
pub fn scale<T: CudaReal>(ctx: &Context, a: T, x: &mut impl DeviceWrite<T>) -> Result<()> {
    let mut x = x.view_mut();
    ctx.check_slice(&x)?;
    let n = x.len();
    if n == 0 {
        return Ok(());
    }
    let f = ctx.function(&BLAS1, &kernel_name::<T>("scale"))?;
    let cfg = Context::config(elementwise_blocks(n, ctx.multiprocessors()));
    let mut launch = ctx.stream().launch_builder(&f);
    launch.arg(&n).arg(&a).arg(&mut x);
    // SAFETY: scale_T(index_t n, T a, T* x): a usize, a T and a device buffer of n
    // elements of T in this context; the kernel touches indices < n only.
    unsafe { launch.launch(cfg) }.map_err(|e| ctx.driver_error("scale launch", e))?;
    Ok(())
}

/// `out[0] <- sum_i x[i] * y[i]`, with caller-owned device memory: `work` must hold at
/// least [`dot_blocks`]`(n)` elements ([`Error::Workspace`] otherwise) and `out` at
/// least one ([`Error::Dimension`] otherwise). Asynchronous: two launches on
/// [`Context::stream`], no allocation, no host synchronisation. `x` and `y` may be the
/// same buffer.
pub fn dot_into<T: CudaReal>(
    ctx: &Context,
    x: &impl DeviceRead<T>,
    y: &impl DeviceRead<T>,
    work: &mut impl DeviceWrite<T>,
    out: &mut impl DeviceWrite<T>,
) -> Result<()> {
    let (x, y, mut work, mut out) = (x.view(), y.view(), work.view_mut(), out.view_mut());
    if x.len() != y.len() || out.is_empty() {
        return Err(Error::Dimension);
    }
    let n = x.len();
    let blocks = dot_blocks(n);
    if work.len() < blocks {
        return Err(Error::Workspace);
    }
    for s in [&x, &y, &work.as_view(), &out.as_view()] {
        ctx.check_slice(s)?;
    }
    let partial = ctx.function(&BLAS1, &kernel_name::<T>("dot_partial"))?;
    let finish = ctx.function(&BLAS1, &kernel_name::<T>("dot_finish"))?;
    // dot_blocks <= DOT_MAX_BLOCKS = 1024, so these conversions cannot fail.
    let blocks_u32 = u32::try_from(blocks).map_err(|_| Error::Internal)?;

    let mut first = ctx.stream().launch_builder(&partial);
    first.arg(&n).arg(&x).arg(&y).arg(&mut work);
    // SAFETY: dot_partial_T(index_t n, const T* x, const T* y, T* partials): x and y
    // hold n elements each; partials (work) holds >= blocks elements (checked) and the
    // kernel writes partials[blockIdx.x] for blockIdx.x < blocks only. With n == 0 every
    // block writes a 0 partial and reads nothing.
    unsafe { first.launch(Context::config(blocks_u32)) }
        .map_err(|e| ctx.driver_error("dot_partial launch", e))?;

    let mut second = ctx.stream().launch_builder(&finish);
    let work = work.as_view();
    second.arg(&blocks_u32).arg(&work).arg(&mut out);
    // SAFETY: dot_finish_T(unsigned num_partials, const T* partials, T* out), one block:
    // reads partials[0..blocks) (written by the launch above, ordered by the stream)
    // and writes out[0] (out is non-empty, checked).
    unsafe { second.launch(Context::config(1)) }
        .map_err(|e| ctx.driver_error("dot_finish launch", e))?;
    Ok(())
}

/// `sum_i x[i] * y[i]`, returned to the host: allocates the workspace and the result
/// on the device, runs [`dot_into`] and waits for it. `x` and `y` may be the same
/// buffer.
pub fn dot<T: CudaReal>(
    ctx: &Context,
    x: &impl DeviceRead<T>,
    y: &impl DeviceRead<T>,
) -> Result<T> {
    let (x, y) = (x.view(), y.view());
    if x.len() != y.len() {
        return Err(Error::Dimension);
    }
    ctx.check_slice(&x)?;
    ctx.check_slice(&y)?;
    let stream = ctx.stream();
    let mut work = stream
        .alloc_zeros::<T>(dot_blocks(x.len()))
        .map_err(|e| ctx.driver_error("dot workspace allocation", e))?;
    let mut out = stream
        .alloc_zeros::<T>(1)
        .map_err(|e| ctx.driver_error("dot result allocation", e))?;
    dot_into(ctx, &x, &y, &mut work, &mut out)?;
    let host = stream
        .clone_dtoh(&out)
        .map_err(|e| ctx.driver_error("dot result copy", e))?;
    ctx.synchronize()?;
    host.first().copied().ok_or(Error::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_grid_depends_on_n_only_and_is_capped() {
        assert_eq!(dot_blocks(0), 1);
        assert_eq!(dot_blocks(1), 1);
        assert_eq!(dot_blocks(BLOCK), 1);
        assert_eq!(dot_blocks(BLOCK + 1), 2);
        assert_eq!(dot_blocks(BLOCK * DOT_MAX_BLOCKS), DOT_MAX_BLOCKS);
        assert_eq!(dot_blocks(usize::MAX), DOT_MAX_BLOCKS);
        let size = dot_work_size::<f64>(10_000).unwrap();
        assert_eq!(size.len_of::<f64>(), dot_blocks(10_000));
    }

    #[test]
    fn elementwise_grid() {
        assert_eq!(elementwise_blocks(0, 132), 1);
        assert_eq!(elementwise_blocks(1000, 132), 4);
        assert_eq!(elementwise_blocks(usize::MAX, 132), 132 * 16);
        assert_eq!(elementwise_blocks(usize::MAX, 0), 1);
    }

    #[test]
    fn kernel_names_exist_in_the_source() {
        for base in ["axpy", "scale", "dot_partial", "dot_finish"] {
            assert!(BLAS1.has_kernel(&kernel_name::<f32>(base)));
            assert!(BLAS1.has_kernel(&kernel_name::<f64>(base)));
        }
    }
}
