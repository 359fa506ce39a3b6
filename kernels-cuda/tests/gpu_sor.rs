//! The grid SOR sweep on the GPU (`kernels_cuda::sor`) against the CPU.
//!
//! Without NVRTC the PTX check says SKIPPED; without a device the GPU checks say
//! SKIPPED (both fail instead under `KN_REQUIRE_NVRTC=1` / `KN_REQUIRE_GPU=1`).
//!
//! - PTX (NVRTC only, no GPU): the sweep kernels contain no fused multiply-add, so the
//!   device computes each point with the host's roundings.
//! - Results: for f32 and f64, on grids with odd and even sides, single rows and
//!   columns, and several shifts and omegas, the device's `x` after 3 sweeps must equal
//!   `kernels_core::sor::sor_grid2d::<T, Scalar>`'s bit for bit (tolerance: zero).
//! - Also bit for bit: narrow grids of more than 65535 x 8 rows (the launch's grid y
//!   clamped), and one sweep of a 46341 x 46341 f32 grid, past 2^31 points
//!   (`gpu_large_*`, skipped with KN_SKIP_LARGE=1).
//! - Errors: every bad-input class gives the host's error, with `x` untouched; a
//!   diverging sweep is `Numerical` on both, with the same last-sweep values.
//! - Speed: achieved GB/s of a sweep on an 8192 x 8192 grid against the measured
//!   device-to-device copy bandwidth, with the verdict on the 50% target
//!   printed (not asserted).

use kernels_core::{Real, Scalar};
use kernels_cuda::cudarc::driver::CudaSlice;
use kernels_cuda::sor::{sor_grid2d, sor_grid2d_work_size};
use kernels_cuda::{Context, CudaReal, Error, nvrtc};
use std::time::Instant;

mod common;
use common::{env_is_1, gpu_context, loud, timing_reps};

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

/// Equal bits, except that any NaN equals any NaN (the GPU's canonical NaN differs
/// from the CPU's).
fn first_difference<T: Real>(a: &[T], b: &[T]) -> Option<usize> {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).position(|(&x, &y)| {
        let (x, y) = (x.to_f64_lossless(), y.to_f64_lossless());
        !(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    })
}

fn detail(ctx: &Context) -> String {
    ctx.last_error_detail().unwrap_or_default()
}

struct Device<T> {
    b: CudaSlice<T>,
    x: CudaSlice<T>,
    work: CudaSlice<T>,
}

fn upload<T: CudaReal>(ctx: &Context, nx: usize, ny: usize, b: &[T], x: &[T]) -> Device<T> {
    let stream = ctx.stream();
    Device {
        b: stream.clone_htod(b).unwrap(),
        x: stream.clone_htod(x).unwrap(),
        work: stream
            .alloc_zeros::<T>(sor_grid2d_work_size::<T>(nx, ny).unwrap().len_of::<T>())
            .unwrap(),
    }
}

fn download<T: CudaReal>(ctx: &Context, d: &CudaSlice<T>) -> Vec<T> {
    let host = ctx.stream().clone_dtoh(d).unwrap();
    ctx.synchronize().unwrap();
    host
}

/// A status and the `x` that came with it.
type Outcome<T> = (Result<(), Error>, Vec<T>);

/// Runs the GPU and CPU sweeps on the same data; returns both results and statuses.
#[allow(clippy::too_many_arguments)]
fn both<T: CudaReal>(
    ctx: &Context,
    nx: usize,
    ny: usize,
    shift: T,
    b: &[T],
    x: &[T],
    omega: T,
    sweeps: u32,
) -> (Outcome<T>, Outcome<T>) {
    let mut d = upload(ctx, nx, ny, b, x);
    let gpu = sor_grid2d(
        ctx,
        nx,
        ny,
        shift,
        &d.b,
        &mut d.x,
        omega,
        sweeps,
        &mut d.work,
    );
    let gpu_x = download(ctx, &d.x);
    let mut cpu_x = x.to_vec();
    let cpu = kernels_core::sor::sor_grid2d::<T, Scalar>(
        &kernels_core::Sequential,
        nx,
        ny,
        shift,
        b,
        &mut cpu_x,
        omega,
        sweeps,
    );
    ((gpu, gpu_x), (cpu, cpu_x))
}

