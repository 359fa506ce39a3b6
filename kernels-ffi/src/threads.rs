//! The thread count: `kn_set_num_threads`, `kn_num_threads`.

use crate::guard::{Done, status};
use crate::status::kn_status;

/// Sets how many threads later calls may use: 0 = every available core, 1 = every
/// call runs on the calling thread. Without it, the count comes from the environment
/// variable `KN_NUM_THREADS` (read once, at first use; an invalid value is reported
/// on stderr once and ignored), else every available core.
///
/// Results do not depend on the count: every kernel cuts its work into tiles fixed by
/// the problem size and combines them in tile order, so 1, 2 or 64 threads give the
/// same bits. Calls too small to gain from threads run on the calling thread. The pool
/// is shared by all callers: calling from many threads at once queues work on it
/// (no oversubscription), and a kernel called from inside one of its workers runs
/// sequentially. Calls already running finish on the pool they started with.
/// Workspace queries of kernels with per-head scratch (`kn_linattn_work_bytes`,
/// `kn_h2o_prefill_work_bytes`) give the minimum, one head at a time; a workspace of
/// `t` times that lets `t` heads run at once (`kn_linattn_threads_work_bytes` also
/// covers the chunks of one head at once, for fewer heads than threads).
///
/// MPI programs that run one rank per core should set 1 (or `KN_NUM_THREADS=1`).
///
/// Statuses: `KN_OK`; `KN_ERR_ARGUMENT` (`n` above 4096; nothing changes);
/// `KN_ERR_UNSUPPORTED` (a build without threads, such as firmware);
/// `KN_ERR_INTERNAL` (the system refused to start the threads; nothing changes).
#[unsafe(no_mangle)]
pub extern "C" fn kn_set_num_threads(n: usize) -> kn_status {
    status(|| {
        #[cfg(feature = "std")]
        kernels_simd::threads::set_num_threads(n)?;
        #[cfg(not(feature = "std"))]
        {
            let _ = n;
            return Err(kernels_core::Error::Unsupported);
        }
        #[allow(unreachable_code, reason = "the no-threads build returned above")]
        Ok(Done::Ok)
    })
}

/// The number of threads calls use now (1 in builds without threads).
#[unsafe(no_mangle)]
pub extern "C" fn kn_num_threads() -> usize {
    #[cfg(feature = "std")]
    return kernels_simd::threads::num_threads();
    #[cfg(not(feature = "std"))]
    1
}
