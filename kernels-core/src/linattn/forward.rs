//! The chunked forward pass.

use super::decay::HeadDecay;
use super::powers::fill_powers;
use super::{DEFAULT_CHUNK, Inputs, Shape, Token, all_finite, head, view, view_mut};
use crate::linattn::LinattnKernels;
use crate::{Error, Exec, Real, Result, Workspace, WorkspaceSize, checked_product, tiles_per_slot};
use core::sync::atomic::{AtomicBool, Ordering};

/// Rows of a chunk's score block computed at a time. The block `Q K^T` is causal:
/// row block `[r0, r1)` needs only columns `[0, r1)`, so computing it in strips of
/// this many rows skips most of the zero upper triangle (at `L = 64`, 10 of 16
/// sub-blocks are computed) while each strip's products stay large enough to tile.
const STRIP: usize = 16;

/// The chunk length actually used: `chunk` (0 = [`DEFAULT_CHUNK`]), at most `len`.
///
/// Public so that other backends (kernels-cuda) cut the sequence the same way.
pub fn chunk_len(chunk: usize, len: usize) -> usize {
    let c = if chunk == 0 { DEFAULT_CHUNK } else { chunk };
    c.min(len)
}

/// Workspace of [`forward`] without gates, listed in the order [`forward`] takes it:
/// the mask weights `scale g^n` (`L + 1`), the decay through each row and after each
/// token (`L` each), the chunk's `K^T` (`dk x L`), one strip of scores
/// (`min(16, L) x L`), the chunk's own state and the running state (`dk x dv` each).
/// With gates ([`Decay::Gates`](super::Decay::Gates)) it needs [`gated_work_size`]'s.
///
/// This is the minimum, one head's scratch; see [`forward_threads_work_size`] for the
/// workspace that keeps threads busy.
///
/// [`Error::Dimension`] for a zero size or an overflowing one.
pub fn forward_work_size<T: Real>(shape: Shape, chunk: usize) -> Result<WorkspaceSize> {
    scratch_size::<T>(shape, chunk, false, false)
}

/// Workspace of [`forward`] with gates ([`Decay::Gates`](super::Decay::Gates)): [`forward_work_size`]'s
/// and, per chunk, its cumulative log gates (`L` values of `f64`) and one row of
/// mask exponents (`L`).
///
/// [`Error::Dimension`] for a zero size or an overflowing one.
pub fn gated_work_size<T: Real>(shape: Shape, chunk: usize) -> Result<WorkspaceSize> {
    scratch_size::<T>(shape, chunk, true, false)
}

/// Workspace of [`forward_stored`] with tokens stored as `S`, with or without gates:
/// [`forward_work_size`]'s or [`gated_work_size`]'s and, for a half-precision `S`, one
/// chunk's queries, values and outputs in `T` (`L x dk`, `L x dv`, `L x dv`).
///
/// [`Error::Dimension`] for a zero size or an overflowing one.
pub fn stored_work_size<T: Real, S: Token<T>>(
    shape: Shape,
    chunk: usize,
    gated: bool,
) -> Result<WorkspaceSize> {
    scratch_size::<T>(shape, chunk, gated, !S::NATIVE)
}

/// One slot's scratch (see [`forward_work_size`] and [`stored_work_size`]).
fn scratch_size<T: Real>(
    shape: Shape,
    chunk: usize,
    gated: bool,
    convert: bool,
) -> Result<WorkspaceSize> {
    shape.check()?;
    let l = chunk_len(chunk, shape.len);
    let l1 = l.checked_add(1).ok_or(Error::Dimension)?;
    let per_s = shape.dk.checked_mul(shape.dv).ok_or(Error::Dimension)?;
    let size = WorkspaceSize::new()
        .array::<T>(l1)?
        .array::<T>(l)?
        .array::<T>(l)?
        .array::<T>(shape.dk.checked_mul(l).ok_or(Error::Dimension)?)?
        .array::<T>(STRIP.min(l).checked_mul(l).ok_or(Error::Dimension)?)?
        .array::<T>(per_s)?
        .array::<T>(per_s)?;
    let size = if gated {
        size.array::<f64>(l)?.array::<T>(l)?
    } else {
        size
    };
    if convert {
        let qk = shape.dk.checked_mul(l).ok_or(Error::Dimension)?;
        let v = shape.dv.checked_mul(l).ok_or(Error::Dimension)?;
        size.array::<T>(qk)?.array::<T>(v)?.array::<T>(v)
    } else {
        Ok(size)
    }
}

