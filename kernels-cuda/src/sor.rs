//! Red-black SOR on the shifted 5-point grid, on device buffers: [`sor_grid2d`]
//! (kernels in `src/cuda/sor.cu`).
//!
//! The semantics are `kernels_core::sor::sor_grid2d`'s: `sweeps` in-place sweeps for
//! `(4 + shift) I - (sum of the four neighbours)` on an `nx x ny` interior grid with
//! zero Dirichlet boundary, `x[i * nx + j]` for row `i < ny`, column `j < nx`, each
//! sweep the red points (`i + j` even) and then the black ones. The result is bit for
//! bit the host's (scalar or SIMD): the coefficients come from the same
//! `kernels_core::sor::grid_coefficients`, and each point is computed with the same
//! correctly rounded operations in the same order, none contracted into a fused
//! multiply-add (see `sor.cu`).
//!
//! One sweep is two launches, one per colour. The host fuses the colours into one
//! streaming pass; on the device the second colour would have to wait for the first
//! across blocks, so each launch streams the grid once: it reads all of `x` (its own
//! colour and the neighbours of the other) and `b`, and writes its colour of `x`.
//! Values are interleaved by colour within each memory sector, so a launch moves
//! `3 * nx * ny` values between the GPU and its memory: `6 * nx * ny` per sweep.

use crate::CudaReal;
use crate::borrowed::{DeviceRead, DeviceWrite};
use crate::context::Context;
use crate::nvrtc::BLOCK_SIZE;
use crate::sources::SOR;
use cudarc::driver::{CudaFunction, CudaView, CudaViewMut, LaunchConfig, PushKernelArg};
use kernels_core::sor::grid_coefficients;
use kernels_core::{Error, Result, WorkspaceSize};

const BLOCK: usize = BLOCK_SIZE as usize;

/// Largest grid y dimension the hardware accepts; more rows are covered by the
/// kernel's grid-stride loop over rows.
const MAX_GRID_Y: usize = 65_535;

/// Grid size of the finiteness check, per multiprocessor (as blas1's elementwise
/// kernels: two waves of 8 resident blocks of 256 threads on Hopper).
const CHECK_BLOCKS_PER_SM: usize = 16;

/// Elements of `T` in the workspace of [`sor_grid2d`]: one flag, through which the
/// device's finiteness checks report back.
const WORK_LEN: usize = 1;

/// The device workspace [`sor_grid2d`] needs: one value of `T`, a flag through which
/// the device's finiteness checks report back ([`WorkspaceSize::len_of`] gives the
/// length to allocate). It does not depend on the grid today; the dimensions are
/// parameters so callers need not change if it ever does.
pub fn sor_grid2d_work_size<T: CudaReal>(nx: usize, ny: usize) -> Result<WorkspaceSize> {
    let _ = (nx, ny);
    WorkspaceSize::new().array::<T>(WORK_LEN)
}

fn kernel_name<T: CudaReal>(base: &str) -> String {
    format!("{base}_{}", T::NAME)
}

/// The launch shape of one colour: blocks of [`BLOCK_SIZE`] threads, `bx` along a row
/// (over column pairs, a power of two from 32 up to the block size, no wider than the
/// row needs) and `BLOCK_SIZE / bx` rows, so narrow grids still fill whole blocks.
fn rb_config(nx: usize, ny: usize) -> LaunchConfig {
    let pairs = nx.div_ceil(2).max(1);
    let bx = pairs.next_power_of_two().clamp(32, BLOCK);
    let by = BLOCK / bx;
    let gx = pairs.div_ceil(bx);
    let gy = ny.div_ceil(by).clamp(1, MAX_GRID_Y);
    // bx, by <= 256 and gy <= 65535; gx <= usize::MAX / 64 could exceed u32 only for
    // rows longer than 2^38 values, which the grid-stride loop covers with fewer blocks.
    let to_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    LaunchConfig {
        grid_dim: (to_u32(gx).min(i32::MAX as u32), to_u32(gy), 1),
        block_dim: (to_u32(bx), to_u32(by), 1),
        shared_mem_bytes: 0,
    }
}

