//! Linear attention through its C entry points (`kn_linattn_work_bytes`,
//! `kn_linattn_forward_f32`, `kn_linattn_chunk_state_f32`, `kn_linattn_state_scan_f32`,
//! their gated forms, and the varlen forward with and without gates) with hostile
//! sizes, decays, gates, offsets, scales, values, workspaces and NULLs.

use super::hostile::{
    Bytes, Expect, Mix, Sign, bits, canary, direct, fits, non_finite, product, ptr, ptr_mut, tame,
    untouched,
};
use kernels::{KN_ERR_ARGUMENT, KN_ERR_DIMENSION, KN_ERR_NON_FINITE, KN_ERR_WORKSPACE, KN_OK};

/// One call of a linear-attention entry point, chosen by the first byte.
///
/// Asserts no panic, a status that agrees with API.md's rules, nothing written on an
/// argument error, and after KN_OK: finite outputs (an overflow must be reported), a
/// zero first prefix.
pub fn linattn(data: &[u8]) {
    let mut b = Bytes::new(data);
    let which = b.byte();
    let gated = which & 0x10 != 0;
    match which % 5 {
        0 => query(&mut b, gated),
        1 if which & 0x20 != 0 => forward_half(&mut b, gated, which & 0x40 != 0),
        1 => forward(&mut b, gated, false),
        2 => chunk_state(&mut b, gated),
        3 => state_scan(&mut b, gated),
        _ => forward(&mut b, gated, true),
    }
}

/// Sizes of one problem and their array lengths (`None`: overflowed).
struct Shape {
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    qk: Option<usize>,
    v: Option<usize>,
    state: Option<usize>,
}

impl Shape {
    fn new(b: &mut Bytes<'_>) -> Shape {
        let (n_heads, len, dk, dv) = (b.size(3), b.size(12), b.size(6), b.size(6));
        Shape {
            n_heads,
            len,
            dk,
            dv,
            qk: product(&[n_heads, len, dk]),
            v: product(&[n_heads, len, dv]),
            state: product(&[n_heads, dk, dv]),
        }
    }

    /// KN_ERR_DIMENSION: a size is zero or an array's byte length overflows.
    fn ok(&self) -> bool {
        self.n_heads > 0
            && self.len > 0
            && self.dk > 0
            && self.dv > 0
            && fits::<f32>(self.qk)
            && fits::<f32>(self.v)
            && fits::<f32>(self.state)
    }
}

fn work_bytes(s: &Shape, chunk: usize, gated: bool, p: *mut usize) -> i32 {
    let f = if gated {
        kernels::kn_linattn_gated_work_bytes
    } else {
        kernels::kn_linattn_work_bytes
    };
    // SAFETY: `p` is NULL or points to a live usize.
    unsafe { f(s.n_heads, s.len, s.dk, s.dv, chunk, p) }
}

/// A chunk length: 0 (the default), small, or huge.
fn chunk(b: &mut Bytes<'_>) -> usize {
    match b.byte() {
        0..=63 => 0,
        240.. => usize::MAX,
        x => usize::from(x % 16),
    }
}

/// A decay array (`[n_heads]`, values in (0, 1] mostly) or NULL.
fn decay(b: &mut Bytes<'_>, n_heads: usize, mix: Mix) -> Option<Vec<f32>> {
    if b.chance(100) {
        return None;
    }
    let mut d: Vec<f32> = b.values(Some(n_heads), mix, Sign::Positive);
    if b.chance(200) {
        // Into (0, 1]: the values are in (0, 8] unless hostile.
        for g in &mut d {
            *g /= 8.0;
        }
    }
    Some(d)
}

/// The decay rules: NaN or infinity is KN_ERR_NON_FINITE, a finite value outside
/// (0, 1] KN_ERR_ARGUMENT.
fn decay_rules(e: &mut Expect, decay: Option<&[f32]>) {
    let d = decay.unwrap_or(&[]);
    e.finite(d, "decay");
    e.fault(
        d.iter().any(|&g| g.is_finite() && !(g > 0.0 && g <= 1.0)),
        KN_ERR_ARGUMENT,
        "decay outside (0, 1]",
    );
}