/// The chunk states of one head in the chunk-parallel form: `n_chunks` states and the
/// running one (`dk x dv` each), taken ahead of the slots' scratch.
fn chunk_states_size<T: Real>(shape: Shape, chunk: usize) -> Result<WorkspaceSize> {
    let n_chunks = shape.len.div_ceil(chunk_len(chunk, shape.len));
    WorkspaceSize::new()
        .array::<T>(checked_product(&[n_chunks, shape.dk, shape.dv])?)?
        .array::<T>(checked_product(&[shape.dk, shape.dv])?)
}

/// Workspace with which [`forward`] keeps `threads` threads busy: a
/// [`forward_work_size`] (with `gated`, a [`gated_work_size`]) per thread, used for
/// one head each, and, when there are fewer heads than threads, the chunk states of
/// one head ahead of them, so that the chunks of a head run at once (LASP-2 inside
/// the call: every chunk's own state at once, a prefix scan over them, then every
/// chunk's output at once).
///
/// Any workspace from the minimum up gives the same result.
pub fn forward_threads_work_size<T: Real>(
    shape: Shape,
    chunk: usize,
    threads: usize,
    gated: bool,
) -> Result<WorkspaceSize> {
    let slots = scratch_size::<T>(shape, chunk, gated, false)?.times(threads.max(1))?;
    if threads > shape.n_heads && chunk_len(chunk, shape.len) < shape.len {
        chunk_states_size::<T>(shape, chunk)?.then(slots)
    } else {
        Ok(slots)
    }
}

