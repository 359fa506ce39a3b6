//! The execution seam and the thread pool: every algorithm that runs its tiles through
//! an `Exec` (linear attention's heads in the forward pass, the chunk states and the
//! recurrence; H2O decode's (kv head, key chunk) tiles and the blocked prefill's heads; CG's row tiles; red-black SOR's row tiles; log-domain Sinkhorn's row tiles, whose column
//! sums add up across tiles) gives the same bits whichever executor runs it:
//! in order, in reverse order, each tile on a thread of its own, or the shared pool at
//! 1, 2, 3 and 7 threads, also with many callers at once and from inside a worker.

use kernels_core::cg::{CgOpts, Precond, cg, cg_work_size};
use kernels_core::h2o::{self, H2oCache, H2oOpts, decode_work_size};
use kernels_core::linattn::{self, Decay, Inputs, Seqs, Shape};
use kernels_core::sinkhorn::{
    SinkhornOpts, scale, scale_work_size, sinkhorn_log, sinkhorn_work_size,
};
use kernels_core::sor::sor_grid2d;
use kernels_core::{Dense, Error, Exec, Result, Sequential, SquareCsr};
use kernels_simd::Simd;
use kernels_simd::threads::{self, MIN_PARALLEL_OPS, Threads};
use kernels_tests::uniform;

/// Every tile, last first.
struct Reversed;

impl Exec for Reversed {
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
        let mut all: Vec<_> = tiles.enumerate().collect();
        let mut first_error = None;
        while let Some((i, t)) = all.pop() {
            if let Err(e) = f(i, t) {
                first_error = Some((i, e));
            }
        }
        first_error.map_or(Ok(()), |(_, e)| Err(e))
    }

    fn width(&self) -> usize {
        3
    }
}

/// Every tile on a thread of its own, at once.
struct ThreadPerTile;

impl Exec for ThreadPerTile {
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
        let f = &f;
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = tiles
                .enumerate()
                .map(|(i, t)| s.spawn(move || f(i, t)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(Error::Internal)))
                .collect()
        });
        results.into_iter().collect()
    }

    fn width(&self) -> usize {
        64
    }
}

/// A head count that divides into no thread count tested.
fn shape() -> Shape {
    Shape {
        n_heads: 5,
        len: 300,
        dk: 24,
        dv: 16,
    }
}

/// The chunked forward (chunk 64, a workspace for every head at once), the chunk
/// states and the recurrence under `exec`: all their outputs.
fn linattn_outputs(exec: &impl Exec) -> Vec<f32> {
    let s = shape();
    let (qk, vl, sl) = (
        s.qk_len().unwrap(),
        s.v_len().unwrap(),
        s.state_len().unwrap(),
    );
    let (q, k, v) = (
        uniform::<f32>(qk, 1, 1.0),
        uniform::<f32>(qk, 2, 1.0),
        uniform::<f32>(vl, 3, 1.0),
    );
    let decay = [0.9f32, 1.0, 0.5, 0.99, 0.7];
    let mut state = vec![0f32; sl];
    let heads = Decay::Heads(&decay[..]);
    linattn::chunk_state::<f32, Simd>(exec, s, &k, &v, heads, &mut state, None).unwrap();
    let inp = Inputs {
        shape: s,
        q: &q,
        k: &k,
        v: &v,
        decay: heads,
        scale: 0.0,
        state_in: None,
    };
    let (mut out, mut rstate) = (vec![0f32; vl], vec![0f32; sl]);
    linattn::recurrence::<f32, Simd>(exec, &inp, &mut out, &mut rstate).unwrap();
    // Sized for the executor's width: at 7 and 64 threads, more than the 5 heads, the
    // chunks of each head run at once (their states, the prefix scan, the outputs).
    let bytes = linattn::forward_threads_work_size::<f32>(s, 64, exec.width(), true).unwrap();
    let mut work = vec![0u8; bytes.bytes()];
    let (mut fout, mut fstate) = (vec![0f32; vl], vec![0f32; sl]);
    linattn::forward::<f32, Simd>(exec, &inp, 64, &mut fout, Some(&mut fstate), &mut work).unwrap();
    // Continued from a state, as the second part of a split sequence.
    let inp = Inputs {
        state_in: Some(&fstate),
        ..inp
    };
    let (mut cout, mut cstate) = (vec![0f32; vl], vec![0f32; sl]);
    linattn::forward::<f32, Simd>(exec, &inp, 64, &mut cout, Some(&mut cstate), &mut work).unwrap();
    // Gated, and the same sequence cut into three packed sequences.
    let gates: Vec<f32> = uniform::<f32>(s.n_heads * s.len, 4, 1.0)
        .iter()
        .map(|g| -g.abs())
        .collect();
    let gated = Inputs {
        decay: Decay::Gates(&gates),
        state_in: None,
        ..inp
    };
    let (mut gout, mut gstate) = (vec![0f32; vl], vec![0f32; sl]);
    linattn::forward::<f32, Simd>(exec, &gated, 64, &mut gout, Some(&mut gstate), &mut work)
        .unwrap();
    let cu = [0, 100, 100, s.len];
    let seqs = Seqs { cu_seqlens: &cu };
    let (mut vout, mut vstate) = (vec![0f32; vl], vec![0f32; 3 * sl]);
    linattn::forward_varlen::<f32, Simd>(
        exec,
        &gated,
        seqs,
        64,
        &mut vout,
        Some(&mut vstate),
        &mut work,
    )
    .unwrap();
    [
        state, out, rstate, fout, fstate, cout, cstate, gout, gstate, vout, vstate,
    ]
    .concat()
}

