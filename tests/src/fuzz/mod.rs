//! The bodies of the fuzz targets, shared by cargo-fuzz (fuzz/fuzz_targets) and by the
//! corpus replay test (tests/tests/fuzz_corpus.rs), which runs every committed corpus
//! input through them as an ordinary test, so a regression is caught without a fuzzer.
//!
//! Each check takes raw bytes, decodes arguments from them, calls the library, and
//! panics (the fuzzer's crash) when the library misbehaves: a panic inside it, a status
//! that disagrees with an independent statement of what is valid, or an output written
//! on an argument error.
//!
//! One file per kernel family; each check is registered in [`TARGETS`] and has a
//! one-line target in fuzz/fuzz_targets with the same name, and a corpus folder.

pub mod foundation;
pub mod h2o;
mod hostile;
pub mod linattn;
pub mod paging;
pub mod reader;
pub mod sinkhorn;
pub mod sns;
pub mod sor;

/// A fuzz target: its name (the file under fuzz/fuzz_targets and the corpus folder) and
/// its check.
pub struct Target {
    /// Name of the target.
    pub name: &'static str,
    /// Runs one input.
    pub check: fn(&[u8]),
}

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "status_str",
        check: foundation::status_str,
    },
    Target {
        name: "csr_view",
        check: foundation::csr_view,
    },
    Target {
        name: "workspace",
        check: foundation::workspace,
    },
    Target {
        name: "sinkhorn",
        check: sinkhorn::sinkhorn,
    },
    Target {
        name: "sinkhorn_batch",
        check: sinkhorn::batch,
    },
    Target {
        name: "sinkhorn_unbalanced",
        check: sinkhorn::unbalanced,
    },
    Target {
        name: "sinkhorn_points",
        check: sinkhorn::points,
    },
    Target {
        name: "sns",
        check: sns::sns,
    },
    Target {
        name: "h2o",
        check: h2o::h2o,
    },
    Target {
        name: "linattn",
        check: linattn::linattn,
    },
    Target {
        name: "sor_csr",
        check: sor::sor_csr,
    },
    Target {
        name: "sor_grid2d",
        check: sor::sor_grid2d,
    },
    Target {
        name: "omega_tuner",
        check: sor::omega_tuner,
    },
    Target {
        name: "pager",
        check: paging::pager,
    },
    Target {
        name: "paging_trace",
        check: paging::paging_trace,
    },
];