/// Causal linear attention, chunk by chunk (see the module docs for the formula).
///
/// Writes `out` (`[n_heads][len][dv]`) and, if given, `state_out` (`S_len`,
/// `[n_heads][dk][dv]`). `chunk` 0 means [`DEFAULT_CHUNK`]; a chunk longer than the
/// sequence is the whole sequence. `work` must hold [`forward_work_size`] bytes
/// ([`gated_work_size`] with gates; any alignment); a larger one lets a threaded
/// `exec` run heads, or the chunks of a head, at once (see
/// [`forward_threads_work_size`]). Each chunk's own state is computed from zero and
/// added to the decayed running state, in the sequential order and in the
/// chunk-parallel one alike, so the result does not depend on `exec` or on `work`'s
/// size.
///
/// Errors, with nothing written: [`Error::Dimension`] (a zero size, lengths that
/// disagree), [`Error::Workspace`], [`Error::NonFinite`] (NaN or infinity in any input,
/// decay or scale), [`Error::Argument`] (a decay outside `(0, 1]`, a positive gate).
/// After [`Error::Numerical`] (a value overflowed) `out` and `state_out` hold the
/// computed values, some of them infinite or NaN.
pub fn forward<T: Real, P: LinattnKernels<T>>(
    exec: &impl Exec,
    inp: &Inputs<'_, T>,
    chunk: usize,
    out: &mut [T],
    state_out: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<()> {
    forward_stored::<T, T, P>(exec, inp, chunk, out, state_out, work)
}

/// [`forward`] on tokens stored as `S`: `q`, `k`, `v` and `out` in a half-precision
/// [`Token`] type ([`f16`](struct@crate::f16), [`bf16`](crate::bf16)) with states,
/// decay and scale in `T = f32`, or `S = T` ([`forward`] itself). Each chunk's
/// tokens are loaded into `f32` scratch, every sum runs in `f32`, and each output is
/// rounded once to `S` (to nearest even): the result is [`forward`]'s on the upcast
/// inputs, rounded. `work` holds [`stored_work_size`] bytes.
///
/// Errors as for [`forward`]; NaN and infinity bit patterns in the half inputs are
/// [`Error::NonFinite`]. [`Error::Numerical`] also when an output overflows the
/// storage type (it is stored as an infinity).
pub fn forward_stored<T: Real, S: Token<T>, P: LinattnKernels<T>>(
    exec: &impl Exec,
    inp: &Inputs<'_, T, S>,
    chunk: usize,
    out: &mut [S],
    state_out: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<()> {
    let shape = inp.shape;
    let needed = stored_work_size::<T, S>(shape, chunk, inp.decay.is_gated())?.bytes();
    let scale = inp.validate::<P>(exec, out.len(), state_out.as_ref().map(|s| s.len()))?;
    if work.len() < needed {
        return Err(Error::Workspace);
    }
    let whole = Window {
        t0: 0,
        len: shape.len,
        state_in: inp.state_in,
    };
    let job = Job::new(inp, scale, whole, chunk)?;
    job.run::<P>(exec, out, state_out, work)?;
    job.status()
}

/// The tokens `[t0, t0 + len)` of every head, with the state before them
/// (`[n_heads][dk][dv]`; `None` = zero): the whole sequence, or one sequence of a
/// packed batch.
#[derive(Clone, Copy)]
pub(super) struct Window<'a, T> {
    pub(super) t0: usize,
    pub(super) len: usize,
    pub(super) state_in: Option<&'a [T]>,
}

/// One validated run of [`forward`] over a window of the inputs.
pub(super) struct Job<'a, 'b, T, S> {
    inp: &'a Inputs<'b, T, S>,
    scale: T,
    window: Window<'b, T>,
    /// Chunk length.
    l: usize,
    /// Bytes of one slot's scratch.
    needed: usize,
    /// Arithmetic of the whole run, for the executor's size threshold.
    ops: usize,
    /// A value that overflowed in any head: reported once everything is written.
    overflow: AtomicBool,
}

impl<'a, 'b, T: Real, S: Token<T>> Job<'a, 'b, T, S> {
    /// A run over `window` (not empty) of validated inputs with effective `scale`.
    pub(super) fn new(
        inp: &'a Inputs<'b, T, S>,
        scale: T,
        window: Window<'b, T>,
        chunk: usize,
    ) -> Result<Self> {
        let shape = Shape {
            len: window.len,
            ..inp.shape
        };
        let l = chunk_len(chunk, window.len);
        let ops = shape.n_heads.saturating_mul(shape.len).saturating_mul(
            shape
                .dk
                .saturating_mul(shape.dv)
                .saturating_mul(4)
                .saturating_add(l.saturating_mul(shape.dk + shape.dv)),
        );
        Ok(Job {
            inp,
            scale,
            window,
            l,
            needed: stored_work_size::<T, S>(shape, chunk, inp.decay.is_gated())?.bytes(),
            ops,
            overflow: AtomicBool::new(false),
        })
    }

    /// Writes the window's rows of `out` (`[n_heads][len][dv]`, the whole array) and
    /// its final state into `state_out` (`[n_heads][dk][dv]`).
    ///
    /// Fewer heads than threads: the chunks of each head in turn run at once, if the
    /// workspace holds their states and at least two slots. (`width > 1` first: on one
    /// thread, firmware's only executor, the compiler drops the chunk-parallel form.)
    pub(super) fn run<P: LinattnKernels<T>>(
        &self,
        exec: &impl Exec,
        out: &mut [S],
        state_out: Option<&mut [T]>,
        work: &mut [u8],
    ) -> Result<()> {
        let n_heads = self.inp.shape.n_heads;
        let width = exec.width();
        let states = chunk_states_size::<T>(self.shape(), self.l)?.bytes();
        let chunk_slots = work.len().saturating_sub(states) / self.needed;
        if width > 1 && n_heads < width && self.l < self.window.len && chunk_slots >= 2 {
            self.by_chunks::<P>(exec, chunk_slots.min(width), out, state_out, work)
        } else {
            self.by_heads::<P>(exec, out, state_out, work)
        }
    }

    /// [`Error::Numerical`] if a value overflowed.
    pub(super) fn status(&self) -> Result<()> {
        if self.overflow.load(Ordering::Relaxed) {
            Err(Error::Numerical)
        } else {
            Ok(())
        }
    }

    /// The sizes of the window.
    fn shape(&self) -> Shape {
        Shape {
            len: self.window.len,
            ..self.inp.shape
        }
    }

    /// The window's rows of one head's `len x dv` block of `out`.
    fn rows<'o>(&self, o: &'o mut [S]) -> &'o mut [S] {
        let dv = self.inp.shape.dv;
        let t0 = self.window.t0;
        &mut o[t0 * dv..(t0 + self.window.len) * dv]
    }

    /// Runs of consecutive heads, one run per slot of scratch, each head's chunks in
    /// sequence.
    fn by_heads<P: LinattnKernels<T>>(
        &self,
        exec: &impl Exec,
        out: &mut [S],
        state_out: Option<&mut [T]>,
        work: &mut [u8],
    ) -> Result<()> {
        let shape = self.inp.shape;
        let (per_v, per_s) = (shape.len * shape.dv, shape.dk * shape.dv);
        let slots = (work.len() / self.needed).min(exec.width());
        let heads = tiles_per_slot(shape.n_heads, slots);
        let mut states = state_out.map(|s| s.chunks_mut(heads * per_s));
        let tiles = out
            .chunks_mut(heads * per_v)
            .zip(work.chunks_exact_mut(self.needed))
            .map(move |(o, w)| (o, w, states.as_mut().and_then(Iterator::next)));
        exec.for_each(self.ops, tiles, |tile, (out, work, mut states)| {
            let mut s = self.scratch(work)?;
            for (i, o) in out.chunks_exact_mut(per_v).enumerate() {
                let h = tile * heads + i;
                let state_out = states
                    .as_deref_mut()
                    .map(|x| &mut x[i * per_s..(i + 1) * per_s]);
                self.head_in_sequence::<P>(h, &mut s, self.rows(o), state_out)?;
            }
            Ok(())
        })
    }

    /// Head `h`, its chunks in sequence: its rows of `out` and its final state.
    fn head_in_sequence<P: LinattnKernels<T>>(
        &self,
        h: usize,
        s: &mut Scratch<'_, T>,
        o: &mut [S],
        state_out: Option<&mut [T]>,
    ) -> Result<()> {
        let head = self.head(h);
        head.mask(self.scale, &mut s.t);
        let fresh = head.start(s.state);
        let dv = head.dv;
        let n_chunks = head.n_chunks(self.l);
        let mut overflow = false;
        for c in 0..n_chunks {
            let chunk = head.chunk(c, self.l);
            // The next chunk's inputs start on their way into the cache while this
            // one computes: the products touch them first in several short
            // interleaved streams that would otherwise wait on memory.
            if c + 1 < n_chunks {
                head.chunk(c + 1, self.l).prefetch::<P>();
            }
            let o_chunk = &mut o[chunk.t0 * dv..(chunk.t0 + chunk.len) * dv];
            chunk.prepare(self.scale, &mut s.t, &mut s.io);
            let prev = (c > 0 || !fresh).then_some(&*s.state);
            overflow |= chunk.write_output::<P>(prev, self.scale, &mut s.t, &mut s.io, o_chunk)?;
            chunk.own_state::<P>(&s.t, &s.io, s.own)?;
            advance(s.state, chunk.decay.total(chunk.len), s.own);
        }
        overflow |= all_finite::<T, P>(s.state).is_err();
        if let Some(so) = state_out {
            so.copy_from_slice(s.state);
        }
        self.flag(overflow);
        Ok(())
    }

    /// Every head in turn, its chunks at once on `slots` slots (LASP-2 inside one
    /// call): each chunk's own state, the exclusive prefix over them in chunk order,
    /// then each chunk's output from its prefix. The arithmetic is
    /// [`head_in_sequence`](Self::head_in_sequence)'s, so the bits are too.
    fn by_chunks<P: LinattnKernels<T>>(
        &self,
        exec: &impl Exec,
        slots: usize,
        out: &mut [S],
        mut state_out: Option<&mut [T]>,
        work: &mut [u8],
    ) -> Result<()> {
        let shape = self.inp.shape;
        let (per_v, per_s) = (shape.len * shape.dv, shape.dk * shape.dv);
        let n_chunks = self.window.len.div_ceil(self.l);
        let mut ws = Workspace::new(work);
        let states = ws.take::<T>(n_chunks * per_s)?;
        let running = ws.take::<T>(per_s)?;
        let scratch = ws.rest();
        let runs = tiles_per_slot(n_chunks, slots);
        let ops = self.ops / shape.n_heads;
        for (h, o) in out.chunks_exact_mut(per_v).enumerate() {
            let head = self.head(h);
            let o = self.rows(o);
            // Every chunk's own state.
            let tiles = states
                .chunks_mut(runs * per_s)
                .zip(scratch.chunks_exact_mut(self.needed));
            exec.for_each(ops / 4, tiles, |run, (states, work)| {
                let mut s = self.scratch(work)?;
                for (i, own) in states.chunks_exact_mut(per_s).enumerate() {
                    let chunk = head.chunk(run * runs + i, self.l);
                    chunk.prepare(self.scale, &mut s.t, &mut s.io);
                    chunk.own_state::<P>(&s.t, &s.io, own)?;
                }
                Ok(())
            })?;
            // The prefix: each chunk's own state is replaced by the running state
            // before the chunk, which then advances past it as in sequence.
            let fresh = head.start(running);
            for (c, own) in states.chunks_exact_mut(per_s).enumerate() {
                let chunk = head.chunk(c, self.l);
                let total = chunk.decay.total(chunk.len);
                for (x, r) in own.iter_mut().zip(running.iter_mut()) {
                    let u = *x;
                    *x = *r;
                    *r = step(*r, total, u);
                }
            }
            // Every chunk's output from its prefix.
            let tiles = o
                .chunks_mut(runs * self.l * shape.dv)
                .zip(states.chunks(runs * per_s))
                .zip(scratch.chunks_exact_mut(self.needed));
            exec.for_each(ops, tiles, |run, ((o, prefixes), work)| {
                let mut s = self.scratch(work)?;
                head.mask(self.scale, &mut s.t);
                let mut overflow = false;
                for (i, prev) in prefixes.chunks_exact(per_s).enumerate() {
                    let c = run * runs + i;
                    let chunk = head.chunk(c, self.l);
                    let at = i * self.l * shape.dv;
                    let o_chunk = &mut o[at..at + chunk.len * shape.dv];
                    chunk.prepare(self.scale, &mut s.t, &mut s.io);
                    let prev = (c > 0 || !fresh).then_some(prev);
                    overflow |=
                        chunk.write_output::<P>(prev, self.scale, &mut s.t, &mut s.io, o_chunk)?;
                }
                self.flag(overflow);
                Ok(())
            })?;
            self.flag(all_finite::<T, P>(running).is_err());
            if let Some(so) = state_out.as_deref_mut() {
                so[h * per_s..(h + 1) * per_s].copy_from_slice(running);
            }
        }
        Ok(())
    }

    /// One slot's scratch carved from its piece of the workspace.
    fn scratch<'w>(&self, work: &'w mut [u8]) -> Result<Scratch<'w, T>> {
        let gated = self.inp.decay.is_gated();
        Scratch::take(
            &mut Workspace::new(work),
            self.shape(),
            self.l,
            gated,
            !S::NATIVE,
        )
    }

    /// Head `h`'s inputs over the window.
    fn head(&self, h: usize) -> Head<'b, T, S> {
        let inp = self.inp;
        let shape = inp.shape;
        let (dk, dv) = (shape.dk, shape.dv);
        let (per_qk, per_v) = (shape.len * dk, shape.len * dv);
        let Window { t0, len, state_in } = self.window;
        Head {
            q: &head(inp.q, h, per_qk)[t0 * dk..(t0 + len) * dk],
            k: &head(inp.k, h, per_qk)[t0 * dk..(t0 + len) * dk],
            v: &head(inp.v, h, per_v)[t0 * dv..(t0 + len) * dv],
            decay: inp.decay.head(h, shape.len, t0, len),
            state_in: state_in.map(|x| head(x, h, dk * dv)),
            len,
            dk,
            dv,
        }
    }

    fn flag(&self, overflow: bool) {
        if overflow {
            self.overflow.store(true, Ordering::Relaxed);
        }
    }
}

