//! Without a CUDA device (or in a build without the `cuda` feature), every attention
//! `kn_cuda_*` entry point returns KN_ERR_UNSUPPORTED before looking at its arguments,
//! and writes nothing. With a device the test says SKIPPED: the GPU checks are in
//! kernels-cuda/tests/gpu_attention.rs.

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

#[test]
fn linattn_is_unsupported_and_writes_nothing() {
    if !no_device("linattn_is_unsupported_and_writes_nothing") {
        return;
    }
    let (n_heads, len, dk, dv) = (2usize, 5usize, 3usize, 4usize);
    let q = vec![0.5f32; n_heads * len * dk];
    let v = vec![0.5f32; n_heads * len * dv];
    let decay = vec![0.9f32; n_heads];
    let state_in = vec![0.5f32; n_heads * dk * dv];
    let lens = [2usize, 3];
    let mut out = vec![7.0f32; n_heads * len * dv];
    let mut state = vec![7.0f32; n_heads * dk * dv];
    let mut prefix = vec![7.0f32; 2 * n_heads * dk * dv];
    let mut work = vec![7u8; 1 << 16];
    let mut bytes = [12345usize; 3];
    let null_f = std::ptr::null::<f32>();
    let null_m = std::ptr::null_mut::<f32>();
    let stream = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the lengths the dimensions imply (host memory
    // stands in for device memory: nothing may be dereferenced without a device).
    unsafe {
        let statuses = [
            kn_cuda_linattn_work_bytes(n_heads, len, dk, dv, 0, &mut bytes[0]),
            kn_cuda_linattn_work_bytes(0, 0, 0, 0, 0, std::ptr::null_mut()),
            kn_cuda_linattn_chunk_state_work_bytes(n_heads, len, dk, dv, &mut bytes[1]),
            kn_cuda_linattn_state_scan_work_bytes(2, n_heads, dk, dv, &mut bytes[2]),
            kn_cuda_linattn_forward_f32(
                n_heads,
                len,
                dk,
                dv,
                q.as_ptr(),
                q.as_ptr(),
                v.as_ptr(),
                decay.as_ptr(),
                0.0,
                state_in.as_ptr(),
                out.as_mut_ptr(),
                state.as_mut_ptr(),
                0,
                work.as_mut_ptr().cast(),
                work.len(),
                stream,
            ),
            // Invalid arguments of every kind: still UNSUPPORTED, checked first.
            kn_cuda_linattn_forward_f32(
                0,
                0,
                0,
                0,
                null_f,
                null_f,
                null_f,
                null_f,
                f32::NAN,
                null_f,
                null_m,
                null_m,
                0,
                std::ptr::null_mut(),
                0,
                stream,
            ),
            kn_cuda_linattn_chunk_state_f32(
                n_heads,
                len,
                dk,
                dv,
                q.as_ptr(),
                v.as_ptr(),
                decay.as_ptr(),
                state.as_mut_ptr(),
                work.as_mut_ptr().cast(),
                work.len(),
                stream,
            ),
            kn_cuda_linattn_chunk_state_f32(
                0,
                0,
                0,
                0,
                null_f,
                null_f,
                null_f,
                null_m,
                std::ptr::null_mut(),
                0,
                stream,
            ),
            kn_cuda_linattn_state_scan_f32(
                2,
                n_heads,
                dk,
                dv,
                lens.as_ptr(),
                decay.as_ptr(),
                state_in.as_ptr(),
                prefix.as_mut_ptr(),
                work.as_mut_ptr().cast(),
                work.len(),
                stream,
            ),
            kn_cuda_linattn_state_scan_f32(
                0,
                0,
                0,
                0,
                std::ptr::null(),
                null_f,
                null_f,
                null_m,
                std::ptr::null_mut(),
                0,
                stream,
            ),
        ];
        assert!(statuses.iter().all(|&s| s == UNSUPPORTED), "{statuses:?}");
    }
    assert_eq!(bytes, [12345; 3]);
    assert!(out.iter().chain(&state).chain(&prefix).all(|&x| x == 7.0));
    assert!(work.iter().all(|&x| x == 7));
}

#[test]
fn gated_linattn_is_unsupported_and_writes_nothing() {
    if !no_device("gated_linattn_is_unsupported_and_writes_nothing") {
        return;
    }
    let (n_heads, len, dk, dv) = (2usize, 5usize, 3usize, 4usize);
    let q = vec![0.5f32; n_heads * len * dk];
    let v = vec![0.5f32; n_heads * len * dv];
    let gates = vec![-0.1f32; n_heads * len];
    let logs = vec![-0.5f32; 2 * n_heads];
    let state_in = vec![0.5f32; 2 * n_heads * dk * dv];
    let mut out = vec![7.0f32; n_heads * len * dv];
    let mut state = vec![7.0f32; n_heads * dk * dv];
    let mut log_decay = vec![7.0f32; n_heads];
    let mut prefix = vec![7.0f32; 2 * n_heads * dk * dv];
    let mut work = vec![7u8; 1 << 16];
    let mut bytes = [12345usize; 2];
    let null_f = std::ptr::null::<f32>();
    let null_m = std::ptr::null_mut::<f32>();
    let stream = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the lengths the dimensions imply (host memory
    // stands in for device memory: nothing may be dereferenced without a device).
    unsafe {
        let statuses = [
            kn_cuda_linattn_gated_work_bytes(n_heads, len, dk, dv, 0, &mut bytes[0]),
            kn_cuda_linattn_gated_work_bytes(0, 0, 0, 0, 0, std::ptr::null_mut()),
            kn_cuda_linattn_gated_chunk_state_work_bytes(n_heads, len, dk, dv, &mut bytes[1]),
            kn_cuda_linattn_gated_chunk_state_work_bytes(0, 0, 0, 0, std::ptr::null_mut()),
            kn_cuda_linattn_gated_forward_f32(
                n_heads,
                len,
                dk,
                dv,
                q.as_ptr(),
                q.as_ptr(),
                v.as_ptr(),
                gates.as_ptr(),
                0.0,
                state_in.as_ptr(),
                out.as_mut_ptr(),
                state.as_mut_ptr(),
                0,
                work.as_mut_ptr().cast(),
                work.len(),
                stream,
            ),
            // Invalid arguments of every kind (NULL gates, zero sizes, NaN scale): still
            // UNSUPPORTED, checked first.
            kn_cuda_linattn_gated_forward_f32(
                0,
                0,
                0,
                0,
                null_f,
                null_f,
                null_f,
                null_f,
                f32::NAN,
                null_f,
                null_m,
                null_m,
                0,
                std::ptr::null_mut(),
                0,
                stream,
            ),
            kn_cuda_linattn_gated_chunk_state_f32(
                n_heads,
                len,
                dk,
                dv,
                q.as_ptr(),
                v.as_ptr(),
                gates.as_ptr(),
                state.as_mut_ptr(),
                log_decay.as_mut_ptr(),
                work.as_mut_ptr().cast(),
                work.len(),
                stream,
            ),
            kn_cuda_linattn_gated_chunk_state_f32(
                0,
                0,
                0,
                0,
                null_f,
                null_f,
                null_f,
                null_m,
                null_m,
                std::ptr::null_mut(),
                0,
                stream,
            ),
            kn_cuda_linattn_gated_state_scan_f32(
                2,
                n_heads,
                dk,
                dv,
                logs.as_ptr(),
                state_in.as_ptr(),
                prefix.as_mut_ptr(),
                work.as_mut_ptr().cast(),
                work.len(),
                stream,
            ),
            kn_cuda_linattn_gated_state_scan_f32(
                0,
                0,
                0,
                0,
                null_f,
                null_f,
                null_m,
                std::ptr::null_mut(),
                0,
                stream,
            ),
        ];
        assert!(statuses.iter().all(|&s| s == UNSUPPORTED), "{statuses:?}");
    }
    assert_eq!(bytes, [12345; 2]);
    assert!(
        out.iter()
            .chain(&state)
            .chain(&log_decay)
            .chain(&prefix)
            .all(|&x| x == 7.0)
    );
    assert!(work.iter().all(|&x| x == 7));
}