const SHAPES: &[(usize, usize)] = &[
    (1, 1),
    (2, 1),
    (1, 2),
    (1, 37),
    (37, 1),
    (2, 2),
    (3, 5),
    (64, 64),
    (65, 33),
    (511, 9),
    (512, 3),
    (513, 130),
    (1537, 1029),
];

fn check_results<T: CudaReal>(ctx: &Context) {
    let mut cases = 0;
    for &(nx, ny) in SHAPES {
        let n = nx * ny;
        let b = data::<T>(n, 11 + n as u64);
        let x = data::<T>(n, 12 + n as u64);
        for (shift, omega) in [(0.0, 1.0), (0.5, 1.5), (-1.5, 0.7), (3.25, 1.95)] {
            let (shift, omega) = (T::of(shift), T::of(omega));
            let ((gpu, gx), (cpu, cx)) = both(ctx, nx, ny, shift, &b, &x, omega, 3);
            gpu.unwrap_or_else(|e| panic!("{} {nx}x{ny}: {e:?}: {}", T::NAME, detail(ctx)));
            cpu.unwrap();
            if let Some(k) = first_difference(&gx, &cx) {
                panic!(
                    "sor_grid2d {} {nx}x{ny} shift {shift} omega {omega}: x[{k}] (row {}, \
                     column {}): GPU {} CPU {}",
                    T::NAME,
                    k / nx,
                    k % nx,
                    gx[k],
                    cx[k]
                );
            }
            cases += 1;
        }
    }
    loud(&format!(
        "GPU sor_grid2d {}: bit-identical to the CPU (Scalar) in {cases} cases, 3 sweeps, \
         grids {SHAPES:?}",
        T::NAME
    ));
}

/// `x` after `sweeps` sweeps on the GPU and the CPU must agree bit for bit.
fn check_bit_identical<T: CudaReal>(
    ctx: &Context,
    (nx, ny): (usize, usize),
    (b, x): (&[T], &[T]),
    sweeps: u32,
) {
    let (shift, omega) = (T::of(0.5), T::of(1.5));
    let ((gpu, gx), (cpu, cx)) = both(ctx, nx, ny, shift, b, x, omega, sweeps);
    gpu.unwrap_or_else(|e| panic!("{} {nx}x{ny}: {e:?}: {}", T::NAME, detail(ctx)));
    cpu.unwrap();
    if let Some(k) = first_difference(&gx, &cx) {
        panic!(
            "sor_grid2d {} {nx}x{ny}: x[{k}] (row {}, column {}): GPU {} CPU {}",
            T::NAME,
            k / nx,
            k % nx,
            gx[k],
            cx[k]
        );
    }
}

/// Narrow grids with more rows than 65535 blocks of 8 rows: the launch's grid y
/// dimension is clamped and the kernel's row loop strides over the rest.
fn check_clamped_grid_y<T: CudaReal>(ctx: &Context) {
    for (nx, ny) in [(2usize, 600_000usize), (1, 530_001)] {
        let n = nx * ny;
        let b = data::<T>(n, 31);
        let x = data::<T>(n, 32);
        check_bit_identical(ctx, (nx, ny), (&b, &x), 2);
    }
    loud(&format!(
        "GPU sor_grid2d {}: bit-identical to the CPU on 2x600000 and 1x530001 (grid y \
         clamped to 65535), 2 sweeps",
        T::NAME
    ));
}