/// `x a + u`: the state after a chunk from the state before it, the chunk's decay
/// and its own state, written out (two roundings, never fused) so that the
/// sequential and the chunk-parallel forms give the same bits on every target.
#[inline]
fn step<T: Real>(x: T, a: T, u: T) -> T {
    x * a + u
}

/// `state = state a + own`, elementwise (see [`step`]).
fn advance<T: Real>(state: &mut [T], a: T, own: &[T]) {
    for (x, &u) in state.iter_mut().zip(own) {
        *x = step(*x, a, u);
    }
}

/// One slot's scratch, carved from the workspace: a chunk's tables, its tokens
/// loaded from storage, and two states.
struct Scratch<'a, T> {
    t: Tables<'a, T>,
    io: Loaded<'a, T>,
    /// The chunk's own state.
    own: &'a mut [T],
    /// The running state.
    state: &'a mut [T],
}

/// A chunk's queries, values and outputs in `T` when the tokens are stored as a half
/// type (empty for `T` itself: the caller's slices are used in place).
struct Loaded<'a, T> {
    q: &'a mut [T],
    v: &'a mut [T],
    o: &'a mut [T],
}

/// The arrays one chunk is computed with.
struct Tables<'a, T> {
    /// A constant decay's mask weights `scale g^n`, `n = 0..=L` (set per head).
    mask: &'a mut [T],
    /// `scale` times the decay through each row of the chunk (set per chunk).
    through: &'a mut [T],
    /// The decay after each token of the chunk to its end (set per chunk).
    after: &'a mut [T],
    /// The chunk's keys transposed.
    kt: &'a mut [T],
    /// One strip of scores.
    scores: &'a mut [T],
    /// Gated chunks only: the cumulative log gates and one row of mask exponents.
    cum: &'a mut [f64],
    exponents: &'a mut [T],
    /// A constant decay's `through` and `after` depend only on the chunk length: the
    /// length they hold (0: not set), so that a head computes them once per length.
    prepared: usize,
}

