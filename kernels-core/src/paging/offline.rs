//! The offline optimum and the perfect predictions of a trace.
//!
//! Belady's rule (on a fault with a full cache, evict the cached page whose next
//! request is furthest away) minimises faults. It runs in O(len log k): next and
//! previous occurrences come from one backward pass with a hash table, and the cache
//! is a max-heap of request indices keyed by their next use. On a hit the cached
//! entry of the page is the one whose next use is now, so it is renamed to the new
//! request in place (its key only grows: one sift up).
//!
//! Ties: next uses of different requests are different times, so the only ties are
//! among pages never requested again; of those the least recently requested one is
//! evicted first. The ties change neither the fault count nor any discard bit (such a
//! page's bit is 1 whenever it goes).

use super::table::{Table, table_bits, table_size};
use crate::{Error, Result, Workspace, WorkspaceSize};

/// "No request" in the index arrays.
const NONE: u64 = u64::MAX;

/// Workspace of [`offline`] for a trace of `len` requests (capacity >= 1).
pub fn offline_work_size(capacity: usize, len: usize) -> Result<WorkspaceSize> {
    if capacity == 0 {
        return Err(Error::Dimension);
    }
    // Same arrays, same order as `offline`.
    table_size(WorkspaceSize::new(), table_bits(len, 2)?)?
        .array::<u64>(len)? // next occurrence
        .array::<u64>(len)? // previous occurrence
        .array::<u64>(len)? // heap position of a request; later its phase
        .array::<u64>(capacity.min(len)) // the heap
}

/// Belady's fault count for `pages` with `capacity` slots, and optionally the perfect
/// predictions, one per request:
/// - `discard[t]` = 1 if the optimum evicts page `pages[t]` before its next request,
///   or it is never requested again; else 0;
/// - `phase[t]` = 1 if `pages[t]` is requested in the marking phase after the one
///   holding request `t` (phases: the trace cut greedily into maximal runs of at most
///   `capacity` distinct pages); else 0.
///
/// Errors: [`Error::Dimension`] for capacity 0 or a bit array whose length is not the
/// trace's, [`Error::Workspace`] for too small a workspace. Nothing is written then.
///
/// ```
/// use kernels_core::paging::{offline, offline_work_size};
///
/// let pages = [1u64, 2, 3, 1, 2, 3];
/// let (mut discard, mut phase) = ([0u8; 6], [0u8; 6]);
/// let mut work = vec![0u8; offline_work_size(2, pages.len())?.bytes()];
/// // 3 cold misses, then one more fault per two requests of the loop.
/// assert_eq!(offline(2, &pages, Some(&mut discard), Some(&mut phase), &mut work)?, 4);
/// // The last requests are never followed by another: safe to evict.
/// assert_eq!(&discard[3..], &[1, 1, 1]);
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn offline(
    capacity: usize,
    pages: &[u64],
    mut discard: Option<&mut [u8]>,
    phase: Option<&mut [u8]>,
    work: &mut [u8],
) -> Result<u64> {
    let len = pages.len();
    let need = offline_work_size(capacity, len)?.bytes();
    let lengths_ok = discard.as_ref().is_none_or(|d| d.len() == len)
        && phase.as_ref().is_none_or(|p| p.len() == len);
    if !lengths_ok {
        return Err(Error::Dimension);
    }
    if work.len() < need {
        return Err(Error::Workspace);
    }
    let mut ws = Workspace::new(work);
    let mut last = Table::carve(&mut ws, table_bits(len, 2)?)?;
    let next = ws.take::<u64>(len)?;
    let prev = ws.take::<u64>(len)?;
    let pos = ws.take::<u64>(len)?;
    let heap = ws.take::<u64>(capacity.min(len))?;

    last.clear();
    for t in (0..len).rev() {
        let page = pages[t];
        prev[t] = NONE;
        next[t] = match last.lookup(page)? {
            Ok(n) => {
                prev[n as usize] = t as u64;
                last.insert(page, t as u64)?;
                n
            }
            Err(i) => {
                last.put_at(i, page, t as u64)?;
                NONE
            }
        };
    }

    if let Some(d) = discard.as_deref_mut() {
        d.fill(1);
    }
    let faults = belady(capacity, next, prev, pos, heap, discard)?;
    if let Some(p) = phase {
        phase_bits(capacity, next, prev, pos, p);
    }
    Ok(faults)
}