fn check_errors<T: CudaReal>(ctx: &Context) {
    let (nx, ny) = (33, 17);
    let n = nx * ny;
    let b = data::<T>(n, 5);
    let x = data::<T>(n, 6);
    let one = T::one();
    let nan = T::of(f64::NAN);
    let inf = T::of(f64::INFINITY);
    let with = |v: &[T], k: usize, value: T| {
        let mut v = v.to_vec();
        v[k] = value;
        v
    };
    let b_nan = with(&b, n - 1, nan);
    let x_inf = with(&x, n / 2, inf);
    // (what, nx, ny, shift, b, x, omega, expected)
    type Case<'a, T> = (&'a str, usize, usize, T, &'a [T], &'a [T], T, Error);
    let cases: Vec<Case<T>> = vec![
        ("nx zero", 0, ny, T::zero(), &b, &x, one, Error::Dimension),
        ("ny zero", nx, 0, T::zero(), &b, &x, one, Error::Dimension),
        (
            "short grid",
            nx,
            ny - 1,
            T::zero(),
            &b,
            &x,
            one,
            Error::Dimension,
        ),
        (
            "omega 0",
            nx,
            ny,
            T::zero(),
            &b,
            &x,
            T::zero(),
            Error::Argument,
        ),
        (
            "omega 2",
            nx,
            ny,
            T::zero(),
            &b,
            &x,
            T::of(2.0),
            Error::Argument,
        ),
        ("omega NaN", nx, ny, T::zero(), &b, &x, nan, Error::Argument),
        (
            "4 + shift = 0",
            nx,
            ny,
            T::of(-4.0),
            &b,
            &x,
            one,
            Error::Argument,
        ),
        ("shift NaN", nx, ny, nan, &b, &x, one, Error::NonFinite),
        ("shift inf", nx, ny, inf, &b, &x, one, Error::NonFinite),
        (
            "NaN in b",
            nx,
            ny,
            T::zero(),
            &b_nan,
            &x,
            one,
            Error::NonFinite,
        ),
        (
            "inf in x",
            nx,
            ny,
            T::zero(),
            &b,
            &x_inf,
            one,
            Error::NonFinite,
        ),
    ];
    for (what, cnx, cny, shift, cb, cx, omega, want) in cases {
        let mut d = upload(ctx, nx, ny, cb, cx);
        let got = sor_grid2d(ctx, cnx, cny, shift, &d.b, &mut d.x, omega, 2, &mut d.work);
        assert_eq!(got, Err(want), "{} {what}", T::NAME);
        let mut cpu_x = cx.to_vec();
        let cpu = kernels_core::sor::sor_grid2d::<T, Scalar>(
            &kernels_core::Sequential,
            cnx,
            cny,
            shift,
            cb,
            &mut cpu_x,
            omega,
            2,
        );
        assert_eq!(cpu, Err(want), "{} {what}: the CPU disagrees", T::NAME);
        let after = download(ctx, &d.x);
        assert_eq!(
            first_difference(&after, cx),
            None,
            "{} {what}: x was written",
            T::NAME
        );
    }

    // A workspace too short (zero-length allocations fail on some drivers: then skip).
    let mut d = upload(ctx, nx, ny, &b, &x);
    match ctx.stream().alloc_zeros::<T>(0) {
        Ok(mut empty) => {
            let got = sor_grid2d(ctx, nx, ny, T::zero(), &d.b, &mut d.x, one, 2, &mut empty);
            assert_eq!(got, Err(Error::Workspace));
            assert_eq!(first_difference(&download(ctx, &d.x), &x), None);
        }
        Err(e) => loud(&format!(
            "note: this driver refuses zero-length allocations ({e}); short-workspace case \
             skipped"
        )),
    }
    // sweeps = 0 validates only.
    sor_grid2d(ctx, nx, ny, T::zero(), &d.b, &mut d.x, one, 0, &mut d.work).unwrap();
    assert_eq!(first_difference(&download(ctx, &d.x), &x), None);

    // Divergence: 4 + shift tiny, so gain is large and the values overflow. Both sides
    // report Numerical and hold the same last sweep.
    let ((gpu, gx), (cpu, cx)) = both(ctx, nx, ny, T::of(-3.999), &b, &x, T::of(1.9), 200);
    assert_eq!(
        cpu,
        Err(Error::Numerical),
        "{}: the CPU sweep should diverge",
        T::NAME
    );
    assert_eq!(gpu, Err(Error::Numerical), "{}", T::NAME);
    assert_eq!(
        first_difference(&gx, &cx),
        None,
        "{}: diverged values differ",
        T::NAME
    );
    loud(&format!(
        "GPU sor_grid2d {}: every bad-input class refused as on the CPU, x untouched; \
         divergence is Numerical with the CPU's last sweep",
        T::NAME
    ));
}

