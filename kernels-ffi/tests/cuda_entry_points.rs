//! The `kn_cuda_*` C entry points of scale, sinkhorn, h2o and linattn (gated too) on a device,
//! against the host entry points: on the NULL stream and on a non-blocking user
//! stream, from two threads at once; refused inputs leave sentinel buffers as they
//! were. Also the rule for the calling thread's current context: a context that is
//! not the device's primary one is refused with `KN_ERR_ARGUMENT` and stays current;
//! otherwise the thread has the same current context (or none) after a call as
//! before it.
//!
//! Needs the `cuda` feature (the file is empty without it) and a device: without one
//! each test prints a SKIPPED line (a failure under `KN_REQUIRE_GPU=1`).
#![cfg(feature = "cuda")]

use core::ffi::c_void;
use core::ptr;
use kernels::*;
use kernels_cuda::cudarc::driver::{
    CudaContext, CudaSlice, CudaStream, DevicePtr, DeviceRepr, ValidAsZeroBits, sys as cu,
};
use std::io::Write as _;
use std::sync::Arc;

/// True when a device is there; otherwise prints the SKIPPED line (stdout and stderr)
/// and fails under `KN_REQUIRE_GPU=1`.
fn device_present(test: &str) -> bool {
    if kn_cuda_available() != 0 {
        return true;
    }
    let line = format!("SKIPPED: cuda_entry_points::{test}: no CUDA device (or no NVRTC)");
    assert!(
        std::env::var("KN_REQUIRE_GPU").map_or(true, |v| v.trim() != "1"),
        "{line}; KN_REQUIRE_GPU=1 is set, so this is a failure"
    );
    let _ = writeln!(std::io::stdout(), "{line}");
    let _ = writeln!(std::io::stderr(), "{line}");
    false
}

