//! Checks of the SOR entry points: CSR sweeps and the SOR solve on arbitrary (often
//! malformed) CSR structures, red-black grid sweeps, and the omega tuner driven
//! through arbitrary call sequences and corrupted states.
//!
//! Each check states the rules of API.md and the header independently of the
//! library, computes the set of statuses an input may get (several when faults
//! coincide: their order is unspecified), and compares.

use super::reader::Reader;
use kernels::{
    KN_ERR_ARGUMENT, KN_ERR_DIMENSION, KN_ERR_NON_FINITE, KN_ERR_NULL, KN_ERR_NUMERICAL,
    KN_NOT_CONVERGED, KN_OK, KN_OMEGA_TUNER_MAX_ARMS, KN_OMEGA_TUNER_WORDS, kn_omega_tuner,
    kn_report,
};
use kernels_core::Real;
use std::ptr::{null, null_mut};

/// The statuses an input may get: every fault it has, or the success statuses when
/// it has none.
struct Expect {
    faults: Vec<i32>,
}

impl Expect {
    fn new() -> Self {
        Expect { faults: Vec::new() }
    }

    fn fault(&mut self, yes: bool, code: i32) {
        if yes && !self.faults.contains(&code) {
            self.faults.push(code);
        }
    }

    fn valid(&self) -> bool {
        self.faults.is_empty()
    }

    /// Asserts `got` is allowed: one of the faults, or one of `success` when there is
    /// none.
    fn check(&self, got: i32, success: &[i32], what: &str) {
        if self.valid() {
            assert!(success.contains(&got), "{what}: valid input got {got}");
        } else {
            assert!(
                self.faults.contains(&got),
                "{what}: got {got}, faults {:?}",
                self.faults
            );
        }
    }
}

/// Whether a status is an argument error, after which nothing may have been written.
fn argument_error(s: i32) -> bool {
    (KN_ERR_NON_FINITE..=KN_ERR_NULL).contains(&s)
}

/// The f32 and f64 entry points of the SOR family.
pub trait SorReal: Real {
    /// kn_sor_csr_T.
    ///
    /// # Safety
    /// As the C function.
    #[allow(clippy::too_many_arguments)]
    unsafe fn sor_csr(
        n: usize,
        ip: *const usize,
        ix: *const u32,
        v: *const Self,
        b: *const Self,
        x: *mut Self,
        omega: Self,
        sweep: i32,
        sweeps: u32,
    ) -> i32;
    /// kn_sor_solve_csr_T.
    ///
    /// # Safety
    /// As the C function.
    #[allow(clippy::too_many_arguments)]
    unsafe fn sor_solve(
        n: usize,
        ip: *const usize,
        ix: *const u32,
        v: *const Self,
        b: *const Self,
        x: *mut Self,
        omega: Self,
        tol: f64,
        max_iter: u32,
        work: *mut std::ffi::c_void,
        work_bytes: usize,
        rep: *mut kn_report,
    ) -> i32;
    /// kn_sor_grid2d_T.
    ///
    /// # Safety
    /// As the C function.
    #[allow(clippy::too_many_arguments)]
    unsafe fn grid2d(
        nx: usize,
        ny: usize,
        shift: Self,
        b: *const Self,
        x: *mut Self,
        omega: Self,
        sweeps: u32,
    ) -> i32;
}