/// 300 H2O decode steps (8 query heads on 4 kv heads, d = 64) through a cache of 192
/// that fills and then evicts: every output, then the scores and positions left.
fn decode_outputs(exec: &impl Exec) -> Vec<f32> {
    let mut seen = decode_steps(exec, (8, 4, 64), (4, 124, 64), 300);
    // One kv head whose cache outgrows a key chunk: up to 3 chunks of it at once.
    let chunk = h2o::KEY_CHUNK;
    seen.extend(decode_steps(
        exec,
        (4, 1, 8),
        (4, chunk, chunk + 300),
        2 * chunk as u64 + 400,
    ));
    seen
}

/// `steps` decode steps for (query heads, kv heads, d) on a cache of (sink, heavy,
/// recent): every output, then the final scores and positions.
fn decode_steps(
    exec: &impl Exec,
    (n_heads, n_kv, d): (usize, usize, usize),
    (sink, heavy, recent): (usize, usize, usize),
    steps: u64,
) -> Vec<f32> {
    let budget = sink + heavy + recent;
    let (mut k, mut v) = (vec![0f32; n_kv * budget * d], vec![0f32; n_kv * budget * d]);
    let (mut score, mut pos) = (vec![0f32; n_kv * budget], vec![0u64; n_kv * budget]);
    let mut cache = H2oCache::new(
        n_kv, d, sink, heavy, recent, &mut k, &mut v, &mut score, &mut pos,
    )
    .unwrap();
    let mut work = vec![0u8; decode_work_size(n_kv, d, budget, n_heads).unwrap().bytes()];
    let mut seen = Vec::new();
    for t in 0..steps {
        let q = uniform::<f32>(n_heads * d, 100 + t, 1.0);
        let (kn, vn) = (
            uniform::<f32>(n_kv * d, 200 + t, 1.0),
            uniform::<f32>(n_kv * d, 300 + t, 1.0),
        );
        let mut out = vec![0f32; n_heads * d];
        h2o::decode::<Simd>(
            exec, &mut cache, n_heads, &q, &kn, &vn, 0.0, &mut out, &mut work,
        )
        .unwrap();
        seen.extend(out);
    }
    for g in 0..n_kv {
        seen.extend(cache.scores(g));
        seen.extend(cache.positions(g).iter().map(|&p| p as f32));
    }
    seen
}

