//! Request traces for the paging tests, tour and benchmark: generated ones (Zipf,
//! loops, shifting working sets), a real one recorded from a program, and bit
//! flipping for the robustness experiment. All deterministic from their seeds.

/// A 64-bit LCG step mapped to [0, 1).
fn unit(s: &mut u64) -> f64 {
    *s = s
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*s >> 11) as f64 / (1u64 << 53) as f64
}

/// Spreads page numbers over the whole u64 range (an odd multiplier is a bijection),
/// so traces exercise arbitrary ids, not small dense ones.
fn scramble(i: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// `len` requests drawn from `pages` pages with Zipf(`alpha`) popularity.
pub fn zipf(pages: usize, alpha: f64, len: usize, seed: u64) -> Vec<u64> {
    let mut cdf = Vec::with_capacity(pages);
    let mut total = 0.0;
    for r in 1..=pages {
        total += (r as f64).powf(-alpha);
        cdf.push(total);
    }
    let mut s = seed ^ 0x5eed;
    (0..len)
        .map(|_| {
            let u = unit(&mut s) * total;
            scramble(cdf.partition_point(|&c| c < u).min(pages - 1) as u64)
        })
        .collect()
}

/// A loop over `span` pages repeated for `len` requests (worst case for LRU when
/// `span` exceeds the cache).
pub fn looping(span: usize, len: usize) -> Vec<u64> {
    (0..len).map(|i| scramble((i % span) as u64)).collect()
}

/// A working set of `set` pages drawn uniformly, that moves by half its size every
/// `every` requests.
pub fn shifting(set: usize, every: usize, len: usize, seed: u64) -> Vec<u64> {
    let mut s = seed ^ 0xfade;
    (0..len)
        .map(|i| {
            let base = (i / every) * (set / 2).max(1);
            let off = (unit(&mut s) * set as f64) as usize;
            scramble((base + off.min(set - 1)) as u64)
        })
        .collect()
}

/// The generated traces of the tour's robustness experiment, `len` requests each, as
/// (name, pages, capacity).
pub fn tour_traces(len: usize) -> Vec<(String, Vec<u64>, usize)> {
    vec![
        ("Zipf(0.8), 2000 pages".into(), zipf(2000, 0.8, len, 1), 100),
        ("loop over 125 pages".into(), looping(125, len), 100),
        (
            "working set of 150 moving by 75 every 2000".into(),
            shifting(150, 2000, len, 2),
            100,
        ),
    ]
}

/// Flips each bit with probability `p`.
pub fn flip(bits: &[u8], p: f64, seed: u64) -> Vec<u8> {
    let mut s = seed ^ 0xf11b;
    bits.iter()
        .map(|&b| if unit(&mut s) < p { b ^ 1 } else { b })
        .collect()
}

/// The real trace: 4 KiB page numbers of the data accesses (loads, stores,
/// modifies) of `bzip2 -9` compressing the first 8 KiB of a binary, recorded with valgrind's
/// lackey tool, consecutive repeats of one page collapsed (see tests/data/README.md).
pub const REAL_TRACE: &[u8] = include_bytes!("../data/bzip2-pages.bin");

/// Real traces with the instruction address of each access as its context (name,
/// encoded trace): 100,000 requests from the middle of sort, gzip and xz runs, recorded
/// with valgrind's lackey tool (see tests/data/README.md).
pub const REAL_CTX_TRACES: [(&str, &[u8]); 3] = [
    ("sort", include_bytes!("../data/sort-ctx.bin")),
    ("gzip", include_bytes!("../data/gzip-ctx.bin")),
    ("xz", include_bytes!("../data/xz-ctx.bin")),
];

/// Every real trace of tests/data as (name, pages, contexts): the bzip2 trace (its
/// contexts `None`) and the traces with instruction addresses. A trace that does not
/// decode is left out (the decoding tests catch that).
pub fn real_traces() -> Vec<(String, Vec<u64>, Option<Vec<u64>>)> {
    let mut out = Vec::new();
    if let Some(p) = decode_trace(REAL_TRACE) {
        out.push(("bzip2".to_string(), p, None));
    }
    for (name, bytes) in REAL_CTX_TRACES {
        if let Some((p, c)) = decode_ctx_trace(bytes) {
            out.push((name.to_string(), p, Some(c)));
        }
    }
    out
}

/// Reads one LEB128 varint at `*at`.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Decodes a trace file: the number of distinct pages D, the D page numbers (each as
/// the zigzag varint of its difference from the one before, the first from 0), then
/// one varint per request: the index of its page in that table (tables are ordered by
/// frequency, so most requests take one byte). `None` if malformed.
pub fn decode_trace(bytes: &[u8]) -> Option<Vec<u64>> {
    let mut at = 0;
    let distinct = usize::try_from(varint(bytes, &mut at)?).ok()?;
    let mut table = Vec::with_capacity(distinct.min(bytes.len()));
    let mut prev = 0u64;
    for _ in 0..distinct {
        let z = varint(bytes, &mut at)?;
        let delta = (z >> 1) as i64 ^ -((z & 1) as i64);
        prev = prev.wrapping_add(delta as u64);
        table.push(prev);
    }
    let mut out = Vec::new();
    while at < bytes.len() {
        let i = usize::try_from(varint(bytes, &mut at)?).ok()?;
        out.push(*table.get(i)?);
    }
    Some(out)
}

/// Encodes page numbers in the format of [`decode_trace`].
pub fn encode_trace(pages: &[u64]) -> Vec<u8> {
    let mut counts = std::collections::HashMap::new();
    for &p in pages {
        *counts.entry(p).or_insert(0u64) += 1;
    }
    let mut table: Vec<(u64, u64)> = counts.into_iter().collect();
    table.sort_by_key(|&(p, c)| (std::cmp::Reverse(c), p));
    let index: std::collections::HashMap<u64, u64> = table
        .iter()
        .enumerate()
        .map(|(i, &(p, _))| (p, i as u64))
        .collect();
    let mut out = Vec::new();
    put_varint(&mut out, table.len() as u64);
    let mut prev = 0u64;
    for &(p, _) in &table {
        let d = p.wrapping_sub(prev) as i64;
        put_varint(&mut out, ((d << 1) ^ (d >> 63)) as u64);
        prev = p;
    }
    for p in pages {
        put_varint(&mut out, index[p]);
    }
    out
}

/// Decodes a trace with one context per request (for example the instruction address
/// of each access): the byte length of the page part as a varint, the pages in the
/// format of [`decode_trace`], then the contexts in that same format. `None` if
/// malformed or if the two parts differ in length.
pub fn decode_ctx_trace(bytes: &[u8]) -> Option<(Vec<u64>, Vec<u64>)> {
    let mut at = 0;
    let len = usize::try_from(varint(bytes, &mut at)?).ok()?;
    let end = at.checked_add(len)?;
    let pages = decode_trace(bytes.get(at..end)?)?;
    let ctx = decode_trace(bytes.get(end..)?)?;
    (pages.len() == ctx.len()).then_some((pages, ctx))
}

/// Encodes pages and their contexts in the format of [`decode_ctx_trace`].
pub fn encode_ctx_trace(pages: &[u64], ctx: &[u64]) -> Vec<u8> {
    let p = encode_trace(pages);
    let mut out = Vec::new();
    put_varint(&mut out, p.len() as u64);
    out.extend_from_slice(&p);
    out.extend_from_slice(&encode_trace(ctx));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_round_trip_and_the_real_one_decodes() {
        let pages = [0, u64::MAX, 5, 4096, 3, 1 << 63];
        assert_eq!(decode_trace(&encode_trace(&pages)).unwrap(), pages);
        assert_eq!(decode_trace(&[0x80]), None);
        assert_eq!(decode_trace(&[1, 0, 1]), None);
        let real = decode_trace(REAL_TRACE).unwrap();
        assert!(real.len() > 10_000);
        assert!(real.windows(2).all(|w| w[0] != w[1]));
        let (p, c) = ([7u64, 0, u64::MAX], [1u64 << 40, 5, 5]);
        let (dp, dc) = decode_ctx_trace(&encode_ctx_trace(&p, &c)).unwrap();
        assert_eq!((dp.as_slice(), dc.as_slice()), (&p[..], &c[..]));
        assert_eq!(decode_ctx_trace(&[9, 0]), None);
        for (name, bytes) in REAL_CTX_TRACES {
            let (p, c) = decode_ctx_trace(bytes).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(p.len(), 100_000, "{name}");
            assert!(p.windows(2).all(|w| w[0] != w[1]), "{name}");
            assert!(c.iter().all(|&x| x != 0), "{name}");
        }
        assert_eq!(real_traces().len(), 4);
    }

    #[test]
    fn zipf_favours_low_ranks() {
        let t = zipf(1000, 1.0, 20_000, 1);
        let top = t.iter().filter(|&&p| p == scramble(0)).count();
        assert!(top > 1000 && top < 4000, "{top}");
    }
}