macro_rules! sor_real {
    ($t:ty, $csr:ident, $solve:ident, $grid:ident) => {
        impl SorReal for $t {
            unsafe fn sor_csr(
                n: usize,
                ip: *const usize,
                ix: *const u32,
                v: *const Self,
                b: *const Self,
                x: *mut Self,
                omega: Self,
                sweep: i32,
                sweeps: u32,
            ) -> i32 {
                // SAFETY: forwarded contract.
                unsafe { kernels::$csr(n, ip, ix, v, b, x, omega, sweep, sweeps) }
            }
            unsafe fn sor_solve(
                n: usize,
                ip: *const usize,
                ix: *const u32,
                v: *const Self,
                b: *const Self,
                x: *mut Self,
                omega: Self,
                tol: f64,
                max_iter: u32,
                work: *mut std::ffi::c_void,
                work_bytes: usize,
                rep: *mut kn_report,
            ) -> i32 {
                // SAFETY: forwarded contract.
                unsafe {
                    kernels::$solve(
                        n, ip, ix, v, b, x, omega, tol, max_iter, work, work_bytes, rep,
                    )
                }
            }
            unsafe fn grid2d(
                nx: usize,
                ny: usize,
                shift: Self,
                b: *const Self,
                x: *mut Self,
                omega: Self,
                sweeps: u32,
            ) -> i32 {
                // SAFETY: forwarded contract.
                unsafe { kernels::$grid(nx, ny, shift, b, x, omega, sweeps) }
            }
        }
    };
}
sor_real!(f32, kn_sor_csr_f32, kn_sor_solve_csr_f32, kn_sor_grid2d_f32);
sor_real!(f64, kn_sor_csr_f64, kn_sor_solve_csr_f64, kn_sor_grid2d_f64);

/// The bits of a float slice, to compare NaN payloads and signed zeros exactly.
fn bits<T: Real>(v: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(v).to_vec()
}

fn report_bits(r: &kn_report) -> [u64; 5] {
    [
        u64::from(r.iterations),
        u64::from(r.inner_iterations),
        r.error.to_bits(),
        r.value.to_bits(),
        r.converged as u64,
    ]
}

/// A pointer to the buffer, or NULL.
fn ptr<T>(v: &[T], null_it: bool) -> *const T {
    if null_it { null() } else { v.as_ptr() }
}

fn ptr_mut<T>(v: &mut [T], null_it: bool) -> *mut T {
    if null_it { null_mut() } else { v.as_mut_ptr() }
}

/// Sizes past what any array can hold: `n + 1` overflows, or `(n + 1) * 8` bytes
/// exceed `isize::MAX`. Arrays of such sizes cannot exist, so the library must
/// refuse them before reading any pointer.
const HUGE: [usize; 3] = [usize::MAX, usize::MAX / 2, isize::MAX as usize / 8 + 1];

/// An `n x n` CSR matrix decoded from the input, valid or not. `indptr[n]` is the
/// length of `indices` and `values` (the C contract: array lengths follow from the
/// dims), every other entry is arbitrary.
struct RawCsr<T> {
    n: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<T>,
}

impl<T: Real> RawCsr<T> {
    /// Mostly well formed (a diagonal plus a few off-diagonal entries per row, sorted),
    /// then a few deliberate breaks, so both valid and malformed structures are common.
    fn decode(r: &mut Reader, n: usize) -> Self {
        let mut indptr = vec![0usize];
        let mut indices = Vec::new();
        for i in 0..n {
            let mask = r.u8();
            for j in 0..n.min(8) {
                let on = if j == i {
                    mask & 1 == 0
                } else {
                    mask & (1 << j) != 0
                };
                if on {
                    indices.push(j as u32);
                }
            }
            indptr.push(indices.len());
        }
        for _ in 0..r.below(4) {
            match r.u8() % 6 {
                // An arbitrary inner row pointer (the last stays the array length).
                0 if n > 1 => indptr[1 + r.below(n - 1)] = r.below(40),
                1 if n > 0 => indptr[0] = r.below(3),
                // An index out of range, repeated, or out of order.
                2 if !indices.is_empty() => {
                    let k = r.below(indices.len());
                    indices[k] = r.pick(&[n as u32, u32::MAX, 0, 1]);
                }
                3 if indices.len() > 1 => {
                    let k = r.below(indices.len() - 1);
                    indices.swap(k, k + 1);
                }
                _ => {}
            }
        }
        // Values by position; a diagonal-looking entry gets weight so that some
        // solves converge (computed from the final structure, breaks included).
        let mut values = Vec::with_capacity(indices.len());
        for (k, &j) in indices.iter().enumerate() {
            let row = indptr.iter().rposition(|&p| p <= k).unwrap_or(0);
            let v = r.f64();
            let heavy = j as usize == row && v.is_finite() && v.abs() < 8.0 && r.bool();
            values.push(T::of(if heavy { v + 6.0 } else { v }));
        }
        RawCsr {
            n,
            indptr,
            indices,
            values,
        }
    }

