//! Checks of the paging entry points: a pager driven request by request through
//! init, accesses, corrupted pager words and overwritten workspace bytes; and the
//! whole-trace calls (simulate, offline optimum) against naive references.

use super::reader::Reader;
use kernels::{
    KN_ERR_ARGUMENT, KN_ERR_DIMENSION, KN_ERR_NULL, KN_ERR_WORKSPACE, KN_OK, KN_PAGER_MAX_CAPACITY,
    KN_PAGER_WORDS, KN_PAGING_DISCARD, KN_PAGING_LEARNED, KN_PAGING_LRU, kn_access, kn_pager,
};
use kernels_core::checksum;
use kernels_core::paging::PAGER_STATE_WORDS;
use std::ffi::c_void;
use std::ptr::{null, null_mut};

/// Capacities: small ones that fit the check's workspace, zero, and too large.
const CAPACITIES: [usize; 10] = [
    1,
    2,
    3,
    4,
    5,
    8,
    0,
    KN_PAGER_MAX_CAPACITY,
    KN_PAGER_MAX_CAPACITY + 1,
    usize::MAX,
];

/// Policy codes: the seven valid ones and neighbours.
const POLICIES: [i32; 10] = [0, 1, 2, 3, 4, 5, 6, -1, 7, i32::MAX];

/// Whether a policy code is valid.
fn valid_policy(policy: i32) -> bool {
    (0..=6).contains(&policy)
}

/// The pager's words as the ffi crate lays them out (white-box, so that corruption
/// never forges a pointer): the core state (its last word a checksum), then the
/// workspace address and size, then a checksum of all of that, then zero padding.
const WORK_PTR: usize = PAGER_STATE_WORDS;
const WORK_BYTES: usize = PAGER_STATE_WORDS + 1;
const CHECK: usize = PAGER_STATE_WORDS + 2;

/// Bytes of the check's workspace buffer: enough for every small capacity (LEARNED's
/// counters alone take 4 KiB).
const WORK_BUFFER: usize = 32768;

fn expect(got: i32, faults: &[(bool, i32)], success: i32, what: &str) {
    let allowed: Vec<i32> = faults.iter().filter(|f| f.0).map(|f| f.1).collect();
    if allowed.is_empty() {
        assert_eq!(got, success, "{what}: valid input");
    } else {
        assert!(
            allowed.contains(&got),
            "{what}: got {got}, allowed {allowed:?}"
        );
    }
}

/// What the check knows about the pager words.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Known {
    /// Written by kn_pager_init or kn_pager_access, workspace intact.
    Valid,
    /// One word differs from a state the library wrote: the checksum must catch it.
    Corrupt,
    /// Foreign words (with a real workspace address), or an overwritten workspace:
    /// may be accepted or refused, never anything else.
    Unknown,
}

/// The cache a correct pager holds: pages in least-recently-used-first order.
struct Model {
    policy: i32,
    capacity: usize,
    /// The cached pages, or None once a NULL result hid an eviction.
    pages: Option<Vec<u64>>,
}

/// kn_pager_work_bytes, kn_pager_init and kn_pager_access through a sequence of
/// steps: (re)initialisation with any policy, capacity, workspace size and NULLs;
/// requests with any page and bit; single corrupted words, re-checksummed (forged)
/// states, and overwritten workspace bytes. Every access on a state the library wrote
/// is checked against a model cache: hit exactly when cached, an eviction exactly when
/// full, the evicted page cached (LRU: the least recently used one).
pub fn pager(data: &[u8]) {
    let mut r = Reader::new(data);
    let mut work = vec![0u64; WORK_BUFFER / 8 + 1];
    let mut p = kn_pager {
        opaque: [0; KN_PAGER_WORDS],
    };
    let mut known = Known::Unknown;
    let mut model: Option<Model> = None;
    if r.bool() {
        for w in p.opaque.iter_mut().take(CHECK + 1) {
            *w = r.u64();
        }
        p.opaque[WORK_PTR] = work.as_ptr() as u64 * u64::from(r.bool());
        p.opaque[WORK_BYTES] = r.u64() % (WORK_BUFFER as u64 + 1);
    }
    for _ in 0..48 {
        if r.is_empty() {
            break;
        }
        match r.u8() % 16 {
            0 => {
                if let Some(m) = pager_init_step(&mut r, &mut p, &mut work) {
                    model = Some(m);
                    known = Known::Valid;
                }
            }
            1..=11 => pager_access_step(&mut r, &mut p, known, &mut model),
            12 | 13 => {
                // One word flipped, the address and size excepted.
                let k = r.below(KN_PAGER_WORDS);
                let mask = r.u64();
                if k != WORK_PTR && k != WORK_BYTES && mask != 0 {
                    p.opaque[k] ^= mask;
                    known = if known == Known::Valid {
                        Known::Corrupt
                    } else {
                        Known::Unknown
                    };
                }
            }
            14 => {
                // A forged state: a core word changed and both checksums redone.
                let k = 1 + r.below(PAGER_STATE_WORDS - 2);
                p.opaque[k] = match r.below(3) {
                    0 => r.u64(),
                    1 => r.below(10) as u64,
                    _ => p.opaque[k].wrapping_add(1),
                };
                let last = PAGER_STATE_WORDS - 1;
                p.opaque[last] = checksum(&p.opaque[..last]);
                p.opaque[CHECK] = checksum(&p.opaque[..CHECK]);
                known = Known::Unknown;
            }
            _ => {
                // Workspace bytes overwritten behind the pager's back.
                let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut work);
                for _ in 0..1 + r.below(4) {
                    let at = usize::from(u16::from_le_bytes([r.u8(), r.u8()])) % bytes.len();
                    bytes[at] ^= r.u8() | 1;
                }
                if known == Known::Valid {
                    known = Known::Unknown;
                }
            }
        }
    }
}