impl<'a, T: Real> Scratch<'a, T> {
    /// The arrays of one slot's scratch, in [`scratch_size`]'s order.
    fn take(
        ws: &mut Workspace<'a>,
        shape: Shape,
        l: usize,
        gated: bool,
        convert: bool,
    ) -> Result<Self> {
        let per_s = shape.dk * shape.dv;
        let (mask, through, after) = (ws.take::<T>(l + 1)?, ws.take::<T>(l)?, ws.take::<T>(l)?);
        let (kt, scores) = (ws.take::<T>(shape.dk * l)?, ws.take::<T>(STRIP.min(l) * l)?);
        let (own, state) = (ws.take::<T>(per_s)?, ws.take::<T>(per_s)?);
        let (cum, exponents) = if gated {
            (ws.take::<f64>(l)?, ws.take::<T>(l)?)
        } else {
            (Default::default(), Default::default())
        };
        let io = if convert {
            Loaded {
                q: ws.take::<T>(shape.dk * l)?,
                v: ws.take::<T>(shape.dv * l)?,
                o: ws.take::<T>(shape.dv * l)?,
            }
        } else {
            Loaded {
                q: Default::default(),
                v: Default::default(),
                o: Default::default(),
            }
        };
        let t = Tables {
            mask,
            through,
            after,
            kt,
            scores,
            cum,
            exponents,
            prepared: 0,
        };
        Ok(Scratch { t, io, own, state })
    }
}

