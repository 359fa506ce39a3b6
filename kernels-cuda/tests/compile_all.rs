//! Compiles every CUDA source with NVRTC and assembles the PTX with `ptxas -v`, for
//! several architectures; fails if NVRTC or ptxas reports an error, if a kernel listed
//! in `Source::kernels` is missing, if any function spills registers, or if a kernel
//! uses more registers than its cap ([`register_cap`]). Prints a table of registers per
//! kernel and architecture. Needs no GPU.
//!
//! NVRTC is found on the dynamic library search path (`LD_LIBRARY_PATH`), ptxas at
//! `$KN_PTXAS` or on `PATH`. When either is missing the test prints a `SKIPPED:` line
//! and passes, unless `KN_REQUIRE_NVRTC=1`, which makes absence a failure (CI).

use kernels_cuda::nvrtc::{self, CompileError};
use kernels_cuda::{Error, SOURCES, Source};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Virtual architectures compiled (PTX) and the real ones assembled: Volta (the oldest
/// supported), Ampere, Hopper (the tuning target).
const ARCHS: &[u32] = &[70, 80, 90];

/// The most registers per thread kernel `name` may use on any architecture. Every
/// kernel runs 256-thread blocks: 128 registers still let two blocks share a
/// multiprocessor. The H2O decode kernels are memory bound and must keep enough loads in
/// flight: at most 64 registers (four blocks, 1024 threads per multiprocessor;
/// `h2o_decode_partial_f32` declares `__launch_bounds__(256, 4)` to get there).
fn register_cap(name: &str) -> u32 {
    if name.starts_with("h2o_decode_") {
        64
    } else {
        128
    }
}

fn required() -> bool {
    std::env::var("KN_REQUIRE_NVRTC").is_ok_and(|v| v.trim() == "1")
}

/// Says loudly, on stdout and stderr, that test `test` did not run; fails instead when
/// `KN_REQUIRE_NVRTC=1`. Writes to the streams directly, not through `println!`, so the
/// test harness's output capture does not hide the line when the test passes.
fn skip(test: &str, reason: &str) {
    let line = format!("SKIPPED: {reason} [compile_all::{test}]");
    assert!(
        !required(),
        "{line}; KN_REQUIRE_NVRTC=1 is set, so this is a failure"
    );
    let _ = writeln!(std::io::stdout(), "{line}");
    let _ = writeln!(std::io::stderr(), "{line}");
}

const NVRTC_MISSING: &str =
    "NVRTC not found (install nvidia-cuda-nvrtc-cu12 and put its lib dir on LD_LIBRARY_PATH)";

/// `$KN_PTXAS` if set (it must then exist), else the first `ptxas` on `PATH`.
fn find_ptxas() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("KN_PTXAS").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("KN_PTXAS={} is not a file", path.display()))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("ptxas"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "ptxas not found (install nvidia-cuda-nvcc-cu12 and put its bin dir on PATH, \
             or set KN_PTXAS to the ptxas binary)"
                .to_owned()
        })
}

/// What `ptxas -v` says about one function.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct FunctionStats {
    name: String,
    entry: bool,
    registers: Option<u32>,
    stack_bytes: u32,
    spill_stores: u32,
    spill_loads: u32,
    smem_bytes: u32,
}

/// The number right before `unit` in `line` ("12 registers" -> 12).
fn number_before(line: &str, unit: &str) -> Option<u32> {
    let head = &line[..line.find(unit)?];
    head.split(|c: char| !c.is_ascii_digit())
        .rfind(|s| !s.is_empty())?
        .parse()
        .ok()
}

fn quoted_or_last_word(text: &str) -> String {
    match text.split('\'').nth(1) {
        Some(q) => q.to_owned(),
        None => text.split_whitespace().last().unwrap_or("").to_owned(),
    }
}