/// Log gates (`count` values, `<= 0` mostly, hostile values as `mix` has them).
fn gates(b: &mut Bytes<'_>, count: Option<usize>, mix: Mix) -> Vec<f32> {
    let mut g: Vec<f32> = b.values(count, mix, Sign::Any);
    if b.chance(220) {
        for x in &mut g {
            *x = -x.abs();
        }
    }
    g
}

/// The gate rules: NaN or infinity is KN_ERR_NON_FINITE, a positive gate
/// KN_ERR_ARGUMENT.
fn gate_rules(e: &mut Expect, g: &[f32], what: &'static str) {
    e.finite(g, what);
    e.fault(
        g.iter().any(|&x| x > 0.0 && x.is_finite()),
        KN_ERR_ARGUMENT,
        what,
    );
}

/// Offsets of `n_seqs` packed sequences over `len` tokens, sometimes malformed;
/// whether they are.
fn offsets(b: &mut Bytes<'_>, n_seqs: usize, len: usize) -> (Vec<usize>, bool) {
    // Cut points spread over the tokens, sorted, from 0 to `len`.
    let mut cu: Vec<usize> = (0..=n_seqs)
        .map(|_| (u128::from(b.byte()) * len as u128 / 255) as usize)
        .collect();
    cu.sort_unstable();
    cu[0] = 0;
    cu[n_seqs] = len;
    match b.byte() {
        0..=9 => cu[0] = 1,
        10..=19 if n_seqs >= 2 => cu.swap(1, n_seqs - 1),
        20..=29 => cu[n_seqs] = len.wrapping_add(1),
        _ => {}
    }
    let malformed = cu[0] != 0 || cu.windows(2).any(|w| w[0] > w[1]) || cu[n_seqs] != len;
    (cu, malformed)
}

/// `kn_linattn_work_bytes`: NULL `bytes`; a zero size or an overflowing array.
fn query(b: &mut Bytes<'_>, gated: bool) {
    let s = Shape::new(b);
    let chunk = chunk(b);
    let null = b.chance(40);
    let mut bytes = 0xA5A5_A5A5usize;
    let p = if null {
        core::ptr::null_mut()
    } else {
        &raw mut bytes
    };
    let status = work_bytes(&s, chunk, gated, p);
    let mut e = Expect::new(&[KN_OK]);
    e.null(null, "bytes");
    let counts_ok =
        s.n_heads > 0 && s.len > 0 && s.dk > 0 && s.dv > 0 && s.qk.and(s.v).and(s.state).is_some();
    e.fault(!counts_ok, KN_ERR_DIMENSION, "sizes");
    // The query reads no array: arrays that could not exist (their byte length
    // overflows) may or may not be refused here.
    e.either(!s.ok(), KN_ERR_DIMENSION);
    if e.judge(status, "work_bytes") {
        assert_eq!(bytes, 0xA5A5_A5A5, "bytes written on failure");
    }
}