/// One head's inputs over a window.
struct Head<'a, T, S> {
    q: &'a [S],
    k: &'a [S],
    v: &'a [S],
    decay: HeadDecay<'a, T>,
    state_in: Option<&'a [T]>,
    len: usize,
    dk: usize,
    dv: usize,
}

impl<'a, T: Real, S: Token<T>> Head<'a, T, S> {
    /// A constant decay's mask weights `scale g^n` into the scratch (gated chunks
    /// compute theirs row by row); the per-length tables are this head's to set.
    fn mask(&self, scale: T, t: &mut Tables<'_, T>) {
        if let HeadDecay::Constant(g) = self.decay {
            fill_powers(g, scale, t.mask);
        }
        t.prepared = 0;
    }

    /// Writes the state before the first token into `state`; returns whether it is
    /// known to be zero (no `state_in`).
    fn start(&self, state: &mut [T]) -> bool {
        match self.state_in {
            Some(x) => {
                state.copy_from_slice(x);
                false
            }
            None => {
                state.fill(T::zero());
                true
            }
        }
    }

    fn n_chunks(&self, l: usize) -> usize {
        self.len.div_ceil(l)
    }

    /// Chunk `c` of length `l` (the last one possibly shorter).
    fn chunk(&self, c: usize, l: usize) -> Chunk<'a, T, S> {
        let (dk, dv) = (self.dk, self.dv);
        let t0 = c * l;
        let len = l.min(self.len - t0);
        Chunk {
            q: &self.q[t0 * dk..(t0 + len) * dk],
            k: &self.k[t0 * dk..(t0 + len) * dk],
            v: &self.v[t0 * dv..(t0 + len) * dv],
            decay: self.decay.part(t0, len),
            t0,
            len,
            dk,
            dv,
        }
    }
}

/// One chunk of one head.
struct Chunk<'a, T, S> {
    q: &'a [S],
    k: &'a [S],
    v: &'a [S],
    decay: HeadDecay<'a, T>,
    /// First token.
    t0: usize,
    len: usize,
    dk: usize,
    dv: usize,
}

