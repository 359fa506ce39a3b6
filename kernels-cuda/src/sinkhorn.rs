//! Matrix scaling on the device: kernel-mode Sinkhorn-Knopp ([`scale`]) and
//! log-domain Sinkhorn ([`sinkhorn`]), f32 and f64 (kernels in `src/cuda/sinkhorn.cu`).
//!
//! Same problem, options ([`SinkhornOpts`]), [`Report`] and errors as
//! [`kernels_core::sinkhorn::scale`] and [`kernels_core::sinkhorn::sinkhorn_log`]; the
//! matrix is `n x m`, row-major, in a device buffer of `n * m` values.
//!
//! # Validation
//! In the host solvers' order, before anything the caller owns is written: sizes,
//! workspace, options (on the host, with core's checks), then values. The vectors
//! (`a`, `b` and the in/out pair) are copied to the host and checked by core's own
//! functions (finiteness, signs, equal sums with a compensated sum: `O(n + m)`
//! bytes); the matrix is checked on the device by a read-only kernel whose verdict
//! (non-finite, negative, max |x|) comes back first. Kernel mode then checks for a zero
//! row or column sum ([`Error::Numerical`], nothing written).
//!
//! # The iteration
//! The host drives the loop: `kernels_core::sinkhorn::driver::iterate`, the host
//! solvers' own, over this module's [`HalfSteps`]. Each half-step is one pass over
//! the matrix (a row pass,
//! one block per row, or a column pass: coalesced column strips over row tiles
//! writing per-tile partials, folded by a second launch in a fixed order). A
//! half-step computes its update into the workspace with per-element error terms; a
//! small apply kernel copies it into the caller's vector unless a device flag says
//! some update was not finite (and positive, in kernel mode). The flag is sticky, so
//! the host synchronises only to check the error, every `check_every` iterations
//! and at the cap: it then reads back three numbers. When the flag is set it returns
//! [`Error::Numerical`] with the last finite iterate in the caller's vectors, as the
//! host solvers do. The iterate it stops at is exactly the one whose error it
//! reports, with the same iteration count as the host solvers.
//!
//! Kernel mode: per iteration `v = b / (K^T u)` (column pass) then `u = a / (K v)`
//! (row pass), two reads of `K`. Log domain: `f` from the row log-sum-exps
//! `LSE_j((g_j - C_ij) / eps)`, then `g` from the column ones, each with its maximum
//! shifted out (an online maximum: one pass and one exponential per entry), two reads
//! of `C`; then one pass for the plan (when asked) and `value = <P, C>`.
//!
//! # Results
//! Sums run in a fixed order that depends on `(n, m)` only ([`col_tiles`]), so a
//! result is bit-identical from run to run and across GPUs. It differs from the host
//! solvers' by rounding: the orders of summation differ, and the log-domain solver
//! uses the max-shifted form throughout where the host one shifts by the current
//! potentials. The error and the transport cost are summed in double and rounded to
//! `T`.

use crate::CudaReal;
use crate::borrowed::{DeviceRead, DeviceWrite};
use crate::context::Context;
use crate::nvrtc::BLOCK_SIZE;
use crate::sources::SINKHORN;
use cudarc::driver::{CudaView, CudaViewMut, DevicePtrMut, LaunchConfig, PushKernelArg};
use kernels_core::sinkhorn::driver::{HalfSteps, iterate};
use kernels_core::sinkhorn::{SinkhornOpts, check};
use kernels_core::{Error, Report, Result, WorkspaceSize, checked_product};

const BLOCK: usize = BLOCK_SIZE as usize;

/// The most blocks of the read-only matrix check (three verdict values each).
pub const CHECK_MAX_BLOCKS: usize = 1024;

/// Rows per tile of the column passes at least this many (so a tile's partials are
/// a small fraction of the bytes it reads) ...
pub const TILE_MIN_ROWS: usize = 32;
/// ... and at most this many tiles (enough blocks to fill a large GPU with a few
/// column strips).
pub const MAX_TILES: usize = 64;

/// Status words at the start of the workspace's status area.
const STATUS_FLAG: usize = 0;
const STATUS_ERROR: u32 = 1;
const STATUS_VALUE: u32 = 2;
const STATUS_LEN: usize = 4;

/// Elements of `T` per 16-byte vector load (4 for f32, 2 for f64).
fn vec_width<T>() -> usize {
    16 / size_of::<T>()
}

/// The number of row tiles of a column pass over `n` rows: a function of `n` alone,
/// which is what makes the column sums reproducible across GPUs. At least 1.
pub fn col_tiles(n: usize) -> usize {
    n.div_ceil(TILE_MIN_ROWS).clamp(1, MAX_TILES)
}

/// Rows per tile for [`col_tiles`]`(n)` tiles.
fn rows_per_tile(n: usize) -> usize {
    n.div_ceil(col_tiles(n)).max(1)
}