/// `kn_linattn_forward_f32`, `kn_linattn_gated_forward_f32` and their varlen forms.
fn forward(b: &mut Bytes<'_>, gated: bool, varlen: bool) {
    let s = Shape::new(b);
    let chunk = chunk(b);
    let mix = b.mix();
    let q: Vec<f32> = b.values(s.qk, mix, Sign::Any);
    let k: Vec<f32> = b.values(s.qk, mix, Sign::Any);
    let v: Vec<f32> = b.values(s.v, mix, Sign::Any);
    let decay = if gated {
        (!b.chance(8)).then(|| gates(b, product(&[s.n_heads, s.len]), mix))
    } else {
        decay(b, s.n_heads, mix)
    };
    let scale = if b.chance(128) {
        0.0
    } else {
        b.option() as f32
    };
    // Varlen: up to 5 sequences, the states one per sequence.
    let n_seqs = if varlen { usize::from(b.byte() % 6) } else { 1 };
    let (cu, malformed) = if varlen {
        offsets(b, n_seqs, s.len)
    } else {
        (vec![0, s.len], false)
    };
    let states = s.state.and_then(|n| n.checked_mul(n_seqs));
    let state_in: Option<Vec<f32>> = b.chance(128).then(|| b.values(states, mix, Sign::Any));
    let mut out: Vec<f32> = canary(s.v);
    let mut state_out: Vec<f32> = canary(states);
    let with_state_out = b.chance(128);
    let alias = b.chance(10);
    let nulls = b.nulls(5);
    let null = |i: u32| nulls & (1 << i) != 0;
    let mut need = 0usize;
    let need = (work_bytes(&s, chunk, gated, &raw mut need) == KN_OK).then_some(need);
    let mut work = b.work(need);

    let mut v_buf = v.clone();
    let v_ptr = ptr_mut(&mut v_buf, null(2));
    let out_ptr = if alias {
        v_buf.as_mut_ptr()
    } else {
        ptr_mut(&mut out, null(3))
    };
    let before = (bits(&out), bits(&state_out));
    let (q_ptr, k_ptr) = (ptr(&q, null(0)), ptr(&k, null(1)));
    let decay_ptr = decay.as_deref().map_or(core::ptr::null(), <[f32]>::as_ptr);
    let state_in_ptr = state_in
        .as_deref()
        .map_or(core::ptr::null(), <[f32]>::as_ptr);
    let state_out_ptr = ptr_mut(&mut state_out, !with_state_out);
    let (ws, wb) = (work.ptr(), work.bytes());
    let cu_ptr = ptr(&cu, null(4));
    // SAFETY: every pointer is NULL or a live buffer of the claimed length (a
    // one-element stand-in only where that length cannot exist).
    let status = unsafe {
        let (h, n, dk, dv) = (s.n_heads, s.len, s.dk, s.dv);
        let vp = v_ptr.cast_const();
        match (gated, varlen) {
            (false, false) => kernels::kn_linattn_forward_f32(
                h,
                n,
                dk,
                dv,
                q_ptr,
                k_ptr,
                vp,
                decay_ptr,
                scale,
                state_in_ptr,
                out_ptr,
                state_out_ptr,
                chunk,
                ws,
                wb,
            ),
            (true, false) => kernels::kn_linattn_gated_forward_f32(
                h,
                n,
                dk,
                dv,
                q_ptr,
                k_ptr,
                vp,
                decay_ptr,
                scale,
                state_in_ptr,
                out_ptr,
                state_out_ptr,
                chunk,
                ws,
                wb,
            ),
            (false, true) => kernels::kn_linattn_forward_varlen_f32(
                n_seqs,
                cu_ptr,
                h,
                n,
                dk,
                dv,
                q_ptr,
                k_ptr,
                vp,
                decay_ptr,
                scale,
                state_in_ptr,
                out_ptr,
                state_out_ptr,
                chunk,
                ws,
                wb,
            ),
            (true, true) => kernels::kn_linattn_gated_forward_varlen_f32(
                n_seqs,
                cu_ptr,
                h,
                n,
                dk,
                dv,
                q_ptr,
                k_ptr,
                vp,
                decay_ptr,
                scale,
                state_in_ptr,
                out_ptr,
                state_out_ptr,
                chunk,
                ws,
                wb,
            ),
        }
    };

    let s_in = state_in.as_deref().unwrap_or(&[]);
    let mut e = direct(!(tame(&q) && tame(&k) && tame(&v) && tame(s_in) && tame(&[scale])));
    e.null(
        null(0) || null(1) || v_ptr.is_null() || out_ptr.is_null(),
        "an array",
    );
    e.null(gated && decay.is_none(), "gates");
    e.null(varlen && null(4) && n_seqs > 0, "cu_seqlens");
    e.null(work.null_fault(), "work");
    e.fault(!s.ok(), KN_ERR_DIMENSION, "sizes");
    e.fault(
        varlen && (n_seqs == 0 || !fits::<f32>(states)),
        KN_ERR_DIMENSION,
        "no sequences",
    );
    e.fault(varlen && malformed, KN_ERR_ARGUMENT, "cu_seqlens");
    e.fault(alias, KN_ERR_ARGUMENT, "out overlaps v");
    e.fault(!scale.is_finite(), KN_ERR_NON_FINITE, "scale");
    if s.ok() {
        e.fault(
            need.is_some_and(|nb| work.bytes() < nb),
            KN_ERR_WORKSPACE,
            "short workspace",
        );
        if gated {
            gate_rules(&mut e, decay.as_deref().unwrap_or(&[]), "gates");
        } else {
            decay_rules(&mut e, decay.as_deref());
        }
        for (x, name) in [(&q[..], "q"), (&k, "k"), (&v, "v"), (s_in, "state_in")] {
            e.finite(x, name);
        }
    }
    if e.judge(status, "forward") {
        untouched("out", &before.0, &bits(&out));
        untouched("state_out", &before.1, &bits(&state_out));
        untouched("v (overlapped by out)", &bits(&v), &bits(&v_buf));
        return;
    }
    if status == KN_OK {
        assert!(!non_finite(&out), "KN_OK with a non-finite output");
        assert!(
            !with_state_out || !non_finite(&state_out),
            "KN_OK with a non-finite state"
        );
    }
}

