//! Every core of the machine (`std` builds): [`Threads`], the executor that runs an
//! algorithm's tiles on a shared pool of worker threads.
//!
//! The pool is rayon's (work-stealing, well kept, and safe under the two situations a
//! library pool must survive: many caller threads at once, which queue their tiles
//! on the same fixed set of workers instead of multiplying threads, and a call made
//! from inside a worker, which [`Threads`] runs on that worker sequentially).
//!
//! Results do not depend on the number of threads: the algorithms cut their work into
//! tiles fixed by the problem size and combine them in tile order (see
//! [`Exec`]); a thread count only decides how many tiles run at
//! once.
//!
//! The count: [`set_num_threads`], else the environment variable `KN_NUM_THREADS`
//! (read once, at first use; an invalid value is reported on stderr once and ignored),
//! else every core the operating system gives the process.

extern crate std;

use kernels_core::{Error, Exec, Result, Sequential};
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::vec::Vec;

/// The most threads [`set_num_threads`] accepts.
pub const MAX_THREADS: usize = 4096;

/// The default of [`min_parallel_ops`]: below this many operations (see
/// [`Exec::for_each`]) a call runs on the calling thread. Waking the workers and handing them tiles cost 20-30 us on the virtual
/// machine this was measured on (an H2O decode step of 0.5M operations, 35 us on one
/// thread, took 60 us on two), so a call needs a few hundred microseconds of
/// arithmetic to gain: about 4M operations.
pub const MIN_PARALLEL_OPS: usize = 1 << 22;

/// The size threshold in force (see [`set_min_parallel_ops`]).
static MIN_OPS: AtomicUsize = AtomicUsize::new(MIN_PARALLEL_OPS);

/// Sets the number of operations below which a call runs on the calling thread
/// ([`MIN_PARALLEL_OPS`] by default): for tuning on a given machine, and for tests,
/// which set 0 to run every call on the pool. Results do not depend on it.
pub fn set_min_parallel_ops(ops: usize) {
    MIN_OPS.store(ops, Ordering::Relaxed);
}

/// The number of operations below which a call runs on the calling thread.
pub fn min_parallel_ops() -> usize {
    MIN_OPS.load(Ordering::Relaxed)
}

/// The pool every call shares, and its thread count (`None`: one thread, no pool).
struct Pool {
    threads: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
}

/// `None` until the first use or [`set_num_threads`].
static POOL: RwLock<Option<Pool>> = RwLock::new(None);

/// The executor on the shared pool. Holding one costs nothing; each call uses the
/// pool in force when it starts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Threads;

/// Sets the number of threads every later call may use: `0` means every available
/// core, `1` runs every call on the calling thread. Calls already running finish on
/// the pool they started with.
///
/// [`Error::Argument`] for more than [`MAX_THREADS`] (nothing changes);
/// [`Error::Internal`] if the operating system refuses to start the threads (nothing
/// changes).
pub fn set_num_threads(n: usize) -> Result<()> {
    if n > MAX_THREADS {
        return Err(Error::Argument);
    }
    let pool = make_pool(if n == 0 { available() } else { n })?;
    *POOL.write().unwrap_or_else(|e| e.into_inner()) = Some(pool);
    Ok(())
}

/// The number of threads calls use now (at least 1).
pub fn num_threads() -> usize {
    current().0
}

fn available() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn make_pool(threads: usize) -> Result<Pool> {
    let pool = if threads > 1 {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| std::format!("kernels-{i}"))
            .build()
            .map_err(|_| Error::Internal)?;
        Some(Arc::new(pool))
    } else {
        None
    };
    Ok(Pool { threads, pool })
}

/// The thread count from `KN_NUM_THREADS`, or every core (also, after a message on
/// stderr, for a value that is not a count in `0..=MAX_THREADS`). Called once.
fn from_env() -> usize {
    let Ok(value) = std::env::var("KN_NUM_THREADS") else {
        return available();
    };
    match value.trim().parse::<usize>() {
        Ok(0) => available(),
        Ok(n) if n <= MAX_THREADS => n,
        _ => {
            std::eprintln!(
                "kernels: ignoring KN_NUM_THREADS={value:?} (expected 0..={MAX_THREADS}); \
                 using every core"
            );
            available()
        }
    }
}

/// The thread count and pool in force, made from the environment at first use.
fn current() -> (usize, Option<Arc<rayon::ThreadPool>>) {
    if let Some(p) = POOL.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return (p.threads, p.pool.clone());
    }
    let mut slot = POOL.write().unwrap_or_else(|e| e.into_inner());
    if slot.is_none() {
        // A pool the system refuses to start leaves one thread (the calls still run).
        let pool = make_pool(from_env()).unwrap_or(Pool {
            threads: 1,
            pool: None,
        });
        *slot = Some(pool);
    }
    slot.as_ref()
        .map_or((1, None), |p| (p.threads, p.pool.clone()))
}

impl Exec for Threads {
    fn for_each<I>(
        &self,
        ops: usize,
        tiles: I,
        f: impl Fn(usize, I::Item) -> Result<()> + Sync,
    ) -> Result<()>
    where
        I: Iterator + Send,
        I::Item: Send,
    {
        let (_, pool) = current();
        let pool = match pool {
            // Inside one of our own workers: this call is one tile of an outer one.
            Some(pool) if ops >= min_parallel_ops() && pool.current_thread_index().is_none() => {
                pool
            }
            _ => return Sequential.for_each(ops, tiles, f),
        };
        let tiles: Vec<(usize, I::Item)> = tiles.enumerate().collect();
        if tiles.len() < 2 {
            return tiles.into_iter().try_for_each(|(i, t)| f(i, t));
        }
        let first_error = pool.install(|| {
            tiles
                .into_par_iter()
                .with_max_len(1)
                .filter_map(|(i, t)| f(i, t).err().map(|e| (i, e)))
                .min_by_key(|&(i, _)| i)
        });
        first_error.map_or(Ok(()), |(_, e)| Err(e))
    }

    fn width(&self) -> usize {
        num_threads()
    }
}
