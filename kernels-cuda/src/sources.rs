//! The CUDA C sources of the crate, embedded at build time.
//!
//! Every `.cu` file under `kernels-cuda/cuda/` is one [`Source`]; [`SOURCES`]
//! lists them all so that tests compile and assemble every one of them. The shared
//! header `src/cuda/common.cuh` ([`COMMON_HEADER`]) is prepended to each source by
//! [`Source::program_text`], because NVRTC is given no include directories.

/// One CUDA C translation unit and the kernels it exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Short name, also the key of the per-context module cache: `"blas1"`.
    pub name: &'static str,
    /// File name under `src/cuda/`, used as the NVRTC program name and in `#line`
    /// markers so diagnostics point at the right file: `"blas1.cu"`.
    pub file: &'static str,
    /// The file's text (without the common header).
    pub text: &'static str,
    /// The `extern "C"` kernel entry points this source defines. The driver loads
    /// exactly these when the module is first used, and `tests/compile_all.rs`
    /// checks that ptxas sees each of them.
    pub kernels: &'static [&'static str],
}

impl Source {
    /// The full program handed to NVRTC: the common header, then this source, each
    /// preceded by a `#line` marker so NVRTC's log names the real file and line.
    pub fn program_text(&self) -> String {
        let mut text = String::with_capacity(COMMON_HEADER.len() + self.text.len() + 128);
        text.push_str("#line 1 \"common.cuh\"\n");
        text.push_str(COMMON_HEADER);
        if !COMMON_HEADER.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("#line 1 \"");
        text.push_str(self.file);
        text.push_str("\"\n");
        text.push_str(self.text);
        text
    }

    /// Whether this source exports a kernel named `kernel`.
    pub fn has_kernel(&self, kernel: &str) -> bool {
        self.kernels.contains(&kernel)
    }
}

/// `src/cuda/common.cuh`: warp and block reductions and grid-stride helpers shared by all
/// sources.
pub const COMMON_HEADER: &str = include_str!("cuda/common.cuh");

/// `src/cuda/blas1.cu`: `axpy`, `scale` and a deterministic two-pass `dot`, f32 and f64.
pub const BLAS1: Source = Source {
    name: "blas1",
    file: "blas1.cu",
    text: include_str!("cuda/blas1.cu"),
    kernels: &[
        "axpy_f32",
        "axpy_f64",
        "scale_f32",
        "scale_f64",
        "dot_partial_f32",
        "dot_partial_f64",
        "dot_finish_f32",
        "dot_finish_f64",
    ],
};

/// `src/cuda/h2o.cu`: the H2O decode step (check and its reduction, insertion, partial
/// tiles, combine, scores), f32.
pub const H2O: Source = Source {
    name: "h2o",
    file: "h2o.cu",
    text: include_str!("cuda/h2o.cu"),
    kernels: &[
        "h2o_decode_check_f32",
        "h2o_decode_check_reduce_f32",
        "h2o_decode_insert_f32",
        "h2o_decode_partial_f32",
        "h2o_decode_combine_f32",
        "h2o_decode_scores_f32",
    ],
};

/// `src/cuda/sinkhorn.cu`: kernel-mode Sinkhorn-Knopp scaling and log-domain Sinkhorn
/// (row passes, two-launch column passes, checks and reductions), f32 and f64.
pub const SINKHORN: Source = Source {
    name: "sinkhorn",
    file: "sinkhorn.cu",
    text: include_str!("cuda/sinkhorn.cu"),
    kernels: &[
        "sk_check_f32",
        "sk_check_f64",
        "sk_apply_f32",
        "sk_apply_f64",
        "sk_fill_f32",
        "sk_fill_f64",
        "sk_reduce_f32",
        "sk_reduce_f64",
        "scale_rows_f32",
        "scale_rows_f64",
        "scale_cols_partial_f32",
        "scale_cols_partial_f64",
        "scale_cols_finish_f32",
        "scale_cols_finish_f64",
        "lse_rows_f32",
        "lse_rows_f64",
        "lse_cols_partial_f32",
        "lse_cols_partial_f64",
        "lse_cols_finish_f32",
        "lse_cols_finish_f64",
        "plan_rows_f32",
        "plan_rows_f64",
    ],
};

/// `src/cuda/sor.cu`: one colour of a red-black SOR sweep on the 5-point grid and a
/// read-only finiteness check, f32 and f64.
pub const SOR: Source = Source {
    name: "sor",
    file: "sor.cu",
    text: include_str!("cuda/sor.cu"),
    kernels: &[
        "sor_rb_f32",
        "sor_rb_f64",
        "sor_nonfinite_f32",
        "sor_nonfinite_f64",
    ],
};

/// `src/cuda/linattn.cu`: chunked linear attention with a per-head decay or gates
/// (check, chunk states, state scan, output, log totals), f32.
pub const LINATTN: Source = Source {
    name: "linattn",
    file: "linattn.cu",
    text: include_str!("cuda/linattn.cu"),
    kernels: &[
        "la_check_f32",
        "la_chunk_states_f32",
        "la_scan_f32",
        "la_output_f32",
        "la_log_totals_f32",
    ],
};

/// Every kernel source of the crate. Add new sources here.
pub const SOURCES: &[Source] = &[BLAS1, H2O, LINATTN, SINKHORN, SOR];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_files_match() {
        for (i, a) in SOURCES.iter().enumerate() {
            assert!(a.file.ends_with(".cu"), "{}", a.file);
            assert_eq!(a.file.trim_end_matches(".cu"), a.name);
            for b in &SOURCES[i + 1..] {
                assert_ne!(a.name, b.name);
            }
        }
    }

    #[test]
    fn every_listed_kernel_is_defined_extern_c() {
        for source in SOURCES {
            assert!(
                !source.kernels.is_empty(),
                "{} exports no kernel",
                source.name
            );
            for kernel in source.kernels {
                // The entry point's name follows `__launch_bounds__(...)` on the line
                // after `extern "C" __global__`, or on the same line.
                let defined = source.text.lines().any(|line| {
                    line.trim_start()
                        .strip_prefix(kernel)
                        .is_some_and(|rest| rest.starts_with('('))
                        || line.contains(&format!(" {kernel}("))
                });
                assert!(defined, "{}: kernel {kernel} not found", source.file);
            }
            let extern_c = source.text.matches("extern \"C\" __global__").count();
            assert_eq!(
                extern_c,
                source.kernels.len(),
                "{}: the number of extern \"C\" kernels differs from Source::kernels",
                source.file
            );
        }
    }

    #[test]
    fn program_text_has_header_then_source() {
        let text = BLAS1.program_text();
        let header = text.find("#line 1 \"common.cuh\"").unwrap();
        let body = text.find("#line 1 \"blas1.cu\"").unwrap();
        assert!(header < body);
        assert!(text.contains("block_reduce_sum"));
        assert!(!text.contains('\0'));
    }
}
