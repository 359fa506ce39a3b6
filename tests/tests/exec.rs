//! The execution seam: algorithms that run their tiles through an `Exec` give the same
//! bits whichever executor runs them (linear attention's heads, H2O decode's kv
//! heads): in order, in reverse order, or each tile on a thread of its own (which also
//! proves that the seam's bounds fit a threaded executor).

use kernels_core::h2o::{self, H2oCache, decode_work_size};
use kernels_core::linattn::{self, Inputs, Shape};
use kernels_core::{Error, Exec, Result, Sequential};
use kernels_simd::Simd;
use kernels_tests::uniform;

/// Every tile, last first.
struct Reversed;

impl Exec for Reversed {
    fn for_each<I>(&self, tiles: I, f: impl Fn(usize, I::Item) -> Result<()> + Sync) -> Result<()>
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
}

/// Every tile on a thread of its own, at once.
struct ThreadPerTile;

impl Exec for ThreadPerTile {
    fn for_each<I>(&self, tiles: I, f: impl Fn(usize, I::Item) -> Result<()> + Sync) -> Result<()>
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
}

fn shape() -> Shape {
    Shape {
        n_heads: 5,
        len: 77,
        dk: 9,
        dv: 6,
    }
}

/// `chunk_state` and `recurrence` under `exec`: their outputs.
fn run(exec: &impl Exec) -> Vec<f32> {
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
    linattn::chunk_state::<f32, Simd>(exec, s, &k, &v, Some(&decay), &mut state).unwrap();
    let inp = Inputs {
        shape: s,
        q: &q,
        k: &k,
        v: &v,
        decay: Some(&decay),
        scale: 0.0,
        state_in: None,
    };
    let (mut out, mut rstate) = (vec![0f32; vl], vec![0f32; sl]);
    linattn::recurrence::<f32, Simd>(exec, &inp, &mut out, &mut rstate).unwrap();
    state.into_iter().chain(out).chain(rstate).collect()
}

/// 40 H2O decode steps (6 query heads on 3 kv heads) through a cache that evicts:
/// every output, then the scores and positions left in the cache.
fn decode_steps(exec: &impl Exec) -> Vec<f32> {
    let (n_heads, n_kv, d, (sink, heavy, recent)) = (6, 3, 8, (1, 4, 3));
    let budget = sink + heavy + recent;
    let (mut k, mut v) = (vec![0f32; n_kv * budget * d], vec![0f32; n_kv * budget * d]);
    let (mut score, mut pos) = (vec![0f32; n_kv * budget], vec![0u64; n_kv * budget]);
    let mut cache = H2oCache::new(
        n_kv, d, sink, heavy, recent, &mut k, &mut v, &mut score, &mut pos,
    )
    .unwrap();
    let mut work = vec![0u8; decode_work_size(n_kv, d, budget, n_heads).unwrap().bytes()];
    let mut seen = Vec::new();
    for t in 0..40 {
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

#[test]
fn results_do_not_depend_on_the_executor() {
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    let want = bits(run(&Sequential));
    assert!(want.iter().any(|&b| b != 0));
    assert_eq!(bits(run(&Reversed)), want, "linattn, reversed tile order");
    assert_eq!(
        bits(run(&ThreadPerTile)),
        want,
        "linattn, a thread per tile"
    );
    let want = bits(decode_steps(&Sequential));
    assert!(want.iter().any(|&b| b != 0));
    assert_eq!(
        bits(decode_steps(&Reversed)),
        want,
        "decode, reversed tile order"
    );
    assert_eq!(
        bits(decode_steps(&ThreadPerTile)),
        want,
        "decode, a thread per tile"
    );
}

#[test]
fn errors_are_reported_through_the_executor() {
    // A tile's error reaches the caller (Sequential stops at the first one).
    let tiles = [1, 2, 3].into_iter();
    let r = Sequential.for_each(tiles, |i, _| {
        if i == 1 {
            Err(Error::Numerical)
        } else {
            Ok(())
        }
    });
    assert_eq!(r, Err(Error::Numerical));
    let r = ThreadPerTile.for_each([1, 2, 3].into_iter(), |_, _| Ok(()));
    assert_eq!(r, Ok(()));
}