    /// What is wrong with the matrix, by the rules of API.md: a malformed structure or
    /// a zero or missing diagonal is KN_ERR_ARGUMENT, NaN or infinity in the values
    /// KN_ERR_NON_FINITE.
    fn faults(&self, e: &mut Expect) {
        let (n, ip, ix) = (self.n, &self.indptr, &self.indices);
        let nnz = ix.len();
        let mut malformed = ip[0] != 0 || ip.windows(2).any(|w| w[0] > w[1]);
        let mut diag_ok = true;
        if !malformed {
            for i in 0..n {
                let row = &ix[ip[i]..ip[i + 1].min(nnz)];
                let sorted = row.windows(2).all(|w| w[0] < w[1]);
                malformed |= !sorted || row.iter().any(|&j| j as usize >= n);
                let d = row
                    .iter()
                    .position(|&j| j as usize == i)
                    .map(|k| self.values[ip[i] + k]);
                diag_ok &= d.is_some_and(|d| d != T::zero());
            }
        }
        e.fault(malformed || !diag_ok, KN_ERR_ARGUMENT);
        e.fault(
            self.values.iter().any(|v| !v.is_finite()),
            KN_ERR_NON_FINITE,
        );
    }
}

fn omega_ok<T: Real>(w: T) -> bool {
    w > T::zero() && w < T::of(2.0)
}

/// Which arguments are NULL: one bit each.
struct Nulls(u8);

impl Nulls {
    fn get(&self, k: u8) -> bool {
        self.0 & (1 << k) != 0
    }
}

/// kn_sor_csr_f32/_f64, kn_sor_solve_work_bytes and kn_sor_solve_csr_f32/_f64 on an
/// arbitrary CSR matrix, right-hand side, iterate, omega, sweep kind, tolerance,
/// workspace and NULL pointers.
pub fn sor_csr(data: &[u8]) {
    let mut r = Reader::new(data);
    let head = r.u8();
    if head & 1 == 0 {
        sor_csr_typed::<f32>(&mut r, head >> 1);
    } else {
        sor_csr_typed::<f64>(&mut r, head >> 1);
    }
}

