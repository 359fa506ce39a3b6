//! Behaviour with and without a GPU.
//!
//! Without a CUDA driver or device (the usual CI machine): the probes answer `false`
//! without panicking, and [`Context::new`] is [`Error::Unsupported`]. Each GPU check
//! then prints a `SKIPPED:` line (stdout and stderr) and passes, unless
//! `KN_REQUIRE_GPU=1`, which makes a missing device a failure (set it on the
//! accelerator machine so a broken driver setup cannot pass silently).
//!
//! With a device and NVRTC, the same tests run `axpy`, `scale` and `dot` for f32 and
//! f64 against CPU references:
//! - `axpy` must equal `a.mul_add(x, y)` and `scale` must equal `a * x`, bit for bit;
//! - `dot` must be within `4 * k * eps * sum |x_i y_i|` of a reference computed in f64
//!   (f32 data) or with compensated summation (f64 data), where `k` is the depth of the
//!   GPU's summation tree (elements per thread + 10 tree levels + the final pass), and
//!   must be bit-identical between two runs and between `dot` and `dot_into`;
//! - bad lengths and short workspaces are rejected before any launch, buffers intact.

use kernels_core::Real;
use kernels_cuda::blas1::{self, DOT_MAX_BLOCKS};
use kernels_cuda::cudarc::driver::CudaSlice;
use kernels_cuda::nvrtc::BLOCK_SIZE;
use kernels_cuda::{Context, CudaReal, Error, available, nvrtc_available};

mod common;
use common::{gpu_context, loud};

#[test]
fn probes_never_panic_and_agree() {
    let first = available();
    assert_eq!(available(), first, "available() must be stable");
    assert_eq!(first, kernels_cuda::device_count() > 0);
    let nvrtc = nvrtc_available();
    assert_eq!(nvrtc, kernels_cuda::nvrtc_version().is_some());
    if nvrtc {
        assert!(!kernels_cuda::nvrtc_supported_archs().is_empty());
    }
    loud(&format!("kernels-cuda probe: {}", kernels_cuda::probe()));
}

#[test]
fn context_is_unsupported_without_a_device() {
    if available() && nvrtc_available() {
        // With a device, a missing ordinal is an argument error.
        assert_eq!(
            Context::with_device(usize::MAX).unwrap_err(),
            Error::Argument
        );
        return;
    }
    assert_eq!(Context::new().unwrap_err(), Error::Unsupported);
    assert_eq!(Context::with_device(0).unwrap_err(), Error::Unsupported);
    assert_eq!(
        Context::with_device(usize::MAX).unwrap_err(),
        Error::Unsupported
    );
    assert_eq!(Error::Unsupported.code(), -7);
    if !available() {
        assert_eq!(kernels_cuda::device_count(), 0);
        loud(
            "kernels-cuda: no CUDA device here; Context::new() returns Error::Unsupported as \
             required (GPU checks are skipped)",
        );
    }
}

// ---------------------------------------------------------------------------------
// GPU checks. Everything below runs only when a device and NVRTC are present.
// ---------------------------------------------------------------------------------

/// Deterministic values in [-1, 1) (xorshift64*).
fn data<T: Real>(n: usize, seed: u64) -> Vec<T> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11; // 53 bits
            T::of(r as f64 / (1u64 << 52) as f64 - 1.0)
        })
        .collect()
}

/// Lengths that hit the edge cases of the launch shapes: empty, partial warp, partial
/// block, exactly one block, the dot grid cap, and enough to exercise the unrolled
/// grid-stride loops.
fn lengths() -> Vec<usize> {
    let block = BLOCK_SIZE as usize;
    let full = block * DOT_MAX_BLOCKS;
    vec![
        0,
        1,
        31,
        block - 1,
        block,
        block + 1,
        1000,
        full - 1,
        full,
        full + 1,
        4 * full + 3,
        (1 << 22) + 7,
    ]
}

/// Uploads `host`. Zero-byte allocations fail on some drivers and GPUs (cuMemAlloc
/// rejects size 0); that is the driver's business, not ours, so an empty upload that
/// fails returns `None` and the caller skips that case, saying so.
fn upload<T: CudaReal>(ctx: &Context, host: &[T]) -> Option<CudaSlice<T>> {
    match ctx.stream().clone_htod(host) {
        Ok(d) => Some(d),
        Err(e) if host.is_empty() => {
            loud(&format!(
                "note: this driver refuses zero-length allocations ({e}); n = 0 case skipped"
            ));
            None
        }
        Err(e) => panic!("upload of {} elements failed: {e}", host.len()),
    }
}

fn detail(ctx: &Context) -> String {
    ctx.last_error_detail().unwrap_or_default()
}

fn bits_equal<T: Real>(a: &[T], b: &[T]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_f64_lossless().to_bits() != y.to_f64_lossless().to_bits())
}

