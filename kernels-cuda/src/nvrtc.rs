//! The run-time compile pipeline: a [`Source`] in, PTX text (or a cubin) out.
//!
//! Every source is compiled with the same options ([`compile_options`]): C++17, IEEE
//! arithmetic (no fast math, no flush-to-zero, correctly rounded division and square
//! root; contraction of `a * b + c` into FMA is allowed, as in nvcc's default), line
//! information for profilers, and `-DKN_BLOCK_SIZE=`[`BLOCK_SIZE`] so the launch
//! configuration on the Rust side and the `__launch_bounds__` of the kernels cannot
//! disagree.

use crate::sources::Source;
use cudarc::nvrtc::result::{self as nvrtc, NvrtcError};
use cudarc::nvrtc::sys as nv;
use kernels_core::Error;
use std::ffi::{CStr, CString, c_char};
use std::fmt;
use std::sync::Mutex;

/// Threads per block of every kernel launch in this crate (a multiple of 32). Passed to
/// NVRTC as `-DKN_BLOCK_SIZE`, so the CUDA side sees the same number.
pub const BLOCK_SIZE: u32 = 256;

/// The options every source is compiled with, except `--gpu-architecture`.
pub fn compile_options() -> Vec<String> {
    vec![
        "--std=c++17".into(),
        // Functions without an execution-space annotation are device functions.
        "--device-as-default-execution-space".into(),
        "--generate-line-info".into(),
        // IEEE arithmetic, stated explicitly (these are NVRTC's defaults).
        "--ftz=false".into(),
        "--prec-div=true".into(),
        "--prec-sqrt=true".into(),
        "--fmad=true".into(),
        format!("-DKN_BLOCK_SIZE={BLOCK_SIZE}"),
    ]
}

/// PTX produced by [`compile`].
#[derive(Clone, Debug)]
pub struct Ptx {
    /// The [`Source::name`] it came from.
    pub source: &'static str,
    /// The virtual architecture it targets, as given: `"compute_90"`.
    pub arch: String,
    /// The PTX text (no trailing NUL).
    pub text: String,
    /// NVRTC's log: warnings, usually empty.
    pub log: String,
}

/// A cubin (SASS for one real architecture) produced by [`compile_cubin`].
#[derive(Clone, Debug)]
pub struct Cubin {
    /// The [`Source::name`] it came from.
    pub source: &'static str,
    /// The real architecture it targets: `"sm_90"`.
    pub arch: String,
    /// The ELF image.
    pub image: Vec<u8>,
    /// NVRTC's log: warnings, usually empty.
    pub log: String,
}

/// Why a compile failed. Converts to [`kernels_core::Error`]: `Unavailable` and
/// options NVRTC rejects (an architecture it does not know) become
/// [`Error::Unsupported`], a malformed architecture string [`Error::Argument`], and a
/// compile error in our own source [`Error::Internal`] (a bug); the log stays here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// NVRTC could not be loaded.
    Unavailable,
    /// The architecture string is not `compute_NN` / `sm_NN` (as each function needs).
    InvalidArch(String),
    /// NVRTC reported an error.
    Nvrtc {
        /// The [`Source::name`].
        source: &'static str,
        /// The architecture asked for.
        arch: String,
        /// NVRTC's status.
        status: NvrtcError,
        /// NVRTC's log (the compiler's diagnostics), possibly empty.
        log: String,
    },
}

impl CompileError {
    /// NVRTC's log, empty when there is none.
    pub fn log(&self) -> &str {
        match self {
            CompileError::Nvrtc { log, .. } => log,
            _ => "",
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Unavailable => write!(
                f,
                "NVRTC not found (install nvidia-cuda-nvrtc-cu12 and put its lib dir on \
                 LD_LIBRARY_PATH)"
            ),
            CompileError::InvalidArch(arch) => write!(f, "invalid GPU architecture {arch:?}"),
            CompileError::Nvrtc {
                source,
                arch,
                status,
                log,
            } => write!(
                f,
                "NVRTC failed on {source} for {arch}: {}\n{log}",
                status_name(*status)
            ),
        }
    }
}

impl std::error::Error for CompileError {}