/// Log-domain and kernel-mode Sinkhorn (f64, 300 x 200: five row tiles) for 30
/// iterations: the potentials, the plan, the scalings and the reports' errors and
/// value, as f32 words (each f64
/// split in two, so every bit counts).
fn sinkhorn_outputs(exec: &impl Exec) -> Vec<f32> {
    let (n, m) = (300, 200);
    let c = uniform::<f64>(n * m, 11, 1.0);
    let (a, b) = (vec![1.0 / n as f64; n], vec![1.0 / m as f64; m]);
    let cm = Dense::new(&c, n, m).unwrap();
    let opts = SinkhornOpts::default()
        .reg(0.05)
        .tol(1e-300)
        .max_iter(30)
        .check_every(7);
    let (mut f, mut g, mut plan) = (vec![0.0; n], vec![0.0; m], vec![0.0; n * m]);
    let mut work = vec![0u8; sinkhorn_work_size::<f64>(n, m).unwrap().bytes()];
    let rep = sinkhorn_log::<f64, Simd>(
        exec,
        cm,
        &a,
        &b,
        &opts,
        &mut f,
        &mut g,
        Some(&mut plan),
        &mut work,
    )
    .unwrap();
    // Kernel mode on K = exp(-C / 0.1).
    let k: Vec<f64> = c.iter().map(|&x| (-x / 0.1).exp()).collect();
    let km = Dense::new(&k, n, m).unwrap();
    let (mut u, mut v) = (vec![0.0; n], vec![1.0; m]);
    let mut work = vec![0u8; scale_work_size::<f64>(n, m).unwrap().bytes()];
    let krep = scale::<f64, Simd>(exec, km, &a, &b, &opts, &mut u, &mut v, &mut work).unwrap();
    let words = |x: f64| {
        let b = x.to_bits();
        [f32::from_bits(b as u32), f32::from_bits((b >> 32) as u32)]
    };
    [
        f,
        g,
        plan,
        vec![rep.error, rep.value],
        u,
        v,
        vec![krep.error],
    ]
    .concat()
    .into_iter()
    .flat_map(words)
    .collect()
}

/// H2O prefill at full budget (the blocked path; 6 heads on 3 kv heads, seq 200,
/// d 16, a workspace for every head at once): the outputs.
fn prefill_outputs(exec: &impl Exec) -> Vec<f32> {
    let (n_heads, n_kv, seq, d) = (6, 3, 200, 16);
    let q = uniform::<f32>(n_heads * seq * d, 21, 1.0);
    let (k, v) = (
        uniform::<f32>(n_kv * seq * d, 22, 1.0),
        uniform::<f32>(n_kv * seq * d, 23, 1.0),
    );
    let opts = H2oOpts::default().sink(0).heavy(0).recent(seq);
    let size = h2o::prefill_work_size(n_heads, n_kv, seq, d)
        .unwrap()
        .then(
            h2o::prefill_head_work_size(seq, d)
                .unwrap()
                .times(n_heads - 1)
                .unwrap(),
        )
        .unwrap();
    let mut work = vec![0u8; size.bytes()];
    let mut out = vec![0f32; n_heads * seq * d];
    h2o::prefill::<Simd>(
        exec, n_heads, n_kv, seq, d, &q, &k, &v, &opts, &mut out, None, None, &mut work,
    )
    .unwrap();
    // With eviction (a budget of 40 of 200 tokens), scores and keep flags: the kv
    // heads run at once.
    let opts = H2oOpts::default().sink(2).heavy(18).recent(20);
    let mut evicting = vec![0f32; n_heads * seq * d];
    let mut scores = vec![0f32; n_kv * seq];
    let mut keep = vec![0u8; n_kv * seq];
    #[rustfmt::skip]
    h2o::prefill::<Simd>(
        exec, n_heads, n_kv, seq, d, &q, &k, &v, &opts, &mut evicting, Some(&mut scores),
        Some(&mut keep), &mut work,
    )
    .unwrap();
    assert!(keep.iter().filter(|&&b| b == 1).count() == n_kv * 40);
    out.into_iter()
        .chain(evicting)
        .chain(scores)
        .chain(keep.into_iter().map(f32::from))
        .collect()
}