/// `kn_linattn_forward_f16/_bf16` and `kn_linattn_gated_forward_f16/_bf16` (`bf16`
/// chooses the type): the tokens are the f32 forward's values rounded to the half
/// type, so hostile values become infinities or NaN bit patterns there.
fn forward_half(b: &mut Bytes<'_>, gated: bool, bf16: bool) {
    let s = Shape::new(b);
    let chunk = chunk(b);
    let mix = b.mix();
    let round = |x: Vec<f32>| -> Vec<u16> {
        x.into_iter()
            .map(|v| {
                if bf16 {
                    kernels_core::bf16::from_f32(v).to_bits()
                } else {
                    kernels_core::f16::from_f32(v).to_bits()
                }
            })
            .collect()
    };
    let widen = |x: &[u16]| -> Vec<f32> {
        x.iter()
            .map(|&h| {
                if bf16 {
                    kernels_core::bf16::from_bits(h).to_f32()
                } else {
                    kernels_core::f16::from_bits(h).to_f32()
                }
            })
            .collect()
    };
    let q = round(b.values(s.qk, mix, Sign::Any));
    let k = round(b.values(s.qk, mix, Sign::Any));
    let v = round(b.values(s.v, mix, Sign::Any));
    let decay = if gated {
        (!b.chance(8)).then(|| gates(b, product(&[s.n_heads, s.len]), mix))
    } else {
        decay(b, s.n_heads, mix)
    };
    let scale = if b.chance(128) {
        0.0
    } else {
        b.option() as f32
    };
    let state_in: Option<Vec<f32>> = b.chance(128).then(|| b.values(s.state, mix, Sign::Any));
    let mut out: Vec<u16> = canary(s.v);
    let mut state_out: Vec<f32> = canary(s.state);
    let with_state_out = b.chance(128);
    let nulls = b.nulls(4);
    let null = |i: u32| nulls & (1 << i) != 0;
    let query = match (gated, bf16) {
        (false, false) => kernels::kn_linattn_f16_work_bytes,
        (false, true) => kernels::kn_linattn_bf16_work_bytes,
        (true, false) => kernels::kn_linattn_gated_f16_work_bytes,
        (true, true) => kernels::kn_linattn_gated_bf16_work_bytes,
    };
    let mut need = 0usize;
    // SAFETY: `need` is a live usize.
    let need = (unsafe { query(s.n_heads, s.len, s.dk, s.dv, chunk, &raw mut need) } == KN_OK)
        .then_some(need);
    let mut work = b.work(need);
    let before = (bits(&out), bits(&state_out));
    let f = match (gated, bf16) {
        (false, false) => kernels::kn_linattn_forward_f16,
        (false, true) => kernels::kn_linattn_forward_bf16,
        (true, false) => kernels::kn_linattn_gated_forward_f16,
        (true, true) => kernels::kn_linattn_gated_forward_bf16,
    };
    // SAFETY: every pointer is NULL or a live buffer of the claimed length (a
    // one-element stand-in only where that length cannot exist).
    let status = unsafe {
        f(
            s.n_heads,
            s.len,
            s.dk,
            s.dv,
            ptr(&q, null(0)),
            ptr(&k, null(1)),
            ptr(&v, null(2)),
            decay.as_deref().map_or(core::ptr::null(), <[f32]>::as_ptr),
            scale,
            state_in
                .as_deref()
                .map_or(core::ptr::null(), <[f32]>::as_ptr),
            ptr_mut(&mut out, null(3)),
            ptr_mut(&mut state_out, !with_state_out),
            chunk,
            work.ptr(),
            work.bytes(),
        )
    };
    let (wq, wk, wv) = (widen(&q), widen(&k), widen(&v));
    let s_in = state_in.as_deref().unwrap_or(&[]);
    // Half outputs also overflow where f32 ones would not (f16 stops at 65504).
    let tame_inputs = tame(&wq) && tame(&wk) && tame(&wv) && tame(s_in) && tame(&[scale]);
    let mut e = direct(!(bf16 && tame_inputs));
    e.null(null(0) || null(1) || null(2) || null(3), "an array");
    e.null(gated && decay.is_none(), "gates");
    e.null(work.null_fault(), "work");
    e.fault(!s.ok(), KN_ERR_DIMENSION, "sizes");
    e.fault(!scale.is_finite(), KN_ERR_NON_FINITE, "scale");
    if s.ok() {
        e.fault(
            need.is_some_and(|nb| work.bytes() < nb),
            KN_ERR_WORKSPACE,
            "short workspace",
        );
        if gated {
            gate_rules(&mut e, decay.as_deref().unwrap_or(&[]), "gates");
        } else {
            decay_rules(&mut e, decay.as_deref());
        }
        for (x, name) in [(&wq[..], "q"), (&wk, "k"), (&wv, "v"), (s_in, "state_in")] {
            e.finite(x, name);
        }
    }
    if e.judge(status, "forward_half") {
        untouched("out", &before.0, &bits(&out));
        untouched("state_out", &before.1, &bits(&state_out));
        return;
    }
    if status == KN_OK {
        assert!(!non_finite(&widen(&out)), "KN_OK with a non-finite output");
        assert!(
            !with_state_out || !non_finite(&state_out),
            "KN_OK with a non-finite state"
        );
    }
}