/// Deterministic values in [lo, lo + 1): a multiplicative hash of the index.
fn data(n: usize, seed: u64, lo: f32) -> Vec<f32> {
    (0..n as u64)
        .map(|i| {
            let h = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(1_000_003));
            lo + (h >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// Device buffers on one stream, and their raw addresses for the C calls.
struct On {
    stream: Arc<CudaStream>,
    /// What the C functions get: NULL (the default stream) or the user stream.
    raw: *mut c_void,
}

impl On {
    fn up<T: DeviceRepr + ValidAsZeroBits + Clone + Default + Unpin>(
        &self,
        v: &[T],
    ) -> CudaSlice<T> {
        let d = self.stream.clone_htod(v).unwrap();
        self.stream.synchronize().unwrap();
        d
    }
    fn zeros(&self, bytes: usize) -> CudaSlice<u8> {
        let d = self.stream.alloc_zeros::<u8>(bytes.max(1)).unwrap();
        self.stream.synchronize().unwrap();
        d
    }
    fn down<T: DeviceRepr + ValidAsZeroBits + Clone + Default + Unpin>(
        &self,
        d: &CudaSlice<T>,
    ) -> Vec<T> {
        let h = self.stream.clone_dtoh(d).unwrap();
        self.stream.synchronize().unwrap();
        h
    }
    fn at<T>(&self, d: &CudaSlice<T>) -> *mut T {
        d.device_ptr(&self.stream).0 as usize as *mut T
    }
}

fn close(got: &[f32], want: &[f32], rel: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rel * (1.0 + scale),
            "{what}: element {i}: device {g} host {w}"
        );
    }
}

fn opts(reg: f64, tol: f64) -> kn_sinkhorn_opts {
    let mut o = kn_sinkhorn_opts_default();
    o.reg = reg;
    o.tol = tol;
    o.max_iter = 5000;
    o.check_every = 5;
    o
}

/// kn_cuda_scale_f32 against kn_scale_f32 (the scaled matrix), then a NaN in K:
/// KN_ERR_NON_FINITE with u and v as they were.
fn scale(on: &On) {
    let (n, m) = (37usize, 53usize);
    let k = data(n * m, 1, 0.5);
    let a = vec![1.0 / n as f32; n];
    let b = vec![1.0 / m as f32; m];
    let o = opts(0.0, 1e-5);
    let mut bytes = 0usize;
    // SAFETY: a valid out-pointer.
    let s = unsafe { kn_cuda_scale_work_bytes(n, m, &raw mut bytes) };
    assert_eq!(s, KN_OK);
    let (dk, da, db) = (on.up(&k), on.up(&a), on.up(&b));
    let (du, dv, dw) = (
        on.up(&vec![0.0f32; n]),
        on.up(&vec![0.0f32; m]),
        on.zeros(bytes),
    );
    let mut rep = kn_report::default();
    // SAFETY: device buffers of the sizes n and m imply, in the primary context of the
    // current device; host opts and report; `on.raw` is NULL or a live stream.
    let call = |dk: *mut f32, rep: &mut kn_report| unsafe {
        kn_cuda_scale_f32(
            n,
            m,
            dk,
            on.at(&da),
            on.at(&db),
            &o,
            on.at(&du),
            on.at(&dv),
            on.at(&dw).cast(),
            bytes,
            rep,
            on.raw,
        )
    };
    assert_eq!(call(on.at(&dk), &mut rep), KN_OK);
    let (gu, gv) = (on.down(&du), on.down(&dv));
    let (mut hu, mut hv) = (vec![0.0f32; n], vec![0.0f32; m]);
    let mut hbytes = 0usize;
    let mut hrep = kn_report::default();
    // SAFETY: host buffers of the stated sizes.
    unsafe {
        assert_eq!(kn_scale_work_bytes(n, m, &raw mut hbytes), KN_OK);
        let mut work = vec![0u8; hbytes];
        let s = kn_scale_f32(
            n,
            m,
            k.as_ptr(),
            a.as_ptr(),
            b.as_ptr(),
            &o,
            hu.as_mut_ptr(),
            hv.as_mut_ptr(),
            work.as_mut_ptr().cast(),
            hbytes,
            &mut hrep,
        );
        assert_eq!(s, KN_OK);
    }
    assert!(rep.converged == 1 && hrep.converged == 1);
    let p = |u: &[f32], v: &[f32]| -> Vec<f32> {
        (0..n * m).map(|x| u[x / m] * k[x] * v[x % m]).collect()
    };
    close(
        &p(&gu, &gv),
        &p(&hu, &hv),
        1e-3,
        "kn_cuda_scale_f32 scaled matrix",
    );

    let mut bad = k.clone();
    bad[5] = f32::NAN;
    let dbad = on.up(&bad);
    let before = (on.down(&du), on.down(&dv));
    assert_eq!(call(on.at(&dbad), &mut rep), KN_ERR_NON_FINITE);
    assert_eq!(
        (on.down(&du), on.down(&dv)),
        before,
        "u, v written on a refusal"
    );
}

/// kn_cuda_sinkhorn_f32 against kn_sinkhorn_f32 (plan and value), then a NaN in C:
/// KN_ERR_NON_FINITE with f, g and the plan sentinels as they were.
fn sinkhorn(on: &On) {
    let (n, m) = (29usize, 41usize);
    let c = data(n * m, 2, 0.0);
    let a = vec![1.0 / n as f32; n];
    let b = vec![1.0 / m as f32; m];
    let o = opts(0.1, 3e-5);
    let mut bytes = 0usize;
    // SAFETY: a valid out-pointer.
    let s = unsafe { kn_cuda_sinkhorn_work_bytes(n, m, &raw mut bytes) };
    assert_eq!(s, KN_OK);
    let (dc, da, db) = (on.up(&c), on.up(&a), on.up(&b));
    let (df, dg) = (on.up(&vec![0.0f32; n]), on.up(&vec![0.0f32; m]));
    let (dp, dw) = (on.up(&vec![7.0f32; n * m]), on.zeros(bytes));
    let mut rep = kn_report::default();
    // SAFETY: as in `scale`; f, g and plan are buffers of n, m and n * m values.
    let call = |dc: &CudaSlice<f32>, [df, dg, dp]: [&CudaSlice<f32>; 3], rep: &mut kn_report| unsafe {
        kn_cuda_sinkhorn_f32(
            n,
            m,
            on.at(dc),
            on.at(&da),
            on.at(&db),
            &o,
            on.at(df),
            on.at(dg),
            on.at(dp),
            on.at(&dw).cast(),
            bytes,
            rep,
            on.raw,
        )
    };
    assert_eq!(call(&dc, [&df, &dg, &dp], &mut rep), KN_OK);
    let gp = on.down(&dp);
    let (mut hf, mut hg, mut hp) = (vec![0.0f32; n], vec![0.0f32; m], vec![0.0f32; n * m]);
    let mut hbytes = 0usize;
    let mut hrep = kn_report::default();
    // SAFETY: host buffers of the stated sizes.
    unsafe {
        assert_eq!(kn_sinkhorn_work_bytes(n, m, &raw mut hbytes), KN_OK);
        let mut work = vec![0u8; hbytes];
        let s = kn_sinkhorn_f32(
            n,
            m,
            c.as_ptr(),
            a.as_ptr(),
            b.as_ptr(),
            &o,
            hf.as_mut_ptr(),
            hg.as_mut_ptr(),
            hp.as_mut_ptr(),
            work.as_mut_ptr().cast(),
            hbytes,
            &mut hrep,
        );
        assert_eq!(s, KN_OK);
    }
    assert!(rep.converged == 1 && hrep.converged == 1);
    close(&gp, &hp, 2e-2, "kn_cuda_sinkhorn_f32 plan");
    assert!(
        (rep.value - hrep.value).abs() <= 1e-3 * hrep.value.abs(),
        "value {} vs {}",
        rep.value,
        hrep.value
    );

    let mut bad = c.clone();
    bad[n * m - 1] = f32::NAN;
    let dbad = on.up(&bad);
    let (df, dg, dp) = (on.up(&vec![3.0f32; n]), on.up(&vec![5.0f32; m]), on.up(&gp));
    let s = call(&dbad, [&df, &dg, &dp], &mut rep);
    assert_eq!(s, KN_ERR_NON_FINITE);
    assert!(on.down(&df).iter().all(|&x| x == 3.0) && on.down(&dg).iter().all(|&x| x == 5.0));
    assert_eq!(on.down(&dp), gp, "plan written on a refusal");
}

/// kn_cuda_h2o_decode_f32 against kn_h2o_decode_f32, step by step from the same
/// state (filling, then evicting), then a NaN in q: KN_ERR_NON_FINITE, the cache and
/// the `out` sentinel as they were.
fn h2o(on: &On) {
    let (n_kv, d, sink, heavy, recent, n_heads) = (2usize, 16usize, 1usize, 4usize, 3usize, 4);
    let budget = sink + heavy + recent;
    let (rows, values) = (n_kv * budget, n_kv * budget * d);
    let (mut hk, mut hv) = (vec![0.0f32; values], vec![0.0f32; values]);
    let (mut hs, mut hpos) = (vec![0.0f32; rows], vec![0u64; rows]);
    let mut host = kn_h2o_cache {
        n_kv_heads: 0,
        d: 0,
        sink: 0,
        heavy: 0,
        recent: 0,
        len: 0,
        next_pos: 0,
        k: ptr::null_mut(),
        v: ptr::null_mut(),
        score: ptr::null_mut(),
        pos: ptr::null_mut(),
    };
    // SAFETY: host buffers of the cache's lengths, kept alive below.
    let s = unsafe {
        kn_h2o_cache_init(
            &mut host,
            n_kv,
            d,
            sink,
            heavy,
            recent,
            hk.as_mut_ptr(),
            hv.as_mut_ptr(),
            hs.as_mut_ptr(),
            hpos.as_mut_ptr(),
        )
    };
    assert_eq!(s, KN_OK);
    let (mut hbytes, mut bytes) = (0usize, 0usize);
    // SAFETY: valid pointers.
    unsafe {
        assert_eq!(
            kn_h2o_decode_work_bytes(&host, n_heads, &raw mut hbytes),
            KN_OK
        );
        assert_eq!(
            kn_cuda_h2o_decode_work_bytes(&host, n_heads, &raw mut bytes),
            KN_OK
        );
    }
    let mut hwork = vec![0u8; hbytes];
    let dw = on.zeros(bytes);
    let dout = on.up(&vec![7.0f32; n_heads * d]);
    for step in 0..12u64 {
        let q = data(n_heads * d, 100 + step, -0.5);
        let kn = data(n_kv * d, 200 + step, -0.5);
        let vn = data(n_kv * d, 300 + step, -0.5);
        // The device cache from the host's state before the step.
        let (dk, dv, ds, dp) = (on.up(&hk), on.up(&hv), on.up(&hs), on.up(&hpos));
        let mut dev = kn_h2o_cache {
            k: on.at(&dk),
            v: on.at(&dv),
            score: on.at(&ds),
            pos: on.at(&dp),
            ..host
        };
        let (dq, dkn, dvn) = (on.up(&q), on.up(&kn), on.up(&vn));
        // SAFETY: device arrays of the cache's and the step's lengths.
        let s = unsafe {
            kn_cuda_h2o_decode_f32(
                &mut dev,
                n_heads,
                on.at(&dq),
                on.at(&dkn),
                on.at(&dvn),
                0.0,
                on.at(&dout),
                on.at(&dw).cast(),
                bytes,
                on.raw,
            )
        };
        assert_eq!(s, KN_OK, "step {step}");
        let mut want = vec![0.0f32; n_heads * d];
        // SAFETY: host arrays of the cache's and the step's lengths.
        let s = unsafe {
            kn_h2o_decode_f32(
                &mut host,
                n_heads,
                q.as_ptr(),
                kn.as_ptr(),
                vn.as_ptr(),
                0.0,
                want.as_mut_ptr(),
                hwork.as_mut_ptr().cast(),
                hbytes,
            )
        };
        assert_eq!(s, KN_OK);
        assert_eq!((dev.len, dev.next_pos), (host.len, host.next_pos));
        assert_eq!(on.down(&dp), hpos, "step {step}: positions");
        close(
            &on.down(&dout),
            &want,
            2e-5,
            &format!("h2o step {step}: out"),
        );
        close(
            &on.down(&ds),
            &hs,
            1e-5,
            &format!("h2o step {step}: scores"),
        );
    }
    // A NaN in q: refused, nothing written.
    let (dk, dv, ds, dp) = (on.up(&hk), on.up(&hv), on.up(&hs), on.up(&hpos));
    let mut dev = kn_h2o_cache {
        k: on.at(&dk),
        v: on.at(&dv),
        score: on.at(&ds),
        pos: on.at(&dp),
        ..host
    };
    let mut q = data(n_heads * d, 1, -0.5);
    q[3] = f32::NAN;
    let kn = data(n_kv * d, 2, -0.5);
    let (dq, dkn) = (on.up(&q), on.up(&kn));
    let sentinel = on.up(&vec![9.0f32; n_heads * d]);
    // SAFETY: as above.
    let s = unsafe {
        kn_cuda_h2o_decode_f32(
            &mut dev,
            n_heads,
            on.at(&dq),
            on.at(&dkn),
            on.at(&dkn),
            0.0,
            on.at(&sentinel),
            on.at(&dw).cast(),
            bytes,
            on.raw,
        )
    };
    assert_eq!(s, KN_ERR_NON_FINITE);
    assert_eq!((dev.len, dev.next_pos), (host.len, host.next_pos));
    assert!(on.down(&sentinel).iter().all(|&x| x == 9.0));
    assert!(on.down(&dk) == hk && on.down(&dv) == hv && on.down(&ds) == hs);
    assert_eq!(on.down(&dp), hpos);
}

/// kn_cuda_linattn_forward_f32 against kn_linattn_forward_f32, then a decay of 1.5:
/// KN_ERR_ARGUMENT with the `out` and `state_out` sentinels as they were.
fn linattn(on: &On) {
    let (h, len, dk, dv) = (2usize, 70usize, 16usize, 8usize);
    let q = data(h * len * dk, 11, -0.5);
    let k = data(h * len * dk, 12, -0.5);
    let v = data(h * len * dv, 13, -0.5);
    let decay = vec![0.9f32, 0.97];
    let (mut bytes, mut hbytes) = (0usize, 0usize);
    // SAFETY: valid out-pointers.
    unsafe {
        assert_eq!(
            kn_cuda_linattn_work_bytes(h, len, dk, dv, 0, &raw mut bytes),
            KN_OK
        );
        assert_eq!(
            kn_linattn_work_bytes(h, len, dk, dv, 0, &raw mut hbytes),
            KN_OK
        );
    }
    let (dq, dk_, dv_) = (on.up(&q), on.up(&k), on.up(&v));
    let (dout, dstate) = (
        on.up(&vec![7.0f32; h * len * dv]),
        on.up(&vec![7.0f32; h * dk * dv]),
    );
    let dw = on.zeros(bytes);
    // SAFETY: device arrays of the sizes stated by the arguments.
    let call = |decay: &CudaSlice<f32>| unsafe {
        kn_cuda_linattn_forward_f32(
            h,
            len,
            dk,
            dv,
            on.at(&dq),
            on.at(&dk_),
            on.at(&dv_),
            on.at(decay),
            0.0,
            ptr::null(),
            on.at(&dout),
            on.at(&dstate),
            0,
            on.at(&dw).cast(),
            bytes,
            on.raw,
        )
    };
    assert_eq!(call(&on.up(&decay)), KN_OK);
    let (mut out, mut state) = (vec![0.0f32; h * len * dv], vec![0.0f32; h * dk * dv]);
    let mut work = vec![0u8; hbytes];
    // SAFETY: host arrays of the stated sizes.
    let s = unsafe {
        kn_linattn_forward_f32(
            h,
            len,
            dk,
            dv,
            q.as_ptr(),
            k.as_ptr(),
            v.as_ptr(),
            decay.as_ptr(),
            0.0,
            ptr::null(),
            out.as_mut_ptr(),
            state.as_mut_ptr(),
            0,
            work.as_mut_ptr().cast(),
            hbytes,
        )
    };
    assert_eq!(s, KN_OK);
    close(
        &on.down(&dout),
        &out,
        5e-5,
        "kn_cuda_linattn_forward_f32 out",
    );
    close(
        &on.down(&dstate),
        &state,
        5e-5,
        "kn_cuda_linattn_forward_f32 state",
    );

    let (before_out, before_state) = (on.down(&dout), on.down(&dstate));
    assert_eq!(call(&on.up(&[0.9f32, 1.5])), KN_ERR_ARGUMENT);
    assert_eq!(on.down(&dout), before_out, "out written on a refusal");
    assert_eq!(
        on.down(&dstate),
        before_state,
        "state_out written on a refusal"
    );
}

/// The gated entry points against the host ones: kn_cuda_linattn_gated_forward_f32,
/// kn_cuda_linattn_gated_chunk_state_f32 (with its log decays) and
/// kn_cuda_linattn_gated_state_scan_f32; then a positive gate: KN_ERR_ARGUMENT with the
/// sentinels as they were.
fn linattn_gated(on: &On) {
    let (h, len, dk, dv) = (2usize, 70usize, 16usize, 8usize);
    let q = data(h * len * dk, 21, -0.5);
    let k = data(h * len * dk, 22, -0.5);
    let v = data(h * len * dv, 23, -0.5);
    // Gates in [-0.3, 0).
    let gates: Vec<f32> = data(h * len, 24, -1.0)
        .into_iter()
        .map(|x| 0.3 * x)
        .collect();
    let (mut bytes, mut hbytes, mut cbytes, mut sbytes) = (0usize, 0usize, 0usize, 0usize);
    // SAFETY: valid out-pointers.
    unsafe {
        assert_eq!(
            kn_cuda_linattn_gated_work_bytes(h, len, dk, dv, 0, &raw mut bytes),
            KN_OK
        );
        assert_eq!(
            kn_linattn_gated_work_bytes(h, len, dk, dv, 0, &raw mut hbytes),
            KN_OK
        );
        assert_eq!(
            kn_cuda_linattn_gated_chunk_state_work_bytes(h, len, dk, dv, &raw mut cbytes),
            KN_OK
        );
        assert_eq!(
            kn_cuda_linattn_state_scan_work_bytes(2, h, dk, dv, &raw mut sbytes),
            KN_OK
        );
    }
    let (dq, dk_, dv_) = (on.up(&q), on.up(&k), on.up(&v));
    let (dout, dstate) = (
        on.up(&vec![7.0f32; h * len * dv]),
        on.up(&vec![7.0f32; h * dk * dv]),
    );
    let dw = on.zeros(bytes);
    // SAFETY: device arrays of the sizes stated by the arguments.
    let call = |g: &CudaSlice<f32>| unsafe {
        kn_cuda_linattn_gated_forward_f32(
            h,
            len,
            dk,
            dv,
            on.at(&dq),
            on.at(&dk_),
            on.at(&dv_),
            on.at(g),
            0.0,
            ptr::null(),
            on.at(&dout),
            on.at(&dstate),
            0,
            on.at(&dw).cast(),
            bytes,
            on.raw,
        )
    };
    assert_eq!(call(&on.up(&gates)), KN_OK);
    let (mut out, mut state) = (vec![0.0f32; h * len * dv], vec![0.0f32; h * dk * dv]);
    let mut work = vec![0u8; hbytes];
    // SAFETY: host arrays of the stated sizes.
    let s = unsafe {
        kn_linattn_gated_forward_f32(
            h,
            len,
            dk,
            dv,
            q.as_ptr(),
            k.as_ptr(),
            v.as_ptr(),
            gates.as_ptr(),
            0.0,
            ptr::null(),
            out.as_mut_ptr(),
            state.as_mut_ptr(),
            0,
            work.as_mut_ptr().cast(),
            hbytes,
        )
    };
    assert_eq!(s, KN_OK);
    close(
        &on.down(&dout),
        &out,
        5e-5,
        "kn_cuda_linattn_gated_forward_f32 out",
    );
    close(
        &on.down(&dstate),
        &state,
        5e-5,
        "kn_cuda_linattn_gated_forward_f32 state",
    );

    // The chunk state of the whole sequence with its log decays, and the scan of two
    // copies of it.
    let (dcs, dlog) = (on.up(&vec![7.0f32; h * dk * dv]), on.up(&vec![7.0f32; h]));
    let dcw = on.zeros(cbytes);
    let dg = on.up(&gates);
    // SAFETY: device arrays of the sizes stated by the arguments.
    let s = unsafe {
        kn_cuda_linattn_gated_chunk_state_f32(
            h,
            len,
            dk,
            dv,
            on.at(&dk_),
            on.at(&dv_),
            on.at(&dg),
            on.at(&dcs),
            on.at(&dlog),
            on.at(&dcw).cast(),
            cbytes,
            on.raw,
        )
    };
    assert_eq!(s, KN_OK);
    let (mut hcs, mut hlog) = (vec![0.0f32; h * dk * dv], vec![0.0f32; h]);
    // SAFETY: host arrays of the stated sizes.
    let s = unsafe {
        kn_linattn_gated_chunk_state_f32(
            h,
            len,
            dk,
            dv,
            k.as_ptr(),
            v.as_ptr(),
            gates.as_ptr(),
            hcs.as_mut_ptr(),
            hlog.as_mut_ptr(),
        )
    };
    assert_eq!(s, KN_OK);
    close(
        &on.down(&dcs),
        &hcs,
        5e-5,
        "kn_cuda_linattn_gated_chunk_state_f32 state",
    );
    close(
        &on.down(&dlog),
        &hlog,
        1e-6,
        "kn_cuda_linattn_gated_chunk_state_f32 log_decay",
    );
    let states: Vec<f32> = hcs.iter().chain(&hcs).copied().collect();
    let logs: Vec<f32> = hlog.iter().chain(&hlog).copied().collect();
    let (dst, dlogs, dprefix) = (
        on.up(&states),
        on.up(&logs),
        on.up(&vec![7.0f32; states.len()]),
    );
    let dsw = on.zeros(sbytes);
    // SAFETY: device arrays of the sizes stated by the arguments.
    let s = unsafe {
        kn_cuda_linattn_gated_state_scan_f32(
            2,
            h,
            dk,
            dv,
            on.at(&dlogs),
            on.at(&dst),
            on.at(&dprefix),
            on.at(&dsw).cast(),
            sbytes,
            on.raw,
        )
    };
    assert_eq!(s, KN_OK);
    let mut prefix = vec![0.0f32; states.len()];
    // SAFETY: host arrays of the stated sizes.
    let s = unsafe {
        kn_linattn_gated_state_scan_f32(
            2,
            h,
            dk,
            dv,
            logs.as_ptr(),
            states.as_ptr(),
            prefix.as_mut_ptr(),
        )
    };
    assert_eq!(s, KN_OK);
    close(
        &on.down(&dprefix),
        &prefix,
        1e-6,
        "kn_cuda_linattn_gated_state_scan_f32 prefix",
    );

    let (before_out, before_state) = (on.down(&dout), on.down(&dstate));
    let mut bad = gates.clone();
    bad[h * len - 1] = 0.5;
    assert_eq!(call(&on.up(&bad)), KN_ERR_ARGUMENT);
    assert_eq!(on.down(&dout), before_out, "out written on a refusal");
    assert_eq!(
        on.down(&dstate),
        before_state,
        "state_out written on a refusal"
    );
}

fn run_all(on: &On, what: &str) {
    scale(on);
    sinkhorn(on);
    h2o(on);
    linattn(on);
    linattn_gated(on);
    let _ = writeln!(
        std::io::stderr(),
        "kn_cuda_scale/sinkhorn/h2o_decode/linattn_forward_f32/linattn_gated_* on {what}: \
         match the host functions; refused inputs leave the sentinels"
    );
}

#[test]
fn null_and_user_streams_from_two_threads() {
    if !device_present("null_and_user_streams_from_two_threads") {
        return;
    }
    let ctx = CudaContext::new(0).unwrap();
    let threads = [false, true].map(|user| {
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            // Each thread makes the primary context current (what the CUDA runtime
            // does) by using it.
            let on = if user {
                let stream = ctx.new_stream().unwrap(); // non-blocking
                let raw = stream.cu_stream().cast::<c_void>();
                On { stream, raw }
            } else {
                On {
                    stream: ctx.default_stream(),
                    raw: ptr::null_mut(),
                }
            };
            run_all(
                &on,
                if user {
                    "a non-blocking user stream"
                } else {
                    "the NULL stream"
                },
            );
        })
    });
    for t in threads {
        t.join().expect("a thread of the test failed");
    }
}