/// CG on the 2D Poisson matrix of a 150 x 150 grid (22500 rows: two vector tiles),
/// 40 iterations without and with Jacobi: the iterates, as f32 words.
fn cg_outputs(exec: &impl Exec) -> Vec<f32> {
    let nx: usize = 150;
    let n = nx * nx;
    let (mut indptr, mut indices, mut values) = (vec![0usize], Vec::new(), Vec::new());
    for i in 0..nx {
        for j in 0..nx {
            let p = i * nx + j;
            let entries = [
                (i > 0, p.wrapping_sub(nx), -1.0),
                (j > 0, p.wrapping_sub(1), -1.0),
                (true, p, 4.0 + (p % 7) as f64),
                (j + 1 < nx, p + 1, -1.0),
                (i + 1 < nx, p + nx, -1.0),
            ];
            for (_, c, v) in entries.into_iter().filter(|e| e.0) {
                indices.push(c as u32);
                values.push(v);
            }
            indptr.push(indices.len());
        }
    }
    let a = SquareCsr::new(n, &indptr, &indices, &values).unwrap();
    let b = uniform::<f64>(n, 41, 1.0);
    let mut work = vec![0u8; cg_work_size::<f64>(n).unwrap().bytes()];
    let mut seen = Vec::new();
    for precond in [Precond::None, Precond::Jacobi] {
        let opts = CgOpts::default().tol(1e-300).max_iter(40).precond(precond);
        let mut x = vec![0.0; n];
        let rep = cg::<f64, Simd>(exec, &a, &b, &mut x, &opts, &mut work).unwrap();
        seen.extend(x);
        seen.push(rep.error);
    }
    seen.into_iter()
        .flat_map(|x| {
            let b = x.to_bits();
            [f32::from_bits(b as u32), f32::from_bits((b >> 32) as u32)]
        })
        .collect()
}

/// Red-black SOR, 5 sweeps on a 37 x 461 grid (f64 and f32): the tiles follow the
/// executor's width here (7 at width 64, 3 at width 3, one on `Sequential`), so this
/// also compares different cuts with the single streaming pass.
fn grid_outputs(exec: &impl Exec) -> Vec<f32> {
    let (nx, ny) = (37, 461);
    let b = uniform::<f64>(nx * ny, 43, 1.0);
    let mut x = uniform::<f64>(nx * ny, 44, 1.0);
    sor_grid2d::<f64, Simd>(exec, nx, ny, 0.25, &b, &mut x, 1.7, 5).unwrap();
    let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
    let mut x32: Vec<f32> = uniform::<f64>(nx * ny, 45, 1.0)
        .iter()
        .map(|&v| v as f32)
        .collect();
    sor_grid2d::<f32, Simd>(exec, nx, ny, 0.25, &b32, &mut x32, 1.3, 5).unwrap();
    x.into_iter()
        .flat_map(|x| {
            let b = x.to_bits();
            [f32::from_bits(b as u32), f32::from_bits((b >> 32) as u32)]
        })
        .chain(x32)
        .collect()
}

fn bits(v: Vec<f32>) -> Vec<u32> {
    v.into_iter().map(f32::to_bits).collect()
}

#[test]
fn results_do_not_depend_on_the_executor() {
    for (family, run) in [
        ("linattn", linattn_outputs as fn(&Sequential) -> Vec<f32>),
        ("decode", decode_outputs),
        ("sinkhorn", sinkhorn_outputs),
        ("prefill", prefill_outputs),
        ("cg", cg_outputs),
        ("grid", grid_outputs),
    ] {
        let want = bits(run(&Sequential));
        assert!(want.iter().any(|&b| b != 0));
        let (reversed, per_tile) = match family {
            "linattn" => (linattn_outputs(&Reversed), linattn_outputs(&ThreadPerTile)),
            "decode" => (decode_outputs(&Reversed), decode_outputs(&ThreadPerTile)),
            "prefill" => (prefill_outputs(&Reversed), prefill_outputs(&ThreadPerTile)),
            "cg" => (cg_outputs(&Reversed), cg_outputs(&ThreadPerTile)),
            "grid" => (grid_outputs(&Reversed), grid_outputs(&ThreadPerTile)),
            _ => (
                sinkhorn_outputs(&Reversed),
                sinkhorn_outputs(&ThreadPerTile),
            ),
        };
        assert!(bits(reversed) == want, "{family}: reversed tile order");
        assert!(bits(per_tile) == want, "{family}: a thread per tile");
    }
}