fn check_axpy_scale<T: CudaReal>(ctx: &Context) {
    let stream = ctx.stream().clone();
    for n in lengths() {
        let a = T::of(0.75);
        let x = data::<T>(n, 1);
        let y = data::<T>(n, 2);
        let (Some(dx), Some(mut dy)) = (upload(ctx, &x), upload(ctx, &y)) else {
            continue;
        };
        blas1::axpy(ctx, a, &dx, &mut dy).unwrap_or_else(|e| panic!("{e:?}: {}", detail(ctx)));
        let got = stream.clone_dtoh(&dy).unwrap();
        ctx.synchronize().unwrap();
        let want: Vec<T> = x
            .iter()
            .zip(&y)
            .map(|(&xi, &yi)| a.mul_add(xi, yi))
            .collect();
        if let Some(i) = bits_equal(&got, &want) {
            panic!(
                "axpy {} n={n}: element {i}: got {} want {}",
                T::NAME,
                got[i],
                want[i]
            );
        }

        let b = T::of(-1.5);
        let Some(mut dx) = upload(ctx, &x) else {
            continue;
        };
        blas1::scale(ctx, b, &mut dx).unwrap_or_else(|e| panic!("{e:?}: {}", detail(ctx)));
        let got = stream.clone_dtoh(&dx).unwrap();
        ctx.synchronize().unwrap();
        let want: Vec<T> = x.iter().map(|&xi| b * xi).collect();
        if let Some(i) = bits_equal(&got, &want) {
            panic!(
                "scale {} n={n}: element {i}: got {} want {}",
                T::NAME,
                got[i],
                want[i]
            );
        }
    }
    loud(&format!(
        "GPU axpy/scale {}: bit-identical to the CPU for n in {:?}",
        T::NAME,
        lengths()
    ));
}

/// Reference dot product: in f64 with Neumaier's compensated summation (exact enough
/// for f32 data, and about one f64 rounding for f64 data), and sum |x_i y_i|.
fn reference_dot<T: Real>(x: &[T], y: &[T]) -> (f64, f64) {
    let (mut sum, mut comp, mut abs) = (0.0f64, 0.0f64, 0.0f64);
    for (&a, &b) in x.iter().zip(y) {
        let p = a.to_f64_lossless() * b.to_f64_lossless();
        abs += p.abs();
        let t = sum + p;
        comp += if sum.abs() >= p.abs() {
            (sum - t) + p
        } else {
            (p - t) + sum
        };
        sum = t;
    }
    (sum + comp, abs)
}

fn check_dot<T: CudaReal>(ctx: &Context) {
    let stream = ctx.stream().clone();
    let threads = BLOCK_SIZE as usize * DOT_MAX_BLOCKS;
    for n in lengths() {
        let x = data::<T>(n, 3);
        let y = data::<T>(n, 4);
        let (Some(dx), Some(dy)) = (upload(ctx, &x), upload(ctx, &y)) else {
            continue;
        };
        let got = blas1::dot(ctx, &dx, &dy).unwrap_or_else(|e| panic!("{e:?}: {}", detail(ctx)));
        let again = blas1::dot(ctx, &dx, &dy).unwrap();
        assert_eq!(
            got.to_f64_lossless().to_bits(),
            again.to_f64_lossless().to_bits(),
            "dot {} n={n} is not reproducible",
            T::NAME
        );

        // dot_into with caller-owned buffers gives the very same bits.
        let mut work = stream
            .alloc_zeros::<T>(blas1::dot_work_size::<T>(n).unwrap().len_of::<T>())
            .unwrap();
        let mut out = stream.alloc_zeros::<T>(1).unwrap();
        blas1::dot_into(ctx, &dx, &dy, &mut work, &mut out).unwrap();
        let into = stream.clone_dtoh(&out).unwrap()[0];
        ctx.synchronize().unwrap();
        assert_eq!(
            into.to_f64_lossless().to_bits(),
            got.to_f64_lossless().to_bits(),
            "dot_into {} n={n} differs from dot",
            T::NAME
        );

        let (exact, abs) = reference_dot(&x, &y);
        let depth = n.div_ceil(threads) + 10 + DOT_MAX_BLOCKS / BLOCK_SIZE as usize + 8;
        let tol = 4.0 * depth as f64 * T::epsilon().to_f64_lossless() * abs;
        let err = (got.to_f64_lossless() - exact).abs();
        assert!(
            err <= tol,
            "dot {} n={n}: got {got}, reference {exact}, error {err:e} > tolerance {tol:e}",
            T::NAME
        );
        if n == 0 {
            assert_eq!(got.to_f64_lossless(), 0.0);
        }

        // dot(x, x) with the same buffer twice is allowed.
        let xx = blas1::dot(ctx, &dx, &dx).unwrap();
        let (exact_xx, abs_xx) = reference_dot(&x, &x);
        let tol_xx = 4.0 * depth as f64 * T::epsilon().to_f64_lossless() * abs_xx;
        assert!((xx.to_f64_lossless() - exact_xx).abs() <= tol_xx);
    }
    loud(&format!(
        "GPU dot {}: within tolerance of the CPU and reproducible for n in {:?}",
        T::NAME,
        lengths()
    ));
}