/// `kn_linattn_chunk_state_f32` and `kn_linattn_gated_chunk_state_f32`.
fn chunk_state(b: &mut Bytes<'_>, gated: bool) {
    let s = Shape::new(b);
    let mix = b.mix();
    let k: Vec<f32> = b.values(s.qk, mix, Sign::Any);
    let v: Vec<f32> = b.values(s.v, mix, Sign::Any);
    let decay = if gated {
        (!b.chance(8)).then(|| gates(b, product(&[s.n_heads, s.len]), mix))
    } else {
        decay(b, s.n_heads, mix)
    };
    let mut state: Vec<f32> = canary(s.state);
    let mut logs: Vec<f32> = canary(Some(s.n_heads).filter(|&n| n < 1 << 16));
    let with_logs = b.chance(200);
    // The state on top of k, where k's buffer is real and long enough.
    let alias = b.chance(10) && fits::<f32>(s.qk) && s.state.is_some_and(|n| n <= k.len());
    let nulls = b.nulls(3);
    let null = |i: u32| nulls & (1 << i) != 0;
    let mut k_buf = k.clone();
    let k_ptr = ptr_mut(&mut k_buf, null(0));
    let state_ptr = if alias {
        k_buf.as_mut_ptr()
    } else {
        ptr_mut(&mut state, null(2))
    };
    let before = (bits(&state), bits(&logs));
    let decay_ptr = decay.as_deref().map_or(core::ptr::null(), <[f32]>::as_ptr);
    let logs_ptr = ptr_mut(&mut logs, !with_logs);
    // SAFETY: every pointer is NULL or a live buffer at least as long as claimed (a
    // one-element stand-in only where that length cannot exist).
    let status = unsafe {
        let (h, n, dk, dv, kp, vp) = (
            s.n_heads,
            s.len,
            s.dk,
            s.dv,
            k_ptr.cast_const(),
            ptr(&v, null(1)),
        );
        if gated {
            kernels::kn_linattn_gated_chunk_state_f32(
                h, n, dk, dv, kp, vp, decay_ptr, state_ptr, logs_ptr,
            )
        } else {
            kernels::kn_linattn_chunk_state_f32(h, n, dk, dv, kp, vp, decay_ptr, state_ptr)
        }
    };
    let mut e = direct(!(tame(&k) && tame(&v)));
    e.null(
        k_ptr.is_null() || null(1) || state_ptr.is_null(),
        "an array",
    );
    e.fault(!s.ok(), KN_ERR_DIMENSION, "sizes");
    e.null(gated && decay.is_none(), "gates");
    e.fault(alias, KN_ERR_ARGUMENT, "state overlaps k");
    if s.ok() {
        if gated {
            gate_rules(&mut e, decay.as_deref().unwrap_or(&[]), "gates");
        } else {
            decay_rules(&mut e, decay.as_deref());
        }
        e.finite(&k, "k");
        e.finite(&v, "v");
    }
    if e.judge(status, "chunk_state") {
        untouched("state", &before.0, &bits(&state));
        untouched("log_decay", &before.1, &bits(&logs));
        untouched("k (overlapped by state)", &bits(&k), &bits(&k_buf));
        return;
    }
    if status == KN_OK {
        assert!(!non_finite(&state), "KN_OK with a non-finite state");
    }
}