/// Blocks of the matrix check over `count` values: a function of `count` alone.
fn check_blocks(count: usize) -> usize {
    count.div_ceil(BLOCK).clamp(1, CHECK_MAX_BLOCKS)
}

/// Where each array lives in the workspace, in elements of `T`.
#[derive(Clone, Copy, Debug)]
struct Layout {
    cand_rows: usize,
    cand_cols: usize,
    terms_rows: usize,
    terms_cols: usize,
    status: usize,
    scratch: usize,
    len: usize,
}

impl Layout {
    /// `per_tile` partial arrays of `m` values per row tile in the scratch area.
    fn new(n: usize, m: usize, per_tile: usize) -> Result<Layout> {
        let nm = checked_product(&[n, m])?;
        if n == 0 || m == 0 {
            return Err(Error::Dimension);
        }
        let partials = checked_product(&[per_tile, col_tiles(n), m])?;
        let scratch_len = partials.max(3 * check_blocks(nm));
        let mut at = 0usize;
        let mut take = |len: usize| -> Result<usize> {
            let start = at;
            at = at.checked_add(len).ok_or(Error::Dimension)?;
            Ok(start)
        };
        Ok(Layout {
            cand_rows: take(n)?,
            cand_cols: take(m)?,
            terms_rows: take(n)?,
            terms_cols: take(m)?,
            status: take(STATUS_LEN)?,
            scratch: take(scratch_len)?,
            len: at,
        })
    }
}

/// The device workspace [`scale`] needs for an `n x m` matrix, an array of `T`
/// ([`WorkspaceSize::len_of`] gives its length). [`Error::Dimension`] if a size is
/// zero or the total overflows.
pub fn scale_work_size<T: CudaReal>(n: usize, m: usize) -> Result<WorkspaceSize> {
    check::matrix_size::<T>(n, m)?;
    WorkspaceSize::new().array::<T>(Layout::new(n, m, 1)?.len)
}

/// The device workspace [`sinkhorn`] needs for an `n x m` cost matrix, an array of
/// `T` ([`WorkspaceSize::len_of`] gives its length). [`Error::Dimension`] if a size is
/// zero or the total overflows.
pub fn sinkhorn_work_size<T: CudaReal>(n: usize, m: usize) -> Result<WorkspaceSize> {
    check::matrix_size::<T>(n, m)?;
    WorkspaceSize::new().array::<T>(Layout::new(n, m, 2)?.len)
}

fn kernel_name<T: CudaReal>(base: &str) -> String {
    format!("{base}_{}", T::NAME)
}

/// [`Error::Dimension`] unless the matrix is nonempty, holds `n * m` values, and every
/// vector has its side's length. Returns `n * m`.
fn dims(n: usize, m: usize, mat: usize, rows: &[usize], cols: &[usize]) -> Result<usize> {
    let nm = checked_product(&[n, m])?;
    let ok =
        n > 0 && m > 0 && mat == nm && rows.iter().all(|&r| r == n) && cols.iter().all(|&c| c == m);
    if ok { Ok(nm) } else { Err(Error::Dimension) }
}

fn u32_of(x: usize) -> Result<u32> {
    u32::try_from(x).map_err(|_| Error::Dimension)
}

/// One solve's device state: the context, the workspace's base address and layout.
///
/// Workspace arrays are passed to the kernels as raw device addresses (base +
/// offset): they are disjoint parts of one buffer the solve borrows exclusively, and
/// every launch goes to the same stream, so stream order is all the synchronisation
/// they need.
struct Run<'a, T> {
    ctx: &'a Context,
    work: CudaViewMut<'a, T>,
    base: u64,
    layout: Layout,
    n: usize,
    m: usize,
}

impl<'a, T: CudaReal> Run<'a, T> {
    fn new(
        ctx: &'a Context,
        mut work: CudaViewMut<'a, T>,
        layout: Layout,
        n: usize,
        m: usize,
    ) -> Self {
        let base = {
            let (ptr, _record) = work.device_ptr_mut(ctx.stream());
            ptr
        };
        Run {
            ctx,
            work,
            base,
            layout,
            n,
            m,
        }
    }

    /// The device address of workspace element `offset`.
    fn at(&self, offset: usize) -> u64 {
        // offset < layout.len <= work.len(), whose byte size fits (it was allocated).
        self.base + (offset * size_of::<T>()) as u64
    }

    fn function(&self, base: &str) -> Result<cudarc::driver::CudaFunction> {
        self.ctx.function(&SINKHORN, &kernel_name::<T>(base))
    }

    /// Grid of a grid-stride loop over `count` items of one thread each.
    fn elementwise(&self, count: usize) -> LaunchConfig {
        let cap = (self.ctx.multiprocessors() as usize)
            .saturating_mul(16)
            .max(1);
        let blocks = count.div_ceil(BLOCK).clamp(1, cap);
        Context::config(u32::try_from(blocks).unwrap_or(u32::MAX))
    }