fn sor_csr_typed<T: SorReal>(r: &mut Reader, head: u8) {
    let solve = head & 1 == 1;
    // Rarely a NULL pointer, so valid inputs stay common.
    let nulls = Nulls(if r.below(4) == 0 { r.u8() } else { 0 });
    let n_small = r.below(7);
    let huge = r.below(16) == 0;
    let m = RawCsr::<T>::decode(r, n_small);
    let n = if huge { r.pick(&HUGE) } else { n_small };
    let b: Vec<T> = (0..n_small).map(|_| T::of(r.f64())).collect();
    let mut x: Vec<T> = (0..n_small).map(|_| T::of(r.f64())).collect();
    let omega = T::of(r.pick(&[1.0, 1.5, 0.8, 1.95, 0.0, 2.0, -1.0, 1e-30, f64::NAN]));

    let mut e = Expect::new();
    e.fault((0..5).any(|k| nulls.get(k)), KN_ERR_NULL);
    e.fault(n == 0 || huge, KN_ERR_DIMENSION);
    if !huge && n > 0 {
        m.faults(&mut e);
    }
    e.fault(!omega_ok(omega), KN_ERR_ARGUMENT);
    e.fault(
        !huge && b.iter().chain(&x).any(|v| !v.is_finite()),
        KN_ERR_NON_FINITE,
    );

    let x0 = bits(&x);
    let (ip, ix, v) = (
        ptr(&m.indptr, nulls.get(0)),
        ptr(&m.indices, nulls.get(1)),
        ptr(&m.values, nulls.get(2)),
    );
    let (bp, xp) = (ptr(&b, nulls.get(3)), ptr_mut(&mut x, nulls.get(4)));
    if !solve {
        let sweep = r.pick(&[1, 2, 3, 0, 4, -1, i32::MIN]);
        let sweeps = r.pick(&[1, 2, 0, 3]);
        e.fault(!(1..=3).contains(&sweep), KN_ERR_ARGUMENT);
        // SAFETY: each pointer is NULL or a live buffer of the length its size
        // implies (huge sizes are refused before any read).
        let s = unsafe { T::sor_csr(n, ip, ix, v, bp, xp, omega, sweep, sweeps) };
        e.check(s, &[KN_OK, KN_ERR_NUMERICAL], "kn_sor_csr");
        if argument_error(s) || (s == KN_OK && sweeps == 0) {
            assert_eq!(bits(&x), x0, "kn_sor_csr wrote x (status {s})");
        }
        if s == KN_ERR_NUMERICAL {
            assert!(x.iter().any(|v| !v.is_finite()), "NUMERICAL with finite x");
        }
        return;
    }

    let bytes_null = nulls.get(6);
    let mut bytes = usize::MAX;
    // SAFETY: a live usize or NULL.
    let s = unsafe {
        kernels::kn_sor_solve_work_bytes(n, ptr_mut(std::slice::from_mut(&mut bytes), bytes_null))
    };
    let mut q = Expect::new();
    q.fault(bytes_null, KN_ERR_NULL);
    q.fault(n == 0, KN_ERR_DIMENSION);
    q.check(s, &[KN_OK], "kn_sor_solve_work_bytes");
    if s != KN_OK {
        assert_eq!(bytes, usize::MAX, "kn_sor_solve_work_bytes wrote on error");
        bytes = 0;
    }
    // Workspace: the queried size, more, or a NULL pointer with some size (an error
    // unless the size is 0); the buffer starts at any alignment.
    let extra = r.below(3) * 7;
    let offset = r.below(8);
    let mut storage = vec![0xA5u8; bytes + extra + 8];
    let work_null = nulls.get(5);
    let work_bytes = if work_null {
        r.pick(&[0, 1, 64])
    } else {
        bytes + extra
    };
    let work = if work_null {
        null_mut()
    } else {
        storage[offset..].as_mut_ptr().cast()
    };
    e.fault(work_null && work_bytes > 0, KN_ERR_NULL);
    let tol = r.pick(&[1e-6, 1e-3, 1e-12, 0.5, 0.0, -1.0, f64::NAN, f64::INFINITY]);
    let max_iter = r.pick(&[1, 5, 40, 0]);
    let want_rep = r.bool();
    e.fault(
        !(tol > 0.0 && tol.is_finite()) || max_iter == 0,
        KN_ERR_ARGUMENT,
    );
    let mut rep = kn_report {
        iterations: 0xDEAD,
        inner_iterations: 7,
        error: -3.0,
        value: f64::NAN,
        converged: 5,
    };
    let rep0 = report_bits(&rep);
    let rp: *mut kn_report = if want_rep { &mut rep } else { null_mut() };
    // SAFETY: each pointer is NULL or a live buffer of the length its size implies;
    // the workspace holds work_bytes bytes.
    let s = unsafe {
        T::sor_solve(
            n, ip, ix, v, bp, xp, omega, tol, max_iter, work, work_bytes, rp,
        )
    };
    e.check(
        s,
        &[KN_OK, KN_NOT_CONVERGED, KN_ERR_NUMERICAL],
        "kn_sor_solve_csr",
    );
    if argument_error(s) || s == KN_ERR_NUMERICAL {
        assert_eq!(report_bits(&rep), rep0, "rep written (status {s})");
    }
    if argument_error(s) {
        assert_eq!(bits(&x), x0, "kn_sor_solve_csr wrote x (status {s})");
    }
    if want_rep && (s == KN_OK || s == KN_NOT_CONVERGED) {
        assert_eq!(rep.converged, i32::from(s == KN_OK));
        assert!(rep.iterations <= max_iter);
        assert!(rep.error >= 0.0 && rep.error.is_finite());
        assert_eq!(rep.converged == 1, rep.error <= tol);
    }
}