impl<T: Real, S: Token<T>> Chunk<'_, T, S> {
    fn prefetch<P: LinattnKernels<T>>(&self) {
        for x in [self.q, self.k, self.v] {
            if let Some(x) = S::native(x) {
                P::prefetch(x);
            }
        }
    }

    /// The chunk's queries and values as `T`: the caller's slices, or their copies
    /// that [`prepare`](Self::prepare) loaded.
    fn tokens<'x>(&'x self, q: &'x [T], v: &'x [T]) -> (&'x [T], &'x [T]) {
        let (lc, dk, dv) = (self.len, self.dk, self.dv);
        (
            S::native(self.q).unwrap_or_else(|| &q[..lc * dk]),
            S::native(self.v).unwrap_or_else(|| &v[..lc * dv]),
        )
    }

    /// Writes the chunk's outputs to `o` (stored as `S`) through
    /// [`output`](Self::output); returns whether a stored value is not finite (an
    /// overflow, checked while the chunk is still in cache).
    fn write_output<P: LinattnKernels<T>>(
        &self,
        prev: Option<&[T]>,
        scale: T,
        t: &mut Tables<'_, T>,
        io: &mut Loaded<'_, T>,
        o: &mut [S],
    ) -> Result<bool> {
        let Loaded { q, v, o: buf } = io;
        let (q, v) = self.tokens(q, v);
        match S::native_mut(o) {
            Some(o) => {
                self.output::<P>(prev, scale, q, v, t, o)?;
                Ok(all_finite::<T, P>(o).is_err())
            }
            None => {
                let buf = &mut buf[..o.len()];
                self.output::<P>(prev, scale, q, v, t, buf)?;
                S::store(buf, o);
                Ok(S::finite::<P>(o).is_err())
            }
        }
    }

    /// The chunk's `K^T` and its decay weights into the scratch: the cumulative log
    /// gates (gated chunks), `scale` times the decay through each row, and the decay
    /// after each token; and its queries and values as `T` when they are stored as a
    /// half type.
    fn prepare(&self, scale: T, t: &mut Tables<'_, T>, io: &mut Loaded<'_, T>) {
        let lc = self.len;
        transpose(self.k, self.dk, lc, &mut t.kt[..self.dk * lc]);
        if !S::NATIVE {
            S::load(self.q, &mut io.q[..lc * self.dk]);
            S::load(self.v, &mut io.v[..lc * self.dv]);
        }
        let gated = self.decay.is_gated();
        if gated || t.prepared != lc {
            let cum = &mut t.cum[..if gated { lc } else { 0 }];
            self.decay.cumulative(cum);
            self.decay.through(scale, cum, &mut t.through[..lc]);
            self.decay.after(cum, &mut t.after[..lc]);
            t.prepared = if gated { 0 } else { lc };
        }
    }

    /// Writes the chunk's outputs `o` (`len x dv`) from the state before it (`None`:
    /// known to be zero), its queries `q` and values `v`. The tables hold
    /// [`prepare`](Self::prepare)'s arrays.
    #[allow(clippy::too_many_arguments)]
    fn output<P: LinattnKernels<T>>(
        &self,
        prev: Option<&[T]>,
        scale: T,
        q: &[T],
        v: &[T],
        s: &mut Tables<'_, T>,
        o: &mut [T],
    ) -> Result<()> {
        let (lc, dk, dv) = (self.len, self.dk, self.dv);
        let one = T::one();
        // Inter-chunk: O = diag(scale a_(0..=i)) Q S_prev.
        o.fill(T::zero());
        if let Some(prev) = prev {
            P::gemm(
                one,
                view(q, lc, dk, dk)?,
                None,
                view(prev, dk, dv, dv)?,
                view_mut(o, lc, dv, dv)?,
            );
            for (row, &f) in o.chunks_exact_mut(dv).zip(&s.through[..lc]) {
                P::scale(f, row);
            }
        }
        let kt = &s.kt[..dk * lc];
        // Intra-chunk, a strip of rows at a time: O += ((Q K^T) .* D) V.
        let mut r0 = 0;
        while r0 < lc {
            let r1 = (r0 + STRIP).min(lc);
            let rows = r1 - r0;
            let scores = &mut s.scores[..rows * r1];
            scores.fill(T::zero());
            P::gemm(
                one,
                view(&q[r0 * dk..r1 * dk], rows, dk, dk)?,
                None,
                view(kt, dk, r1, lc)?,
                view_mut(scores, rows, r1, r1)?,
            );
            // The mask D with the output scale folded in: scale a_(j+1..=i) on and
            // below the diagonal, 0 above it.
            for (i, row) in (r0..r1).zip(scores.chunks_exact_mut(r1)) {
                let (causal, future) = row.split_at_mut(i + 1);
                match self.decay {
                    HeadDecay::Constant(_) => {
                        for (x, &d) in causal.iter_mut().zip(s.mask[..=i].iter().rev()) {
                            *x = *x * d;
                        }
                    }
                    HeadDecay::Gates(_) => {
                        let e = &mut s.exponents[..=i];
                        let ci = s.cum[i];
                        for (x, &cj) in e.iter_mut().zip(&s.cum[..=i]) {
                            *x = T::of(ci - cj);
                        }
                        P::scale_exp(scale, e, causal);
                    }
                }
                future.fill(T::zero());
            }
            P::gemm(
                one,
                view(scores, rows, r1, r1)?,
                None,
                view(v, r1, dv, dv)?,
                view_mut(&mut o[r0 * dv..r1 * dv], rows, dv, dv)?,
            );
            r0 = r1;
        }
        Ok(())
    }

    /// The chunk's own state `K^T diag(after) V` (from zero) into `own`, from
    /// [`prepare`](Self::prepare)'s tables.
    fn own_state<P: LinattnKernels<T>>(
        &self,
        t: &Tables<'_, T>,
        io: &Loaded<'_, T>,
        own: &mut [T],
    ) -> Result<()> {
        let (lc, dk, dv, kt) = (self.len, self.dk, self.dv, &t.kt);
        let (_, v) = self.tokens(io.q, io.v);
        let weights = (!self.decay.is_one()).then_some(&t.after[..lc]);
        own.fill(T::zero());
        P::gemm(
            T::one(),
            view(&kt[..dk * lc], dk, lc, lc)?,
            weights,
            view(v, lc, dv, dv)?,
            view_mut(own, dk, dv, dv)?,
        );
        Ok(())
    }
}