/// `kn_linattn_state_scan_f32` and `kn_linattn_gated_state_scan_f32`.
fn state_scan(b: &mut Bytes<'_>, gated: bool) {
    let n_chunks = b.size(5);
    let (n_heads, dk, dv) = (b.size(3), b.size(5), b.size(5));
    let total = product(&[n_chunks, n_heads, dk, dv]);
    let lens: Vec<usize> = canary::<usize>(Some(n_chunks).filter(|&n| n < 1 << 16))
        .iter()
        .map(|_| match b.byte() {
            0..=15 => 0,
            16..=23 => usize::MAX / 2 + 1,
            x => usize::from(x % 70),
        })
        .collect();
    let mix = b.mix();
    let decay = if gated {
        Some(gates(b, product(&[n_chunks, n_heads]), mix))
    } else {
        decay(b, n_heads, mix)
    };
    let states: Vec<f32> = b.values(total, mix, Sign::Any);
    let mut prefix: Vec<f32> = canary(total);
    let alias = b.chance(10);
    let nulls = b.nulls(3);
    let null = |i: u32| nulls & (1 << i) != 0;
    let mut states_buf = states.clone();
    let states_ptr = ptr_mut(&mut states_buf, null(1));
    let prefix_ptr = if alias {
        states_buf.as_mut_ptr()
    } else {
        ptr_mut(&mut prefix, null(2))
    };
    let before = bits(&prefix);
    // SAFETY: every pointer is NULL or a live buffer of the claimed length (a
    // one-element stand-in only where that length cannot exist).
    let status = unsafe {
        let (lp, sp) = (ptr(&lens, null(0)), states_ptr.cast_const());
        let decay_ptr = decay.as_deref().map_or(core::ptr::null(), <[f32]>::as_ptr);
        if gated {
            let logs = ptr(decay.as_deref().unwrap_or(&[]), null(0));
            kernels::kn_linattn_gated_state_scan_f32(
                n_chunks, n_heads, dk, dv, logs, sp, prefix_ptr,
            )
        } else {
            kernels::kn_linattn_state_scan_f32(
                n_chunks, n_heads, dk, dv, lp, decay_ptr, sp, prefix_ptr,
            )
        }
    };
    let mut e = direct(!tame(&states));
    e.null(
        null(0) || states_ptr.is_null() || prefix_ptr.is_null(),
        "an array",
    );
    let dims_ok = n_chunks > 0
        && n_heads > 0
        && dk > 0
        && dv > 0
        && fits::<f32>(total)
        && fits::<usize>(Some(n_chunks));
    e.fault(!dims_ok, KN_ERR_DIMENSION, "sizes");
    e.fault(alias, KN_ERR_ARGUMENT, "prefix overlaps states");
    if gated {
        e.fault(
            !fits::<f32>(product(&[n_chunks, n_heads])),
            KN_ERR_DIMENSION,
            "log decays",
        );
    }
    if dims_ok && gated {
        gate_rules(&mut e, decay.as_deref().unwrap_or(&[]), "log decays");
        e.finite(&states, "states");
    } else if dims_ok {
        let tokens = lens.iter().try_fold(0usize, |acc, &n| acc.checked_add(n));
        e.fault(
            lens.contains(&0) || tokens.is_none(),
            KN_ERR_DIMENSION,
            "a chunk length is 0 or their sum overflows",
        );
        decay_rules(&mut e, decay.as_deref());
        e.finite(&states, "states");
    }
    if e.judge(status, "state_scan") {
        untouched("prefix", &before, &bits(&prefix));
        untouched(
            "states (overlapped by prefix)",
            &bits(&states),
            &bits(&states_buf),
        );
        return;
    }
    if status == KN_OK {
        assert!(!non_finite(&prefix), "KN_OK with a non-finite prefix");
        let first = product(&[n_heads, dk, dv]).unwrap_or(0);
        assert!(
            prefix[..first].iter().all(|&x| x == 0.0),
            "prefix[0] is not zero"
        );
    }
}