    /// Grid of a row pass: one block per row, grid-stride beyond a few waves.
    fn per_row(&self) -> LaunchConfig {
        let cap = (self.ctx.multiprocessors() as usize)
            .saturating_mul(32)
            .max(1);
        Context::config(u32::try_from(self.n.clamp(1, cap)).unwrap_or(u32::MAX))
    }

    /// Grid of a column pass: (column strips, row tiles).
    fn per_tile(&self) -> Result<LaunchConfig> {
        let strips = self.m.div_ceil(BLOCK * vec_width::<T>());
        Ok(LaunchConfig {
            grid_dim: (u32_of(strips.max(1))?, u32_of(col_tiles(self.n))?, 1),
            block_dim: (BLOCK_SIZE, 1, 1),
            shared_mem_bytes: 0,
        })
    }

    /// Zeroes the status words (the sticky flag included).
    fn reset_status(&mut self) -> Result<()> {
        let f = self.function("sk_fill")?;
        let (count, zero, status) = (STATUS_LEN, T::zero(), self.at(self.layout.status));
        let mut l = self.ctx.stream().launch_builder(&f);
        l.arg(&count).arg(&zero).arg(&status);
        // SAFETY: sk_fill_T(index_t count, T value, T* x): x is the workspace's status
        // area of STATUS_LEN values (inside work, whose length >= layout.len).
        unsafe { l.launch(self.elementwise(count)) }
            .map_err(|e| self.ctx.driver_error("sk_fill launch", e))?;
        Ok(())
    }

    /// Copies workspace candidates at `cand` into `target` unless the flag is set.
    fn apply(&self, cand: usize, target: &mut CudaViewMut<'_, T>) -> Result<()> {
        let f = self.function("sk_apply")?;
        let count = target.len();
        let (cand, status) = (self.at(cand), self.at(self.layout.status));
        let mut l = self.ctx.stream().launch_builder(&f);
        l.arg(&count).arg(&cand).arg(target).arg(&status);
        // SAFETY: sk_apply_T(index_t count, const T* cand, T* target, const T* status):
        // cand is the workspace's candidate area for target's side (n or m values,
        // = target.len(), checked by the caller's dims), status its status words.
        unsafe { l.launch(self.elementwise(count)) }
            .map_err(|e| self.ctx.driver_error("sk_apply launch", e))?;
        Ok(())
    }

    /// `status[slot] = sum of workspace[a .. a + count_a) and [b .. b + count_b)`.
    fn reduce(&self, slot: u32, a: usize, count_a: usize, b: usize, count_b: usize) -> Result<()> {
        let f = self.function("sk_reduce")?;
        let (pa, pb, status) = (self.at(a), self.at(b), self.at(self.layout.status));
        let mut l = self.ctx.stream().launch_builder(&f);
        l.arg(&count_a)
            .arg(&pa)
            .arg(&count_b)
            .arg(&pb)
            .arg(&status)
            .arg(&slot);
        // SAFETY: sk_reduce_T(index_t, const T*, index_t, const T*, T* status, unsigned
        // slot), one block: both ranges lie in the workspace (callers pass the terms
        // areas with their lengths), slot < STATUS_LEN.
        unsafe { l.launch(Context::config(1)) }
            .map_err(|e| self.ctx.driver_error("sk_reduce launch", e))?;
        Ok(())
    }

    /// Waits for the stream and reads `len` workspace values from `offset`.
    fn read(&self, offset: usize, len: usize) -> Result<Vec<T>> {
        let view = self
            .work
            .try_slice(offset..offset + len)
            .ok_or(Error::Internal)?;
        let host = self
            .ctx
            .stream()
            .clone_dtoh(&view)
            .map_err(|e| self.ctx.driver_error("status copy", e))?;
        self.ctx.synchronize()?;
        Ok(host)
    }

    /// The sticky flag and the status word `slot`.
    fn status(&self, slot: u32) -> Result<(bool, f64)> {
        let s = self.read(self.layout.status, STATUS_LEN)?;
        let flag = s.get(STATUS_FLAG).ok_or(Error::Internal)?.to_f64_lossless() != 0.0;
        let value = s
            .get(slot as usize)
            .ok_or(Error::Internal)?
            .to_f64_lossless();
        Ok((flag, value))
    }