fn check_validation<T: CudaReal>(ctx: &Context) {
    let stream = ctx.stream().clone();
    let x = data::<T>(100, 5);
    let y = data::<T>(99, 6);
    let dx = stream.clone_htod(&x).unwrap();
    let mut dy = stream.clone_htod(&y).unwrap();
    assert_eq!(
        blas1::axpy(ctx, T::one(), &dx, &mut dy).unwrap_err(),
        Error::Dimension
    );
    assert_eq!(blas1::dot(ctx, &dx, &dy).unwrap_err(), Error::Dimension);
    let after = stream.clone_dtoh(&dy).unwrap();
    ctx.synchronize().unwrap();
    assert_eq!(
        bits_equal(&after, &y),
        None,
        "y changed after a rejected axpy"
    );

    let n = 3 * BLOCK_SIZE as usize;
    let dx = stream.clone_htod(&data::<T>(n, 7)).unwrap();
    let mut short = stream
        .alloc_zeros::<T>(blas1::dot_work_size::<T>(n).unwrap().len_of::<T>() - 1)
        .unwrap();
    let mut out = stream.alloc_zeros::<T>(1).unwrap();
    assert_eq!(
        blas1::dot_into(ctx, &dx, &dx, &mut short, &mut out).unwrap_err(),
        Error::Workspace
    );
    let mut work = stream
        .alloc_zeros::<T>(blas1::dot_work_size::<T>(n).unwrap().len_of::<T>())
        .unwrap();
    if let Some(mut empty) = upload::<T>(ctx, &[]) {
        assert_eq!(
            blas1::dot_into(ctx, &dx, &dx, &mut work, &mut empty).unwrap_err(),
            Error::Dimension
        );
    }
}

#[test]
fn gpu_axpy_and_scale_match_the_cpu() {
    let Some(ctx) = gpu_context("gpu_axpy_and_scale_match_the_cpu") else {
        return;
    };
    check_axpy_scale::<f32>(&ctx);
    check_axpy_scale::<f64>(&ctx);
}

#[test]
fn gpu_dot_matches_the_cpu_and_is_reproducible() {
    let Some(ctx) = gpu_context("gpu_dot_matches_the_cpu_and_is_reproducible") else {
        return;
    };
    check_dot::<f32>(&ctx);
    check_dot::<f64>(&ctx);
}

#[test]
fn gpu_bad_arguments_are_rejected_before_launch() {
    let Some(ctx) = gpu_context("gpu_bad_arguments_are_rejected_before_launch") else {
        return;
    };
    check_validation::<f32>(&ctx);
    check_validation::<f64>(&ctx);
}

/// axpy, scale and dot on n = 2^31 + 7 f32 values (8.6 GB per array), so the element
/// index of every blas1 kernel passes 2^31: axpy (one fused multiply-add per element)
/// and scale (times 2, exact) bit for bit against the CPU, dot within 1e-3 of the sum
/// in f64. Skipped (loudly) with KN_SKIP_LARGE=1.
#[test]
fn gpu_large_blas1_past_2_31() {
    let Some(ctx) = common::large_gpu_context("gpu_large_blas1_past_2_31") else {
        return;
    };
    let n = (1usize << 31) + 7;
    let x: Vec<f32> = (0..n).map(|i| 0.5 + (i % 1021) as f32 / 1021.0).collect();
    let y: Vec<f32> = (0..n).map(|i| 0.5 + (i % 1019) as f32 / 1019.0).collect();
    let s = ctx.stream();
    let dx = s.clone_htod(&x).unwrap();
    let mut dy = s.clone_htod(&y).unwrap();
    let want_dot: f64 = x
        .iter()
        .zip(&y)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum();
    let dot = f64::from(blas1::dot(&ctx, &dx, &dy).unwrap());
    assert!(
        (dot - want_dot).abs() <= 1e-3 * want_dot,
        "dot over 2^31 + 7: {dot} vs {want_dot}"
    );
    let a = 0.75f32;
    blas1::axpy(&ctx, a, &dx, &mut dy).unwrap();
    blas1::scale(&ctx, 2.0f32, &mut dy).unwrap();
    let got = s.clone_dtoh(&dy).unwrap();
    ctx.synchronize().unwrap();
    let bad = got
        .iter()
        .zip(x.iter().zip(&y))
        .position(|(g, (xi, yi))| g.to_bits() != (2.0 * a.mul_add(*xi, *yi)).to_bits());
    assert_eq!(bad, None, "axpy then scale over 2^31 + 7: first difference");
    loud(&format!(
        "GPU blas1 f32 over n = 2^31 + 7: axpy and scale bit-identical to the CPU (the \
         last index {} included), dot within {:.1e} relative of the f64 sum",
        n - 1,
        (dot - want_dot).abs() / want_dot
    ));
}
