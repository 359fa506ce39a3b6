//! `kn_cuda_sor_grid2d_*` through the C ABI, in every build.
//!
//! Without CUDA (the feature off, or no driver, device or NVRTC): every function
//! returns `KN_ERR_UNSUPPORTED` before looking at its arguments, even invalid ones,
//! and writes nothing. With a device (feature `cuda`): a sweep on device memory equals
//! `kn_sor_grid2d_*` on the host bit for bit, and the argument checks come before any
//! write.

use core::ffi::c_void;
use core::ptr;
use kernels::*;

fn grid(n: usize, seed: u64) -> Vec<f64> {
    (0..n)
        .map(|i| (((i as u64 + 1).wrapping_mul(seed) % 1009) as f64) / 1009.0 - 0.5)
        .collect()
}

#[test]
fn unsupported_without_a_device_and_nothing_written() {
    if kn_cuda_available() != 0 {
        eprintln!("a CUDA device is present: the no-device contract does not apply here");
        return;
    }
    let (nx, ny) = (5usize, 4usize);
    let b64 = grid(nx * ny, 7);
    let mut x64 = grid(nx * ny, 11);
    let x64_before = x64.clone();
    let b32: Vec<f32> = b64.iter().map(|&v| v as f32).collect();
    let mut x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
    let x32_before = x32.clone();
    let mut work = [0u8; 64];
    let mut bytes = 12345usize;
    // SAFETY: every pointer is NULL or valid for the sizes passed; without a device
    // none of them is dereferenced (that is what is being checked).
    unsafe {
        assert_eq!(
            kn_cuda_sor_grid2d_work_bytes(nx, ny, &raw mut bytes),
            KN_ERR_UNSUPPORTED
        );
        assert_eq!(
            kn_cuda_sor_grid2d_work_bytes(0, 0, ptr::null_mut()),
            KN_ERR_UNSUPPORTED
        );
        let w = work.as_mut_ptr().cast::<c_void>();
        assert_eq!(
            kn_cuda_sor_grid2d_f32(
                nx,
                ny,
                0.5,
                b32.as_ptr(),
                x32.as_mut_ptr(),
                1.2,
                3,
                w,
                work.len(),
                ptr::null_mut()
            ),
            KN_ERR_UNSUPPORTED
        );
        assert_eq!(
            kn_cuda_sor_grid2d_f64(
                nx,
                ny,
                0.5,
                b64.as_ptr(),
                x64.as_mut_ptr(),
                1.2,
                3,
                w,
                work.len(),
                ptr::null_mut()
            ),
            KN_ERR_UNSUPPORTED
        );
        // Invalid arguments too: the device check comes first.
        assert_eq!(
            kn_cuda_sor_grid2d_f64(
                0,
                0,
                f64::NAN,
                ptr::null(),
                ptr::null_mut(),
                5.0,
                1,
                ptr::null_mut(),
                0,
                ptr::null_mut()
            ),
            KN_ERR_UNSUPPORTED
        );
        assert_eq!(
            kn_cuda_sor_grid2d_f32(
                0,
                0,
                f32::NAN,
                ptr::null(),
                ptr::null_mut(),
                5.0,
                1,
                ptr::null_mut(),
                0,
                ptr::null_mut()
            ),
            KN_ERR_UNSUPPORTED
        );
    }
    assert_eq!(bytes, 12345);
    assert_eq!(x64, x64_before);
    assert_eq!(x32, x32_before);
    assert!(work.iter().all(|&w| w == 0));
    eprintln!(
        "kn_cuda_sor_grid2d_*: KN_ERR_UNSUPPORTED without a device, nothing written (cuda \
         feature: {})",
        cfg!(feature = "cuda")
    );
}

/// With a device: the C entry point on the primary context's default stream.
#[cfg(feature = "cuda")]
#[test]
fn with_a_device_equals_the_host_function() {
    use kernels::kn_sor_grid2d_f64;
    use kernels_cuda::cudarc::driver::{CudaContext, DevicePtr, DevicePtrMut};

    if kn_cuda_available() == 0 {
        eprintln!("SKIPPED: cuda_sor::with_a_device_equals_the_host_function: no CUDA device");
        assert!(
            std::env::var("KN_REQUIRE_GPU").map_or(true, |v| v.trim() != "1"),
            "KN_REQUIRE_GPU=1 but no device"
        );
        return;
    }
    // The primary context of device 0, current on this thread (what the CUDA runtime
    // would use), and its legacy default stream (NULL) for the C call.
    let ctx = CudaContext::new(0).unwrap();
    let stream = ctx.default_stream();
    let (nx, ny) = (129usize, 70usize);
    let n = nx * ny;
    let b = grid(n, 13);
    let x = grid(n, 17);
    let db = stream.clone_htod(&b).unwrap();
    let mut dx = stream.clone_htod(&x).unwrap();
    let mut bytes = 0usize;
    // SAFETY: bytes is a valid out-pointer.
    let status = unsafe { kn_cuda_sor_grid2d_work_bytes(nx, ny, &raw mut bytes) };
    assert_eq!(status, KN_OK);
    let mut dwork = stream.alloc_zeros::<u8>(bytes).unwrap();
    stream.synchronize().unwrap();
    // Raw addresses; everything is ordered on the one default stream.
    let pb = db.device_ptr(&stream).0 as usize;
    let px = dx.device_ptr_mut(&stream).0 as usize;
    let pw = dwork.device_ptr_mut(&stream).0 as usize;
    // SAFETY: pb, px point to n f64 of device memory and pw to `bytes` bytes, in the
    // primary context current on this thread; NULL is its default stream.
    let call = |shift: f64, omega: f64, x: usize, work_bytes: usize| unsafe {
        kn_cuda_sor_grid2d_f64(
            nx,
            ny,
            shift,
            pb as *const f64,
            x as *mut f64,
            omega,
            4,
            pw as *mut c_void,
            work_bytes,
            ptr::null_mut(),
        )
    };
    // Argument errors first, x untouched.
    assert_eq!(call(0.5, 2.0, px, bytes), KN_ERR_ARGUMENT);
    assert_eq!(call(-4.0, 1.0, px, bytes), KN_ERR_ARGUMENT);
    assert_eq!(call(f64::NAN, 1.0, px, bytes), KN_ERR_NON_FINITE);
    assert_eq!(call(0.5, 1.0, px, 0), KN_ERR_WORKSPACE);
    assert_eq!(call(0.5, 1.0, pb, bytes), KN_ERR_ARGUMENT); // x overlaps b
    assert_eq!(call(0.5, 1.0, px + 1, bytes), KN_ERR_ARGUMENT); // misaligned
    let after = stream.clone_dtoh(&dx).unwrap();
    assert_eq!(after, x);

    assert_eq!(call(0.5, 1.3, px, bytes), KN_OK);
    let got = stream.clone_dtoh(&dx).unwrap();
    let mut want = x.clone();
    // SAFETY: host arrays of n values.
    let host = unsafe { kn_sor_grid2d_f64(nx, ny, 0.5, b.as_ptr(), want.as_mut_ptr(), 1.3, 4) };
    assert_eq!(host, KN_OK);
    let same = got
        .iter()
        .zip(&want)
        .all(|(g, w)| g.to_bits() == w.to_bits());
    assert!(
        same,
        "kn_cuda_sor_grid2d_f64 differs from kn_sor_grid2d_f64"
    );
    eprintln!("kn_cuda_sor_grid2d_f64: bit-identical to kn_sor_grid2d_f64 ({nx}x{ny}, 4 sweeps)");
}