    /// The read-only check of a matrix of `count` values: (any NaN or infinity, any
    /// negative entry, max |x| over the finite entries).
    fn check_matrix(&self, mat: &CudaView<'_, T>) -> Result<(bool, bool, T)> {
        let f = self.function("sk_check")?;
        let count = mat.len();
        let blocks = check_blocks(count);
        let out = self.at(self.layout.scratch);
        let mut l = self.ctx.stream().launch_builder(&f);
        l.arg(&count).arg(mat).arg(&out);
        // SAFETY: sk_check_T(index_t count, const T* x, T* out): x holds count values;
        // out is the scratch area, at least 3 * check_blocks(count) values (Layout),
        // and block b writes out[3b .. 3b + 3) only.
        unsafe { l.launch(Context::config(u32_of(blocks)?)) }
            .map_err(|e| self.ctx.driver_error("sk_check launch", e))?;
        let verdicts = self.read(self.layout.scratch, 3 * blocks)?;
        let (mut nonfinite, mut negative, mut max) = (false, false, T::zero());
        for v in verdicts.chunks_exact(3) {
            nonfinite |= v[0] != T::zero();
            negative |= v[1] != T::zero();
            max = max.max(v[2]);
        }
        Ok((nonfinite, negative, max))
    }

    /// The error check of the loop: sums both sides' terms on the device and reads
    /// the flag and the error back; a flagged non-finite update is
    /// [`Error::Numerical`].
    fn error(&self) -> Result<f64> {
        let l = self.layout;
        self.reduce(STATUS_ERROR, l.terms_rows, self.n, l.terms_cols, self.m)?;
        match self.status(STATUS_ERROR)? {
            (true, _) => Err(Error::Numerical),
            (false, error) => Ok(error),
        }
    }
}

/// Copies four device vectors to the host and waits for the copies (validation of
/// values: `O(n + m)` bytes).
fn fetch<T: CudaReal>(ctx: &Context, vs: [&CudaView<'_, T>; 4]) -> Result<[Vec<T>; 4]> {
    let copy = |v: &CudaView<'_, T>| {
        ctx.stream()
            .clone_dtoh(v)
            .map_err(|e| ctx.driver_error("vector copy for validation", e))
    };
    let out = [copy(vs[0])?, copy(vs[1])?, copy(vs[2])?, copy(vs[3])?];
    ctx.synchronize()?;
    Ok(out)
}

// ---------------------------------------------------------------------------------
// Kernel mode.
// ---------------------------------------------------------------------------------

struct ScaleSteps<'a, 'r, T> {
    run: Run<'r, T>,
    k: CudaView<'a, T>,
    a: CudaView<'a, T>,
    b: CudaView<'a, T>,
    u: CudaViewMut<'a, T>,
    v: CudaViewMut<'a, T>,
}

impl<T: CudaReal> ScaleSteps<'_, '_, T> {
    /// Row pass: candidates `a / (K v)` (or, with `init`, only the zero-row check).
    fn rows(&self, init: bool) -> Result<()> {
        let r = &self.run;
        let f = r.function("scale_rows")?;
        let (n, m, init) = (r.n, r.m, i32::from(init));
        let (cand, terms, status) = (
            r.at(r.layout.cand_rows),
            r.at(r.layout.terms_rows),
            r.at(r.layout.status),
        );
        let v = self.v.as_view();
        let mut l = r.ctx.stream().launch_builder(&f);
        l.arg(&n)
            .arg(&m)
            .arg(&self.k)
            .arg(&v)
            .arg(&self.a)
            .arg(&init)
            .arg(&cand)
            .arg(&terms)
            .arg(&status);
        // SAFETY: scale_rows_T(index_t n, index_t m, const T* K, const T* x, const T* w,
        // int init, T* cand, T* terms, T* status): K holds n*m values, x (v) m, w (a) n
        // (checked); cand and terms are workspace areas of n values, status its status
        // words. Row i touches K[i*m .. (i+1)*m), x[0..m), w[i], cand[i], terms[i].
        unsafe { l.launch(r.per_row()) }.map_err(|e| r.ctx.driver_error("scale_rows launch", e))?;
        Ok(())
    }