/// One kn_pager_work_bytes query and one kn_pager_init; the model of the new pager
/// when it succeeded.
fn pager_init_step(r: &mut Reader, p: &mut kn_pager, work: &mut [u64]) -> Option<Model> {
    let capacity = r.pick(&CAPACITIES);
    let policy = r.pick(&POLICIES);
    let (p_null, work_null, bytes_null) = (r.below(16) == 0, r.below(16) == 0, r.below(16) == 0);
    let mut need = usize::MAX;
    let out: *mut usize = if bytes_null { null_mut() } else { &mut need };
    // SAFETY: out is NULL or a live usize.
    let s = unsafe { kernels::kn_pager_work_bytes(capacity, out) };
    let too_big = capacity > KN_PAGER_MAX_CAPACITY;
    let size_faults = [
        (bytes_null, KN_ERR_NULL),
        (capacity == 0, KN_ERR_DIMENSION),
        (too_big, KN_ERR_ARGUMENT),
    ];
    expect(s, &size_faults, KN_OK, "kn_pager_work_bytes");
    if s != KN_OK {
        assert_eq!(need, usize::MAX, "kn_pager_work_bytes wrote on error");
    }
    // The size of a pager that can exist; the query was checked just above.
    let known_need = (s == KN_OK).then_some(need);
    let offset = r.below(8);
    let avail = WORK_BUFFER - offset;
    let want = match (r.below(4), known_need) {
        (0, Some(n)) => n.saturating_sub(1),
        (1, _) => 0,
        (2, Some(n)) => n + r.below(16),
        (_, Some(n)) => n,
        (_, None) => r.below(64),
    };
    let work_bytes = want.min(avail);
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(work);
    let wp: *mut c_void = if work_null {
        null_mut()
    } else {
        bytes[offset..].as_mut_ptr().cast()
    };
    let seed = r.u64();
    let short = known_need.is_some_and(|n| work_bytes < n);
    let faults = [
        (p_null || work_null, KN_ERR_NULL),
        (capacity == 0, KN_ERR_DIMENSION),
        (too_big || !valid_policy(policy), KN_ERR_ARGUMENT),
        (
            short || (capacity > 0 && !too_big && bytes_null),
            KN_ERR_WORKSPACE,
        ),
    ];
    let before = *p;
    let pp: *mut kn_pager = if p_null { null_mut() } else { p };
    // SAFETY: pp is NULL or a live pager; wp is NULL or work_bytes live bytes that
    // stay alive (and otherwise unused) while the pager is used.
    let s = unsafe { kernels::kn_pager_init(pp, policy, capacity, seed, wp, work_bytes) };
    // A size query answered NULL here so the workspace size is unknown: a success is
    // fine when it was large enough.
    let faults_valid = faults
        .iter()
        .all(|f| !f.0 || (f.1 == KN_ERR_WORKSPACE && bytes_null));
    if !(faults_valid && s == KN_OK) {
        expect(s, &faults, KN_OK, "kn_pager_init");
    }
    if s != KN_OK {
        assert_eq!(*p, before, "kn_pager_init wrote the pager on error");
        return None;
    }
    Some(Model {
        policy,
        capacity,
        pages: Some(Vec::new()),
    })
}

