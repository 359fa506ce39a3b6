//! The instruction set the vector kernels use, chosen at run time.
//!
//! `wide` fixes its instruction set when the crate is compiled, so a portable x86_64
//! build (what a distribution or a plain `cargo build` produces) would run SSE2 code
//! even on a machine with AVX-512. Every vector loop of the crate is therefore
//! compiled once per [`Level`] and picked when called, from what the CPU reports
//! (CPUID) and the operating system has enabled (XGETBV); `wide` is the
//! [`Level::Portable`] build, the one other architectures run.
//!
//! [`set_cap`] lowers the level for the whole process: tests use it to check every
//! level this machine has against the scalar reference, benchmarks to show what each
//! level is worth. With the `std` feature (on in the C library's default build), the
//! environment variable `KN_SIMD` (`portable`, `avx2` or `avx512`) sets the initial
//! cap, read once at the first dispatched call; an unknown value is reported on
//! standard error and ignored.

use core::sync::atomic::{AtomicU8, Ordering};

/// A vector instruction set level, in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// `wide` at the compile-time instruction set (SSE2 on a portable x86_64 build).
    Portable = 1,
    /// x86_64 AVX2 with FMA: 256-bit registers, fused multiply-add.
    Avx2 = 2,
    /// x86_64 AVX-512F (with AVX2 and FMA): 512-bit registers.
    Avx512 = 3,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Portable, Level::Avx2, Level::Avx512];

    /// The level named `name` as `KN_SIMD` spells it (`portable`, `avx2`, `avx512`).
    #[must_use]
    pub fn parse(name: &str) -> Option<Level> {
        match name {
            "portable" => Some(Level::Portable),
            "avx2" => Some(Level::Avx2),
            "avx512" => Some(Level::Avx512),
            _ => None,
        }
    }

    /// A short name for reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "AVX2+FMA",
            Level::Avx512 => "AVX-512",
        }
    }

    #[inline]
    fn from_u8(v: u8) -> Level {
        match v {
            3 => Level::Avx512,
            2 => Level::Avx2,
            _ => Level::Portable,
        }
    }
}

/// 0 until the first call of [`detected`], then the level.
static DETECTED: AtomicU8 = AtomicU8::new(0);
/// The highest level [`active`] may return.
static CAP: AtomicU8 = AtomicU8::new(Level::Avx512 as u8);

/// The highest level this CPU and operating system support (detected once).
#[must_use]
#[inline]
pub fn detected() -> Level {
    // Acquire: a thread that sees the level also sees the `KN_SIMD` cap stored before
    // it, so no kernel runs uncapped after detection.
    match DETECTED.load(Ordering::Acquire) {
        0 => first_detection(),
        v => Level::from_u8(v),
    }
}

#[cold]
fn first_detection() -> Level {
    let level = probe();
    #[cfg(feature = "std")]
    if let Some(cap) = env_cap() {
        CAP.store(cap as u8, Ordering::Relaxed);
    }
    DETECTED.store(level as u8, Ordering::Release);
    level
}

/// The level the dispatched kernels use now: [`detected`], lowered by [`set_cap`].
#[must_use]
#[inline]
pub fn active() -> Level {
    detected().min(Level::from_u8(CAP.load(Ordering::Relaxed)))
}

/// The cap now in force ([`Level::Avx512`] when there is none).
#[must_use]
pub fn cap() -> Level {
    let _ = detected(); // applies `KN_SIMD` on the first call
    Level::from_u8(CAP.load(Ordering::Relaxed))
}

/// Caps the level for the whole process (all threads) until the next call, overriding
/// `KN_SIMD`; `set_cap(Level::Avx512)` removes the cap. Results at every level agree with the
/// scalar reference within the crate's documented bounds, so a cap changes speed and
/// rounding, never validity.
pub fn set_cap(level: Level) {
    // Detect first, so that `KN_SIMD`, applied at detection, cannot later override a
    // cap set here.
    let _ = detected();
    CAP.store(level as u8, Ordering::Relaxed);
}

/// Every level this machine supports, lowest first.
pub fn supported() -> impl Iterator<Item = Level> {
    let top = detected();
    Level::ALL.into_iter().filter(move |&l| l <= top)
}

/// The cap `KN_SIMD` asks for, if it is set and valid.
#[cfg(feature = "std")]
fn env_cap() -> Option<Level> {
    extern crate std;
    let value = std::env::var("KN_SIMD").ok()?;
    let level = Level::parse(value.trim());
    if level.is_none() {
        std::eprintln!("kernels: KN_SIMD={value:?} is not one of portable, avx2, avx512; ignored");
    }
    level
}

#[cfg(target_arch = "x86_64")]
fn probe() -> Level {
    use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    let bit = |reg: u32, n: u32| reg & (1 << n) != 0;
    let leaf1 = __cpuid(1);
    // The OS must have enabled the register state (OSXSAVE, then XCR0) before any
    // AVX instruction is legal, whatever the CPU supports.
    if !(bit(leaf1.ecx, 27) && bit(leaf1.ecx, 28) && bit(leaf1.ecx, 12)) {
        return Level::Portable; // no OSXSAVE, AVX or FMA
    }
    // SAFETY: OSXSAVE (CPUID.1:ECX bit 27) is set, so XGETBV is supported and
    // enabled; register 0 is XCR0, always readable.
    let xcr0 = unsafe { _xgetbv(0) };
    let ymm = xcr0 & 0b110 == 0b110; // SSE and AVX state
    let zmm = xcr0 & 0b1110_0110 == 0b1110_0110; // plus opmask and both ZMM halves
    if __cpuid(0).eax < 7 || !ymm {
        return Level::Portable;
    }
    let leaf7 = __cpuid_count(7, 0);
    if !bit(leaf7.ebx, 5) {
        Level::Portable // no AVX2
    } else if bit(leaf7.ebx, 16) && zmm {
        Level::Avx512
    } else {
        Level::Avx2
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn probe() -> Level {
    Level::Portable
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    extern crate std;
    use super::*;

    /// The CPUID/XGETBV probe agrees with std's detection.
    #[test]
    fn probe_matches_std() {
        let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        let avx512 = avx2 && std::is_x86_feature_detected!("avx512f");
        let want = if avx512 {
            Level::Avx512
        } else if avx2 {
            Level::Avx2
        } else {
            Level::Portable
        };
        assert_eq!(probe(), want);
    }

    #[test]
    fn names_round_trip() {
        for level in Level::ALL {
            let spelled = std::format!("{level:?}").to_lowercase();
            assert_eq!(Level::parse(&spelled), Some(level));
        }
        assert_eq!(Level::parse("sse2"), None);
    }
}