    /// Column pass: candidates `b / (K^T u)` with the error terms at the current v
    /// (or, with `init`, only the zero-column check).
    fn cols(&self, init: bool) -> Result<()> {
        let r = &self.run;
        let (n, m, init_i) = (r.n, r.m, i32::from(init));
        let rpt = rows_per_tile(n);
        let tiles = u32_of(col_tiles(n))?;
        let partials = r.at(r.layout.scratch);
        let partial = r.function("scale_cols_partial")?;
        let (u, v) = (self.u.as_view(), self.v.as_view());
        let mut l = r.ctx.stream().launch_builder(&partial);
        l.arg(&n)
            .arg(&m)
            .arg(&self.k)
            .arg(&u)
            .arg(&init_i)
            .arg(&rpt)
            .arg(&partials);
        // SAFETY: scale_cols_partial_T(index_t n, index_t m, const T* K, const T* u,
        // int init, index_t rows_per_tile, T* partials): K holds n*m values, u n;
        // block (s, t) reads rows [t*rpt, min(n, (t+1)*rpt)) and writes partials[t*m +
        // j] for its columns j < m; partials is the scratch area of tiles * m values.
        unsafe { l.launch(r.per_tile()?) }
            .map_err(|e| r.ctx.driver_error("scale_cols_partial launch", e))?;

        let finish = r.function("scale_cols_finish")?;
        let (cand, terms, status) = (
            r.at(r.layout.cand_cols),
            r.at(r.layout.terms_cols),
            r.at(r.layout.status),
        );
        let mut l = r.ctx.stream().launch_builder(&finish);
        l.arg(&m)
            .arg(&tiles)
            .arg(&partials)
            .arg(&self.b)
            .arg(&v)
            .arg(&init_i)
            .arg(&cand)
            .arg(&terms)
            .arg(&status);
        // SAFETY: scale_cols_finish_T(index_t m, unsigned tiles, const T* partials,
        // const T* w, const T* v, int init, T* cand, T* terms, T* status): partials
        // holds tiles * m values (written above, stream order); w (b) and v hold m;
        // cand and terms are workspace areas of m values.
        unsafe { l.launch(r.elementwise(m)) }
            .map_err(|e| r.ctx.driver_error("scale_cols_finish launch", e))?;
        Ok(())
    }
}

// The first half-step queues its error terms at every iteration; the loop reads
// them back only at checks.
impl<T: CudaReal> HalfSteps for ScaleSteps<'_, '_, T> {
    fn error(&mut self) -> Result<f64> {
        self.run.error()
    }
    fn first(&mut self, _check: bool) -> Result<()> {
        self.cols(false)
    }
    fn apply_first(&mut self) -> Result<()> {
        self.run.apply(self.run.layout.cand_cols, &mut self.v)
    }
    fn second(&mut self) -> Result<()> {
        self.rows(false)?;
        self.run.apply(self.run.layout.cand_rows, &mut self.u)
    }
}

/// Sinkhorn-Knopp scaling of the `n x m` matrix `k` on the device: positive `u` (n),
/// `v` (m) with `diag(u) K diag(v)` having row sums `a` and column sums `b`; the
/// semantics of [`kernels_core::sinkhorn::scale`] (cold start when `u` is all zero,
/// report, errors, what `u` and `v` hold after [`Error::Numerical`]).
///
/// `work` must hold at least [`scale_work_size`]`(n, m)` values
/// ([`Error::Workspace`]); buffers from another CUDA context are
/// [`Error::Argument`]. Synchronises the stream at validation and at every check.
#[allow(clippy::too_many_arguments)]
pub fn scale<T: CudaReal>(
    ctx: &Context,
    n: usize,
    m: usize,
    k: &impl DeviceRead<T>,
    a: &impl DeviceRead<T>,
    b: &impl DeviceRead<T>,
    opts: &SinkhornOpts,
    u: &mut impl DeviceWrite<T>,
    v: &mut impl DeviceWrite<T>,
    work: &mut impl DeviceWrite<T>,
) -> Result<Report> {
    let (k, a, b) = (k.view(), a.view(), b.view());
    let (u, v, work) = (u.view_mut(), v.view_mut(), work.view_mut());
    dims(n, m, k.len(), &[a.len(), u.len()], &[b.len(), v.len()])?;
    let layout = Layout::new(n, m, 1)?;
    if work.len() < layout.len {
        return Err(Error::Workspace);
    }
    opts.check(false)?;
    for s in [&k, &a, &b, &u.as_view(), &v.as_view(), &work.as_view()] {
        ctx.check_slice(s)?;
    }
    let [ha, hb, hu, hv] = fetch(ctx, [&a, &b, &u.as_view(), &v.as_view()])?;
    let mut steps = ScaleSteps {
        run: Run::new(ctx, work, layout, n, m),
        k,
        a,
        b,
        u,
        v,
    };
    let (k_nonfinite, k_negative, _) = steps.run.check_matrix(&steps.k)?;
    if k_nonfinite {
        return Err(Error::NonFinite);
    }
    check::finite(&[&ha, &hb, &hu, &hv])?;
    let negative = |x: &[T]| x.iter().any(|&e| e < T::zero());
    if k_negative || negative(&hu) || negative(&hv) {
        return Err(Error::Argument);
    }
    check::marginals(&ha, &hb)?;

    // A zero row or column sum can never be scaled to a positive one.
    steps.run.reset_status()?;
    steps.rows(true)?;
    steps.cols(true)?;
    if steps.run.status(STATUS_ERROR)?.0 {
        return Err(Error::Numerical);
    }
    steps.run.reset_status()?;
    if hu.iter().all(|&x| x == T::zero()) {
        fill(ctx, &mut steps.u, T::one())?;
    }
    iterate(&mut steps, opts, &mut |_| {})
}