/// Sizes whose product, in bytes, exceeds `isize::MAX` for any element type of 4 or
/// more bytes: no such array exists, so they must be refused before any read.
const HUGE_GRID: [usize; 3] = [usize::MAX, usize::MAX / 2, usize::MAX / 4];

/// kn_sor_grid2d_f32/_f64 on arbitrary grid sizes (zero and overflowing), shifts
/// (4 + shift = 0 included), values, omegas, sweep counts and NULL pointers.
pub fn sor_grid2d(data: &[u8]) {
    let mut r = Reader::new(data);
    if r.bool() {
        grid_typed::<f32>(&mut r);
    } else {
        grid_typed::<f64>(&mut r);
    }
}

fn grid_typed<T: SorReal>(r: &mut Reader) {
    let nulls = Nulls(if r.below(4) == 0 { r.u8() } else { 0 });
    let (mut nx, mut ny) = (r.below(6), r.below(6));
    let len = nx * ny;
    let mut huge = false;
    match r.below(16) {
        0 => {
            nx = r.pick(&HUGE_GRID);
            ny = ny.max(1);
            huge = true;
        }
        1 => {
            ny = r.pick(&HUGE_GRID);
            huge = nx > 0;
        }
        _ => {}
    }
    let shift = T::of(r.pick(&[
        0.0,
        1.0,
        -4.0,
        -3.0,
        0.01,
        1e30,
        -1e-7,
        f64::NAN,
        f64::INFINITY,
    ]));
    let shift = if r.below(8) == 0 {
        T::of(r.f64())
    } else {
        shift
    };
    let omega = T::of(r.pick(&[1.0, 1.5, 0.7, 1.99, 0.0, 2.0, -0.5, f64::NAN]));
    let sweeps = r.pick(&[1, 2, 0, 5]);
    let b: Vec<T> = (0..len).map(|_| T::of(r.f64())).collect();
    let mut x: Vec<T> = (0..len).map(|_| T::of(r.f64())).collect();

    let mut e = Expect::new();
    e.fault(nulls.get(0) || nulls.get(1), KN_ERR_NULL);
    e.fault(nx == 0 || ny == 0 || huge, KN_ERR_DIMENSION);
    e.fault(!omega_ok(omega), KN_ERR_ARGUMENT);
    e.fault(
        shift.is_finite() && T::of(4.0) + shift == T::zero(),
        KN_ERR_ARGUMENT,
    );
    e.fault(
        !shift.is_finite() || b.iter().chain(&x).any(|v| !v.is_finite()),
        KN_ERR_NON_FINITE,
    );
    let x0 = bits(&x);
    // SAFETY: b and x are NULL or live buffers of nx * ny values (huge sizes are
    // refused before any read).
    let s = unsafe {
        T::grid2d(
            nx,
            ny,
            shift,
            ptr(&b, nulls.get(0)),
            ptr_mut(&mut x, nulls.get(1)),
            omega,
            sweeps,
        )
    };
    e.check(s, &[KN_OK, KN_ERR_NUMERICAL], "kn_sor_grid2d");
    if argument_error(s) || (s == KN_OK && sweeps == 0) {
        assert_eq!(bits(&x), x0, "kn_sor_grid2d wrote x (status {s})");
    }
    if s == KN_ERR_NUMERICAL {
        assert!(x.iter().any(|v| !v.is_finite()), "NUMERICAL with finite x");
    }
}

/// What the check knows about the tuner state it drives. `trusted`: the library
/// initialised this state and only the library has written it since, so it must
/// never call it invalid. A state with foreign words stays untrusted even after a
/// call accepts it: the per-call check is cheap (ranges, finiteness), deeper damage
/// (e.g. a Gram matrix no longer positive definite) shows only when used.
#[derive(Clone, Copy, Default)]
struct TunerModel {
    trusted: bool,
    pending: Option<bool>,
    contextual: Option<bool>,
    cost_sum: Option<f64>,
    range: Option<(f64, f64)>,
}

