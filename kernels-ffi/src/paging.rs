//! C entry points of paging with one-bit predictions: `kn_pager_*` (a pager driven
//! request by request) and `kn_paging_*` (a whole trace: simulation and the offline
//! optimum with the perfect predictions).

use crate::args::{disjoint, input, input_opt, out_value, output, output_opt, span, workspace};
use crate::guard::{Done, status};
use crate::status::kn_status;
use core::ffi::c_void;
use kernels_core::checksum;
use kernels_core::paging::{
    PAGER_STATE_WORDS, Pager, PagerState, Policy, offline, offline_work_size, pager_work_size,
    simulate_ctx,
};
use kernels_core::{Error, Result};

/// Policy: least recently used (ignores the bits).
pub const KN_PAGING_LRU: i32 = 0;
/// Policy: random marking (ignores the bits).
pub const KN_PAGING_MARKER: i32 = 1;
/// Policy: evict a page whose latest discard bit is 1 if any, else an unmarked page
/// (deterministic). With perfect discard bits it makes exactly the optimum's faults.
pub const KN_PAGING_DISCARD: i32 = 2;
/// Policy: as KN_PAGING_DISCARD with uniformly random choices.
pub const KN_PAGING_DISCARD_RANDOM: i32 = 3;
/// Policy: marking; evict a random unmarked page whose phase bit is 0, else a random
/// unmarked page.
pub const KN_PAGING_PHASE: i32 = 4;

/// Policy: KN_PAGING_DISCARD and KN_PAGING_MARKER simulated side by side on the
/// pager's own metadata; the cache follows the one with fewer faults so far, switching
/// lazily (evicting toward the other's content only on faults) when the followed one
/// exceeds the other by 1/8 plus `capacity` faults. Faults <= (1 + 1/8) x min(DISCARD,
/// MARKER) + capacity without a switch, and O(min + capacity log(min / capacity))
/// whatever the bits (kernels-core/src/paging/robust.rs gives the bound); with
/// perfect bits it is DISCARD, i.e. the optimum.
pub const KN_PAGING_DISCARD_ROBUST: i32 = 5;
/// Policy: produces its own discard bits online (Hawkeye's OPTgen reconstructs the
/// optimum's decisions over a window of 8 x capacity requests, sampled above 128
/// pages; a table of 4096 3-bit counters indexed by a hash of the request's context
/// learns from it) and follows them through the robust combination of
/// KN_PAGING_DISCARD_ROBUST, with LRU as the partner and a factor of 1/32: at most
/// (1 + 1/32) x LRU's faults + capacity unless it switches. The context is the page
/// id, or the caller's through kn_pager_access_ctx and kn_paging_simulate_ctx. The
/// bits passed by the caller are ignored (but still checked).
pub const KN_PAGING_LEARNED: i32 = 6;

/// Number of words of `kn_pager`.
pub const KN_PAGER_WORDS: usize = 16;

/// The largest capacity a pager accepts (2^30 pages).
pub const KN_PAGER_MAX_CAPACITY: usize = 1 << 30;

// Words of kn_pager after the core state: the workspace address and size, and a
// checksum over everything before it.
const WORK_PTR: usize = PAGER_STATE_WORDS;
const WORK_BYTES: usize = PAGER_STATE_WORDS + 1;
const CHECK: usize = PAGER_STATE_WORDS + 2;
const _: () = assert!(CHECK < KN_PAGER_WORDS);
const _: () = assert!(KN_PAGER_MAX_CAPACITY == kernels_core::paging::MAX_CAPACITY);
const _: () = assert!(KN_PAGING_DISCARD_ROBUST == Policy::DiscardRobust as i32);
const _: () = assert!(KN_PAGING_LEARNED == Policy::Learned as i32);

/// What one request did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct kn_access {
    /// 1 if the page was cached, else 0.
    pub hit: i32,
    /// 1 if a page was evicted to make room, else 0.
    pub evicted: i32,
    /// The evicted page when `evicted` is 1; 0 otherwise.
    pub evicted_page: u64,
}