impl From<CompileError> for Error {
    fn from(e: CompileError) -> Error {
        match e {
            CompileError::Unavailable => Error::Unsupported,
            CompileError::InvalidArch(_) => Error::Argument,
            CompileError::Nvrtc { status, .. }
                if status.0 == nv::nvrtcResult::NVRTC_ERROR_INVALID_OPTION =>
            {
                Error::Unsupported
            }
            CompileError::Nvrtc { .. } => Error::Internal,
        }
    }
}

/// Checks `arch` is `<prefix>_` followed by 2 or 3 digits and an optional `a` or `f`
/// suffix (`compute_90`, `sm_90a`, `compute_100f`).
fn check_arch(arch: &str, prefix: &str) -> Result<(), CompileError> {
    let ok = arch
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .map(|rest| rest.strip_suffix(['a', 'f']).unwrap_or(rest))
        .is_some_and(|digits| {
            (2..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(CompileError::InvalidArch(arch.to_owned()))
    }
}

/// NVRTC is documented as thread safe from CUDA 12 on; older versions were not, and a
/// compile is rare (once per source and context), so compiles are serialised.
static NVRTC_LOCK: Mutex<()> = Mutex::new(());

/// An NVRTC program that has been compiled successfully, destroyed on drop.
struct Program {
    handle: nv::nvrtcProgram,
    log: String,
    // NVRTC may keep pointers to the source and name until the program is destroyed.
    _text: CString,
    _name: CString,
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: `handle` came from nvrtcCreateProgram and is destroyed only here.
        // A failure to free cannot be reported from drop and is ignored.
        let _ = unsafe { nvrtc::destroy_program(self.handle) };
    }
}

fn c_chars_to_string(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Creates and compiles `source` for `arch`, returning the program (to read PTX or a
/// cubin from) or the error with NVRTC's log.
fn build(source: &Source, arch: &str) -> Result<Program, CompileError> {
    if !crate::nvrtc_available() {
        return Err(CompileError::Unavailable);
    }
    let fail = |status: NvrtcError, log: String| CompileError::Nvrtc {
        source: source.name,
        arch: arch.to_owned(),
        status,
        log,
    };
    // Sources are include_str! text of our own files and hold no NUL byte (a unit test
    // checks), but a NUL must not panic: report it as a bug.
    let internal = || {
        fail(
            NvrtcError(nv::nvrtcResult::NVRTC_ERROR_INVALID_INPUT),
            String::new(),
        )
    };
    let text = CString::new(source.program_text()).map_err(|_| internal())?;
    let name = CString::new(source.file).map_err(|_| internal())?;
    let mut options = compile_options();
    options.push(format!("--gpu-architecture={arch}"));

    let _guard = NVRTC_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let handle = nvrtc::create_program(&text, Some(&name)).map_err(|e| fail(e, String::new()))?;
    let mut program = Program {
        handle,
        log: String::new(),
        _text: text,
        _name: name,
    };
    // SAFETY: `handle` is a live program (created above, destroyed only by Drop).
    // Every option is free of NUL bytes (fixed strings and a checked arch), which
    // `compile_program` requires.
    let status = unsafe { nvrtc::compile_program(program.handle, &options) };
    // SAFETY: as above; the log exists after a compile attempt, successful or not.
    program.log = unsafe { nvrtc::get_program_log(program.handle) }
        .map(|chars| c_chars_to_string(&chars))
        .unwrap_or_default();
    match status {
        Ok(()) => Ok(program),
        Err(e) => Err(fail(e, std::mem::take(&mut program.log))),
    }
}

/// Compiles `source` to PTX for a virtual architecture (`"compute_90"`).
///
/// PTX is portable forward: the driver JIT-compiles it for any newer GPU, provided the
/// driver is at least as new as this NVRTC. The tests feed the result to `ptxas`.
pub fn compile(source: &Source, arch: &str) -> Result<Ptx, CompileError> {
    check_arch(arch, "compute")?;
    let program = build(source, arch)?;
    // SAFETY: `program.handle` is a successfully compiled, live program.
    let chars =
        unsafe { nvrtc::get_ptx(program.handle) }.map_err(|status| CompileError::Nvrtc {
            source: source.name,
            arch: arch.to_owned(),
            status,
            log: program.log.clone(),
        })?;
    Ok(Ptx {
        source: source.name,
        arch: arch.to_owned(),
        text: c_chars_to_string(&chars),
        log: program.log.clone(),
    })
}

/// Compiles `source` straight to machine code for a real architecture (`"sm_90"`).
///
/// A cubin needs no JIT at load time and, unlike PTX, loads on any driver of the same
/// CUDA major version even if the driver is older than NVRTC; it runs only on GPUs of
/// exactly that architecture family.
pub fn compile_cubin(source: &Source, arch: &str) -> Result<Cubin, CompileError> {
    check_arch(arch, "sm")?;
    let program = build(source, arch)?;
    let fail = |status| CompileError::Nvrtc {
        source: source.name,
        arch: arch.to_owned(),
        status,
        log: program.log.clone(),
    };
    let mut size = 0usize;
    // SAFETY: `program.handle` is a successfully compiled, live program; the call
    // writes one usize.
    unsafe { nv::nvrtcGetCUBINSize(program.handle, &mut size) }
        .result()
        .map_err(fail)?;
    let mut image = vec![0u8; size];
    // SAFETY: `image` holds exactly the `size` bytes NVRTC asked for.
    unsafe { nv::nvrtcGetCUBIN(program.handle, image.as_mut_ptr().cast::<c_char>()) }
        .result()
        .map_err(fail)?;
    Ok(Cubin {
        source: source.name,
        arch: arch.to_owned(),
        image,
        log: program.log.clone(),
    })
}

/// NVRTC's name for a status, for messages.
pub fn status_name(status: NvrtcError) -> String {
    if !crate::nvrtc_available() {
        return format!("{:?}", status.0);
    }
    // SAFETY: NVRTC is loaded; nvrtcGetErrorString returns a pointer to a static,
    // NUL-terminated string for any status value.
    let ptr = unsafe { nv::nvrtcGetErrorString(status.0) };
    if ptr.is_null() {
        return format!("{:?}", status.0);
    }
    // SAFETY: non-null, static and NUL-terminated, as documented.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_strings() {
        for ok in ["compute_70", "compute_90", "compute_90a", "compute_100f"] {
            check_arch(ok, "compute").unwrap();
        }
        for ok in ["sm_70", "sm_90a", "sm_120"] {
            check_arch(ok, "sm").unwrap();
        }
        for bad in [
            "",
            "compute_",
            "compute_9",
            "compute_1000",
            "sm_90",
            "compute_9x",
            "compute_90 ",
            "compute_90\0",
            "-arch",
            "compute_90ab",
        ] {
            assert_eq!(
                check_arch(bad, "compute"),
                Err(CompileError::InvalidArch(bad.to_owned()))
            );
        }
        assert!(check_arch("compute_90", "sm").is_err());
    }

    #[test]
    fn errors_map_to_core_codes() {
        assert_eq!(Error::from(CompileError::Unavailable), Error::Unsupported);
        assert_eq!(
            Error::from(CompileError::InvalidArch("x".into())),
            Error::Argument
        );
        let nvrtc_err = |r| CompileError::Nvrtc {
            source: "s",
            arch: "compute_90".into(),
            status: NvrtcError(r),
            log: "log".into(),
        };
        assert_eq!(
            Error::from(nvrtc_err(nv::nvrtcResult::NVRTC_ERROR_COMPILATION)),
            Error::Internal
        );
        assert_eq!(
            Error::from(nvrtc_err(nv::nvrtcResult::NVRTC_ERROR_INVALID_OPTION)),
            Error::Unsupported
        );
        assert_eq!(
            nvrtc_err(nv::nvrtcResult::NVRTC_ERROR_COMPILATION).log(),
            "log"
        );
    }

    #[test]
    fn invalid_arch_is_rejected_before_nvrtc_is_needed() {
        let e = compile(&crate::sources::BLAS1, "sm_90").unwrap_err();
        assert_eq!(e, CompileError::InvalidArch("sm_90".into()));
        let e = compile_cubin(&crate::sources::BLAS1, "compute_90").unwrap_err();
        assert_eq!(Error::from(e), Error::Argument);
    }
}