fn tuner_words(t: &kn_omega_tuner) -> Vec<u64> {
    t.opaque.to_vec()
}

/// The omega tuner through an arbitrary sequence of calls: init (both kinds, valid and
/// invalid arguments), next and feedback in any order (the protocol demands they
/// alternate), NaN/infinite/negative/huge contexts and costs, NULL pointers, and states
/// overwritten with arbitrary words. A state the library wrote must keep working; a
/// state with foreign words may be accepted or refused as KN_ERR_ARGUMENT, never
/// anything else (no KN_ERR_INTERNAL, no panic); every error leaves the state and
/// `*omega` untouched.
pub fn omega_tuner(data: &[u8]) {
    let mut r = Reader::new(data);
    let mut t = kn_omega_tuner {
        opaque: [0; KN_OMEGA_TUNER_WORDS],
    };
    let mut m = TunerModel::default();
    // Start from garbage: a few words of the header from the input.
    if r.bool() {
        for w in t.opaque.iter_mut().take(r.below(17)) {
            *w = r.u64();
        }
    }
    for _ in 0..24 {
        if r.is_empty() {
            break;
        }
        match r.u8() % 8 {
            0 => tuner_init_step(&mut r, &mut t, &mut m),
            1..=3 => tuner_next_step(&mut r, &mut t, &mut m),
            4..=6 => tuner_feedback_step(&mut r, &mut t, &mut m),
            _ => {
                // Overwrite one word with an edge value, an arbitrary one, or a small
                // integer (kinds, counts, flags).
                let k = if r.bool() {
                    r.below(16)
                } else {
                    usize::from(u16::from_le_bytes([r.u8(), r.u8()])) % KN_OMEGA_TUNER_WORDS
                };
                let v = match r.below(3) {
                    0 => r.f64().to_bits(),
                    1 => r.u64(),
                    _ => r.below(80) as u64,
                };
                if t.opaque[k] != v {
                    t.opaque[k] = v;
                    m = TunerModel::default();
                }
            }
        }
    }
}

fn tuner_init_step(r: &mut Reader, t: &mut kn_omega_tuner, m: &mut TunerModel) {
    let contextual = r.bool();
    let null = r.below(16) == 0;
    let arms = r.pick(&[
        2,
        3,
        8,
        KN_OMEGA_TUNER_MAX_ARMS,
        0,
        1,
        KN_OMEGA_TUNER_MAX_ARMS + 1,
        u32::MAX,
    ]);
    let lo = r.pick(&[1.0, 0.5, 1e-3, 0.0, -1.0, 1.9, f64::NAN]);
    let hi = r.pick(&[1.9, 1.99, 1.5, 2.0, 1.0, 0.9, f64::INFINITY]);
    let (clo, chi) = if contextual {
        (
            r.pick(&[0.0, -1.0, 5.0, f64::NAN]),
            r.pick(&[1.0, 100.0, 0.0, f64::NEG_INFINITY]),
        )
    } else {
        (0.0, 1.0)
    };
    let seed = r.u64();
    let mut e = Expect::new();
    e.fault(null, KN_ERR_NULL);
    let bounds = [lo, hi, clo, chi];
    e.fault(bounds.iter().any(|v| !v.is_finite()), KN_ERR_NON_FINITE);
    e.fault(
        !((2..=KN_OMEGA_TUNER_MAX_ARMS).contains(&arms)
            && lo > 0.0
            && lo < hi
            && hi < 2.0
            && clo < chi),
        KN_ERR_ARGUMENT,
    );
    let before = tuner_words(t);
    let p: *mut kn_omega_tuner = if null { null_mut() } else { t };
    // SAFETY: p is NULL or a live kn_omega_tuner.
    let s = unsafe {
        if contextual {
            kernels::kn_omega_tuner_init_contextual(p, arms, lo, hi, clo, chi, seed)
        } else {
            kernels::kn_omega_tuner_init(p, arms, lo, hi, seed)
        }
    };
    e.check(s, &[KN_OK], "kn_omega_tuner_init");
    if s == KN_OK {
        *m = TunerModel {
            trusted: true,
            pending: Some(false),
            contextual: Some(contextual),
            cost_sum: Some(0.0),
            range: Some((lo, hi)),
        };
    } else {
        assert_eq!(tuner_words(t), before, "init wrote the state on error");
    }
}

