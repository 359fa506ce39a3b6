//! Status codes, their sentences, and the library version.

use core::ffi::c_char;
use kernels_core::Error;

/// The result of every fallible function: `KN_OK`, `KN_NOT_CONVERGED`, or a negative
/// `KN_ERR_*` code.
pub type kn_status = i32;

// The codes are literals so that cbindgen can write them into the header; a test
// checks each against kernels_core::Error, where the codes are defined.

/// Done.
pub const KN_OK: kn_status = 0;
/// Outputs written, but the tolerance was not reached within the iteration cap.
pub const KN_NOT_CONVERGED: kn_status = 1;
/// A required pointer is NULL.
pub const KN_ERR_NULL: kn_status = -1;
/// A size is zero where it may not be, sizes disagree, or a product overflows.
pub const KN_ERR_DIMENSION: kn_status = -2;
/// `work_bytes` is smaller than the size query returned.
pub const KN_ERR_WORKSPACE: kn_status = -3;
/// A parameter is out of its documented range, or a CSR structure is malformed.
pub const KN_ERR_ARGUMENT: kn_status = -4;
/// An input holds NaN or infinity.
pub const KN_ERR_NON_FINITE: kn_status = -5;
/// The computation broke down (underflow to zero, indefinite matrix, overflow).
pub const KN_ERR_NUMERICAL: kn_status = -6;
/// The backend is absent (no CUDA driver or device) or the build lacks the feature.
pub const KN_ERR_UNSUPPORTED: kn_status = -7;
/// An internal invariant failed (a bug).
pub const KN_ERR_INTERNAL: kn_status = -8;

/// Major version; equals the crate version in Cargo.toml (checked by a test).
pub const KN_VERSION_MAJOR: u32 = 0;
/// Minor version.
pub const KN_VERSION_MINOR: u32 = 2;
/// Patch version.
pub const KN_VERSION_PATCH: u32 = 0;

/// The library version as `major << 16 | minor << 8 | patch`.
///
/// Compare with the `KN_VERSION_*` macros to check that the header matches the
/// library linked.
#[unsafe(no_mangle)]
pub extern "C" fn kn_version() -> u32 {
    (KN_VERSION_MAJOR << 16) | (KN_VERSION_MINOR << 8) | KN_VERSION_PATCH
}

/// A static, NUL-terminated English sentence for any status value (unknown values
/// included). Never NULL; the caller must not free it.
#[unsafe(no_mangle)]
pub extern "C" fn kn_status_str(status: kn_status) -> *const c_char {
    let text = match status {
        KN_OK => c"done",
        KN_NOT_CONVERGED => {
            c"outputs written, but the tolerance was not reached within the iteration cap"
        }
        code => match Error::from_code(code) {
            Some(e) => e.c_message(),
            None => c"unknown status code",
        },
    };
    text.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn version_matches_cargo() {
        let parse = |s: &str| s.parse::<u32>().unwrap();
        assert_eq!(KN_VERSION_MAJOR, parse(env!("CARGO_PKG_VERSION_MAJOR")));
        assert_eq!(KN_VERSION_MINOR, parse(env!("CARGO_PKG_VERSION_MINOR")));
        assert_eq!(KN_VERSION_PATCH, parse(env!("CARGO_PKG_VERSION_PATCH")));
        assert_eq!(kn_version(), KN_VERSION_MINOR << 8);
    }

    #[test]
    fn error_codes_match_core() {
        let codes = [
            KN_ERR_NULL,
            KN_ERR_DIMENSION,
            KN_ERR_WORKSPACE,
            KN_ERR_ARGUMENT,
            KN_ERR_NON_FINITE,
            KN_ERR_NUMERICAL,
            KN_ERR_UNSUPPORTED,
            KN_ERR_INTERNAL,
        ];
        for (code, e) in codes.into_iter().zip(Error::ALL) {
            assert_eq!(code, e.code());
            assert_eq!(Error::from_code(code), Some(e));
        }
    }

    #[test]
    fn every_status_has_its_own_sentence() {
        let text = |s| {
            // SAFETY: kn_status_str returns a pointer to a static NUL-terminated string.
            unsafe { CStr::from_ptr(kn_status_str(s)) }
                .to_str()
                .unwrap()
        };
        let known: [kn_status; 10] = [1, 0, -1, -2, -3, -4, -5, -6, -7, -8];
        for (i, &a) in known.iter().enumerate() {
            assert!(!text(a).is_empty());
            assert_ne!(text(a), text(99));
            for &b in &known[i + 1..] {
                assert_ne!(text(a), text(b), "{a} and {b} share a sentence");
            }
        }
        assert_eq!(text(i32::MIN), "unknown status code");
    }
}