/// `x <- value`, every element.
fn fill<T: CudaReal>(ctx: &Context, x: &mut CudaViewMut<'_, T>, value: T) -> Result<()> {
    let f = ctx.function(&SINKHORN, &kernel_name::<T>("sk_fill"))?;
    let count = x.len();
    let blocks = count.div_ceil(BLOCK).clamp(
        1,
        (ctx.multiprocessors() as usize).saturating_mul(16).max(1),
    );
    let mut l = ctx.stream().launch_builder(&f);
    l.arg(&count).arg(&value).arg(x);
    // SAFETY: sk_fill_T(index_t count, T value, T* x): x holds count values.
    unsafe { l.launch(Context::config(u32_of(blocks)?)) }
        .map_err(|e| ctx.driver_error("sk_fill launch", e))?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Log domain.
// ---------------------------------------------------------------------------------

struct LogSteps<'a, 'r, T> {
    run: Run<'r, T>,
    c: CudaView<'a, T>,
    a: CudaView<'a, T>,
    b: CudaView<'a, T>,
    f: CudaViewMut<'a, T>,
    g: CudaViewMut<'a, T>,
    eps: T,
    inv: T,
}

impl<T: CudaReal> LogSteps<'_, '_, T> {
    /// `P_ij = exp((f_i + g_j - C_ij) / eps)` into `plan` when given, and `<P, C>`.
    fn cost(&mut self, plan: Option<&mut CudaViewMut<'_, T>>) -> Result<f64> {
        let r = &self.run;
        let func = r.function("plan_rows")?;
        let (n, m, inv) = (r.n, r.m, self.inv);
        let costs = r.at(r.layout.terms_rows);
        let write = i32::from(plan.is_some());
        let (f, g) = (self.f.as_view(), self.g.as_view());
        let mut l = r.ctx.stream().launch_builder(&func);
        l.arg(&n)
            .arg(&m)
            .arg(&self.c)
            .arg(&f)
            .arg(&g)
            .arg(&inv)
            .arg(&write);
        match plan {
            Some(p) => l.arg(p),
            // Not dereferenced when write_plan is 0.
            None => l.arg(&costs),
        };
        l.arg(&costs);
        // SAFETY: plan_rows_T(index_t n, index_t m, const T* C, const T* f, const T* g,
        // T inv, int write_plan, T* plan, T* costs): C holds n*m values, f n, g m; plan
        // (when write_plan) holds n*m (checked); costs is a workspace area of n values.
        unsafe { l.launch(r.per_row()) }.map_err(|e| r.ctx.driver_error("plan_rows launch", e))?;
        r.reduce(STATUS_VALUE, r.layout.terms_rows, n, 0, 0)?;
        Ok(r.status(STATUS_VALUE)?.1)
    }
}

// The first half-step queues its error terms at every iteration; the loop reads
// them back only at checks.
impl<T: CudaReal> HalfSteps for LogSteps<'_, '_, T> {
    fn error(&mut self) -> Result<f64> {
        self.run.error()
    }

    fn first(&mut self, _check: bool) -> Result<()> {
        let r = &self.run;
        let func = r.function("lse_rows")?;
        let (n, m, eps, inv) = (r.n, r.m, self.eps, self.inv);
        let (cand, terms, status) = (
            r.at(r.layout.cand_rows),
            r.at(r.layout.terms_rows),
            r.at(r.layout.status),
        );
        let (f, g) = (self.f.as_view(), self.g.as_view());
        let mut l = r.ctx.stream().launch_builder(&func);
        l.arg(&n)
            .arg(&m)
            .arg(&self.c)
            .arg(&f)
            .arg(&g)
            .arg(&self.a)
            .arg(&eps)
            .arg(&inv)
            .arg(&cand)
            .arg(&terms)
            .arg(&status);
        // SAFETY: lse_rows_T(index_t n, index_t m, const T* C, const T* f, const T* g,
        // const T* a, T eps, T inv, T* cand, T* terms, T* status): C holds n*m values,
        // f and a n, g m (checked); cand and terms are workspace areas of n values.
        unsafe { l.launch(r.per_row()) }.map_err(|e| r.ctx.driver_error("lse_rows launch", e))?;
        Ok(())
    }

    fn apply_first(&mut self) -> Result<()> {
        self.run.apply(self.run.layout.cand_rows, &mut self.f)
    }

    fn second(&mut self) -> Result<()> {
        let r = &self.run;
        let (n, m, eps, inv) = (r.n, r.m, self.eps, self.inv);
        let rpt = rows_per_tile(n);
        let tiles_n = col_tiles(n);
        let tiles = u32_of(tiles_n)?;
        let pmax = r.at(r.layout.scratch);
        let psum = r.at(r.layout.scratch + tiles_n * m);
        let partial = r.function("lse_cols_partial")?;
        let f = self.f.as_view();
        let mut l = r.ctx.stream().launch_builder(&partial);
        l.arg(&n)
            .arg(&m)
            .arg(&self.c)
            .arg(&f)
            .arg(&inv)
            .arg(&rpt)
            .arg(&pmax)
            .arg(&psum);
        // SAFETY: lse_cols_partial_T(index_t n, index_t m, const T* C, const T* f, T
        // inv, index_t rows_per_tile, T* pmax, T* psum): C holds n*m values, f n; pmax
        // and psum are the two halves of the scratch area, tiles * m values each
        // (Layout with two arrays per tile); block (s, t) writes [t*m + j] for its j < m.
        unsafe { l.launch(r.per_tile()?) }
            .map_err(|e| r.ctx.driver_error("lse_cols_partial launch", e))?;

        let finish = r.function("lse_cols_finish")?;
        let (cand, terms, status) = (
            r.at(r.layout.cand_cols),
            r.at(r.layout.terms_cols),
            r.at(r.layout.status),
        );
        let mut l = r.ctx.stream().launch_builder(&finish);
        l.arg(&m)
            .arg(&tiles)
            .arg(&pmax)
            .arg(&psum)
            .arg(&self.b)
            .arg(&eps)
            .arg(&inv)
            .arg(&cand)
            .arg(&terms)
            .arg(&status);
        // SAFETY: lse_cols_finish_T(index_t m, unsigned tiles, const T* pmax, const T*
        // psum, const T* b, T eps, T inv, T* cand, T* terms, T* status): pmax and psum
        // hold tiles * m values (written above, stream order), b m; cand and terms are
        // workspace areas of m values.
        unsafe { l.launch(r.elementwise(m)) }
            .map_err(|e| r.ctx.driver_error("lse_cols_finish launch", e))?;
        self.run.apply(self.run.layout.cand_cols, &mut self.g)
    }
}

/// Log-domain Sinkhorn on the device for the `n x m` cost matrix `c`: the semantics
/// of [`kernels_core::sinkhorn::sinkhorn_log`] (potentials `f` (n), `g` (m) in/out,
/// zeros the cold start; `plan` (n*m) written when given; report with `value` =
/// `<P, C>`; errors, and what `f`, `g`, `plan` hold after [`Error::Numerical`]).
///
/// `work` must hold at least [`sinkhorn_work_size`]`(n, m)` values
/// ([`Error::Workspace`]); buffers from another CUDA context are
/// [`Error::Argument`]. Synchronises the stream at validation, at every check and at
/// the end.
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn<T: CudaReal>(
    ctx: &Context,
    n: usize,
    m: usize,
    c: &impl DeviceRead<T>,
    a: &impl DeviceRead<T>,
    b: &impl DeviceRead<T>,
    opts: &SinkhornOpts,
    f: &mut impl DeviceWrite<T>,
    g: &mut impl DeviceWrite<T>,
    plan: Option<&mut dyn DeviceWrite<T>>,
    work: &mut impl DeviceWrite<T>,
) -> Result<Report> {
    let (c, a, b) = (c.view(), a.view(), b.view());
    let (f, g, work) = (f.view_mut(), g.view_mut(), work.view_mut());
    let mut plan = plan.map(|p| p.view_mut());
    let nm = dims(n, m, c.len(), &[a.len(), f.len()], &[b.len(), g.len()])?;
    if plan.as_ref().is_some_and(|p| p.len() != nm) {
        return Err(Error::Dimension);
    }
    let layout = Layout::new(n, m, 2)?;
    if work.len() < layout.len {
        return Err(Error::Workspace);
    }
    opts.check(true)?;
    for s in [&c, &a, &b, &f.as_view(), &g.as_view(), &work.as_view()] {
        ctx.check_slice(s)?;
    }
    if let Some(p) = plan.as_ref() {
        ctx.check_slice(p)?;
    }
    let [ha, hb, hf, hg] = fetch(ctx, [&a, &b, &f.as_view(), &g.as_view()])?;
    let run = Run::new(ctx, work, layout, n, m);
    let (c_nonfinite, _, c_max) = run.check_matrix(&c)?;
    if c_nonfinite {
        return Err(Error::NonFinite);
    }
    check::finite(&[&ha, &hb, &hf, &hg])?;
    check::marginals(&ha, &hb)?;
    let eps = T::of(opts.reg);
    let inv = eps.recip();
    if !(eps > T::zero() && (c_max / eps).is_finite() && inv.is_finite()) {
        return Err(Error::Numerical);
    }

    let mut steps = LogSteps {
        run,
        c,
        a,
        b,
        f,
        g,
        eps,
        inv,
    };
    steps.run.reset_status()?;
    let mut report = iterate(&mut steps, opts, &mut |_| {})?;
    report.value = steps.cost(plan.as_mut())?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_depend_on_n_only_and_cover_every_row() {
        assert_eq!(col_tiles(1), 1);
        assert_eq!(col_tiles(TILE_MIN_ROWS), 1);
        assert_eq!(col_tiles(TILE_MIN_ROWS + 1), 2);
        assert_eq!(col_tiles(usize::MAX), MAX_TILES);
        // The rows of tile k are [k r, min((k + 1) r, n)), as the kernels' tile_rows
        // computes them: every row in exactly one tile, in order. A tile may be empty:
        // with the 64-tile cap, n = 2049..=2079 (64 tiles of 33 rows), 2113..=2142 and
        // similar ranges leave the last tile without rows. The column kernels handle
        // that (the row loop does not run; the tile's partials are the empty sum, 0,
        // or the empty log-sum-exp state, -inf and 0), so it is allowed, but only at
        // the end.
        let mut empty_seen = Vec::new();
        for n in (1..=5000).chain([16384, 1_000_003]) {
            let (t, r) = (col_tiles(n), rows_per_tile(n));
            let mut next = 0;
            let mut empties = 0;
            for k in 0..t {
                let first = k * r;
                let last = (first + r).min(n);
                if first >= n {
                    empties += 1;
                    continue;
                }
                assert_eq!(empties, 0, "n={n}: a nonempty tile after an empty one");
                assert_eq!(first, next, "n={n}: tile {k} does not follow on");
                next = last;
            }
            assert_eq!(next, n, "n={n}: {t} tiles of {r} rows miss rows");
            assert!(empties <= 1, "n={n}: {empties} empty tiles");
            if empties != 0 {
                empty_seen.push(n);
            }
        }
        for n in [2049, 2079, 2113, 2142] {
            assert!(
                empty_seen.contains(&n),
                "n={n}: expected an empty last tile"
            );
        }
        assert!(!empty_seen.contains(&2048) && !empty_seen.contains(&2080));
    }

    #[test]
    fn workspace_lengths() {
        // n + m candidates, n + m terms, status, then max(partials, check verdicts).
        let scale_work_len = |n, m| scale_work_size::<f64>(n, m).map(|s| s.len_of::<f64>());
        let sinkhorn_work_len = |n, m| sinkhorn_work_size::<f64>(n, m).map(|s| s.len_of::<f64>());
        let (n, m) = (16384, 16384);
        let base = 2 * (n + m) + STATUS_LEN;
        assert_eq!(scale_work_len(n, m).unwrap(), base + 64 * m);
        assert_eq!(sinkhorn_work_len(n, m).unwrap(), base + 2 * 64 * m);
        // Small matrices: the check's verdicts dominate the scratch.
        assert_eq!(scale_work_len(1, 1).unwrap(), 4 + STATUS_LEN + 3);
        assert_eq!(
            scale_work_len(1, 1 << 20).unwrap(),
            2 * (1 + (1 << 20)) + STATUS_LEN + (1 << 20)
        );
        assert_eq!(scale_work_len(0, 3).unwrap_err(), Error::Dimension);
        assert_eq!(sinkhorn_work_len(3, 0).unwrap_err(), Error::Dimension);
        assert_eq!(scale_work_len(usize::MAX, 2).unwrap_err(), Error::Dimension);
        assert_eq!(
            sinkhorn_work_len(1 << 40, 1 << 30).unwrap_err(),
            Error::Dimension
        );
        // n * m values fit a usize but not their bytes: no such matrix can exist.
        assert_eq!(
            scale_work_len(1 << 31, 1 << 31).unwrap_err(),
            Error::Dimension
        );
        assert_eq!(
            sinkhorn_work_len(1 << 31, 1 << 31).unwrap_err(),
            Error::Dimension
        );
    }

    #[test]
    fn dims_check() {
        assert_eq!(dims(2, 3, 6, &[2, 2], &[3, 3]).unwrap(), 6);
        assert_eq!(dims(2, 3, 5, &[2], &[3]).unwrap_err(), Error::Dimension);
        assert_eq!(dims(2, 3, 6, &[3], &[3]).unwrap_err(), Error::Dimension);
        assert_eq!(dims(0, 3, 0, &[0], &[3]).unwrap_err(), Error::Dimension);
        assert_eq!(
            dims(usize::MAX, 3, 0, &[], &[]).unwrap_err(),
            Error::Dimension
        );
    }

    #[test]
    fn kernel_names_exist_in_the_source() {
        for base in [
            "sk_check",
            "sk_apply",
            "sk_fill",
            "sk_reduce",
            "scale_rows",
            "scale_cols_partial",
            "scale_cols_finish",
            "lse_rows",
            "lse_cols_partial",
            "lse_cols_finish",
            "plan_rows",
        ] {
            assert!(SINKHORN.has_kernel(&kernel_name::<f32>(base)), "{base}");
            assert!(SINKHORN.has_kernel(&kernel_name::<f64>(base)), "{base}");
        }
    }
}