/// Device-to-device copy bandwidth in GB/s (bytes read + bytes written per second),
/// over `bytes`-sized buffers.
fn copy_bandwidth(ctx: &Context, bytes: usize) -> f64 {
    let stream = ctx.stream();
    let src = stream.alloc_zeros::<u8>(bytes).unwrap();
    let mut dst = stream.alloc_zeros::<u8>(bytes).unwrap();
    stream.memcpy_dtod(&src, &mut dst).unwrap(); // warm-up
    ctx.synchronize().unwrap();
    let reps = 10;
    let t = Instant::now();
    for _ in 0..reps {
        stream.memcpy_dtod(&src, &mut dst).unwrap();
    }
    ctx.synchronize().unwrap();
    2.0 * bytes as f64 * reps as f64 / t.elapsed().as_secs_f64() / 1e9
}

/// Seconds per sweep on the device: the difference between a long and a short run of
/// `sor_grid2d`, so the fixed costs (the finiteness checks, two synchronisations)
/// cancel.
fn seconds_per_sweep<T: CudaReal>(ctx: &Context, nx: usize, ny: usize) -> f64 {
    let n = nx * ny;
    // Small values, omega 1 and a diagonal shift: the iteration stays finite.
    let b: Vec<T> = data(n, 21);
    let x: Vec<T> = data(n, 22);
    let mut d = upload(ctx, nx, ny, &b, &x);
    let mut run = |sweeps: u32| {
        let t = Instant::now();
        sor_grid2d(
            ctx,
            nx,
            ny,
            T::one(),
            &d.b,
            &mut d.x,
            T::one(),
            sweeps,
            &mut d.work,
        )
        .unwrap_or_else(|e| panic!("{e:?}: {}", detail(ctx)));
        t.elapsed().as_secs_f64()
    };
    run(1); // compile, load, warm up
    let (short, long) = (2u32, 22u32);
    let mut best = f64::INFINITY;
    for _ in 0..timing_reps() {
        let t_short = run(short);
        let t_long = run(long);
        best = best.min((t_long - t_short) / f64::from(long - short));
    }
    best.max(1e-9)
}

fn check_speed<T: CudaReal>(ctx: &Context, copy_gbs: f64) {
    let (nx, ny) = (8192usize, 8192usize);
    let n = nx * ny;
    let size = size_of::<T>();
    let t = seconds_per_sweep::<T>(ctx, nx, ny);
    // Two launches per sweep, each reading all of x and b and writing its colour of x;
    // the colours share every memory sector, so each launch moves 3 n values.
    let moved = 6.0 * (n * size) as f64;
    let gbs = moved / t / 1e9;
    let ratio = gbs / copy_gbs;
    // The least any sweep must move (one fused pass: read x and b, write x).
    let minimal = 3.0 * (n * size) as f64 / t / 1e9;
    loud(&format!(
        "GPU sor_grid2d {} {nx}x{ny}: {:.3} ms per sweep (2 launches); {gbs:.0} GB/s on the \
         6 n values the two launches must move = {:.0}% of dtod copy {copy_gbs:.0} GB/s: \
         target >= 50% {}; ({minimal:.0} GB/s = {:.0}% counting only the 3 n values of a \
         fused one-pass sweep)",
        T::NAME,
        t * 1e3,
        100.0 * ratio,
        if ratio >= 0.5 { "MET" } else { "MISSED" },
        100.0 * minimal / copy_gbs,
    ));
}