/// The pool at 1, 2, 3 and 7 threads (with no size threshold); then 4 callers at once on 2 threads; then a
/// call from inside one of the pool's workers. One test: the count is global.
#[test]
fn the_pool_gives_the_same_bits_at_every_thread_count() {
    // Every call on the pool, however small (the problems here are test-sized).
    threads::set_min_parallel_ops(0);
    let lin = bits(linattn_outputs(&Sequential));
    let dec = bits(decode_outputs(&Sequential));
    let sink = bits(sinkhorn_outputs(&Sequential));
    let pre = bits(prefill_outputs(&Sequential));
    let cgs = bits(cg_outputs(&Sequential));
    let grid = bits(grid_outputs(&Sequential));
    for n in [1, 2, 3, 7] {
        threads::set_num_threads(n).unwrap();
        assert_eq!(threads::num_threads(), n);
        assert!(
            bits(linattn_outputs(&Threads)) == lin,
            "linattn at {n} threads"
        );
        assert!(
            bits(decode_outputs(&Threads)) == dec,
            "decode at {n} threads"
        );
        assert!(
            bits(sinkhorn_outputs(&Threads)) == sink,
            "sinkhorn at {n} threads"
        );
        assert!(
            bits(prefill_outputs(&Threads)) == pre,
            "prefill at {n} threads"
        );
        assert!(bits(cg_outputs(&Threads)) == cgs, "cg at {n} threads");
        assert!(
            bits(grid_outputs(&Threads)) == grid,
            "grid SOR at {n} threads"
        );
    }

    threads::set_num_threads(2).unwrap();
    std::thread::scope(|s| {
        let callers: Vec<_> = (0..4)
            .map(|_| s.spawn(|| bits(linattn_outputs(&Threads))))
            .collect();
        for c in callers {
            assert!(c.join().unwrap() == lin, "linattn, 4 callers at once");
        }
    });

    // A tile that itself calls a threaded kernel: the inner call runs on its worker.
    let inner = std::sync::Mutex::new(Vec::new());
    Threads
        .for_each(MIN_PARALLEL_OPS, 0..2, |_, _| {
            let out = bits(linattn_outputs(&Threads));
            inner.lock().unwrap().push(out);
            Ok(())
        })
        .unwrap();
    for out in inner.into_inner().unwrap() {
        assert!(out == lin, "linattn called from inside a worker");
    }
}

#[test]
fn errors_are_reported_through_the_executor() {
    // A tile's error reaches the caller: the first failing tile's, in tile order.
    let fail_from_1 = |i: usize, _| {
        if i >= 1 {
            Err(if i == 1 {
                Error::Numerical
            } else {
                Error::Argument
            })
        } else {
            Ok(())
        }
    };
    assert_eq!(
        Sequential.for_each(0, 0..4, fail_from_1),
        Err(Error::Numerical)
    );
    assert_eq!(
        Threads.for_each(MIN_PARALLEL_OPS, 0..4, fail_from_1),
        Err(Error::Numerical)
    );
    assert_eq!(
        ThreadPerTile.for_each(0, [1, 2, 3].into_iter(), |_, _| Ok(())),
        Ok(())
    );
}

#[test]
fn an_absurd_thread_count_is_refused_and_changes_nothing() {
    let before = threads::num_threads();
    assert_eq!(
        threads::set_num_threads(threads::MAX_THREADS + 1),
        Err(Error::Argument)
    );
    assert_eq!(threads::num_threads(), before);
    // The C entry points say the same.
    assert_eq!(kernels::kn_set_num_threads(5000), kernels::KN_ERR_ARGUMENT);
    assert_eq!(kernels::kn_num_threads(), before);
}

/// Run alone in a child process by the test below: the count it starts with.
#[test]
fn child_prints_its_thread_count() {
    // Twice: the environment is read (and a bad value reported) once.
    println!("threads={}", threads::num_threads());
    println!("threads={}", threads::num_threads());
}

#[test]
fn kn_num_threads_is_read_once_and_a_bad_value_is_reported_and_ignored() {
    let run = |value: &str| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_prints_its_thread_count", "--nocapture"])
            .env("KN_NUM_THREADS", value)
            .output()
            .unwrap();
        assert!(out.status.success());
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        (stdout, stderr.matches("ignoring KN_NUM_THREADS").count())
    };
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (stdout, reports) = run("3");
    assert!(stdout.contains("threads=3"), "{stdout}");
    assert_eq!(reports, 0);
    for bad in ["lots", "-1", "5000"] {
        let (stdout, reports) = run(bad);
        assert!(
            stdout.contains(&format!("threads={all}")),
            "{bad}: {stdout}"
        );
        assert_eq!(reports, 1, "{bad}");
    }
}
