//! Without a CUDA device (or in a build without the `cuda` feature), every attention
//! `kn_cuda_*` entry point returns KN_ERR_UNSUPPORTED before looking at its arguments,
//! and writes nothing. With a device the test says SKIPPED: the GPU checks are in
//! crates/kernels-cuda/tests/gpu_attention.rs.

use kernels::*;
use std::io::Write as _;

const UNSUPPORTED: kn_status = -7;

fn no_device(test: &str) -> bool {
    if kn_cuda_available() == 0 {
        return true;
    }
    let line = format!("SKIPPED: {test}: a CUDA device is present (this checks its absence)");
    let _ = writeln!(std::io::stdout(), "{line}");
    let _ = writeln!(std::io::stderr(), "{line}");
    false
}

#[test]
fn h2o_decode_is_unsupported_and_writes_nothing() {
    if !no_device("h2o_decode_is_unsupported_and_writes_nothing") {
        return;
    }
    let (n_kv, d, sink, heavy, recent) = (2usize, 4usize, 1usize, 1usize, 2usize);
    let budget = sink + heavy + recent;
    let mut k = vec![7.0f32; n_kv * budget * d];
    let mut v = vec![7.0f32; n_kv * budget * d];
    let mut score = vec![7.0f32; n_kv * budget];
    let mut pos = vec![7u64; n_kv * budget];
    let mut cache = kn_h2o_cache {
        n_kv_heads: n_kv,
        d,
        sink,
        heavy,
        recent,
        len: 0,
        next_pos: 0,
        k: k.as_mut_ptr(),
        v: v.as_mut_ptr(),
        score: score.as_mut_ptr(),
        pos: pos.as_mut_ptr(),
    };
    let before = format!("{cache:?}");
    let q = vec![0.5f32; 2 * d];
    let kv_new = vec![0.5f32; n_kv * d];
    let mut out = vec![7.0f32; 2 * d];
    let mut work = vec![7u8; 1 << 16];
    let mut bytes = 12345usize;
    // SAFETY: every pointer is valid for the lengths the dimensions imply (host memory
    // stands in for device memory: nothing may be dereferenced without a device).
    unsafe {
        assert_eq!(
            kn_cuda_h2o_decode_work_bytes(&cache, 2, &mut bytes),
            UNSUPPORTED
        );
        assert_eq!(
            kn_cuda_h2o_decode_work_bytes(std::ptr::null(), 0, std::ptr::null_mut()),
            UNSUPPORTED
        );
        assert_eq!(
            kn_cuda_h2o_decode_f32(
                &mut cache,
                2,
                q.as_ptr(),
                kv_new.as_ptr(),
                kv_new.as_ptr(),
                0.0,
                out.as_mut_ptr(),
                work.as_mut_ptr().cast(),
                work.len(),
                std::ptr::null_mut(),
            ),
            UNSUPPORTED
        );
        assert_eq!(
            kn_cuda_h2o_decode_f32(
                std::ptr::null_mut(),
                0,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                f32::NAN,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
            ),
            UNSUPPORTED
        );
    }
    assert_eq!(bytes, 12345);
    assert_eq!(format!("{cache:?}"), before);
    assert!(out.iter().all(|&x| x == 7.0));
    assert!(work.iter().all(|&x| x == 7));
    assert!(k.iter().chain(&v).chain(&score).all(|&x| x == 7.0));
    assert!(pos.iter().all(|&x| x == 7));
}