/// Parses ptxas `-v` output:
///
/// ```text
/// ptxas info    : Compiling entry function 'axpy_f32' for 'sm_90'
/// ptxas info    : Function properties for axpy_f32
///     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
/// ptxas info    : Used 18 registers, used 0 barriers, 32 bytes smem
/// ```
///
/// Device functions that were not inlined get a "Function properties" block too.
fn parse_ptxas(output: &str) -> Vec<FunctionStats> {
    let mut stats: Vec<FunctionStats> = Vec::new();
    let mut current: Option<usize> = None;
    let index_of = |stats: &mut Vec<FunctionStats>, name: String| {
        stats
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| {
                stats.push(FunctionStats {
                    name,
                    ..FunctionStats::default()
                });
                stats.len() - 1
            })
    };
    for line in output.lines() {
        if let Some(rest) = line.split("Compiling entry function").nth(1) {
            let i = index_of(
                &mut stats,
                quoted_or_last_word(rest.split(" for ").next().unwrap()),
            );
            stats[i].entry = true;
            current = Some(i);
        } else if let Some(rest) = line.split("Function properties for").nth(1) {
            current = Some(index_of(&mut stats, quoted_or_last_word(rest)));
        } else if line.contains("bytes stack frame") || line.contains("spill") {
            // A properties line outside any function block would be a format change:
            // keep it under a placeholder name so its spills still count.
            let i = current.unwrap_or_else(|| index_of(&mut stats, "<unattributed>".into()));
            stats[i].stack_bytes = number_before(line, "bytes stack frame").unwrap_or(0);
            stats[i].spill_stores = number_before(line, "bytes spill stores").unwrap_or(0);
            stats[i].spill_loads = number_before(line, "bytes spill loads").unwrap_or(0);
        } else if line.contains("Used")
            && line.contains("registers")
            && let Some(i) = current
        {
            stats[i].registers = number_before(line, "registers");
            stats[i].smem_bytes = number_before(line, "bytes smem").unwrap_or(0);
        }
    }
    stats
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kernels-cuda-ptx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// Compiles `source` for `compute_<arch>`, assembles it for `sm_<arch>`, and appends a
/// line per problem to `failures`.
/// Registers per (kernel, architecture), for the table.
type Registers = Vec<(String, u32, Option<u32>)>;

fn check(
    source: &Source,
    arch: u32,
    ptxas: &Path,
    dir: &Path,
    failures: &mut Vec<String>,
    registers: &mut Registers,
) {
    let ptx = match nvrtc::compile(source, &format!("compute_{arch}")) {
        Ok(ptx) => ptx,
        Err(e) => {
            failures.push(format!("{} compute_{arch}: {e}", source.file));
            return;
        }
    };
    if !ptx.log.trim().is_empty() {
        println!("NVRTC log for {} compute_{arch}:\n{}", source.file, ptx.log);
    }
    // A warning in our own code is treated as an error; NVRTC's notice that an old
    // architecture (sm_70) is deprecated is not about the code.
    for line in ptx.log.lines() {
        if line.contains("warning") && !line.contains("Architectures prior to") {
            failures.push(format!("{} compute_{arch}: NVRTC {line}", source.file));
        }
    }
    let ptx_path = dir.join(format!("{}.compute_{arch}.ptx", source.name));
    let cubin_path = ptx_path.with_extension("cubin");
    std::fs::write(&ptx_path, &ptx.text).expect("write the PTX file");
    let out = match Command::new(ptxas)
        .arg(format!("-arch=sm_{arch}"))
        .arg("-v")
        .arg("-o")
        .arg(&cubin_path)
        .arg(&ptx_path)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            failures.push(format!("could not run {}: {e}", ptxas.display()));
            return;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        failures.push(format!(
            "ptxas failed on {} ({}):\n{text}",
            ptx_path.display(),
            out.status
        ));
        return;
    }
    let stats = parse_ptxas(&text);
    for kernel in source.kernels {
        if !stats.iter().any(|s| s.entry && s.name == *kernel) {
            failures.push(format!(
                "{} sm_{arch}: kernel {kernel} is listed in Source::kernels but ptxas did not \
                 see it",
                source.file
            ));
        }
    }
    for s in &stats {
        println!(
            "{:<10} sm_{arch:<4} {:<22} {:>3} registers {:>5} B stack {:>5} B smem  spill stores \
             {} B, spill loads {} B{}",
            source.file,
            s.name,
            s.registers.map_or_else(|| "?".into(), |r| r.to_string()),
            s.stack_bytes,
            s.smem_bytes,
            s.spill_stores,
            s.spill_loads,
            if s.entry { "" } else { "  (device function)" },
        );
        if s.spill_stores != 0 || s.spill_loads != 0 {
            failures.push(format!(
                "{} sm_{arch}: {} spills ({} B stores, {} B loads)",
                source.file, s.name, s.spill_stores, s.spill_loads
            ));
        }
        if s.entry && s.registers.is_none() {
            failures.push(format!(
                "{} sm_{arch}: no register count parsed for {}",
                source.file, s.name
            ));
        }
        if s.entry {
            registers.push((s.name.clone(), arch, s.registers));
            let cap = register_cap(&s.name);
            if let Some(r) = s.registers.filter(|&r| r > cap) {
                failures.push(format!(
                    "{} sm_{arch}: {} uses {r} registers, over its cap of {cap}",
                    source.file, s.name
                ));
            }
        }
    }
}

