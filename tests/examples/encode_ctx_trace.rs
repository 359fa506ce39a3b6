//! Writes a trace with contexts (tests/data/README.md): reads lines "PAGE CTX" (both
//! hexadecimal) from standard input, keeps at most the first N (the argument, if
//! any), and writes the encoded trace to standard output.

use kernels_tests::paging_data::encode_ctx_trace;
use std::io::{Read, Write};

fn main() {
    let max = std::env::args()
        .nth(1)
        .map_or(usize::MAX, |s| s.parse().expect("N: a number of requests"));
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .expect("standard input");
    let (mut pages, mut ctx) = (Vec::new(), Vec::new());
    for line in text.lines().take(max) {
        let mut f = line.split_whitespace();
        let mut hex = || u64::from_str_radix(f.next().expect("two fields"), 16).expect("hex");
        pages.push(hex());
        ctx.push(hex());
    }
    std::io::stdout()
        .write_all(&encode_ctx_trace(&pages, &ctx))
        .expect("standard output");
}