/// A pager: fixed-size state, opaque to the caller, that refers to the workspace
/// given to `kn_pager_init`. Copying it does not copy the cache: two copies share
/// one workspace and must not both be used.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct kn_pager {
    /// Opaque; validated (magic word, checksum, invariants) on every call.
    pub opaque: [u64; KN_PAGER_WORDS],
}

fn to_policy(code: i32) -> Result<Policy> {
    Policy::from_code(code)
}

fn to_bit(b: u8) -> Result<bool> {
    match b {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::Argument),
    }
}

/// The words of a pager over the workspace at `work` of `bytes` bytes.
fn seal(state: PagerState, work: &[u8]) -> [u64; KN_PAGER_WORDS] {
    let mut w = [0u64; KN_PAGER_WORDS];
    w[..PAGER_STATE_WORDS].copy_from_slice(&state.to_words());
    w[WORK_PTR] = work.as_ptr() as usize as u64;
    w[WORK_BYTES] = work.len() as u64;
    w[CHECK] = checksum(&w[..CHECK]);
    w
}

/// Checks a pager's words: the state, the checksum, zero padding.
fn unseal(w: &[u64; KN_PAGER_WORDS]) -> Result<(PagerState, *mut c_void, usize)> {
    let mut core = [0u64; PAGER_STATE_WORDS];
    core.copy_from_slice(&w[..PAGER_STATE_WORDS]);
    let state = PagerState::from_words(&core)?;
    let intact = w[CHECK] == checksum(&w[..CHECK]) && w[CHECK + 1..].iter().all(|&x| x == 0);
    let ptr = usize::try_from(w[WORK_PTR]).map_err(|_| Error::Argument)?;
    let bytes = usize::try_from(w[WORK_BYTES]).map_err(|_| Error::Argument)?;
    if !intact || ptr == 0 {
        return Err(Error::Argument);
    }
    Ok((state, ptr as *mut c_void, bytes))
}

/// Bytes of workspace a pager with `capacity` pages needs, whatever its policy (hash
/// tables, slot arrays, flag masks and candidate lists of the plain policies, and the
/// two simulated caches, page nodes and learner of KN_PAGING_DISCARD_ROBUST and
/// KN_PAGING_LEARNED): about 540 bytes per page plus 47 KiB when `capacity` is a power
/// of two from 128 to 8192 and about 316 from 65536, up to about 700 per page plus
/// 47 KiB otherwise, and up to about 1.4 KiB per page plus 5 KiB below 128 pages. The
/// hash tables are sized to powers of two, sparse (at most 1/8 or 1/4 full) while they
/// fit in 2 MiB and up to 1/2 full above, where cache misses cost more than probes.
///
/// It is one size for every policy, and kn_pager_init asks for all of it whatever the
/// policy, so callers can rely on one size. Of it, at a power-of-two capacity up to
/// 8192, the plain policies use about 156 bytes per page (60 from 65536),
/// KN_PAGING_DISCARD_ROBUST about 540 per page (316 from 65536), and
/// KN_PAGING_LEARNED that plus the 47 KiB.
///
/// Returns KN_ERR_NULL if `bytes` is NULL, KN_ERR_DIMENSION if `capacity` is 0 or the
/// size overflows, KN_ERR_ARGUMENT if `capacity` > KN_PAGER_MAX_CAPACITY.
///
/// # Safety
/// `bytes` must be NULL or valid for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_pager_work_bytes(capacity: usize, bytes: *mut usize) -> kn_status {
    status(|| {
        // SAFETY: the caller passes NULL or a writable size_t.
        let out = unsafe { out_value(bytes) }?;
        *out = pager_work_size(capacity)?.bytes();
        Ok(Done::Ok)
    })
}