/// The calling thread's current context (null: none).
fn current() -> cu::CUcontext {
    let mut c: cu::CUcontext = ptr::null_mut();
    // SAFETY: a valid out-pointer; the driver is loaded (a device is present).
    let r = unsafe { cu::cuCtxGetCurrent(&raw mut c) };
    assert_eq!(r, cu::CUresult::CUDA_SUCCESS);
    c
}

/// A call that reaches the context check and then fails on its NULL pointers.
fn call_with_nulls() -> kn_status {
    let o = kn_sinkhorn_opts_default();
    // SAFETY: NULL device pointers are refused (KN_ERR_NULL) before any use.
    unsafe {
        kn_cuda_scale_f32(
            4,
            4,
            ptr::null(),
            ptr::null(),
            ptr::null(),
            &o,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            0,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    }
}

#[test]
fn the_current_context_is_kept_and_a_foreign_one_refused() {
    if !device_present("the_current_context_is_kept_and_a_foreign_one_refused") {
        return;
    }
    // On a thread of its own: the test changes the thread's current context.
    std::thread::spawn(|| {
        // None current: none after the call.
        // SAFETY: null unbinds the thread's context.
        unsafe { cu::cuCtxSetCurrent(ptr::null_mut()) };
        assert!(current().is_null());
        assert_eq!(call_with_nulls(), KN_ERR_NULL);
        assert!(current().is_null(), "the call left a context current");

        // The primary one current: still current after the call.
        let primary = CudaContext::new(0).unwrap();
        primary.bind_to_thread().unwrap();
        assert_eq!(call_with_nulls(), KN_ERR_NULL);
        assert_eq!(current(), primary.cu_ctx());

        // A context of the caller's own: refused, and it stays current.
        let mut own: cu::CUcontext = ptr::null_mut();
        // SAFETY: a valid out-pointer, device 0; cuCtxCreate makes it current.
        let r = unsafe { cu::cuCtxCreate_v2(&raw mut own, 0, 0) };
        assert_eq!(r, cu::CUresult::CUDA_SUCCESS);
        assert_eq!(current(), own);
        assert_eq!(call_with_nulls(), KN_ERR_ARGUMENT);
        assert_eq!(current(), own, "the caller's context was replaced");
        // SAFETY: `own` was created above and is no longer used.
        unsafe { cu::cuCtxDestroy_v2(own) };
        let _ = writeln!(
            std::io::stderr(),
            "kn_cuda_*: the current context is kept (none, primary); a non-primary one is \
             refused with KN_ERR_ARGUMENT"
        );
    })
    .join()
    .expect("the context test failed");
}