#[test]
fn sweep_kernels_have_no_fused_multiply_add() {
    if !kernels_cuda::nvrtc_available() {
        let line = "SKIPPED: gpu_sor::sweep_kernels_have_no_fused_multiply_add: NVRTC not found";
        assert!(!env_is_1("KN_REQUIRE_NVRTC"), "{line}; KN_REQUIRE_NVRTC=1");
        loud(line);
        return;
    }
    for arch in ["compute_70", "compute_90"] {
        let ptx = nvrtc::compile(&kernels_cuda::sources::SOR, arch).unwrap();
        for ty in ["f32", "f64"] {
            let entry = format!(".entry sor_rb_{ty}(");
            let start = ptx
                .text
                .find(&entry)
                .unwrap_or_else(|| panic!("{entry} missing"));
            let body = &ptx.text[start..];
            let body = &body[..body[1..].find(".entry").map_or(body.len(), |e| e + 1)];
            assert!(!body.contains("fma."), "{arch} sor_rb_{ty} contains an FMA");
            for op in ["mul.rn.", "add.rn."] {
                assert!(
                    body.contains(&format!("{op}{ty}")),
                    "{arch} sor_rb_{ty}: no {op}{ty}"
                );
            }
        }
    }
}

#[test]
fn gpu_sor_grid2d_is_bit_identical_to_the_cpu() {
    let Some(ctx) = gpu_context("gpu_sor_grid2d_is_bit_identical_to_the_cpu") else {
        return;
    };
    check_results::<f32>(&ctx);
    check_results::<f64>(&ctx);
}

#[test]
fn gpu_sor_grid2d_clamped_grid_y() {
    let Some(ctx) = gpu_context("gpu_sor_grid2d_clamped_grid_y") else {
        return;
    };
    check_clamped_grid_y::<f32>(&ctx);
    check_clamped_grid_y::<f64>(&ctx);
}

/// 46341 x 46341 f32 (2^31 + 4633 points; 8.6 GB per array): one sweep bit for bit,
/// so every index of the sweep kernels is 64-bit. Skipped (loudly) with
/// KN_SKIP_LARGE=1.
#[test]
fn gpu_large_sor_f32_past_2_31_one_sweep() {
    let Some(ctx) = common::large_gpu_context("gpu_large_sor_f32_past_2_31_one_sweep") else {
        return;
    };
    let side = 46341usize;
    let n = side * side;
    assert!(n > 1 << 31);
    // Cheap deterministic values in [-0.5, 0.5) (the xorshift of `data` would take long).
    let fill = |mul: usize| -> Vec<f32> {
        (0..n)
            .map(|i| (i.wrapping_mul(mul) % 1024) as f32 / 1024.0 - 0.5)
            .collect()
    };
    let (b, x) = (fill(2_654_435_761), fill(40_503));
    check_bit_identical::<f32>(&ctx, (side, side), (&b, &x), 1);
    loud(&format!(
        "GPU sor_grid2d f32 {side}x{side} ({n} points, past 2^31): one sweep bit-identical \
         to the CPU"
    ));
}

#[test]
fn gpu_sor_grid2d_refuses_what_the_cpu_refuses() {
    let Some(ctx) = gpu_context("gpu_sor_grid2d_refuses_what_the_cpu_refuses") else {
        return;
    };
    check_errors::<f32>(&ctx);
    check_errors::<f64>(&ctx);
}

#[test]
fn timing_sor_grid2d_bandwidth() {
    let Some(ctx) = gpu_context("timing_sor_grid2d_bandwidth") else {
        return;
    };
    let copy_gbs = copy_bandwidth(&ctx, 1 << 30);
    loud(&format!(
        "GPU device-to-device copy: {copy_gbs:.0} GB/s (read + write, 1 GiB buffers)"
    ));
    check_speed::<f32>(&ctx, copy_gbs);
    check_speed::<f64>(&ctx, copy_gbs);
}