/// Initialises `p` as an empty pager of `capacity` pages under `policy`
/// (KN_PAGING_*), with `seed` for the randomized policies (same seed, same
/// evictions). All memory is in `work` (`work_bytes` >= kn_pager_work_bytes): the
/// pager keeps referring to it, so it must stay valid, unmoved and otherwise unused
/// until the pager is no longer used; re-initialise to reuse it.
///
/// Returns KN_ERR_NULL if `p` or `work` is NULL, KN_ERR_DIMENSION if `capacity` is 0,
/// KN_ERR_ARGUMENT for an unknown policy, `capacity` > KN_PAGER_MAX_CAPACITY or `p`
/// inside `work`, KN_ERR_WORKSPACE if `work_bytes` is too small. `p` is untouched on
/// error.
///
/// # Safety
/// `p` must be NULL or valid for writes; `work` NULL or valid for `work_bytes` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_pager_init(
    p: *mut kn_pager,
    policy: i32,
    capacity: usize,
    seed: u64,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes NULL or a writable kn_pager.
        let pager = unsafe { out_value(p) }?;
        if work.is_null() {
            return Err(Error::Null);
        }
        // SAFETY: the caller passes work_bytes valid bytes at work.
        let work = unsafe { workspace(work, work_bytes) }?;
        disjoint(&[span(core::slice::from_ref(pager))], &[span(work)])?;
        let policy = to_policy(policy)?;
        let state = Pager::new(policy, capacity, seed, work)?.state();
        pager.opaque = seal(state, work);
        Ok(Done::Ok)
    })
}

/// Serves one request for `page` (any value) with its predicted `bit` (0 or 1; the
/// discard bit for KN_PAGING_DISCARD*, the phase bit for KN_PAGING_PHASE, ignored by
/// LRU and MARKER). A fault with a full cache evicts one page. `result` may be NULL.
///
/// Returns KN_ERR_NULL if `p` is NULL, KN_ERR_ARGUMENT if `bit` > 1, if `p` does not
/// hold an initialised pager (magic word, checksum and invariants are checked), if
/// `result` overlaps the pager or its workspace, or if the pager's workspace was found
/// overwritten (then re-initialise it). On error `p` and `result` are untouched.
///
/// # Safety
/// `p` must be NULL or point to a kn_pager; if it holds a pager, the workspace it
/// was initialised with must still be valid and not used otherwise. `result` must be
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_pager_access(
    p: *mut kn_pager,
    page: u64,
    bit: u8,
    result: *mut kn_access,
) -> kn_status {
    // SAFETY: the caller's pointers, as this function requires.
    unsafe { pager_access(p, page, bit, None, result) }
}

/// As kn_pager_access, with the request's context `ctx` (any value; for example the
/// address of the instruction that made the access) for KN_PAGING_LEARNED, whose
/// counters it indexes; the other policies ignore it and take the bit as 0.
///
/// Returns KN_ERR_NULL if `p` is NULL, KN_ERR_ARGUMENT as kn_pager_access. On error
/// `p` and `result` are untouched.
///
/// # Safety
/// As kn_pager_access.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_pager_access_ctx(
    p: *mut kn_pager,
    page: u64,
    ctx: u64,
    result: *mut kn_access,
) -> kn_status {
    // SAFETY: the caller's pointers, as kn_pager_access requires.
    unsafe { pager_access(p, page, 0, Some(ctx), result) }
}

/// Both access entry points: `ctx` None means the page id.
///
/// # Safety
/// As kn_pager_access.
unsafe fn pager_access(
    p: *mut kn_pager,
    page: u64,
    bit: u8,
    ctx: Option<u64>,
    result: *mut kn_access,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes NULL or a valid kn_pager.
        let pager = unsafe { out_value(p) }?;
        // SAFETY: the caller passes NULL or a writable kn_access.
        let out = unsafe { output_opt(result, 1) }?;
        let bit = to_bit(bit)?;
        let (state, work_ptr, work_bytes) = unseal(&pager.opaque)?;
        // SAFETY: these are the address and size given to kn_pager_init (checksummed),
        // which the caller keeps valid and unshared while the pager is in use.
        let work = unsafe { workspace(work_ptr, work_bytes) }?;
        let mut outputs = [span(core::slice::from_ref(pager)), (0, 0)];
        if let Some(o) = out.as_deref() {
            outputs[1] = span(o);
        }
        disjoint(&outputs, &[span(work)])?;
        let mut resumed = Pager::attach(state, work)?;
        let a = resumed.access_ctx(page, bit, ctx.unwrap_or(page))?;
        pager.opaque = seal(resumed.state(), work);
        if let Some([o]) = out {
            *o = kn_access {
                hit: i32::from(a.hit),
                evicted: i32::from(a.evicted.is_some()),
                evicted_page: a.evicted.unwrap_or(0),
            };
        }
        Ok(Done::Ok)
    })
}