/// `dst` (`cols x rows`, row-major) = the transpose of `src` (`rows x cols`), loaded
/// from storage.
///
/// Eight source rows at a time, so each destination row receives eight consecutive
/// values per visit instead of one store per cache line.
fn transpose<T: Real, S: Token<T>>(src: &[S], cols: usize, rows: usize, dst: &mut [T]) {
    const B: usize = 8;
    let mut j0 = 0;
    while j0 < rows {
        let jb = B.min(rows - j0);
        let block = &src[j0 * cols..(j0 + jb) * cols];
        for (a, d) in dst.chunks_exact_mut(rows).enumerate() {
            for (jj, x) in d[j0..j0 + jb].iter_mut().enumerate() {
                *x = block[jj * cols + a].get();
            }
        }
        j0 += jb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linattn::Decay;
    use crate::{Scalar, Sequential};

    /// Tiles in reverse order, as if three threads took them.
    struct Wide;

    impl Exec for Wide {
        fn for_each<I>(
            &self,
            _ops: usize,
            tiles: I,
            f: impl Fn(usize, I::Item) -> Result<()> + Sync,
        ) -> Result<()>
        where
            I: Iterator + Send,
            I::Item: Send,
        {
            let mut all: heapless::Vec<_, 64> = heapless::Vec::new();
            for t in tiles.enumerate() {
                all.push(t).map_err(|_| Error::Internal)?;
            }
            while let Some((i, t)) = all.pop() {
                f(i, t)?;
            }
            Ok(())
        }

        fn width(&self) -> usize {
            3
        }
    }

    /// [`forward`] at chunk length 16 under an executor.
    trait Which {
        fn forward(
            &self,
            inp: &Inputs<'_, f64>,
            out: &mut [f64],
            state: &mut [f64],
            work: &mut [u8],
        ) -> Result<()>;
    }

    impl<E: Exec> Which for E {
        fn forward(
            &self,
            inp: &Inputs<'_, f64>,
            out: &mut [f64],
            state: &mut [f64],
            work: &mut [u8],
        ) -> Result<()> {
            forward::<f64, Scalar>(self, inp, 16, out, Some(state), work)
        }
    }

    fn values(n: usize, seed: u32) -> [f64; 2048] {
        let mut x = [0.0; 2048];
        let mut s = seed;
        for v in &mut x[..n] {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = f64::from(s >> 8) / f64::from(1u32 << 24) - 0.5;
        }
        x
    }

    /// One head's chunks at once (their states, the scan, the outputs) give the bits
    /// of the chunks in sequence, from zero and from a state, with and without decay.
    #[test]
    fn chunks_at_once_equal_chunks_in_sequence() {
        let shape = Shape {
            n_heads: 2,
            len: 150,
            dk: 6,
            dv: 5,
        };
        let (q, k, v) = (values(1800, 1), values(1800, 2), values(1500, 3));
        let state = values(60, 4);
        // Gates in [-1.5, 0], one of them -30.
        let mut gates = values(300, 5).map(|x| -3.0 * x.abs());
        gates[77] = -30.0;
        for (decay, state_in) in [
            (Decay::None, None),
            (Decay::Heads(&[0.9, 0.7][..]), Some(&state[..60])),
            (Decay::Heads(&[1.0, 0.95][..]), None),
            (Decay::Gates(&gates[..300]), Some(&state[..60])),
            (Decay::Gates(&gates[..300]), None),
        ] {
            let inp = Inputs {
                shape,
                q: &q[..1800],
                k: &k[..1800],
                v: &v[..1500],
                decay,
                scale: 0.0,
                state_in,
            };
            let run = |exec: &dyn Which, bytes: usize| {
                let (mut out, mut st) = ([0.0; 1500], [0.0; 60]);
                let mut work = [0u8; 16384];
                exec.forward(&inp, &mut out, &mut st, &mut work[..bytes])
                    .unwrap();
                (out, st)
            };
            let gated = decay.is_gated();
            let min = scratch_size::<f64>(shape, 16, gated, false)
                .unwrap()
                .bytes();
            let wide = forward_threads_work_size::<f64>(shape, 16, 3, gated)
                .unwrap()
                .bytes();
            assert!(wide > 3 * min && wide <= 16384);
            let seq = run(&Sequential, min);
            let at_once = run(&Wide, wide);
            assert_eq!(seq.0.map(f64::to_bits), at_once.0.map(f64::to_bits));
            assert_eq!(seq.1.map(f64::to_bits), at_once.1.map(f64::to_bits));
        }
    }
}
