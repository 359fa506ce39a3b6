//! [`Context`]: a device, a stream, and the kernel modules compiled for that device.

use crate::detect;
use crate::nvrtc::{self, BLOCK_SIZE};
use crate::sources::Source;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaStream, DeviceSlice, DriverError, LaunchConfig,
    sys as cu,
};
use kernels_core::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What a context compiles its sources to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Machine code for the device's own architecture (`sm_NN`, given as `NN`): no JIT
    /// at load time, and loadable by a driver older than NVRTC. Chosen whenever NVRTC
    /// supports the device's architecture.
    Cubin(u32),
    /// PTX for `compute_NN`, JIT-compiled by the driver: the newest architecture NVRTC
    /// knows that is not newer than the device. Needs a driver at least as new as NVRTC.
    Ptx(u32),
}

impl Target {
    /// The NVRTC architecture string: `"sm_90"` or `"compute_90"`.
    pub fn arch(self) -> String {
        match self {
            Target::Cubin(a) => format!("sm_{a}"),
            Target::Ptx(a) => format!("compute_{a}"),
        }
    }
}

/// Picks the [`Target`] for a device of architecture `device` (`major * 10 + minor`)
/// given the real architectures NVRTC supports: the device's own one as a cubin if
/// listed, else PTX for the newest listed one below it, else `None`.
pub fn choose_target(device: u32, supported: &[u32]) -> Option<Target> {
    if supported.contains(&device) {
        return Some(Target::Cubin(device));
    }
    supported
        .iter()
        .copied()
        .filter(|&a| a <= device)
        .max()
        .map(Target::Ptx)
}

/// A loaded module: its functions by name (each holds the module alive).
struct Loaded {
    functions: HashMap<&'static str, CudaFunction>,
}

/// A CUDA device, the stream kernels are launched on, and the modules compiled for
/// the device (each source is compiled and loaded once, on first use).
///
/// Every driver function of this crate takes a `&Context` and device buffers
/// (`CudaSlice`) that belong to the context's CUDA context; work is queued on
/// [`Context::stream`] and is asynchronous unless the function returns a host value.
///
/// `Context` is `Send + Sync`; launches from several threads share the stream.
pub struct Context {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    device_arch: u32,
    multiprocessors: u32,
    target: Target,
    /// Shared by the contexts [`Context::on_stream`] derives: a source compiles once
    /// per device, whatever stream launches it.
    modules: Arc<Mutex<HashMap<&'static str, Arc<Loaded>>>>,
    detail: Mutex<Option<String>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("ordinal", &self.ctx.ordinal())
            .field("device_arch", &self.device_arch)
            .field("multiprocessors", &self.multiprocessors)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Maps a driver error to the library's error: a missing or unusable device, driver
/// or binary is [`Error::Unsupported`]; anything else (including running out of
/// device memory, which has no code of its own) is [`Error::Internal`].
pub fn driver_error_code(e: DriverError) -> Error {
    use cu::cudaError_enum as E;
    match e.0 {
        E::CUDA_ERROR_NO_DEVICE
        | E::CUDA_ERROR_NOT_INITIALIZED
        | E::CUDA_ERROR_DEINITIALIZED
        | E::CUDA_ERROR_INVALID_DEVICE
        | E::CUDA_ERROR_NOT_SUPPORTED
        | E::CUDA_ERROR_STUB_LIBRARY
        | E::CUDA_ERROR_SYSTEM_DRIVER_MISMATCH
        | E::CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE
        | E::CUDA_ERROR_UNSUPPORTED_PTX_VERSION
        | E::CUDA_ERROR_NO_BINARY_FOR_GPU
        | E::CUDA_ERROR_JIT_COMPILER_NOT_FOUND => Error::Unsupported,
        _ => Error::Internal,
    }
}

impl Context {
    /// A context on device 0 with a new stream.
    ///
    /// Returns [`Error::Unsupported`] when there is no CUDA driver, no device, or no
    /// NVRTC (see [`crate::probe`] for which), or when NVRTC knows no architecture the
    /// device can run.
    pub fn new() -> Result<Context> {
        Context::with_device(0)
    }