fn pager_access_step(r: &mut Reader, p: &mut kn_pager, known: Known, model: &mut Option<Model>) {
    let p_null = r.below(32) == 0;
    let res_null = r.below(8) == 0;
    // kn_pager_access_ctx (no bit) or kn_pager_access with any bit.
    let ctx = (r.below(4) == 0).then(|| r.u64() % 5);
    let bit = if ctx.is_some() {
        0
    } else {
        r.pick(&[0u8, 1, 0, 1, 2, 255])
    };
    let page = if r.below(8) == 0 {
        r.u64()
    } else {
        r.below(12) as u64
    };
    let faults = [
        (p_null, KN_ERR_NULL),
        (
            !p_null && (bit > 1 || known == Known::Corrupt),
            KN_ERR_ARGUMENT,
        ),
    ];
    let mut res = kn_access {
        hit: 7,
        evicted: 7,
        evicted_page: 7,
    };
    let before = (*p, res);
    let pp: *mut kn_pager = if p_null { null_mut() } else { p };
    let rp: *mut kn_access = if res_null { null_mut() } else { &mut res };
    // SAFETY: pp is NULL or a pager whose workspace (if it holds one) is the check's
    // live buffer, never a forged address; rp is NULL or live.
    let s = unsafe {
        match ctx {
            Some(c) => kernels::kn_pager_access_ctx(pp, page, c, rp),
            None => kernels::kn_pager_access(pp, page, bit, rp),
        }
    };
    if s != KN_OK {
        assert_eq!((*p, res), before, "kn_pager_access wrote on error {s}");
    }
    let valid = faults.iter().all(|f| !f.0);
    if known == Known::Unknown && valid {
        assert!(
            s == KN_OK || s == KN_ERR_ARGUMENT,
            "kn_pager_access: got {s}"
        );
        *model = None;
        return;
    }
    expect(s, &faults, KN_OK, "kn_pager_access");
    if s != KN_OK || known != Known::Valid {
        return;
    }
    let Some(m) = model.as_mut() else { return };
    let Some(cached) = m.pages.as_mut() else {
        return;
    };
    let at = cached.iter().position(|&c| c == page);
    if res_null {
        // Without the result only LRU's victim is known.
        match at {
            Some(i) => {
                cached.remove(i);
            }
            None if cached.len() == m.capacity && m.policy == KN_PAGING_LRU => {
                cached.remove(0);
            }
            None if cached.len() == m.capacity => {
                m.pages = None;
                return;
            }
            None => {}
        }
        cached.push(page);
        return;
    }
    assert_eq!(
        res.hit,
        i32::from(at.is_some()),
        "hit disagrees with the cache"
    );
    if let Some(i) = at {
        assert_eq!((res.evicted, res.evicted_page), (0, 0));
        cached.remove(i);
    } else if cached.len() < m.capacity {
        assert_eq!(
            (res.evicted, res.evicted_page),
            (0, 0),
            "evicted with room left"
        );
    } else {
        assert_eq!(res.evicted, 1, "no eviction from a full cache");
        let victim = cached
            .iter()
            .position(|&c| c == res.evicted_page)
            .expect("the evicted page was cached");
        if m.policy == KN_PAGING_LRU {
            assert_eq!(victim, 0, "LRU evicted a page other than the least recent");
        }
        cached.remove(victim);
    }
    cached.push(page);
}

/// Belady's fault count, naively: on a fault with a full cache, evict the cached page
/// whose next request is furthest (never requested again first).
fn belady(capacity: usize, pages: &[u64]) -> u64 {
    let mut cache: Vec<u64> = Vec::new();
    let mut faults = 0;
    for (t, &p) in pages.iter().enumerate() {
        if cache.contains(&p) {
            continue;
        }
        faults += 1;
        if cache.len() == capacity {
            let next = |c: u64| {
                pages[t + 1..]
                    .iter()
                    .position(|&q| q == c)
                    .unwrap_or(usize::MAX)
            };
            let (i, _) = cache
                .iter()
                .enumerate()
                .max_by_key(|&(_, &c)| next(c))
                .expect("a full cache is not empty");
            cache.swap_remove(i);
        }
        cache.push(p);
    }
    faults
}

fn lru(capacity: usize, pages: &[u64]) -> u64 {
    let mut cache: Vec<u64> = Vec::new();
    let mut faults = 0;
    for &p in pages {
        match cache.iter().position(|&c| c == p) {
            Some(i) => {
                cache.remove(i);
            }
            None => {
                faults += 1;
                if cache.len() == capacity {
                    cache.remove(0);
                }
            }
        }
        cache.push(p);
    }
    faults
}

