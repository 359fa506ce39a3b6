//! The tour: runs every kernel of the library on built-in data, checks it against its
//! scalar reference, measures speed, and writes a Markdown report with SVG plots.
//!
//! ```text
//! cargo run --release -p kernels-tour                  # full tour
//! cargo run --release -p kernels-tour -- --quick       # small sizes, seconds (tests)
//! cargo run --release -p kernels-tour -- bench [NAME]  # benchmarks (scripts/bench.sh)
//! RUSTFLAGS="-C target-cpu=native" cargo run --release -p kernels-tour
//! ```
//!
//! Each kernel family adds one module and one entry in [`FAMILIES`]: a tour section
//! (built-in data, checked against the scalar reference, timed) and optionally a
//! benchmark with larger sizes and peers. Both return a [`report::Section`] with its
//! table rows, plots and whether every check passed. The process exits non-zero if any
//! check failed.

mod batch;
mod bench;
mod cg;
mod h2o;
mod linattn;
mod machine;
mod paging;
mod peer;
mod points;
mod primitives;
mod report;
mod sinkhorn;
mod sns;
mod sor;
mod svg;
mod threads;
mod unbalanced;

use std::path::PathBuf;
use std::process::ExitCode;

/// A kernel family's entry points in the tour.
pub struct Family {
    /// Name used on the command line (`bench NAME`).
    pub name: &'static str,
    /// The tour section.
    pub section: fn(Mode, &machine::Machine) -> report::Section,
    /// The benchmark, if it is more than the full tour section.
    pub bench: Option<fn(&machine::Machine) -> report::Section>,
}

/// Every family, in tour order.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "primitives",
        section: primitives::run,
        bench: None,
    },
    Family {
        name: "sinkhorn",
        section: sinkhorn::run,
        bench: Some(sinkhorn::bench),
    },
    Family {
        name: "batch",
        section: batch::run,
        bench: None,
    },
    Family {
        name: "unbalanced",
        section: unbalanced::run,
        bench: None,
    },
    Family {
        name: "points",
        section: points::run,
        bench: Some(points::bench),
    },
    Family {
        name: "sns",
        section: sns::run,
        bench: Some(sns::bench),
    },
    Family {
        name: "h2o",
        section: h2o::run,
        bench: Some(h2o::bench),
    },
    Family {
        name: "linattn",
        section: linattn::run,
        bench: Some(linattn::bench),
    },
    Family {
        name: "sor",
        section: sor::run,
        bench: Some(sor::bench),
    },
    Family {
        name: "paging",
        section: paging::run,
        bench: Some(paging::bench),
    },
    Family {
        name: "cg",
        section: cg::run,
        bench: Some(cg::bench),
    },
    Family {
        name: "threads",
        section: threads::run,
        bench: Some(threads::bench),
    },
];

/// How much work the tour does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Problem sizes of the figures quoted in the docs.
    Full,
    /// Small sizes and short timing budgets: a smoke test of every path.
    Quick,
}

fn main() -> ExitCode {
    let mut mode = Mode::Full;
    let mut out_dir = None;
    let mut bench: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => mode = Mode::Quick,
            "--out" => match args.next() {
                Some(dir) => out_dir = Some(PathBuf::from(dir)),
                None => return usage("--out needs a directory"),
            },
            "bench" => bench = Some(Vec::new()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            name if bench.is_some() && !name.starts_with('-') => {
                if !FAMILIES.iter().any(|f| f.name == name) {
                    return usage(&format!("unknown family {name:?}"));
                }
                if let Some(names) = bench.as_mut() {
                    names.push(name.to_string());
                }
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; timings are meaningless (use --release)");
    }

    let machine = machine::Machine::probe(mode);
    println!("{machine}");
    let mut report = report::Report::new(&machine, mode);
    let mut all_ok = true;
    for family in FAMILIES {
        let section = match &bench {
            None => (family.section)(mode, &machine),
            Some(names) if names.is_empty() || names.iter().any(|n| n == family.name) => {
                match family.bench {
                    Some(bench) => bench(&machine),
                    None => (family.section)(Mode::Full, &machine),
                }
            }
            Some(_) => continue,
        };
        all_ok &= section.ok;
        report.add(section);
    }

    let default_dir = if bench.is_some() {
        "target/bench"
    } else {
        "target/tour"
    };
    let out_dir = out_dir.unwrap_or_else(|| PathBuf::from(default_dir));
    match report.write(&out_dir) {
        Ok(path) => println!("\nreport: {}", path.display()),
        Err(e) => {
            eprintln!(
                "could not write the report under {}: {e}",
                out_dir.display()
            );
            return ExitCode::FAILURE;
        }
    }
    if all_ok {
        println!("tour: every check passed");
        ExitCode::SUCCESS
    } else {
        println!("tour: SOME CHECKS FAILED (see the tables above)");
        ExitCode::FAILURE
    }
}

const USAGE: &str =
    "usage: kernels-tour [--quick] [--out DIR]\n       kernels-tour bench [FAMILY ...] [--out DIR]";

fn usage(msg: &str) -> ExitCode {
    eprintln!("kernels-tour: {msg}\n{USAGE}");
    ExitCode::from(2)
}