fn tuner_next_step(r: &mut Reader, t: &mut kn_omega_tuner, m: &mut TunerModel) {
    let (t_null, o_null) = (r.below(16) == 0, r.below(16) == 0);
    let context = r.f64();
    let mut allowed = vec![];
    if t_null || o_null {
        allowed.push(KN_ERR_NULL);
    } else {
        let bad_context = !context.is_finite() && m.contextual != Some(false);
        if !m.trusted || m.pending != Some(false) {
            allowed.push(KN_ERR_ARGUMENT);
        }
        if bad_context {
            allowed.push(KN_ERR_NON_FINITE);
        }
        let can_succeed = !m.trusted
            || (m.pending != Some(true) && (context.is_finite() || m.contextual != Some(true)));
        if can_succeed {
            allowed.push(KN_OK);
        }
    }
    let before = tuner_words(t);
    let mut omega = -7.0f64;
    let tp: *mut kn_omega_tuner = if t_null { null_mut() } else { t };
    let op: *mut f64 = if o_null { null_mut() } else { &mut omega };
    // SAFETY: each pointer is NULL or live.
    let s = unsafe { kernels::kn_omega_tuner_next(tp, context, op) };
    assert!(
        allowed.contains(&s),
        "kn_omega_tuner_next: got {s}, allowed {allowed:?}"
    );
    if s == KN_OK {
        if let Some((lo, hi)) = m.range {
            assert!(
                omega >= lo && omega <= hi,
                "omega {omega} outside [{lo}, {hi}]"
            );
        }
        assert!(omega > 0.0 && omega < 2.0, "omega {omega}");
        m.pending = Some(true);
    } else {
        assert_eq!(tuner_words(t), before, "next wrote the state on error");
        assert_eq!(omega, -7.0, "next wrote omega on error");
    }
}

fn tuner_feedback_step(r: &mut Reader, t: &mut kn_omega_tuner, m: &mut TunerModel) {
    let t_null = r.below(16) == 0;
    let cost = match r.below(4) {
        0 => r.f64(),
        _ => f64::from(r.u8()),
    };
    let mut allowed = vec![];
    if t_null {
        allowed.push(KN_ERR_NULL);
    } else if !cost.is_finite() {
        allowed.push(KN_ERR_NON_FINITE);
        if !m.trusted || m.pending != Some(true) {
            allowed.push(KN_ERR_ARGUMENT);
        }
    } else {
        // Sums above 2^512 are refused (the contextual regression's headroom).
        let overflow = m.cost_sum.map(|c| c + cost > 2f64.powi(512));
        if !m.trusted || m.pending != Some(true) || cost < 0.0 || overflow != Some(false) {
            allowed.push(KN_ERR_ARGUMENT);
        }
        if cost >= 0.0 && (!m.trusted || (m.pending != Some(false) && overflow != Some(true))) {
            allowed.push(KN_OK);
        }
    }
    let before = tuner_words(t);
    let tp: *mut kn_omega_tuner = if t_null { null_mut() } else { t };
    // SAFETY: tp is NULL or live.
    let s = unsafe { kernels::kn_omega_tuner_feedback(tp, cost) };
    assert!(
        allowed.contains(&s),
        "kn_omega_tuner_feedback: got {s}, allowed {allowed:?}"
    );
    if s == KN_OK {
        m.pending = Some(false);
        m.cost_sum = m.cost_sum.map(|c| c + cost);
    } else {
        assert_eq!(tuner_words(t), before, "feedback wrote the state on error");
    }
}