/// Lengths no array can have (`len * 8` bytes exceed `isize::MAX`).
const HUGE_LEN: [usize; 2] = [usize::MAX, isize::MAX as usize / 8 + 1];

/// kn_paging_offline_work_bytes, kn_paging_offline and kn_paging_simulate on arbitrary
/// traces, capacities, policies, bits (NULL, from the input, invalid, or the offline
/// optimum's perfect ones), workspace sizes and NULLs. Valid calls are checked against
/// naive Belady and LRU: the optimum's count exactly, LRU's exactly, every policy
/// between the optimum and the trace length, DISCARD with perfect discard bits equal
/// to the optimum.
pub fn paging_trace(data: &[u8]) {
    let mut r = Reader::new(data);
    let capacity = r.pick(&CAPACITIES);
    let len = r.below(40);
    let alphabet = 1 + r.below(12) as u64;
    let pages: Vec<u64> = (0..len)
        .map(|_| match r.below(16) {
            0 => r.u64(),
            _ => r.below(alphabet as usize) as u64,
        })
        .collect();
    let huge = r.below(16) == 0;
    let n = if huge { r.pick(&HUGE_LEN) } else { len };
    let small = (1..=64).contains(&capacity);

    // kn_paging_offline_work_bytes.
    let bytes_null = r.below(16) == 0;
    let mut need = usize::MAX;
    let out: *mut usize = if bytes_null { null_mut() } else { &mut need };
    // SAFETY: out is NULL or a live usize.
    let s = unsafe { kernels::kn_paging_offline_work_bytes(capacity, n, out) };
    let faults = [
        (bytes_null, KN_ERR_NULL),
        (capacity == 0 || huge, KN_ERR_DIMENSION),
    ];
    expect(s, &faults, KN_OK, "kn_paging_offline_work_bytes");
    if s != KN_OK {
        assert_eq!(
            need,
            usize::MAX,
            "kn_paging_offline_work_bytes wrote on error"
        );
    }
    let offline_need = (s == KN_OK).then_some(need);

    // kn_paging_offline.
    let nulls = if r.below(4) == 0 { r.u8() } else { 0 };
    let is_null = |k: u8| nulls & (1 << k) != 0;
    let (work_null, opt_null) = (is_null(0), is_null(1));
    let (mut discard, mut phase) = (vec![9u8; len], vec![9u8; len]);
    let want_discard = r.below(4) != 0;
    let want_phase = r.bool();
    let mut work = vec![0u8; offline_need.unwrap_or(0).min(1 << 16) + 16];
    let work_bytes = match (r.below(4), offline_need) {
        (0, Some(b)) => b.saturating_sub(1),
        (1, _) => 0,
        (_, Some(b)) => b.min(work.len()),
        (_, None) => r.below(16),
    };
    let wp: *mut c_void = if work_null {
        null_mut()
    } else {
        work.as_mut_ptr().cast()
    };
    let mut opt = 0xABCDu64;
    let faults = [
        (is_null(2) || opt_null || work_null, KN_ERR_NULL),
        (capacity == 0 || huge, KN_ERR_DIMENSION),
        (
            offline_need.is_some_and(|b| work_bytes < b) || (bytes_null && !huge && capacity > 0),
            KN_ERR_WORKSPACE,
        ),
    ];
    let pp: *const u64 = if is_null(2) { null() } else { pages.as_ptr() };
    let dp: *mut u8 = if want_discard {
        discard.as_mut_ptr()
    } else {
        null_mut()
    };
    let php: *mut u8 = if want_phase {
        phase.as_mut_ptr()
    } else {
        null_mut()
    };
    let op: *mut u64 = if opt_null { null_mut() } else { &mut opt };
    // SAFETY: every pointer is NULL or a live buffer of the length n implies (huge n
    // is refused before any read); the workspace holds work_bytes bytes.
    let s = unsafe { kernels::kn_paging_offline(capacity, pp, n, op, dp, php, wp, work_bytes) };
    let unknown_size_ok = bytes_null && s == KN_OK;
    if !unknown_size_ok {
        expect(s, &faults, KN_OK, "kn_paging_offline");
    }
    if s == KN_OK {
        assert_eq!(opt, belady(capacity, &pages), "Belady's fault count");
        for bits in [&discard, &phase] {
            assert!(bits.iter().all(|&b| b <= 1) || bits.iter().all(|&b| b == 9));
        }
    } else {
        assert_eq!(
            (opt, &discard, &phase),
            (0xABCD, &vec![9u8; len], &vec![9u8; len])
        );
    }
    let perfect = s == KN_OK && want_discard;

    // kn_paging_simulate.
    let policy = r.pick(&POLICIES);
    let seed = r.u64();
    let mut bits: Vec<u8> = (0..len).map(|_| r.below(2) as u8).collect();
    let bits_kind = r.below(4);
    match bits_kind {
        0 if perfect => bits.copy_from_slice(&discard),
        1 if s == KN_OK && want_phase => bits.copy_from_slice(&phase),
        2 if len > 0 => {
            let k = r.below(len);
            bits[k] = r.pick(&[2, 255]);
        }
        _ => {}
    }
    let bits_null = r.below(4) == 0;
    let (faults_null, work_null) = (is_null(3), is_null(4));
    let mut sim_need = None;
    if small {
        let mut b = 0usize;
        // SAFETY: a live usize.
        let s = unsafe { kernels::kn_pager_work_bytes(capacity, &mut b) };
        assert_eq!(s, KN_OK);
        sim_need = Some(b);
    }
    let mut work = vec![0u8; sim_need.unwrap_or(64) + 16];
    let work_bytes = match (r.below(4), sim_need) {
        (0, Some(b)) => b - 1,
        (1, _) => 0,
        (2, _) => work.len(),
        (_, Some(b)) => b,
        (_, None) => work.len(),
    };
    let wp: *mut c_void = if work_null {
        null_mut()
    } else {
        work.as_mut_ptr().cast()
    };
    let mut faults_out = 0xABCDu64;
    let bad_bit = !bits_null && bits.iter().any(|&b| b > 1);
    let faults = [
        (is_null(2) || faults_null || work_null, KN_ERR_NULL),
        (capacity == 0 || huge, KN_ERR_DIMENSION),
        (
            !valid_policy(policy) || capacity > KN_PAGER_MAX_CAPACITY || (bad_bit && !huge),
            KN_ERR_ARGUMENT,
        ),
        (
            (capacity > 0 && capacity <= KN_PAGER_MAX_CAPACITY)
                && sim_need.is_none_or(|b| work_bytes < b),
            KN_ERR_WORKSPACE,
        ),
    ];
    let bp: *const u8 = if bits_null { null() } else { bits.as_ptr() };
    let fp: *mut u64 = if faults_null {
        null_mut()
    } else {
        &mut faults_out
    };
    // SAFETY: as for kn_paging_offline above.
    let s = unsafe {
        kernels::kn_paging_simulate(policy, capacity, seed, pp, bp, n, fp, wp, work_bytes)
    };
    expect(s, &faults, KN_OK, "kn_paging_simulate");
    if s != KN_OK {
        assert_eq!(faults_out, 0xABCD, "kn_paging_simulate wrote on error");
        return;
    }
    let opt = belady(capacity, &pages);
    assert!(
        faults_out >= opt && faults_out <= len as u64,
        "faults {faults_out}, optimum {opt}"
    );

    // kn_paging_simulate_ctx: the same call with contexts (NULL, or from the input); a
    // policy other than LEARNED ignores them (and takes the bits as given).
    let ctx: Vec<u64> = (0..len).map(|_| r.below(4) as u64).collect();
    let ctx_null = r.below(8) == 0;
    let cp: *const u64 = if ctx_null { null() } else { ctx.as_ptr() };
    let mut with_ctx = 0xABCDu64;
    // SAFETY: as for kn_paging_simulate above; cp is NULL or len live values.
    let s = unsafe {
        kernels::kn_paging_simulate_ctx(
            policy,
            capacity,
            seed,
            pp,
            bp,
            cp,
            n,
            &mut with_ctx,
            wp,
            work_bytes,
        )
    };
    if ctx_null {
        assert_eq!(s, KN_ERR_NULL, "kn_paging_simulate_ctx with NULL contexts");
        assert_eq!(with_ctx, 0xABCD, "kn_paging_simulate_ctx wrote on error");
    } else {
        assert_eq!(s, KN_OK, "kn_paging_simulate_ctx");
        assert!(with_ctx >= opt && with_ctx <= len as u64);
        if policy != KN_PAGING_LEARNED {
            assert_eq!(
                with_ctx, faults_out,
                "contexts changed a policy that ignores them"
            );
        }
    }
    if policy == KN_PAGING_LRU {
        assert_eq!(faults_out, lru(capacity, &pages));
    }
    if policy == KN_PAGING_DISCARD && bits_kind == 0 && perfect && !bits_null {
        assert_eq!(faults_out, opt, "DISCARD with perfect bits is optimal");
    }
}