/// Whether any value of `arrays` is NaN or infinite, checked on the device by a
/// read-only kernel; waits for the verdict (and for everything queued before it).
fn any_nonfinite<T: CudaReal>(
    ctx: &Context,
    check: &CudaFunction,
    arrays: &[&CudaView<'_, T>],
    work: &mut CudaViewMut<'_, T>,
) -> Result<bool> {
    let stream = ctx.stream();
    let mut flag = work.slice_mut(0..1);
    stream
        .memset_zeros(&mut flag)
        .map_err(|e| ctx.driver_error("sor flag reset", e))?;
    let cap = (ctx.multiprocessors() as usize).saturating_mul(CHECK_BLOCKS_PER_SM);
    for v in arrays {
        let n = v.len();
        let blocks = n.div_ceil(BLOCK).clamp(1, cap.max(1));
        let blocks = u32::try_from(blocks).unwrap_or(u32::MAX);
        let mut launch = stream.launch_builder(check);
        launch.arg(&n).arg(*v).arg(&mut flag);
        // SAFETY: sor_nonfinite_T(index_t n, const T* v, T* flag): a usize (= unsigned
        // long long, asserted in blas1), a device buffer of n values of T and one of at
        // least one T, both in this context (checked by the caller); the kernel reads
        // v[0..n) and writes flag[0] only. v and flag are distinct buffers (a shared
        // and an exclusive borrow).
        unsafe { launch.launch(Context::config(blocks)) }
            .map_err(|e| ctx.driver_error("sor_nonfinite launch", e))?;
    }
    let mut host = [T::zero()];
    stream
        .memcpy_dtoh(&flag, &mut host)
        .map_err(|e| ctx.driver_error("sor flag copy", e))?;
    ctx.synchronize()?;
    Ok(host[0] != T::zero())
}

/// `sweeps` red-black SOR sweeps on the grid, in place in `x`, on
/// [`Context::stream`]; `work` is device scratch of at least
/// [`sor_grid2d_work_size`]`(nx, ny)` (one element).
///
/// Errors, all before `x` is written, as `kernels_core::sor::sor_grid2d` and in its
/// order: `nx` or `ny` zero, their product overflowing, or `b`/`x` not of length
/// `nx * ny`, [`Error::Dimension`]; `omega` outside `(0, 2)` or `4 + shift` zero (or
/// its reciprocal not finite), [`Error::Argument`]; `shift` not finite,
/// [`Error::NonFinite`]; then `work` too short, [`Error::Workspace`]; a buffer of
/// another CUDA context, [`Error::Argument`]; NaN or infinity in `b` or `x` (checked
/// on the device, the verdict read back before any sweep), [`Error::NonFinite`].
/// A non-finite `x` after the sweeps (SOR diverged) is [`Error::Numerical`], `x`
/// holding the last sweep's values; driver failures are [`Error::Internal`] or
/// [`Error::Unsupported`].
///
/// Synchronises the stream twice (the verdicts of the checks before and after the
/// sweeps); `sweeps = 0` validates only.
#[allow(clippy::too_many_arguments)]
pub fn sor_grid2d<T: CudaReal>(
    ctx: &Context,
    nx: usize,
    ny: usize,
    shift: T,
    b: &impl DeviceRead<T>,
    x: &mut impl DeviceWrite<T>,
    omega: T,
    sweeps: u32,
    work: &mut impl DeviceWrite<T>,
) -> Result<()> {
    let (b, mut x, mut work) = (b.view(), x.view_mut(), work.view_mut());
    let (keep, gain) = grid_coefficients(nx, ny, shift, omega, b.len(), x.len())?;
    if work.len() < WORK_LEN {
        return Err(Error::Workspace);
    }
    for s in [&b, &x.as_view(), &work.as_view()] {
        ctx.check_slice(s)?;
    }
    let check = ctx.function(&SOR, &kernel_name::<T>("sor_nonfinite"))?;
    let rb = ctx.function(&SOR, &kernel_name::<T>("sor_rb"))?;
    if any_nonfinite(ctx, &check, &[&b, &x.as_view()], &mut work)? {
        return Err(Error::NonFinite);
    }
    if sweeps == 0 {
        return Ok(());
    }
    sweep_launches(ctx, &rb, nx, ny, keep, gain, &b, &mut x, sweeps)?;
    if any_nonfinite(ctx, &check, &[&x.as_view()], &mut work)? {
        return Err(Error::Numerical);
    }
    Ok(())
}

/// Queues `sweeps` sweeps (red then black launches) without waiting.
#[allow(clippy::too_many_arguments)]
fn sweep_launches<T: CudaReal>(
    ctx: &Context,
    rb: &CudaFunction,
    nx: usize,
    ny: usize,
    keep: T,
    gain: T,
    b: &CudaView<'_, T>,
    x: &mut CudaViewMut<'_, T>,
    sweeps: u32,
) -> Result<()> {
    let cfg = rb_config(nx, ny);
    for _ in 0..sweeps {
        for colour in [0u32, 1] {
            let mut launch = ctx.stream().launch_builder(rb);
            launch
                .arg(&nx)
                .arg(&ny)
                .arg(&colour)
                .arg(&keep)
                .arg(&gain)
                .arg(b)
                .arg(&mut *x);
            // SAFETY: sor_rb_T(index_t nx, index_t ny, unsigned colour, T keep, T gain,
            // const T* b, T* x): two usizes (= unsigned long long), a u32, two T and
            // two device buffers of T in this context, each of nx * ny values (checked
            // by grid_coefficients); the kernel touches x[i * nx + j] and b[i * nx + j]
            // for i < ny, j < nx only. b and x do not overlap (a shared and an
            // exclusive borrow). Block shape: rb_config's bx * by == BLOCK_SIZE, the
            // kernel's launch bound.
            unsafe { launch.launch(cfg) }.map_err(|e| ctx.driver_error("sor_rb launch", e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_shapes_fill_blocks_and_cover_the_grid() {
        for (nx, ny) in [
            (1, 1),
            (2, 1),
            (1, 1000),
            (63, 5),
            (64, 64),
            (65, 3),
            (511, 7),
            (512, 512),
            (513, 2),
            (8192, 8192),
            (3, 200_000),
        ] {
            let c = rb_config(nx, ny);
            let (bx, by, bz) = c.block_dim;
            assert_eq!(bx * by * bz, BLOCK_SIZE, "{nx}x{ny}");
            assert!(bx >= 32 && bx.is_power_of_two());
            let pairs = nx.div_ceil(2);
            // No wider than needed (unless at the 32 minimum).
            assert!(bx == 32 || (bx as usize) < 2 * pairs, "{nx}x{ny}: bx {bx}");
            let (gx, gy, gz) = c.grid_dim;
            assert_eq!(gz, 1);
            assert!(gx as usize * bx as usize >= pairs, "{nx}x{ny}");
            assert!(gy >= 1 && gy as usize <= MAX_GRID_Y);
            assert!(gy as usize * by as usize >= ny.min(MAX_GRID_Y * by as usize));
            assert_eq!(c.shared_mem_bytes, 0);
        }
    }

    #[test]
    fn kernel_names_exist_in_the_source() {
        for base in ["sor_rb", "sor_nonfinite"] {
            assert!(SOR.has_kernel(&kernel_name::<f32>(base)));
            assert!(SOR.has_kernel(&kernel_name::<f64>(base)));
        }
    }

    #[test]
    fn work_is_one_flag() {
        let len = |nx, ny| sor_grid2d_work_size::<f64>(nx, ny).unwrap().len_of::<f64>();
        assert_eq!(len(1, 1), 1);
        assert_eq!(len(8192, 8192), 1);
    }
}