/// Runs `policy` with `capacity` pages and `seed` over the trace `pages[0..len]` with
/// the predictions `bits[0..len]` (each 0 or 1; NULL means all 0) and writes the
/// number of faults (cold misses included) to `faults`. `work` as for kn_pager_init
/// (kn_pager_work_bytes(capacity)); it is scratch here.
///
/// Returns KN_ERR_NULL if `pages`, `faults` or `work` is NULL, KN_ERR_DIMENSION if
/// `capacity` is 0, KN_ERR_ARGUMENT for an unknown policy, a bit > 1 or `faults`
/// overlapping an input, KN_ERR_WORKSPACE if `work_bytes` is too small. `faults` is
/// untouched on error.
///
/// # Safety
/// Each pointer must be NULL or valid for its stated length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_paging_simulate(
    policy: i32,
    capacity: usize,
    seed: u64,
    pages: *const u64,
    bits: *const u8,
    len: usize,
    faults: *mut u64,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    // SAFETY: the caller's contract, as this function's.
    unsafe {
        simulate_checked(
            policy, capacity, seed, pages, bits, None, len, faults, work, work_bytes,
        )
    }
}

/// As kn_paging_simulate, with one context per request, `ctx[0..len]`, for
/// KN_PAGING_LEARNED (see kn_pager_access_ctx; the other policies ignore it). `bits`
/// may be NULL (all 0); `ctx` may not, as `pages` may not.
///
/// Returns KN_ERR_NULL if `pages`, `ctx`, `faults` or `work` is NULL, KN_ERR_ARGUMENT
/// also if `ctx` overlaps `faults` or `work`, and otherwise as kn_paging_simulate.
/// `faults` is untouched on error.
///
/// # Safety
/// Each pointer must be NULL or valid for its stated length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_paging_simulate_ctx(
    policy: i32,
    capacity: usize,
    seed: u64,
    pages: *const u64,
    bits: *const u8,
    ctx: *const u64,
    len: usize,
    faults: *mut u64,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    // SAFETY: the caller's contract, as this function's.
    unsafe {
        simulate_checked(
            policy,
            capacity,
            seed,
            pages,
            bits,
            Some(ctx),
            len,
            faults,
            work,
            work_bytes,
        )
    }
}

/// The body of kn_paging_simulate and kn_paging_simulate_ctx: `ctx` is `None` for
/// the first, and the caller's pointer (NULL refused) for the second.
///
/// # Safety
/// As kn_paging_simulate_ctx.
#[allow(clippy::too_many_arguments)]
unsafe fn simulate_checked(
    policy: i32,
    capacity: usize,
    seed: u64,
    pages: *const u64,
    bits: *const u8,
    ctx: Option<*const u64>,
    len: usize,
    faults: *mut u64,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes arrays of `len` values (bits may be NULL).
        let pages = unsafe { input(pages, len) }?;
        // SAFETY: as above.
        let bits = unsafe { input_opt(bits, len) }?;
        // SAFETY: as above (a NULL ctx given is refused).
        let ctx = ctx.map(|c| unsafe { input(c, len) }).transpose()?;
        // SAFETY: the caller passes NULL or one writable u64.
        let out = unsafe { output(faults, 1) }?;
        if work.is_null() {
            return Err(Error::Null);
        }
        // SAFETY: the caller passes work_bytes valid bytes at work.
        let work = unsafe { workspace(work, work_bytes) }?;
        let bits_span = bits.map_or((0, 0), span);
        let ctx_span = ctx.map_or((0, 0), span);
        disjoint(
            &[span(out), span(work)],
            &[span(pages), bits_span, ctx_span],
        )?;
        let policy = to_policy(policy)?;
        out[0] = simulate_ctx(policy, capacity, seed, pages, bits, ctx, work)?;
        Ok(Done::Ok)
    })
}