    /// A context on device `ordinal` with a new stream. [`Error::Argument`] if there
    /// is no such device; otherwise as [`Context::new`].
    pub fn with_device(ordinal: usize) -> Result<Context> {
        if !detect::available() || !detect::nvrtc_available() {
            return Err(Error::Unsupported);
        }
        if ordinal >= detect::device_count() {
            return Err(Error::Argument);
        }
        let ctx = CudaContext::new(ordinal).map_err(driver_error_code)?;
        let stream = ctx.new_stream().map_err(driver_error_code)?;
        Context::from_stream(stream)
    }

    /// A context that launches on the caller's `stream` (and its CUDA context).
    pub fn from_stream(stream: Arc<CudaStream>) -> Result<Context> {
        if !detect::nvrtc_available() {
            return Err(Error::Unsupported);
        }
        let ctx = stream.context().clone();
        let (major, minor) = ctx.compute_capability().map_err(driver_error_code)?;
        let device_arch = u32::try_from(major * 10 + minor).map_err(|_| Error::Internal)?;
        let multiprocessors = ctx
            .attribute(cu::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .map_err(driver_error_code)?;
        let multiprocessors = u32::try_from(multiprocessors)
            .ok()
            .filter(|&m| m > 0)
            .ok_or(Error::Internal)?;
        let target = choose_target(device_arch, detect::nvrtc_supported_archs())
            .ok_or(Error::Unsupported)?;
        Ok(Context {
            ctx,
            stream,
            device_arch,
            multiprocessors,
            target,
            modules: Arc::new(Mutex::new(HashMap::new())),
            detail: Mutex::new(None),
        })
    }

    /// The same device and compiled modules, launching on `stream` (which must
    /// belong to this context's CUDA context, else [`Error::Argument`]). Cheap: no
    /// compile, no driver call; what the C entry points use for the caller's stream.
    pub fn on_stream(&self, stream: Arc<CudaStream>) -> Result<Context> {
        if **stream.context() != *self.ctx {
            return Err(Error::Argument);
        }
        Ok(Context {
            ctx: self.ctx.clone(),
            stream,
            device_arch: self.device_arch,
            multiprocessors: self.multiprocessors,
            target: self.target,
            modules: self.modules.clone(),
            detail: Mutex::new(None),
        })
    }

    /// The stream every launch of this context goes to.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The CUDA context (device) of this context.
    pub fn cuda_context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The device's architecture, `major * 10 + minor` (90 for an H100/H200).
    pub fn device_arch(&self) -> u32 {
        self.device_arch
    }

    /// The number of streaming multiprocessors of the device.
    pub fn multiprocessors(&self) -> u32 {
        self.multiprocessors
    }

    /// What sources are compiled to for this device.
    pub fn target(&self) -> Target {
        self.target
    }

    /// Waits for all work queued on the stream; reports an error a kernel or an
    /// earlier asynchronous operation raised.
    pub fn synchronize(&self) -> Result<()> {
        self.stream
            .synchronize()
            .map_err(|e| self.driver_error("stream synchronize", e))?;
        self.ctx
            .check_err()
            .map_err(|e| self.driver_error("asynchronous operation", e))
    }

    /// A description of the last failure inside this context (NVRTC log, driver
    /// error), which the returned [`Error`] code cannot carry.
    pub fn last_error_detail(&self) -> Option<String> {
        lock(&self.detail).clone()
    }

    /// Compiles and loads `source` now rather than on first use (e.g. to keep the
    /// compile out of a timed region).
    pub fn load(&self, source: &'static Source) -> Result<()> {
        self.module(source).map(drop)
    }

    fn note(&self, detail: String) {
        *lock(&self.detail) = Some(detail);
    }

    /// Records `e` (with what failed) as the detail and returns its code.
    pub(crate) fn driver_error(&self, what: &str, e: DriverError) -> Error {
        self.note(format!("{what}: {e}"));
        driver_error_code(e)
    }

    /// [`Error::Argument`] unless `slice` lives in this context's CUDA context.
    pub(crate) fn check_slice<T>(&self, slice: &impl DeviceSlice<T>) -> Result<()> {
        if **slice.stream().context() == *self.ctx {
            Ok(())
        } else {
            self.note("a device buffer belongs to another CUDA context".into());
            Err(Error::Argument)
        }
    }

    /// A 1-D launch of `blocks` blocks of [`BLOCK_SIZE`] threads.
    pub(crate) fn config(blocks: u32) -> LaunchConfig {
        LaunchConfig {
            grid_dim: (blocks.max(1), 1, 1),
            block_dim: (BLOCK_SIZE, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    /// Kernel `name` of `source`, compiling and loading the source on first use.
    pub(crate) fn function(&self, source: &'static Source, name: &str) -> Result<CudaFunction> {
        let loaded = self.module(source)?;
        match loaded.functions.get(name) {
            Some(f) => Ok(f.clone()),
            None => {
                self.note(format!("{}: no kernel named {name}", source.file));
                Err(Error::Internal)
            }
        }
    }

    fn module(&self, source: &'static Source) -> Result<Arc<Loaded>> {
        // Held while compiling: a second thread asking for the same source waits for
        // the first compile instead of repeating it.
        let mut modules = lock(&self.modules);
        if let Some(loaded) = modules.get(source.name) {
            return Ok(loaded.clone());
        }
        let module = self.compile_and_load(source)?;
        let mut functions = HashMap::with_capacity(source.kernels.len());
        for &name in source.kernels {
            let f = module
                .load_function(name)
                .map_err(|e| self.driver_error(&format!("{}: load {name}", source.file), e))?;
            functions.insert(name, f);
        }
        let loaded = Arc::new(Loaded { functions });
        modules.insert(source.name, loaded.clone());
        Ok(loaded)
    }

    fn compile_and_load(&self, source: &'static Source) -> Result<Arc<CudaModule>> {
        let mut notes = Vec::new();
        let ptx_arch = match self.target {
            Target::Cubin(arch) => {
                match nvrtc::compile_cubin(source, &Target::Cubin(arch).arch()) {
                    Ok(cubin) => {
                        match self
                            .ctx
                            .load_module(cudarc::nvrtc::Ptx::from_binary(cubin.image))
                        {
                            Ok(module) => return Ok(module),
                            Err(e) => notes.push(format!("loading the sm_{arch} cubin: {e}")),
                        }
                    }
                    Err(e) => notes.push(e.to_string()),
                }
                // Fall back to PTX for the same architecture, JIT-compiled by the driver.
                arch
            }
            Target::Ptx(arch) => arch,
        };
        let arch = Target::Ptx(ptx_arch).arch();
        let ptx = nvrtc::compile(source, &arch).map_err(|e| {
            notes.push(e.to_string());
            self.note(notes.join("\n"));
            Error::from(e)
        })?;
        self.ctx
            .load_module(cudarc::nvrtc::Ptx::from_src(ptx.text))
            .map_err(|e| {
                notes.push(format!("loading {arch} PTX of {}: {e}", source.file));
                self.note(notes.join("\n"));
                driver_error_code(e)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_choice() {
        let archs = [50, 60, 70, 75, 80, 86, 89, 90, 100, 120];
        assert_eq!(choose_target(90, &archs), Some(Target::Cubin(90)));
        assert_eq!(choose_target(87, &archs), Some(Target::Ptx(86)));
        assert_eq!(choose_target(130, &archs), Some(Target::Ptx(120)));
        assert_eq!(choose_target(35, &archs), None);
        assert_eq!(choose_target(90, &[]), None);
        assert_eq!(Target::Cubin(90).arch(), "sm_90");
        assert_eq!(Target::Ptx(86).arch(), "compute_86");
    }

    #[test]
    fn driver_errors_map_to_codes() {
        use cu::cudaError_enum as E;
        assert_eq!(
            driver_error_code(DriverError(E::CUDA_ERROR_NO_DEVICE)),
            Error::Unsupported
        );
        assert_eq!(
            driver_error_code(DriverError(E::CUDA_ERROR_UNSUPPORTED_PTX_VERSION)),
            Error::Unsupported
        );
        assert_eq!(
            driver_error_code(DriverError(E::CUDA_ERROR_ILLEGAL_ADDRESS)),
            Error::Internal
        );
    }

    #[test]
    fn launch_config_never_has_zero_blocks() {
        let c = Context::config(0);
        assert_eq!(c.grid_dim, (1, 1, 1));
        assert_eq!(c.block_dim, (BLOCK_SIZE, 1, 1));
    }

    #[test]
    fn context_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Context>();
    }
}
