//! Probing for the CUDA driver, a device and NVRTC without ever panicking.
//!
//! cudarc loads `libcuda` and `libnvrtc` on first use and panics when a library is
//! missing, so every entry point of this crate asks these probes first. Each probe
//! checks that the library can be opened (`is_culib_present`) before calling into it,
//! and runs inside `catch_unwind` as a second line of defence. Results are cached for
//! the life of the process.

use cudarc::driver::{CudaContext, sys as cu};
use cudarc::nvrtc::sys as nv;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

/// Runs `f`, turning a panic into `None`. The panic message still reaches stderr
/// through the panic hook, which is what we want for a library that should not panic.
fn no_panic<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// What the driver probe found.
#[derive(Clone, Debug)]
struct DriverProbe {
    library: bool,
    /// `Err` holds why `cuInit` or `cuDeviceGetCount` failed.
    devices: Result<i32, String>,
    version: Option<i32>,
}

fn driver_probe() -> &'static DriverProbe {
    static PROBE: OnceLock<DriverProbe> = OnceLock::new();
    PROBE.get_or_init(|| {
        // SAFETY: `is_culib_present` only tries to dlopen the candidate library names
        // and drops the handle; it reads no global state of ours.
        let library = no_panic(|| unsafe { cu::is_culib_present() }).unwrap_or(false);
        if !library {
            return DriverProbe {
                library,
                devices: Err("the CUDA driver library (libcuda) was not found".into()),
                version: None,
            };
        }
        let devices = no_panic(|| CudaContext::device_count().map_err(|e| e.to_string()))
            .unwrap_or_else(|| Err("the CUDA driver panicked during cuInit".into()));
        let version = no_panic(|| {
            let mut v = 0i32;
            // SAFETY: the library is present (checked above); cuDriverGetVersion writes
            // one int through a valid pointer and may be called before cuInit.
            let status = unsafe { cu::cuDriverGetVersion(&mut v) };
            (status == cu::CUresult::CUDA_SUCCESS).then_some(v)
        })
        .flatten();
        DriverProbe {
            library,
            devices,
            version,
        }
    })
}

/// Whether a CUDA device can be used: the driver library loads, `cuInit` succeeds
/// and at least one device is present. Never panics; cached after the first call.
///
/// This says nothing about NVRTC; see [`nvrtc_available`]. A [`Context`](crate::Context)
/// needs both.
pub fn available() -> bool {
    matches!(driver_probe().devices, Ok(n) if n > 0)
}

/// The number of CUDA devices, 0 when the driver is absent or fails to initialise.
pub fn device_count() -> usize {
    match driver_probe().devices {
        Ok(n) if n > 0 => n as usize,
        _ => 0,
    }
}

#[derive(Clone, Debug)]
struct NvrtcProbe {
    version: Option<(i32, i32)>,
    archs: Vec<u32>,
}

fn nvrtc_probe() -> &'static NvrtcProbe {
    static PROBE: OnceLock<NvrtcProbe> = OnceLock::new();
    PROBE.get_or_init(|| {
        let absent = NvrtcProbe {
            version: None,
            archs: Vec::new(),
        };
        // SAFETY: as for the driver: a dlopen attempt of candidate names, nothing more.
        let library = no_panic(|| unsafe { nv::is_culib_present() }).unwrap_or(false);
        if !library {
            return absent;
        }
        let version = no_panic(|| {
            let (mut major, mut minor) = (0i32, 0i32);
            // SAFETY: the library is present; nvrtcVersion writes two ints through
            // valid pointers.
            let status = unsafe { nv::nvrtcVersion(&mut major, &mut minor) };
            (status == nv::nvrtcResult::NVRTC_SUCCESS).then_some((major, minor))
        })
        .flatten();
        if version.is_none() {
            return absent;
        }
        let archs = no_panic(|| {
            let mut count = 0i32;
            // SAFETY: the library is present; writes one int.
            let status = unsafe { nv::nvrtcGetNumSupportedArchs(&mut count) };
            if status != nv::nvrtcResult::NVRTC_SUCCESS || count <= 0 {
                return Vec::new();
            }
            let mut archs = vec![0i32; count as usize];
            // SAFETY: `archs` holds exactly `count` ints, as nvrtcGetSupportedArchs
            // requires.
            let status = unsafe { nv::nvrtcGetSupportedArchs(archs.as_mut_ptr()) };
            if status != nv::nvrtcResult::NVRTC_SUCCESS {
                return Vec::new();
            }
            let mut archs: Vec<u32> = archs
                .into_iter()
                .filter_map(|a| a.try_into().ok())
                .collect();
            archs.sort_unstable();
            archs.dedup();
            archs
        })
        .unwrap_or_default();
        NvrtcProbe { version, archs }
    })
}

/// Whether NVRTC (`libnvrtc.so.12` or a compatible name on the library search path)
/// loads and answers. Never panics; cached after the first call.
pub fn nvrtc_available() -> bool {
    nvrtc_probe().version.is_some()
}

/// NVRTC's `(major, minor)` version, if NVRTC is available.
pub fn nvrtc_version() -> Option<(i32, i32)> {
    nvrtc_probe().version
}

/// The real architectures NVRTC can compile for, as `major * 10 + minor`
/// (`[50, 52, ..., 90, 100, 120]`), ascending; empty if NVRTC is absent.
pub fn nvrtc_supported_archs() -> &'static [u32] {
    &nvrtc_probe().archs
}

/// A human-readable account of what the probes found, for logs and test output.
#[derive(Clone, Debug)]
pub struct Probe {
    /// `libcuda` could be opened.
    pub driver_library: bool,
    /// The driver's CUDA version (`12040` is 12.4), if the library answered.
    pub driver_version: Option<i32>,
    /// Devices found, or why the driver could not be initialised.
    pub devices: Result<i32, String>,
    /// NVRTC's version, if NVRTC loads.
    pub nvrtc_version: Option<(i32, i32)>,
    /// Architectures NVRTC supports (`major * 10 + minor`).
    pub nvrtc_archs: Vec<u32>,
}

/// Runs (or reads the cached results of) every probe.
pub fn probe() -> Probe {
    let d = driver_probe();
    let n = nvrtc_probe();
    Probe {
        driver_library: d.library,
        driver_version: d.version,
        devices: d.devices.clone(),
        nvrtc_version: n.version,
        nvrtc_archs: n.archs.clone(),
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "driver: ")?;
        match (self.driver_library, self.driver_version) {
            (false, _) => write!(f, "absent")?,
            (true, Some(v)) => write!(f, "CUDA {}.{}", v / 1000, (v % 1000) / 10)?,
            (true, None) => write!(f, "present (version unknown)")?,
        }
        match &self.devices {
            Ok(n) => write!(f, ", {n} device(s)")?,
            Err(e) => write!(f, ", no device ({e})")?,
        }
        write!(f, "; nvrtc: ")?;
        match self.nvrtc_version {
            Some((major, minor)) => write!(f, "{major}.{minor}, archs {:?}", self.nvrtc_archs),
            None => write!(f, "absent"),
        }
    }
}