/// Bytes of workspace kn_paging_offline needs for a trace of `len` requests (about 56
/// bytes per request).
///
/// Returns KN_ERR_NULL if `bytes` is NULL, KN_ERR_DIMENSION if `capacity` is 0 or the
/// size overflows.
///
/// # Safety
/// `bytes` must be NULL or valid for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_paging_offline_work_bytes(
    capacity: usize,
    len: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes NULL or a writable size_t.
        let out = unsafe { out_value(bytes) }?;
        *out = offline_work_size(capacity, len)?.bytes();
        Ok(Done::Ok)
    })
}

/// The offline optimum of the trace `pages[0..len]` with `capacity` pages: Belady's
/// fault count (evict the page requested again furthest in the future; among pages
/// never requested again, the least recently requested) into `opt_faults`, in
/// O(len log capacity), and the perfect predictions, one per request:
/// `discard_bits[t]` = 1 if that optimum evicts `pages[t]` before its next request or
/// it is never requested again; `phase_bits[t]` = 1 if `pages[t]` is requested in the
/// marking phase after the one holding request t (phases: the trace cut greedily into
/// maximal runs of at most `capacity` distinct pages). Either bit array may be NULL.
///
/// Returns KN_ERR_NULL if `pages`, `opt_faults` or `work` is NULL, KN_ERR_DIMENSION if
/// `capacity` is 0, KN_ERR_ARGUMENT if outputs overlap each other or an input,
/// KN_ERR_WORKSPACE if `work_bytes` < kn_paging_offline_work_bytes. Outputs are
/// untouched on error.
///
/// # Safety
/// Each pointer must be NULL or valid for its stated length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_paging_offline(
    capacity: usize,
    pages: *const u64,
    len: usize,
    opt_faults: *mut u64,
    discard_bits: *mut u8,
    phase_bits: *mut u8,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes arrays of `len` values (the bit arrays may be NULL).
        let pages = unsafe { input(pages, len) }?;
        // SAFETY: as above.
        let out = unsafe { output(opt_faults, 1) }?;
        // SAFETY: as above.
        let discard = unsafe { output_opt(discard_bits, len) }?;
        // SAFETY: as above.
        let phase = unsafe { output_opt(phase_bits, len) }?;
        if work.is_null() {
            return Err(Error::Null);
        }
        // SAFETY: the caller passes work_bytes valid bytes at work.
        let work = unsafe { workspace(work, work_bytes) }?;
        let spans = [
            span(out),
            discard.as_deref().map_or((0, 0), span),
            phase.as_deref().map_or((0, 0), span),
            span(work),
        ];
        disjoint(&spans, &[span(pages)])?;
        out[0] = offline(capacity, pages, discard, phase, work)?;
        Ok(Done::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::*;
    use core::ptr::{null, null_mut};

    fn pager_work(capacity: usize) -> Vec<u8> {
        let mut bytes = 0;
        // SAFETY: a valid out pointer.
        assert_eq!(unsafe { kn_pager_work_bytes(capacity, &mut bytes) }, KN_OK);
        vec![0; bytes]
    }

    #[test]
    fn a_pager_serves_requests_and_refuses_bad_ones() {
        let mut work = pager_work(2);
        let mut p = kn_pager {
            opaque: [7; KN_PAGER_WORDS],
        };
        let w = work.as_mut_ptr().cast();
        let n = work.len();
        // SAFETY: every pointer is valid or NULL as each case intends.
        unsafe {
            assert_eq!(kn_pager_init(null_mut(), 0, 2, 0, w, n), KN_ERR_NULL);
            assert_eq!(kn_pager_init(&mut p, 0, 2, 0, null_mut(), n), KN_ERR_NULL);
            assert_eq!(kn_pager_init(&mut p, 7, 2, 0, w, n), KN_ERR_ARGUMENT);
            assert_eq!(kn_pager_init(&mut p, 0, 0, 0, w, n), KN_ERR_DIMENSION);
            assert_eq!(kn_pager_init(&mut p, 0, 2, 0, w, n - 1), KN_ERR_WORKSPACE);
            assert_eq!(p.opaque, [7; KN_PAGER_WORDS]);
            let mut r = kn_access::default();
            assert_eq!(kn_pager_access(&mut p, 1, 0, &mut r), KN_ERR_ARGUMENT);
            assert_eq!(kn_pager_init(&mut p, KN_PAGING_LRU, 2, 0, w, n), KN_OK);
            for page in [u64::MAX, 0] {
                assert_eq!(kn_pager_access(&mut p, page, 0, &mut r), KN_OK);
                assert_eq!(r, kn_access::default());
            }
            assert_eq!(kn_pager_access(&mut p, u64::MAX, 1, &mut r), KN_OK);
            assert_eq!(r.hit, 1);
            assert_eq!(kn_pager_access(&mut p, 5, 0, null_mut()), KN_OK);
            assert_eq!(kn_pager_access(&mut p, 0, 0, &mut r), KN_OK);
            assert_eq!((r.hit, r.evicted, r.evicted_page), (0, 1, u64::MAX));
            let before = (p, r);
            assert_eq!(kn_pager_access(&mut p, 9, 2, &mut r), KN_ERR_ARGUMENT);
            assert_eq!(kn_pager_access(null_mut(), 9, 0, &mut r), KN_ERR_NULL);
            for i in 0..KN_PAGER_WORDS {
                let mut bad = p;
                bad.opaque[i] ^= 1 << 3;
                assert_eq!(kn_pager_access(&mut bad, 9, 0, &mut r), KN_ERR_ARGUMENT);
            }
            assert_eq!(before, (p, r));
        }
    }

    #[test]
    fn whole_trace_calls_and_their_errors() {
        let pages = [1u64, 2, 3, 1, 2, 4, 1, 2, 3, 4];
        let mut work = pager_work(3);
        let (w, n) = (work.as_mut_ptr().cast(), work.len());
        let mut faults = 99u64;
        // SAFETY: valid pointers or NULL as each case intends.
        unsafe {
            let sim = |policy, bits: *const u8, faults: *mut u64, n| {
                kn_paging_simulate(
                    policy,
                    3,
                    1,
                    pages.as_ptr(),
                    bits,
                    pages.len(),
                    faults,
                    w,
                    n,
                )
            };
            assert_eq!(sim(KN_PAGING_LRU, null(), &mut faults, n), KN_OK);
            assert_eq!(faults, 6);
            let bad_bits = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 3];
            faults = 99;
            assert_eq!(
                sim(KN_PAGING_DISCARD, bad_bits.as_ptr(), &mut faults, n),
                KN_ERR_ARGUMENT
            );
            assert_eq!(sim(7, null(), &mut faults, n), KN_ERR_ARGUMENT);
            assert_eq!(sim(KN_PAGING_LRU, null(), null_mut(), n), KN_ERR_NULL);
            assert_eq!(
                sim(KN_PAGING_LRU, null(), &mut faults, n - 1),
                KN_ERR_WORKSPACE
            );
            assert_eq!(faults, 99);

            let mut bytes = 0;
            assert_eq!(
                kn_paging_offline_work_bytes(3, pages.len(), &mut bytes),
                KN_OK
            );
            assert_eq!(
                kn_paging_offline_work_bytes(0, 1, &mut bytes),
                KN_ERR_DIMENSION
            );
            let mut ow = vec![0u8; bytes];
            let (mut d, mut ph) = ([9u8; 10], [9u8; 10]);
            let mut off = |cap, d: *mut u8, ph: *mut u8, out: *mut u64, b| {
                kn_paging_offline(
                    cap,
                    pages.as_ptr(),
                    pages.len(),
                    out,
                    d,
                    ph,
                    ow.as_mut_ptr().cast(),
                    b,
                )
            };
            let mut opt = 99u64;
            assert_eq!(
                off(3, d.as_mut_ptr(), ph.as_mut_ptr(), &mut opt, bytes - 1),
                KN_ERR_WORKSPACE
            );
            assert_eq!(
                off(0, d.as_mut_ptr(), ph.as_mut_ptr(), &mut opt, bytes),
                KN_ERR_DIMENSION
            );
            assert_eq!(
                off(3, d.as_mut_ptr(), d.as_mut_ptr(), &mut opt, bytes),
                KN_ERR_ARGUMENT
            );
            assert_eq!(
                off(3, d.as_mut_ptr(), ph.as_mut_ptr(), null_mut(), bytes),
                KN_ERR_NULL
            );
            assert_eq!((opt, d, ph), (99, [9; 10], [9; 10]));
            assert_eq!(
                off(3, d.as_mut_ptr(), ph.as_mut_ptr(), &mut opt, bytes),
                KN_OK
            );
            assert_eq!(opt, 5);
            // Perfect discard bits make DISCARD optimal.
            assert_eq!(sim(KN_PAGING_DISCARD, d.as_ptr(), &mut faults, n), KN_OK);
            assert_eq!(faults, opt);
        }
    }

    #[test]
    fn context_entry_points_and_their_errors() {
        let pages = [1u64, 2, 3, 1, 2, 4, 1, 2, 3, 4, 5, 1];
        let ctx = [9u64, 8, 7, 9, 8, 6, 9, 8, 7, 6, 5, 9];
        let mut work = pager_work(3);
        let (w, n) = (work.as_mut_ptr().cast(), work.len());
        let mut faults = 99u64;
        // SAFETY: valid pointers or NULL as each case intends.
        unsafe {
            let sim = |policy, cap, ctx: *const u64, faults: *mut u64, n| {
                kn_paging_simulate_ctx(
                    policy,
                    cap,
                    1,
                    pages.as_ptr(),
                    null(),
                    ctx,
                    pages.len(),
                    faults,
                    w,
                    n,
                )
            };
            assert_eq!(
                sim(KN_PAGING_LEARNED, 3, null(), &mut faults, n),
                KN_ERR_NULL
            );
            assert_eq!(sim(7, 3, ctx.as_ptr(), &mut faults, n), KN_ERR_ARGUMENT);
            assert_eq!(sim(-1, 3, ctx.as_ptr(), &mut faults, n), KN_ERR_ARGUMENT);
            assert_eq!(
                sim(KN_PAGING_LEARNED, 0, ctx.as_ptr(), &mut faults, n),
                KN_ERR_DIMENSION
            );
            assert_eq!(
                sim(KN_PAGING_LEARNED, 3, ctx.as_ptr(), &mut faults, n - 1),
                KN_ERR_WORKSPACE
            );
            assert_eq!(faults, 99);
            assert_eq!(
                sim(KN_PAGING_LEARNED, 3, ctx.as_ptr(), &mut faults, n),
                KN_OK
            );
            let whole = faults;

            let mut p = kn_pager {
                opaque: [0; KN_PAGER_WORDS],
            };
            let mut pw = pager_work(3);
            let (pw, pn) = (pw.as_mut_ptr().cast(), pw.len());
            assert_eq!(
                kn_pager_init(&mut p, KN_PAGING_LEARNED, 3, 1, pw, pn),
                KN_OK
            );
            let mut count = 0;
            for (&page, &c) in pages.iter().zip(&ctx) {
                let mut r = kn_access::default();
                assert_eq!(kn_pager_access_ctx(&mut p, page, c, &mut r), KN_OK);
                count += u64::from(r.hit == 0);
            }
            assert_eq!(count, whole);
            let mut r = kn_access {
                hit: 5,
                evicted: 5,
                evicted_page: 5,
            };
            assert_eq!(kn_pager_access_ctx(null_mut(), 1, 1, &mut r), KN_ERR_NULL);
            for i in 0..KN_PAGER_WORDS {
                let mut bad = p;
                bad.opaque[i] ^= 1 << 5;
                assert_eq!(kn_pager_access_ctx(&mut bad, 1, 1, &mut r), KN_ERR_ARGUMENT);
            }
            assert_eq!((r.hit, r.evicted, r.evicted_page), (5, 5, 5));
        }
    }
}