#[test]
fn every_source_compiles_and_assembles_without_spills() {
    const TEST: &str = "every_source_compiles_and_assembles_without_spills";
    if !kernels_cuda::nvrtc_available() {
        skip(TEST, NVRTC_MISSING);
        return;
    }
    let ptxas = match find_ptxas() {
        Ok(p) => p,
        Err(reason) => {
            skip(TEST, &reason);
            return;
        }
    };
    println!("{}", kernels_cuda::probe());
    println!("ptxas: {}", ptxas.display());
    let dir = temp_dir();
    let mut failures = Vec::new();
    let mut registers = Registers::new();
    for source in SOURCES {
        for &arch in ARCHS {
            check(source, arch, &ptxas, &dir, &mut failures, &mut registers);
        }
    }
    print_register_table(&registers);
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        let mut msg = format!("PTX and cubins kept in {}\n", dir.display());
        for f in &failures {
            let _ = writeln!(msg, "- {f}");
        }
        panic!("{msg}");
    }
}

/// One line per kernel: its registers on each architecture and its cap.
fn print_register_table(registers: &Registers) {
    let mut names: Vec<&str> = registers.iter().map(|(n, ..)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut table = format!("{:<32}", "registers per kernel");
    for arch in ARCHS {
        let _ = write!(table, " {:>6}", format!("sm_{arch}"));
    }
    let _ = writeln!(table, " {:>5}", "cap");
    for name in names {
        let _ = write!(table, "{name:<32}");
        for &arch in ARCHS {
            let r = registers
                .iter()
                .find(|(n, a, _)| n == name && *a == arch)
                .and_then(|(.., r)| *r);
            let _ = write!(
                table,
                " {:>6}",
                r.map_or_else(|| "?".into(), |r| r.to_string())
            );
        }
        let _ = writeln!(table, " {:>5}", register_cap(name));
    }
    // Straight to the stream: the harness's capture would hide it when the test passes.
    let _ = write!(std::io::stdout(), "{table}");
}

#[test]
fn register_caps() {
    assert_eq!(register_cap("h2o_decode_partial_f32"), 64);
    assert_eq!(register_cap("h2o_decode_check_f32"), 64);
    assert_eq!(register_cap("la_output_f32"), 128);
}

#[test]
fn every_source_compiles_to_a_cubin() {
    if !kernels_cuda::nvrtc_available() {
        skip("every_source_compiles_to_a_cubin", NVRTC_MISSING);
        return;
    }
    for source in SOURCES {
        let cubin = nvrtc::compile_cubin(source, "sm_90")
            .unwrap_or_else(|e| panic!("{} sm_90: {e}", source.file));
        assert!(
            cubin.image.starts_with(b"\x7fELF"),
            "{}: not an ELF image",
            source.file
        );
    }
}

#[test]
fn a_compile_error_keeps_the_log_and_maps_to_internal() {
    if !kernels_cuda::nvrtc_available() {
        skip(
            "a_compile_error_keeps_the_log_and_maps_to_internal",
            NVRTC_MISSING,
        );
        return;
    }
    let broken = Source {
        name: "broken",
        file: "broken.cu",
        text: "extern \"C\" __global__ void k(float* x) {\n    x[0] = undefined_name;\n}\n",
        kernels: &["k"],
    };
    let e = nvrtc::compile(&broken, "compute_90").unwrap_err();
    let log = e.log();
    assert!(log.contains("undefined_name"), "log: {log}");
    // The #line markers make the log point into the right file and line.
    assert!(log.contains("broken.cu(2)"), "log: {log}");
    assert!(matches!(e, CompileError::Nvrtc { .. }));
    assert_eq!(Error::from(e), Error::Internal);
}

#[test]
fn an_unknown_architecture_is_unsupported() {
    if !kernels_cuda::nvrtc_available() {
        skip("an_unknown_architecture_is_unsupported", NVRTC_MISSING);
        return;
    }
    let e = nvrtc::compile(&kernels_cuda::sources::BLAS1, "compute_99").unwrap_err();
    assert_eq!(Error::from(e), Error::Unsupported);
}

#[test]
fn ptxas_output_parser() {
    let text = "\
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'dot_partial_f32' for 'sm_90'
ptxas info    : Function properties for dot_partial_f32
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 32 registers, used 1 barriers, 32 bytes smem
ptxas info    : Function properties for helper
    16 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Compiling entry function 'axpy_f64' for 'sm_90'
ptxas info    : Function properties for axpy_f64
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 24 registers, used 0 barriers
";
    let stats = parse_ptxas(text);
    assert_eq!(stats.len(), 3);
    assert_eq!(
        stats[0],
        FunctionStats {
            name: "dot_partial_f32".into(),
            entry: true,
            registers: Some(32),
            stack_bytes: 0,
            spill_stores: 0,
            spill_loads: 0,
            smem_bytes: 32,
        }
    );
    assert_eq!(
        (stats[1].entry, stats[1].spill_stores, stats[1].spill_loads),
        (false, 8, 4)
    );
    assert_eq!(stats[1].stack_bytes, 16);
    assert_eq!(stats[2].name, "axpy_f64");
    assert_eq!(stats[2].registers, Some(24));

    // Real ptxas 12.9 output for a kernel forced to spill (__launch_bounds__(1024, 2)).
    let spilling = "\
ptxas info    : Compiling entry function 'k' for 'sm_90'
ptxas info    : Function properties for k
    416 bytes stack frame, 736 bytes spill stores, 740 bytes spill loads
ptxas info    : Used 32 registers, used 0 barriers, 416 bytes cumulative stack size
";
    let stats = parse_ptxas(spilling);
    assert_eq!(stats.len(), 1);
    assert_eq!(
        (
            stats[0].stack_bytes,
            stats[0].spill_stores,
            stats[0].spill_loads
        ),
        (416, 736, 740)
    );
    assert_eq!(stats[0].registers, Some(32));
    // A properties line outside a function block still counts.
    let stray = parse_ptxas("    0 bytes stack frame, 4 bytes spill stores, 0 bytes spill loads\n");
    assert_eq!(stray[0].name, "<unattributed>");
    assert_eq!(stray[0].spill_stores, 4);
}