/// Runs Belady's rule; clears `discard[s]` for every request whose page stays cached
/// until its next request.
fn belady(
    capacity: usize,
    next: &[u64],
    prev: &[u64],
    pos: &mut [u64],
    heap: &mut [u64],
    mut discard: Option<&mut [u8]>,
) -> Result<u64> {
    let len = next.len() as u64;
    // Unique keys: the next use, or for pages never requested again a value above
    // every next use that is largest for the least recent request.
    let key = |s: u64| match next[s as usize] {
        NONE => 2 * len - 1 - s,
        n => n,
    };
    pos.fill(NONE);
    let mut size = 0usize;
    let mut faults = 0u64;
    for t in 0..len {
        let cached = match prev[t as usize] {
            NONE => None,
            s => Some(s).filter(|&s| pos[s as usize] != NONE),
        };
        if let Some(s) = cached {
            let i = pos[s as usize] as usize;
            pos[s as usize] = NONE;
            if let Some(d) = discard.as_deref_mut() {
                d[s as usize] = 0;
            }
            heap[i] = t;
            pos[t as usize] = i as u64;
            sift_up(heap, pos, i, &key);
            continue;
        }
        faults += 1;
        if size == capacity {
            // Evict the root (furthest next use) by putting the new request there.
            pos[heap[0] as usize] = NONE;
            heap[0] = t;
            pos[t as usize] = 0;
            sift_down(heap, pos, 0, size, &key);
        } else {
            heap[size] = t;
            pos[t as usize] = size as u64;
            size += 1;
            sift_up(heap, pos, size - 1, &key);
        }
    }
    Ok(faults)
}

fn swap(heap: &mut [u64], pos: &mut [u64], i: usize, j: usize) {
    heap.swap(i, j);
    pos[heap[i] as usize] = i as u64;
    pos[heap[j] as usize] = j as u64;
}

fn sift_up(heap: &mut [u64], pos: &mut [u64], mut i: usize, key: &impl Fn(u64) -> u64) {
    while i > 0 {
        let parent = (i - 1) / 2;
        if key(heap[parent]) >= key(heap[i]) {
            break;
        }
        swap(heap, pos, i, parent);
        i = parent;
    }
}

fn sift_down(
    heap: &mut [u64],
    pos: &mut [u64],
    mut i: usize,
    size: usize,
    key: &impl Fn(u64) -> u64,
) {
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut top = i;
        if l < size && key(heap[l]) > key(heap[top]) {
            top = l;
        }
        if r < size && key(heap[r]) > key(heap[top]) {
            top = r;
        }
        if top == i {
            break;
        }
        swap(heap, pos, i, top);
        i = top;
    }
}

/// Writes the phase bits; `phase_of` is scratch for each request's phase number.
fn phase_bits(capacity: usize, next: &[u64], prev: &[u64], phase_of: &mut [u64], out: &mut [u8]) {
    let len = next.len();
    let (mut phase, mut start, mut distinct) = (0u64, 0u64, 0usize);
    for t in 0..len {
        // A page is new to the phase unless its previous request lies inside it.
        let seen = prev[t] != NONE && prev[t] >= start;
        if !seen {
            distinct += 1;
            if distinct > capacity {
                phase += 1;
                start = t as u64;
                distinct = 1;
            }
        }
        phase_of[t] = phase;
    }
    // All requests of a page within one phase share the answer, so it is carried back
    // from the page's next request when that is in the same phase.
    for t in (0..len).rev() {
        out[t] = match next[t] {
            NONE => 0,
            n if phase_of[n as usize] == phase_of[t] => out[n as usize],
            n => u8::from(phase_of[n as usize] == phase_of[t] + 1),
        };
    }
}
